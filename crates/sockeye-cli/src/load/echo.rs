//! Echo load: each connection keeps WINDOW messages in flight.
//!
//! The cost per message is kept far below a server's. The frames are prepared
//! once (masked by a client engine) and the same bytes are written again and
//! again: every free window slot goes out in one write. Each connection is one
//! task over the whole socket, so a batch of replies costs one wakeup: the
//! engine's [`Connection`] reads everything available straight into its
//! buffer, every reply in it is counted with one clock reading, and the freed
//! slots are refilled with one write. Writes never block the reads (large
//! messages would otherwise deadlock against a server that is itself blocked
//! writing), so the socket is polled for both at once.
//!
//! With `--raw-echo` the server is a raw TCP echo (the benchmarks' floor,
//! `benches/src/bin/echo-floor.rs`): there is no opening handshake, the same
//! masked frames are sent, and what comes back (the masked frames again, not
//! valid server frames) is only counted: every `frame_len` bytes returned is
//! one reply, unchecked. The figures then measure the kernel and the event
//! loop alone.

use std::collections::VecDeque;
use std::io::ErrorKind;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use hdrhistogram::Histogram;
use sockeye::{Config, Connection, Event, Role};
use sockeye_io::driver::Clock;
use sockeye_tokio::TokioClock;
use tokio::io::{AsyncWriteExt, Interest};
use tokio::net::TcpStream;

use super::{Args, Counters, Outcome, client_config, collect, new_histogram, open};

/// How long replies still in flight at the end of the run may take.
const DRAIN: Duration = Duration::from_secs(5);

/// Run every connection; returns what each measured and the elapsed time.
pub(super) async fn run(args: &Args, counters: &Arc<Counters>) -> (Vec<Outcome>, Duration) {
    let frames = Arc::new(prepare_frames(args.size, args.window, args.binary));
    let started = Instant::now();
    let stop_at = started + args.duration;
    let mut tasks = Vec::with_capacity(args.connections);
    for _ in 0..args.connections {
        let url = args.url.clone();
        let frames = frames.clone();
        let counters = counters.clone();
        let (size, binary, raw) = (args.size, args.binary, args.raw_echo);
        tasks.push(tokio::spawn(async move {
            let mut histogram = new_histogram();
            let error = run_connection(
                &url,
                &frames,
                size,
                binary,
                raw,
                stop_at,
                &counters,
                &mut histogram,
            )
            .await
            .err();
            Outcome { histogram, error }
        }));
    }
    let outcomes = collect(tasks, counters).await;
    (outcomes, started.elapsed())
}

/// `window + 1` copies of one masked frame carrying `size` bytes, back to
/// back, so that any run of up to `window` frames starting inside the first
/// frame is one contiguous slice.
pub(super) struct Frames {
    pub(super) batch: Bytes,
    pub(super) frame_len: usize,
    pub(super) window: usize,
}

pub(super) fn prepare_frames(size: usize, window: usize, binary: bool) -> Frames {
    // Printable ASCII, so the text variant is valid UTF-8.
    let payload: Vec<u8> = (0..size).map(|i| b'a' + (i % 26) as u8).collect();
    let mut client = Connection::new(Role::Client, Config::default(), Duration::ZERO);
    let queued = if binary {
        client.send_binary(payload)
    } else {
        client.send_text(String::from_utf8(payload).unwrap_or_default())
    };
    queued.expect("a fresh connection accepts a message");
    let mut frame = Vec::new();
    while let Some(run) = client.poll_transmit() {
        frame.extend_from_slice(&run);
    }
    let frame_len = frame.len();
    let mut batch = BytesMut::with_capacity(frame_len * (window + 1));
    for _ in 0..=window {
        batch.extend_from_slice(&frame);
    }
    Frames {
        batch: batch.freeze(),
        frame_len,
        window,
    }
}

/// The bytes owed to the socket: `batch[from..to]`. Since every frame is the
/// same, the run is moved back by whole frames whenever it starts past the
/// first one, which keeps `to` within the batch (at most `window` frames are
/// ever owed).
struct Pending {
    from: usize,
    to: usize,
}

impl Pending {
    fn queue(&mut self, frames: usize, frame_len: usize) {
        self.to += frames * frame_len;
    }

    fn wrote(&mut self, n: usize, frame_len: usize) {
        self.from += n;
        let whole = self.from / frame_len * frame_len;
        self.from -= whole;
        self.to -= whole;
    }

