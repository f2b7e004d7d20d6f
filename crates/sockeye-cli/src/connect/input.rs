//! What `connect` sends: stdin read in large blocks on a thread of its own,
//! cut into lines (or kept as blocks), fed to the WebSocket without a flush
//! per message.

use std::future::poll_fn;
use std::io::{self, Read};
use std::pin::Pin;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use futures_sink::Sink;
use sockeye_io::{Error, Message};
use tokio::sync::{mpsc, oneshot};

use super::{Mode, WriteHalf, describe};

/// Bytes asked of stdin at once: a pipe hands over what it holds up to
/// this, a terminal one line.
const BLOCK: usize = 64 << 10;

/// Blocks read but not yet sent. A small number: enough to read ahead while
/// the socket is busy, and backpressure on stdin when the server is slow.
const BLOCKS_AHEAD: usize = 4;

/// Read stdin on a thread of its own (stdin cannot be polled portably) and
/// hand over each block as it is read: one handoff per block, however many
/// lines it holds. The channel ends at the end of stdin, after an error if
/// reading failed.
pub fn spawn_stdin_reader() -> io::Result<mpsc::Receiver<io::Result<Bytes>>> {
    let (tx, rx) = mpsc::channel(BLOCKS_AHEAD);
    std::thread::Builder::new()
        .name("sockeye-stdin".into())
        .spawn(move || {
            let mut stdin = io::stdin().lock();
            let mut buffer = vec![0; BLOCK];
            loop {
                let block = match stdin.read(&mut buffer) {
                    Ok(0) => return,
                    Ok(n) => Ok(Bytes::copy_from_slice(&buffer[..n])),
                    Err(error) if error.kind() == io::ErrorKind::Interrupted => continue,
                    Err(error) => Err(error),
                };
                let failed = block.is_err();
                // The session is over when nobody listens any more.
                if tx.blocking_send(block).is_err() || failed {
                    return;
                }
            }
        })?;
    Ok(rx)
}

/// Lines cut out of blocks of input, without copying a line that lies
/// within one block.
///
/// A line ends at `\n`; the `\n` and a `\r` just before it are not part of
/// the line (so `\r\n` files read as expected). What follows the last `\n`
/// is a line too, once the input has ended, if it is not empty.
#[derive(Default)]
pub struct Lines {
    /// The rest of the newest block.
    block: Bytes,
    /// The start of a line whose end is in a later block.
    partial: BytesMut,
}

impl Lines {
    /// Add the next block of input.
    pub fn push(&mut self, block: Bytes) {
        debug_assert!(self.block.is_empty(), "push only once the lines are taken");
        self.block = block;
    }

    /// The next complete line, or `None` until more input is pushed.
    pub fn next_line(&mut self) -> Option<Bytes> {
        let Some(end) = self.block.iter().position(|&byte| byte == b'\n') else {
            self.partial.extend_from_slice(&self.block);
            self.block.clear();
            return None;
        };
        let mut line = if self.partial.is_empty() {
            self.block.split_to(end + 1)
        } else {
            self.partial
                .extend_from_slice(&self.block.split_to(end + 1));
            self.partial.split().freeze()
        };
        line.truncate(line.len() - 1);
        if line.last() == Some(&b'\r') {
            line.truncate(line.len() - 1);
        }
        Some(line)
    }

    /// At the end of input: the last line if it had no `\n`.
    pub fn finish(&mut self) -> Option<Bytes> {
        self.partial
            .extend_from_slice(&std::mem::take(&mut self.block));
        (!self.partial.is_empty()).then(|| self.partial.split().freeze())
    }
}

/// Why sending stopped early.
enum Stop {
    /// The WebSocket failed or ended.
    Socket(Error),
    /// Stdin failed, or a line could not be sent as asked.
    Input(String),
}

impl From<Error> for Stop {
    fn from(error: Error) -> Self {
        Stop::Socket(error)
    }
}

