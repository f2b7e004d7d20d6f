//! `sockeye connect`: stdin lines out as messages, received messages to stdout.

mod hex;
pub(crate) mod input;
pub(crate) mod output;

use std::path::PathBuf;
use std::pin::pin;
use std::process::ExitCode;
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use sockeye_io::{ClientOptions, CloseCode, Config, Error, Message};
use tokio::sync::oneshot;
use tokio::time::Instant;

use crate::duration::parse_duration;
use output::Output;

/// A client: stdin lines out as messages, received messages to stdout.
///
/// Each line read from stdin is sent as one text message (as one binary
/// message with --binary), without its line ending: a line ends at "\n",
/// and a "\r" just before the "\n" is dropped too; a last line without
/// "\n" is sent as well. Each received text message is printed as one line
/// on stdout; each received binary message as one line of
/// lowercase hexadecimal (two digits per byte, no separators).
/// With --binary-raw, bytes go through unchanged both ways instead.
///
/// At the end of stdin the client keeps receiving until the replies have
/// stopped: it closes with 1000 (normal closure) once no message has
/// arrived for the --close-wait time (1 s), counted from the end of stdin
/// or the last message, whichever is later, and at the latest after
/// --close-wait-max (10 s) even if messages keep coming; --close-at-eof
/// closes at once. Ctrl-C closes at once too. The command exits after the
/// closing handshake. When the server closes first, its close code and
/// reason are printed on stderr.
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

    /// Connect through this HTTP proxy (a CONNECT tunnel, for ws:// and
    /// wss://): http://[user:password@]host:port. Without it, the proxy
    /// comes from HTTPS_PROXY (wss://) or HTTP_PROXY (ws://), then
    /// ALL_PROXY, unless NO_PROXY lists the host.
    #[arg(long, value_name = "URL", conflicts_with = "no_proxy")]
    pub proxy: Option<String>,

    /// Connect directly, whatever the proxy environment variables say.
    #[arg(long)]
    pub no_proxy: bool,

    /// For wss://: do not verify the server's certificate. For testing
    /// only: anyone on the path can then read and change the traffic.
    #[arg(long)]
    pub insecure: bool,

    /// Send each stdin line as a binary message instead of text (any bytes,
    /// not only UTF-8).
    #[arg(long)]
    pub binary: bool,

    /// Send stdin as binary messages of its raw bytes, one message per
    /// block read (up to 64 KiB: what the pipe held, or a typed line), and
    /// write received messages to stdout as their raw bytes, without
    /// newlines: `connect --binary-raw URL < file > copy` against an echo
    /// server copies the file exactly.
    #[arg(long, conflicts_with = "binary")]
    pub binary_raw: bool,

    /// Send a ping every SECS seconds (while stdin is open).
    #[arg(long, value_name = "SECS")]
    pub ping: Option<f64>,

    /// Offer permessage-deflate compression (RFC 7692); used when the
    /// server accepts it.
    #[arg(long)]
    pub deflate: bool,

    /// After the end of stdin, close once no message has arrived for this
    /// long (like 500ms, 2s).
    #[arg(long, value_name = "DURATION", default_value = "1s", value_parser = parse_duration)]
    pub close_wait: Duration,

    /// After the end of stdin, close after this long at the latest, even
    /// if messages keep arriving.
    #[arg(long, value_name = "DURATION", default_value = "10s", value_parser = parse_duration)]
    pub close_wait_max: Duration,

    /// Close as soon as stdin ends, without waiting for replies (replies
    /// the server sends before it sees the close are still printed, but a
    /// server may stop sending once it has our close).
    #[arg(long, conflicts_with_all = ["close_wait", "close_wait_max"])]
    pub close_at_eof: bool,
}

/// How stdin becomes messages and messages become stdout.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// A text message per line; text printed as lines, binary as hex lines.
    Text,
    /// A binary message per line; printed as with `Text`.
    BinaryLines,
    /// A binary message per block of stdin; every message printed raw.
    BinaryRaw,
}