    fn is_empty(&self) -> bool {
        self.from == self.to
    }
}

/// Where replies are found: a WebSocket client engine that parses the
/// server's frames, or (against the raw TCP floor) a count of the bytes
/// returned.
enum Replies {
    Frames(Connection),
    Bytes {
        /// Bytes of a reply not yet complete.
        partial: usize,
        scratch: Vec<u8>,
    },
}

impl Replies {
    /// Read what the socket holds; `Ok(0)` when the server closed it.
    fn read(&mut self, stream: &TcpStream, clock: &TokioClock) -> std::io::Result<usize> {
        match self {
            Replies::Frames(conn) => conn.receive_with(clock.now(), |buf| stream.try_read_buf(buf)),
            Replies::Bytes { partial, scratch } => {
                let n = stream.try_read(scratch)?;
                *partial += n;
                Ok(n)
            }
        }
    }

    /// Take the next complete reply; its payload length.
    fn next(
        &mut self,
        size: usize,
        binary: bool,
        frame_len: usize,
    ) -> Result<Option<usize>, String> {
        let conn = match self {
            Replies::Frames(conn) => conn,
            Replies::Bytes { partial, .. } => {
                if *partial < frame_len {
                    return Ok(None);
                }
                *partial -= frame_len;
                return Ok(Some(size));
            }
        };
        while let Some(event) = conn.poll_event() {
            let (is_binary, len) = match event {
                Event::Text(text) => (false, text.len()),
                Event::Binary(data) => (true, data.len()),
                Event::Ping(_) | Event::Pong(_) => continue,
                Event::Close(frame) => {
                    return Err(format!("the server closed the connection: {frame:?}"));
                }
                Event::Failed(error) => return Err(format!("protocol error: {error}")),
                other => return Err(format!("unexpected event {other:?}")),
            };
            if is_binary != binary || len != size {
                return Err(format!(
                    "the echo differs: got {len} bytes ({}), sent {size}",
                    if is_binary { "binary" } else { "text" }
                ));
            }
            return Ok(Some(len));
        }
        Ok(None)
    }
}

#[allow(clippy::too_many_arguments)]
async fn run_connection(
    url: &str,
    frames: &Frames,
    size: usize,
    binary: bool,
    raw: bool,
    stop_at: Instant,
    counters: &Counters,
    histogram: &mut Histogram<u64>,
) -> Result<(), String> {
    let clock = TokioClock::new();
    let (mut stream, mut replies_in) = if raw {
        (
            connect_raw(url).await?,
            Replies::Bytes {
                partial: 0,
                scratch: vec![0; 256 << 10],
            },
        )
    } else {
        let (stream, conn) = open(url, client_config(size), &clock).await?;
        (stream, Replies::Frames(conn))
    };
    let frame_len = frames.frame_len;
    // When each message in flight was queued; replies come back in order.
    let mut sent_at: VecDeque<Instant> = VecDeque::with_capacity(frames.window);
    let mut free = frames.window;
    let mut pending = Pending { from: 0, to: 0 };
    let drain_deadline = stop_at + DRAIN;
    let deadline = tokio::time::sleep_until(stop_at.into());
    tokio::pin!(deadline);
    let mut draining = false;
    loop {
        // Every reply already buffered (the handshake may have brought some).
        let now = Instant::now();
        let (mut replies, mut bytes) = (0, 0);
        while let Some(len) = replies_in.next(size, binary, frame_len)? {
            let sent = sent_at
                .pop_front()
                .ok_or("a reply to a message never sent")?;
            let micros = u64::try_from(now.duration_since(sent).as_micros()).unwrap_or(u64::MAX);
            histogram.saturating_record(micros.max(1));
            replies += 1;
            bytes += len as u64;
        }
        if replies > 0 {
            counters.messages.fetch_add(replies, Ordering::Relaxed);
            counters.bytes.fetch_add(bytes, Ordering::Relaxed);
            free += replies as usize;
        }

        if now < stop_at {
            if free > 0 {
                sent_at.extend(std::iter::repeat_n(now, free));
                pending.queue(free, frame_len);
                free = 0;
            }
        } else {
            if sent_at.is_empty() {
                break;
            }
            if now >= drain_deadline {
                return Err(format!("{} replies missing after the run", sent_at.len()));
            }
            if !draining {
                draining = true;
                deadline.as_mut().reset(drain_deadline.into());
            }
        }

        while !pending.is_empty() {
            match stream.try_write(&frames.batch[pending.from..pending.to]) {
                Ok(n) => pending.wrote(n, frame_len),
                Err(error) if error.kind() == ErrorKind::WouldBlock => break,
                Err(error) => return Err(format!("writing: {error}")),
            }
        }

        let interest = if pending.is_empty() {
            Interest::READABLE
        } else {
            Interest::READABLE | Interest::WRITABLE
        };
        let ready = tokio::select! {
            ready = stream.ready(interest) => ready.map_err(|error| format!("polling: {error}"))?,
            // Wake at the end of the run to stop sending and see what is owed.
            () = &mut deadline => continue,
        };
        if ready.is_readable() {
            match replies_in.read(&stream, &clock) {
                Ok(0) => return Err("the server closed the TCP connection".into()),
                Ok(_) => {}
                Err(error) if error.kind() == ErrorKind::WouldBlock => {}
                Err(error) => return Err(format!("reading: {error}")),
            }
        }
    }

    match &mut replies_in {
        Replies::Frames(conn) => close(&mut stream, conn, &clock).await,
        Replies::Bytes { .. } => {
            let _ = stream.shutdown().await;
            Ok(())
        }
    }
}