/// Send stdin until it ends (or `stop` fires), pinging every `ping`; hand
/// the sending half back for the close.
///
/// Messages are fed to the WebSocket as the lines of a block are cut and
/// written out when the block is used up, so a pipe full of short lines
/// goes out in a few large writes while a typed line goes out at once.
///
/// # Errors
/// When reading stdin or sending fails, except when the connection has
/// ended (the server closed it): then the receiving side reports how, and
/// the rest of stdin is not sent.
pub async fn send_input(
    mut write: WriteHalf,
    blocks: mpsc::Receiver<io::Result<Bytes>>,
    mode: Mode,
    ping: Option<Duration>,
    stop: oneshot::Receiver<()>,
) -> Result<WriteHalf, String> {
    match pump(&mut write, blocks, mode, ping, stop).await {
        Ok(()) | Err(Stop::Socket(Error::Closed)) => Ok(write),
        Err(Stop::Socket(error)) => Err(describe(error)),
        Err(Stop::Input(message)) => Err(message),
    }
}

async fn pump(
    write: &mut WriteHalf,
    mut blocks: mpsc::Receiver<io::Result<Bytes>>,
    mode: Mode,
    ping: Option<Duration>,
    mut stop: oneshot::Receiver<()>,
) -> Result<(), Stop> {
    let mut ticker = ping.map(|period| {
        let mut ticker = tokio::time::interval_at(tokio::time::Instant::now() + period, period);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        ticker
    });
    let mut lines = Lines::default();
    let mut line_number = 0_u64;
    loop {
        tokio::select! {
            block = blocks.recv() => match block {
                Some(Ok(block)) => {
                    if mode == Mode::BinaryRaw {
                        feed(write, Message::binary(block)).await?;
                    } else {
                        lines.push(block);
                        while let Some(line) = lines.next_line() {
                            line_number += 1;
                            feed(write, line_message(line, mode, line_number)?).await?;
                        }
                    }
                    write.flush().await?;
                }
                Some(Err(error)) => return Err(Stop::Input(format!("reading stdin: {error}"))),
                None => {
                    if let Some(line) = lines.finish() {
                        line_number += 1;
                        feed(write, line_message(line, mode, line_number)?).await?;
                    }
                    write.flush().await?;
                    return Ok(());
                }
            },
            _ = &mut stop => return Ok(()),
            _ = tick(&mut ticker) => {
                feed(write, Message::Ping(Bytes::new())).await?;
                write.flush().await?;
            }
        }
    }
}

fn line_message(line: Bytes, mode: Mode, number: u64) -> Result<Message, Stop> {
    if mode == Mode::Text {
        match line.try_into() {
            Ok(text) => Ok(Message::Text(text)),
            Err(_) => Err(Stop::Input(format!(
                "stdin line {number} is not UTF-8 text (--binary sends lines as binary messages)"
            ))),
        }
    } else {
        Ok(Message::binary(line))
    }
}

/// Queue `message` once there is room for it (backpressure), without
/// writing it out yet.
async fn feed(write: &mut WriteHalf, message: Message) -> Result<(), Error> {
    poll_fn(|cx| Pin::new(&mut *write).poll_ready(cx)).await?;
    Pin::new(&mut *write).start_send(message)
}

async fn tick(ticker: &mut Option<tokio::time::Interval>) {
    match ticker {
        Some(ticker) => {
            ticker.tick().await;
        }
        None => std::future::pending().await,
    }
}

#[cfg(test)]
mod tests {
    use super::Lines;

    fn lines_of(blocks: &[&[u8]]) -> Vec<Vec<u8>> {
        let mut lines = Lines::default();
        let mut out = Vec::new();
        for block in blocks {
            lines.push(bytes::Bytes::copy_from_slice(block));
            while let Some(line) = lines.next_line() {
                out.push(line.to_vec());
            }
        }
        out.extend(lines.finish().map(|line| line.to_vec()));
        out
    }

    #[test]
    fn cuts_lines_across_blocks_and_keeps_empty_ones() {
        assert_eq!(
            lines_of(&[b"ab\n\nc", b"d", b"e\nf\n"]),
            [&b"ab"[..], b"", b"cde", b"f"]
        );
    }

    #[test]
    fn strips_crlf_but_keeps_a_lone_cr() {
        assert_eq!(
            lines_of(&[b"a\r\nb\rc\n\r", b"\nd\r"]),
            [&b"a"[..], b"b\rc", b"", b"d\r"]
        );
    }

    #[test]
    fn a_last_line_without_newline_is_a_line_and_no_input_is_none() {
        assert_eq!(lines_of(&[b"x\ny"]), [&b"x"[..], b"y"]);
        assert_eq!(lines_of(&[b"x\n"]), [&b"x"[..]]);
        assert!(lines_of(&[]).is_empty());
        assert!(lines_of(&[b""]).is_empty());
    }
}