type Transport = sockeye_tokio::TokioIo<sockeye_tokio::MaybeTlsStream<tokio::net::TcpStream>>;
type ReadHalf = sockeye_tokio::ReadHalf<Transport, sockeye_tokio::TokioClock>;
type WriteHalf = sockeye_tokio::WriteHalf<Transport, sockeye_tokio::TokioClock>;

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
    let mode = if args.binary_raw {
        Mode::BinaryRaw
    } else if args.binary {
        Mode::BinaryLines
    } else {
        Mode::Text
    };
    let end = if args.close_at_eof {
        EndOfInput::CloseAtOnce
    } else {
        EndOfInput::Wait {
            quiet: args.close_wait,
            max: args.close_wait_max,
        }
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
    options = match &args.proxy {
        Some(url) => options.proxy(sockeye_io::Proxy::new(url).map_err(describe)?),
        None if args.no_proxy => options,
        None => options.proxy_from_env(),
    };
    let mut config = Config::default();
    if args.deflate {
        config.deflate = Some(sockeye_tokio::DeflateConfig::default());
    }
    let (socket, response) = sockeye_tokio::connect_with(&args.url, options, config)
        .await
        .map_err(describe)?;
    if let Some(extensions) = response.headers.get("Sec-WebSocket-Extensions") {
        tracing::info!(extensions, "server accepted extensions");
    }
    if let Some(protocol) = &response.protocol {
        tracing::info!(protocol, "server selected a subprotocol");
    }
    let blocks =
        input::spawn_stdin_reader().map_err(|error| format!("cannot read stdin: {error}"))?;
    let (read, write) = socket.split();
    let (stop, stopped) = oneshot::channel();
    let sender = tokio::spawn(input::send_input(write, blocks, mode, ping, stopped));
    let mut session = Session {
        read,
        output: Output::new(mode),
        we_closed: false,
    };
    let code = session.run(sender, stop, end).await;
    let flushed = session.output.finish().await;
    let code = code?;
    flushed?;
    Ok(code)
}

/// When to close once stdin has ended (see [`Args`]).
#[derive(Clone, Copy, Debug)]
enum EndOfInput {
    CloseAtOnce,
    Wait { quiet: Duration, max: Duration },
}

impl EndOfInput {
    /// When to close after stdin ended `since` and the last message
    /// arrived at `last_received`: once the server has been quiet for
    /// `quiet`, and `max` after the end of stdin at the latest; `None` to
    /// close at once.
    fn deadline(self, since: Instant, last_received: Instant) -> Option<Instant> {
        match self {
            EndOfInput::CloseAtOnce => None,
            EndOfInput::Wait { quiet, max } => {
                Some((since.max(last_received) + quiet).min(since + max))
            }
        }
    }
}

/// Where the session is.
enum Phase {
    /// Stdin is being sent by the sender task.
    Sending(tokio::task::JoinHandle<Result<WriteHalf, String>>),
    /// Stdin has ended at `since`; replies are still coming.
    Draining { write: WriteHalf, since: Instant },
    /// Our close frame is out (or the server's came first).
    Closing,
}

impl Phase {
    /// Leave [`Phase::Draining`] for [`Phase::Closing`], with the sending
    /// half to close; `None` in any other phase.
    fn end_draining(&mut self) -> Option<WriteHalf> {
        if !matches!(self, Phase::Draining { .. }) {
            return None;
        }
        match std::mem::replace(self, Phase::Closing) {
            Phase::Draining { write, .. } => Some(write),
            _ => None,
        }
    }
}

/// The receiving side of `connect`: prints what arrives and decides when
/// to close.
struct Session {
    read: ReadHalf,
    output: Output,
    we_closed: bool,
}

impl Session {
    async fn run(
        &mut self,
        sender: tokio::task::JoinHandle<Result<WriteHalf, String>>,
        stop: oneshot::Sender<()>,
        end: EndOfInput,
    ) -> Result<ExitCode, String> {
        let mut phase = Phase::Sending(sender);
        let mut stop = Some(stop);
        let mut last_received = Instant::now();
        // Created once: a fresh `ctrl_c()` per turn of the loop would
        // register a new signal listener every time.
        let ctrl_c = tokio::signal::ctrl_c();
        tokio::pin!(ctrl_c);
        let mut interrupted = false;
        let close_timer = tokio::time::sleep_until(Instant::now());
        tokio::pin!(close_timer);
        loop {
            tokio::select! {
                received = self.read.recv() => {
                    if let Some(code) = self.take_batch(received).await? {
                        return Ok(code);
                    }
                    last_received = Instant::now();
                }
                sent = wait_sender(&mut phase) => {
                    let write = sent?;
                    let since = Instant::now();
                    phase = match end.deadline(since, last_received) {
                        Some(deadline) if !interrupted => {
                            close_timer.as_mut().reset(deadline);
                            Phase::Draining { write, since }
                        }
                        _ => {
                            self.start_close(write)?;
                            Phase::Closing
                        }
                    };
                }
                () = &mut close_timer, if matches!(phase, Phase::Draining { .. }) => {
                    // Messages since the timer was set have moved the deadline.
                    let deadline = match phase {
                        Phase::Draining { since, .. } => end.deadline(since, last_received),
                        _ => None,
                    };
                    match deadline {
                        Some(deadline) if Instant::now() < deadline => {
                            close_timer.as_mut().reset(deadline);
                        }
                        _ => {
                            if let Some(write) = phase.end_draining() {
                                self.start_close(write)?;
                            }
                        }
                    }
                }
                // Ctrl-C ends the session like the end of stdin, without the
                // wait: the sender stops at once and its branch closes.
                _ = &mut ctrl_c, if !interrupted => {
                    interrupted = true;
                    if let Some(stop) = stop.take() {
                        let _ = stop.send(());
                    }
                    if let Some(write) = phase.end_draining() {
                        self.start_close(write)?;
                    }
                }
            }
        }
    }

