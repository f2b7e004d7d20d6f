//! `sockeye connect`: stdin lines out as messages, received messages to stdout.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use sockeye_io::{ClientOptions, CloseCode, CloseFrame, Config, Error, Message};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

use crate::hex;

/// A client: stdin lines out as messages, received messages to stdout.
///
/// Each line read from stdin is sent as one text message (as one binary
/// message with --binary), without its line ending. Each received text
/// message is printed as one line on stdout; each received binary message as
/// one line of lowercase hexadecimal (two digits per byte, no separators).
///
/// At the end of stdin the connection is closed with 1000 (normal closure)
/// and the command exits after the closing handshake. When the server
/// closes first, its close code and reason are printed on stderr.
///
/// Exit status: 0 after a normal closure (1000, or 1001 or no status from
/// the server); 1 when the connection, TLS or opening handshake fails (a
/// rejected handshake reports its HTTP status), on a protocol error, or
/// when the server closes with any other code; 2 for invalid arguments.
#[derive(Debug, clap::Args)]
#[command(verbatim_doc_comment)]
pub struct Args {
    /// The server's URL: ws://host[:port]/path?query (or wss://).
    pub url: String,

    /// Extra header field for the opening handshake, as 'Name: value'
    /// (repeatable).
    #[arg(short = 'H', long = "header", value_name = "'NAME: VALUE'", value_parser = parse_header)]
    pub headers: Vec<(String, String)>,

    /// Offer this subprotocol (Sec-WebSocket-Protocol; repeatable, in order
    /// of preference).
    #[arg(long = "protocol", value_name = "PROTOCOL")]
    pub protocols: Vec<String>,

    /// The Origin header field to send.
    #[arg(long)]
    pub origin: Option<String>,

    /// For wss://: trust the CA certificates in this PEM file, in addition to
    /// the bundled Mozilla roots.
    #[arg(long, value_name = "FILE")]
    pub ca: Option<PathBuf>,

    /// For wss://: do not verify the server's certificate. For testing
    /// only: anyone on the path can then read and change the traffic.
    #[arg(long)]
    pub insecure: bool,

    /// Send each stdin line as a binary message instead of text.
    #[arg(long)]
    pub binary: bool,

    /// Send a ping every SECS seconds.
    #[arg(long, value_name = "SECS")]
    pub ping: Option<f64>,

    /// Offer permessage-deflate compression (RFC 7692); used when the
    /// server accepts it.
    #[arg(long)]
    pub deflate: bool,
}

fn parse_header(raw: &str) -> Result<(String, String), String> {
    let (name, value) = raw
        .split_once(':')
        .ok_or_else(|| format!("`{raw}` is not 'Name: value'"))?;
    let name = name.trim();
    if name.is_empty() {
        return Err(format!("`{raw}` has an empty header name"));
    }
    Ok((name.to_owned(), value.trim().to_owned()))
}

/// Run `sockeye connect`.
pub async fn run(args: Args) -> Result<ExitCode, String> {
    let ping = match args.ping {
        Some(secs) if secs.is_finite() && secs > 0.0 => Some(Duration::from_secs_f64(secs)),
        Some(_) => return Err("--ping needs a positive number of seconds".into()),
        None => None,
    };
    let mut tls = sockeye_tokio::TlsOptions::new();
    if let Some(ca) = &args.ca {
        tls = tls.add_ca_file(ca);
    }
    if args.insecure {
        tls = tls.danger_accept_invalid_certs(true);
    }
    let mut options = ClientOptions::new().tls(tls);
    for protocol in &args.protocols {
        options = options.protocol(protocol);
    }
    if let Some(origin) = &args.origin {
        options = options.origin(origin);
    }
    for (name, value) in &args.headers {
        options = options.header(name, value);
    }
    let mut config = Config::default();
    if args.deflate {
        config.deflate = Some(sockeye_tokio::DeflateConfig::default());
    }
    let (mut socket, response) = sockeye_tokio::connect_with(&args.url, options, config)
        .await
        .map_err(describe)?;
    if let Some(extensions) = response.headers.get("Sec-WebSocket-Extensions") {
        tracing::info!(extensions, "server accepted extensions");
    }
    if let Some(protocol) = &response.protocol {
        tracing::info!(protocol, "server selected a subprotocol");
    }
    let mut stdout = tokio::io::stdout();
    let mut lines = BufReader::new(tokio::io::stdin()).lines();
    let mut stdin_open = true;
    let mut ticker = ping.map(|period| {
        let mut ticker = tokio::time::interval_at(tokio::time::Instant::now() + period, period);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        ticker
    });
    let mut we_closed = false;

    loop {
        tokio::select! {
            received = socket.recv() => match received {
                Some(Ok(message)) => {
                    if let Some(code) = print_message(&mut stdout, message, we_closed).await? {
                        return Ok(code);
                    }
                }
                Some(Err(error)) => return Err(describe(error)),
                None => break,
            },
            line = lines.next_line(), if stdin_open => match line {
                Ok(Some(line)) => {
                    let message = if args.binary {
                        Message::binary(line.into_bytes())
                    } else {
                        Message::text(line)
                    };
                    socket.send(message).await.map_err(describe)?;
                }
                Ok(None) => {
                    stdin_open = false;
                    we_closed = true;
                    close_normally(&mut socket).await?;
                }
                Err(error) => return Err(format!("reading stdin: {error}")),
            },
            // Ctrl-C ends the session like the end of stdin: a clean close.
            _ = tokio::signal::ctrl_c(), if stdin_open => {
                stdin_open = false;
                we_closed = true;
                close_normally(&mut socket).await?;
            }
            _ = tick(&mut ticker), if stdin_open => {
                socket.send(Message::Ping(bytes::Bytes::new())).await.map_err(describe)?;
            }
        }
    }
    let _ = stdout.flush().await;
    Ok(ExitCode::SUCCESS)
}

