//! A blocking WebSocket split into a receiving half and a sending half, for
//! two threads.
//!
//! The engine stays in one place, behind a mutex shared by the halves, with
//! the writing end of the socket. The receiving half owns a second handle to
//! the same socket ([`TryCloneStream`]) and blocks in `read` without the
//! lock; it takes the lock only to hand the bytes to the engine and to
//! write what they produced (pongs, the close reply). Every write happens
//! under the lock, so frames from the two halves never interleave.
//!
//! A write that blocks (the peer reads slowly) holds the lock, so the
//! receiving half hands over what it read only once the write is done; and
//! a client's receiving half holds it while it waits, after the closing
//! handshake, for the server to close the connection (up to the close
//! timeout), during which a send waits and then returns [`Error::Closed`].

use std::io::{self, Read, Write};
use std::net::TcpStream;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use sockeye_io::sockeye::State;
use sockeye_io::{CloseCode, CloseStatus, Error, Message};

use crate::MaybeTlsStream;
use crate::socket::{Next, WebSocket};

/// Bytes the receiving half reads at a time.
const READ_CHUNK: usize = 8 << 10;

/// A stream that can be opened a second time on the same connection, as
/// [`WebSocket::split`] needs.
pub trait TryCloneStream: Sized {
    /// Another handle to the same connection.
    ///
    /// # Errors
    /// When the stream cannot be shared between two threads.
    fn try_clone_stream(&self) -> io::Result<Self>;
}

impl TryCloneStream for TcpStream {
    fn try_clone_stream(&self) -> io::Result<Self> {
        self.try_clone()
    }
}

impl TryCloneStream for MaybeTlsStream {
    /// Plain TCP only: a TLS session's reading and writing share its state,
    /// which one thread cannot block in while the other uses it.
    fn try_clone_stream(&self) -> io::Result<Self> {
        match self {
            MaybeTlsStream::Plain(tcp) => tcp.try_clone().map(MaybeTlsStream::Plain),
            #[allow(unreachable_patterns)]
            _ => Err(io::Error::new(
                io::ErrorKind::Unsupported,
                "a TLS stream cannot be split into two threads",
            )),
        }
    }
}

impl<S: Read + Write + TryCloneStream> WebSocket<S> {
    /// Split into a receiving half and a sending half, usable from two
    /// threads. Keep receiving on the [`ReadHalf`]: it also answers pings
    /// and the peer's close.
    ///
    /// # Errors
    /// When the stream cannot be cloned (a TLS stream); the WebSocket is
    /// given back with the error.
    #[allow(clippy::result_large_err)]
    pub fn split(mut self) -> Result<(ReadHalf<S>, WriteHalf<S>), (Self, io::Error)> {
        let reader = match self.get_mut().try_clone_stream() {
            Ok(reader) => reader,
            Err(error) => return Err((self, error)),
        };
        let shared = Arc::new(Mutex::new(self));
        Ok((
            ReadHalf {
                shared: shared.clone(),
                reader,
                buf: vec![0; READ_CHUNK].into_boxed_slice(),
            },
            WriteHalf { shared },
        ))
    }
}

fn lock<S>(shared: &Mutex<WebSocket<S>>) -> MutexGuard<'_, WebSocket<S>> {
    shared.lock().unwrap_or_else(PoisonError::into_inner)
}

/// The receiving half of a split [`WebSocket`].
#[derive(Debug)]
pub struct ReadHalf<S> {
    shared: Arc<Mutex<WebSocket<S>>>,
    reader: S,
    buf: Box<[u8]>,
}

impl<S: Read + Write> ReadHalf<S> {
    /// The next message, or `None` once the connection has ended; as
    /// [`WebSocket::recv`]. Blocks in `read` without holding the lock the
    /// sending half needs.
    ///
    /// # Errors
    /// As [`WebSocket::recv`].
    pub fn recv(&mut self) -> Option<Result<Message, Error>> {
        loop {
            if let Next::Item(item) = lock(&self.shared).next_without_reading() {
                return item;
            }
            let result = self.reader.read(&mut self.buf);
            let mut ws = lock(&self.shared);
            if let Ok(n) = result {
                let now = ws.now();
                ws.connection().receive(now, &self.buf[..n]);
            }
            if let Err(error) = ws.absorb_read(result) {
                return Some(Err(error));
            }
        }
    }

    /// Where the connection is in its life.
    pub fn state(&self) -> State {
        lock(&self.shared).state()
    }

    /// How the connection ended, once closed.
    pub fn close_status(&self) -> Option<CloseStatus> {
        lock(&self.shared).close_status()
    }

    /// The stream this half reads from (to set a read timeout, for example).
    pub fn get_mut(&mut self) -> &mut S {
        &mut self.reader
    }
}

/// The sending half of a split [`WebSocket`].
#[derive(Debug)]
pub struct WriteHalf<S> {
    shared: Arc<Mutex<WebSocket<S>>>,
}

impl<S: Read + Write> WriteHalf<S> {
    /// Send `message`; as [`WebSocket::send`].
    ///
    /// # Errors
    /// As [`WebSocket::send`].
    pub fn send(&mut self, message: impl Into<Message>) -> Result<(), Error> {
        lock(&self.shared).send(message)
    }

    /// Write out everything queued.
    ///
    /// # Errors
    /// As [`WebSocket::flush`].
    pub fn flush(&mut self) -> Result<(), Error> {
        lock(&self.shared).flush()
    }

    /// Send a close frame and write it out, without waiting: the
    /// [`ReadHalf`] sees the peer's answer and then the end of the
    /// connection. Does nothing once closing has started.
    ///
    /// # Errors
    /// [`Error::Send`] for a reason over 123 bytes; as [`WebSocket::flush`].
    pub fn close(&mut self, code: CloseCode, reason: &str) -> Result<(), Error> {
        let mut ws = lock(&self.shared);
        ws.start_close(code, reason)?;
        ws.flush()
    }

    /// Where the connection is in its life.
    pub fn state(&self) -> State {
        lock(&self.shared).state()
    }
}