    /// Handle `first` and every message ready after it, then hand what
    /// they printed to stdout. Returns the exit code once the session has
    /// ended (the connection is over, or the server closed with a failure);
    /// what the batch printed is then left for [`Output::finish`].
    async fn take_batch(
        &mut self,
        first: Option<Result<Message, Error>>,
    ) -> Result<Option<ExitCode>, String> {
        let mut received = first;
        loop {
            match received {
                Some(Ok(message)) => {
                    if let Some(code) = self.take(message) {
                        return Ok(Some(code));
                    }
                }
                Some(Err(error)) => return Err(describe(error)),
                None => return Ok(Some(ExitCode::SUCCESS)),
            }
            if self.output.is_full() {
                break;
            }
            // Only what is ready now: waiting is the caller's `select!`.
            received = match std::future::poll_fn(|cx| Poll::Ready(pin!(self.read.recv()).poll(cx)))
                .await
            {
                Poll::Ready(next) => next,
                Poll::Pending => break,
            };
        }
        self.output.write().await?;
        Ok(None)
    }

    /// Print one received message; an exit code when the peer's close
    /// ends the session with a failure.
    fn take(&mut self, message: Message) -> Option<ExitCode> {
        match message {
            Message::Text(text) => self.output.text(&text),
            Message::Binary(data) => self.output.binary(&data),
            Message::Close(frame) => {
                let (code, reason) = match &frame {
                    Some(frame) => (frame.code.get(), frame.reason.as_str()),
                    None => (1005, ""),
                };
                if self.we_closed {
                    tracing::info!(code, reason, "closing handshake complete");
                    return None;
                }
                if reason.is_empty() {
                    eprintln!("sockeye: server closed the connection: {code}");
                } else {
                    eprintln!("sockeye: server closed the connection: {code} {reason}");
                }
                if !matches!(code, 1000 | 1001 | 1005) {
                    return Some(ExitCode::FAILURE);
                }
            }
            Message::Ping(payload) => {
                tracing::debug!(len = payload.len(), "ping received (answered)");
            }
            Message::Pong(payload) => {
                tracing::debug!(len = payload.len(), "pong received");
            }
            other => tracing::debug!(?other, "ignored"),
        }
        None
    }

    /// Queue our close (1000); the receiving side writes it out, then sees
    /// the server's answer and the end of the connection.
    ///
    /// The close future is polled once, which queues the frame, and not
    /// awaited: writing it out may need the server to read, and a server
    /// may read only once we have read what it sends, which is the
    /// receiving side's work.
    fn start_close(&mut self, mut write: WriteHalf) -> Result<(), String> {
        self.we_closed = true;
        let mut cx = Context::from_waker(Waker::noop());
        match pin!(write.close(CloseCode::NORMAL, "")).poll(&mut cx) {
            // The connection ended first: the receiving side reports how.
            Poll::Ready(Err(Error::Closed)) | Poll::Ready(Ok(())) | Poll::Pending => Ok(()),
            Poll::Ready(Err(error)) => Err(describe(error)),
        }
    }
}

/// The sender task's result once stdin has ended; never ready in any other
/// phase.
async fn wait_sender(phase: &mut Phase) -> Result<WriteHalf, String> {
    match phase {
        Phase::Sending(sender) => sender.await.map_err(|error| error.to_string())?,
        _ => std::future::pending().await,
    }
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
    use std::time::Duration;

    use tokio::time::Instant;

    use super::{EndOfInput, parse_header};

    #[test]
    fn closes_a_quiet_time_after_the_later_of_eof_and_the_last_message_capped_by_max() {
        let secs = Duration::from_secs_f64;
        let before = Instant::now();
        let eof = before + secs(5.0);
        let wait = EndOfInput::Wait {
            quiet: secs(1.0),
            max: secs(10.0),
        };
        assert_eq!(wait.deadline(eof, before), Some(eof + secs(1.0)));
        assert_eq!(wait.deadline(eof, eof + secs(3.0)), Some(eof + secs(4.0)));
        assert_eq!(wait.deadline(eof, eof + secs(9.5)), Some(eof + secs(10.0)));
        assert_eq!(EndOfInput::CloseAtOnce.deadline(eof, eof), None);
    }

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