async fn close_normally<S>(socket: &mut sockeye_tokio::WebSocketStream<S>) -> Result<(), String>
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    let frame = CloseFrame::new(CloseCode::NORMAL, "").map_err(|error| error.to_string())?;
    socket
        .send(Message::Close(Some(frame)))
        .await
        .map_err(describe)
}

async fn tick(ticker: &mut Option<tokio::time::Interval>) {
    match ticker {
        Some(ticker) => {
            ticker.tick().await;
        }
        None => std::future::pending().await,
    }
}

/// Print a received message; returns an exit code when the peer's close
/// ends the session with a failure.
async fn print_message(
    stdout: &mut tokio::io::Stdout,
    message: Message,
    we_closed: bool,
) -> Result<Option<ExitCode>, String> {
    let line = match message {
        Message::Text(text) => {
            let mut line = String::with_capacity(text.len() + 1);
            line.push_str(text.as_str());
            line
        }
        Message::Binary(data) => hex::encode(&data),
        Message::Close(frame) => {
            let (code, reason) = match &frame {
                Some(frame) => (frame.code.get(), frame.reason.clone()),
                None => (1005, String::new()),
            };
            if we_closed {
                tracing::info!(code, reason, "closing handshake complete");
                return Ok(None);
            }
            if reason.is_empty() {
                eprintln!("sockeye: server closed the connection: {code}");
            } else {
                eprintln!("sockeye: server closed the connection: {code} {reason}");
            }
            return Ok(if matches!(code, 1000 | 1001 | 1005) {
                None
            } else {
                Some(ExitCode::FAILURE)
            });
        }
        Message::Ping(payload) => {
            tracing::debug!(len = payload.len(), "ping received (answered)");
            return Ok(None);
        }
        Message::Pong(payload) => {
            tracing::debug!(len = payload.len(), "pong received");
            return Ok(None);
        }
        other => {
            tracing::debug!(?other, "ignored");
            return Ok(None);
        }
    };
    let mut bytes = line.into_bytes();
    bytes.push(b'\n');
    stdout
        .write_all(&bytes)
        .await
        .map_err(|error| format!("writing stdout: {error}"))?;
    stdout
        .flush()
        .await
        .map_err(|error| format!("writing stdout: {error}"))?;
    Ok(None)
}

/// A one-line reason for a failure.
pub fn describe(error: Error) -> String {
    match error {
        Error::Rejected { status, body } => {
            let body = String::from_utf8_lossy(&body);
            let first = body.lines().next().unwrap_or("").trim();
            if first.is_empty() {
                format!("server rejected the WebSocket upgrade with HTTP {status}")
            } else {
                format!("server rejected the WebSocket upgrade with HTTP {status}: {first}")
            }
        }
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::parse_header;

    #[test]
    fn parses_name_colon_value_headers() {
        assert_eq!(
            parse_header("Authorization: Bearer a:b"),
            Ok(("Authorization".into(), "Bearer a:b".into()))
        );
        assert_eq!(
            parse_header("X-Empty:"),
            Ok(("X-Empty".into(), String::new()))
        );
        assert!(parse_header("no colon").is_err());
        assert!(parse_header(": value").is_err());
    }
}