/// A plain TCP connection to the host and port of `url`, Nagle off.
async fn connect_raw(url: &str) -> Result<TcpStream, String> {
    let target = sockeye_io::Target::parse(url).map_err(|error| error.to_string())?;
    let stream = TcpStream::connect((target.host.as_str(), target.port))
        .await
        .map_err(|error| format!("connecting to {url}: {error}"))?;
    let _ = stream.set_nodelay(true);
    Ok(stream)
}

/// Close politely: our close frame, then the server's, bounded.
async fn close(
    stream: &mut TcpStream,
    conn: &mut Connection,
    clock: &TokioClock,
) -> Result<(), String> {
    let _ = conn.close(clock.now(), sockeye::CloseCode::NORMAL, "");
    while let Some(run) = conn.poll_transmit() {
        stream
            .write_all(&run)
            .await
            .map_err(|error| format!("writing the close frame: {error}"))?;
    }
    let _ = tokio::time::timeout(Duration::from_secs(2), async {
        loop {
            if stream.readable().await.is_err() {
                return;
            }
            match conn.receive_with(clock.now(), |buf| stream.try_read_buf(buf)) {
                Ok(0) => return,
                Ok(_) => {}
                Err(error) if error.kind() == ErrorKind::WouldBlock => continue,
                Err(_) => return,
            }
            while let Some(event) = conn.poll_event() {
                if matches!(event, Event::Close(_) | Event::Failed(_)) {
                    return;
                }
            }
        }
    })
    .await;
    let _ = stream.shutdown().await;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prepares_identical_masked_frames_back_to_back() {
        let frames = prepare_frames(200, 3, false);
        // 2 header bytes + 2 extended length + 4 mask key + 200 payload.
        assert_eq!(frames.frame_len, 208);
        assert_eq!(frames.batch.len(), 4 * 208);
        assert_eq!(frames.batch[0], 0x81);
        assert_eq!(frames.batch[1], 0x80 | 126);
        assert_eq!(&frames.batch[..208], &frames.batch[3 * 208..]);
        let mut server = Connection::new(Role::Server, Config::default(), Duration::ZERO);
        server.receive(Duration::ZERO, &frames.batch);
        for _ in 0..4 {
            match server.poll_event() {
                Some(Event::Text(text)) => assert!(text.as_str().starts_with("abcdef")),
                other => panic!("unexpected {other:?}"),
            }
        }
    }

    #[test]
    fn pending_run_stays_within_window_plus_one_frames() {
        let (window, frame_len) = (4, 10);
        let mut pending = Pending { from: 0, to: 0 };
        pending.queue(window, frame_len);
        // Partial writes, with slots freed and refilled in between.
        for (wrote, refill) in [(15, 1), (7, 0), (23, 2), (5, 2), (20, 0)] {
            pending.wrote(wrote, frame_len);
            assert!(pending.from < frame_len);
            pending.queue(refill, frame_len);
            assert!(pending.to <= (window + 1) * frame_len, "{}", pending.to);
        }
        // 90 bytes queued, 70 written.
        assert_eq!(pending.to - pending.from, 20);
    }
}
