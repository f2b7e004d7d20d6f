//! `sockeye listen`: the server half of a pipe between two shells.

use std::process::ExitCode;
use std::time::Duration;

use bytes::Bytes;
use sockeye_io::{CloseCode, Config, Decision, Message};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{broadcast, mpsc};

use crate::connect::Mode;
use crate::connect::input::{Lines, spawn_stdin_reader};
use crate::connect::output::Output;

/// Accept WebSocket clients and pipe them to and from this terminal.
///
/// Every text message a client sends is printed as a line on stdout
/// (binary ones as a line of lowercase hex); every stdin line is sent to
/// every connected client (with --binary, as a binary message). Stdin is
/// read once the first client has connected, so a pipe into `sockeye
/// listen` waits for its reader. At the end of stdin every client is
/// closed with 1000 and the command exits.
///
/// With --once the first client is the only one: the command exits when
/// its connection ends, as `sockeye connect` does.
///
/// Prints `sockeye listen listening on ws://ADDR` on stderr once bound
/// (port 0 picks a free port).
///
/// Exit status: 0 at the end of stdin, or with --once when the client
/// closed with 1000 (normal) or 1001 (going away); 1 when the address
/// cannot be bound, stdin or stdout fail, or with --once when the client's
/// connection failed or it closed with any other code; 2 for invalid
/// arguments.
#[derive(Debug, clap::Args)]
#[command(verbatim_doc_comment)]
pub struct Args {
    /// Address to listen on, such as 127.0.0.1:9002.
    pub addr: String,

    /// Send each stdin line as a binary message instead of text.
    #[arg(long)]
    pub binary: bool,

    /// Serve one client, and exit when its connection ends.
    #[arg(long)]
    pub once: bool,

    /// Accept permessage-deflate compression (RFC 7692) when a client offers it.
    #[arg(long)]
    pub deflate: bool,
}

/// What each client's task is told to send.
#[derive(Clone, Debug)]
enum Outgoing {
    Message(Message),
    /// The end of stdin: close with 1000.
    Close,
}

/// Stdin lines waiting for a slow client; one that falls further behind
/// misses lines, and is told so on stderr.
const FAN_OUT_QUEUE: usize = 4096;

/// Run `sockeye listen`.
pub async fn run(args: Args) -> Result<ExitCode, String> {
    let listener = TcpListener::bind(&args.addr)
        .await
        .map_err(|error| format!("cannot listen on {}: {error}", args.addr))?;
    let local = listener
        .local_addr()
        .map_err(|error| format!("cannot listen on {}: {error}", args.addr))?;
    eprintln!("sockeye listen listening on ws://{local}");

    let (to_clients, _) = broadcast::channel::<Outgoing>(FAN_OUT_QUEUE);
    let (to_stdout, received) = mpsc::channel::<Message>(1024);
    let printer = tokio::spawn(print(received));
    let mut config = crate::echo::config();
    if args.deflate {
        config.deflate = Some(sockeye_tokio::DeflateConfig::default());
    }
    let mode = if args.binary {
        Mode::BinaryLines
    } else {
        Mode::Text
    };

    // The first client starts the reading of stdin.
    let (first, peer) = listener
        .accept()
        .await
        .map_err(|error| format!("accepting: {error}"))?;
    let first_client = tokio::spawn(serve(
        first,
        config.clone(),
        to_clients.subscribe(),
        to_stdout.clone(),
    ));
    tracing::info!(%peer, "client connected");
    let stdin = tokio::spawn(read_stdin(to_clients.clone(), mode));

    if args.once {
        drop(listener);
        drop(to_stdout);
        let code = first_client
            .await
            .map_err(|error| format!("the connection's task failed: {error}"))?;
        stdin.abort();
        finish_printing(printer).await?;
        return Ok(code);
    }

    let accepting = {
        let to_clients = to_clients.clone();
        let to_stdout = to_stdout.clone();
        tokio::spawn(async move {
            loop {
                match listener.accept().await {
                    Ok((stream, peer)) => {
                        tracing::info!(%peer, "client connected");
                        tokio::spawn(serve(
                            stream,
                            config.clone(),
                            to_clients.subscribe(),
                            to_stdout.clone(),
                        ));
                    }
                    Err(error) => {
                        tracing::warn!(%error, "accept failed");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                    }
                }
            }
        })
    };
    drop(to_stdout);
    let read = stdin
        .await
        .map_err(|error| format!("the stdin task failed: {error}"))?;
    accepting.abort();
    // The clients have been told to close; give them a moment to finish.
    let _ = tokio::time::timeout(Duration::from_secs(2), first_client).await;
    let _ = tokio::time::timeout(Duration::from_secs(2), printer_idle(&to_clients)).await;
    // A client that never finishes its close must not keep the command up.
    if let Ok(printed) =
        tokio::time::timeout(Duration::from_secs(2), finish_printing(printer)).await
    {
        printed?;
    }
    read.map(|()| ExitCode::SUCCESS)
}

/// Send stdin's lines to every client, then tell them to close.
async fn read_stdin(to_clients: broadcast::Sender<Outgoing>, mode: Mode) -> Result<(), String> {
    let mut blocks = spawn_stdin_reader().map_err(|error| format!("cannot read stdin: {error}"))?;
    let mut lines = Lines::default();
    let mut number = 0u64;
    let mut send = |line: Bytes| -> Result<(), String> {
        number += 1;
        let message = match mode {
            Mode::Text => Message::Text(
                sockeye_io::sockeye::Utf8Bytes::try_from(line)
                    .map_err(|_| format!("stdin line {number} is not UTF-8 (try --binary)"))?,
            ),
            _ => Message::Binary(line),
        };
        // No client connected at the moment: the line goes to nobody.
        let _ = to_clients.send(Outgoing::Message(message));
        Ok(())
    };
    let result = loop {
        match blocks.recv().await {
            Some(Ok(block)) => {
                lines.push(block);
                while let Some(line) = lines.next_line() {
                    send(line)?;
                }
            }
            Some(Err(error)) => break Err(format!("reading stdin: {error}")),
            None => {
                if let Some(line) = lines.finish() {
                    send(line)?;
                }
                break Ok(());
            }
        }
    };
    let _ = to_clients.send(Outgoing::Close);
    result
}

/// Wait until no client is subscribed any more.
async fn printer_idle(to_clients: &broadcast::Sender<Outgoing>) {
    while to_clients.receiver_count() > 0 {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Print what the clients send, a batch at a time.
async fn print(mut received: mpsc::Receiver<Message>) -> Result<(), String> {
    let mut output = Output::new(Mode::Text);
    while let Some(message) = received.recv().await {
        let mut next = Some(message);
        while let Some(message) = next {
            match message {
                Message::Text(text) => output.text(&text),
                Message::Binary(data) => output.binary(&data),
                _ => {}
            }
            next = if output.is_full() {
                None
            } else {
                received.try_recv().ok()
            };
        }
        output.write().await?;
    }
    output.finish().await
}

async fn finish_printing(
    printer: tokio::task::JoinHandle<Result<(), String>>,
) -> Result<(), String> {
    printer
        .await
        .map_err(|error| format!("the stdout task failed: {error}"))?
}

/// One client: its messages to stdout, stdin's lines to it. The exit code
/// `sockeye connect` would give for how its connection ended.
async fn serve(
    stream: TcpStream,
    config: Config,
    mut from_stdin: broadcast::Receiver<Outgoing>,
    to_stdout: mpsc::Sender<Message>,
) -> ExitCode {
    let _ = stream.set_nodelay(true);
    let mut socket = match sockeye_tokio::accept_with(stream, config, |_| Decision::accept()).await
    {
        Ok((socket, _request)) => socket,
        Err(error) => {
            eprintln!("sockeye: a client's opening handshake failed: {error}");
            return ExitCode::FAILURE;
        }
    };
    loop {
        tokio::select! {
            received = socket.recv() => match received {
                Some(Ok(message @ (Message::Text(_) | Message::Binary(_)))) => {
                    if to_stdout.send(message).await.is_err() {
                        break;
                    }
                }
                Some(Ok(_)) => {}
                Some(Err(error)) => {
                    eprintln!("sockeye: {}", crate::connect::describe(error));
                    return ExitCode::FAILURE;
                }
                None => break,
            },
            outgoing = from_stdin.recv() => match outgoing {
                Ok(Outgoing::Message(message)) => {
                    if socket.send(message).await.is_err() {
                        continue; // recv reports how the connection ended
                    }
                }
                Ok(Outgoing::Close) | Err(broadcast::error::RecvError::Closed) => {
                    let _ = socket.close(CloseCode::NORMAL, "").await;
                    break;
                }
                Err(broadcast::error::RecvError::Lagged(missed)) => {
                    eprintln!("sockeye: a slow client missed {missed} stdin lines");
                }
            },
        }
    }
    drop(from_stdin);
    match socket.close_status() {
        Some(status) if matches!(status.code, 1000 | 1001) => ExitCode::SUCCESS,
        Some(status) => {
            eprintln!(
                "sockeye: the client closed with {} {}",
                status.code, status.reason
            );
            ExitCode::FAILURE
        }
        None => ExitCode::SUCCESS,
    }
}
