//! The driver's own WebSocket client codec, written apart from the library
//! under test so that what it checks is checked independently: the
//! upgrade request, masked client frames (well formed or deliberately
//! not), and the server's frames read back.

use std::io;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::net::tcp::OwnedReadHalf;
use tokio::time::timeout;

/// Opcodes (RFC 6455 §5.2).
pub const CONTINUATION: u8 = 0x0;
pub const TEXT: u8 = 0x1;
pub const BINARY: u8 = 0x2;
pub const CLOSE: u8 = 0x8;
pub const PING: u8 = 0x9;
pub const PONG: u8 = 0xA;

/// The upgrade request for `path`, byte for byte.
pub fn upgrade_request(path: &str) -> Vec<u8> {
    format!(
        "GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
    )
    .into_bytes()
}

/// The accept value the server must answer the key of [`upgrade_request`]
/// with (RFC 6455 §1.3).
const ACCEPT: &str = "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=";

/// Send the upgrade request for `path` and read the `101` response,
/// within `limit`. Returns the bytes read past the response.
pub async fn handshake(tcp: &mut TcpStream, path: &str, limit: Duration) -> io::Result<Vec<u8>> {
    tcp.write_all(&upgrade_request(path)).await?;
    let mut buf = Vec::with_capacity(512);
    let end = timeout(limit, async {
        loop {
            if let Some(end) = find_end(&buf) {
                return Ok(end);
            }
            if buf.len() > 8192 {
                return Err(invalid("response head over 8 KiB"));
            }
            let mut chunk = [0u8; 1024];
            let n = tcp.read(&mut chunk).await?;
            if n == 0 {
                return Err(io::ErrorKind::UnexpectedEof.into());
            }
            buf.extend_from_slice(&chunk[..n]);
        }
    })
    .await
    .map_err(|_| io::Error::from(io::ErrorKind::TimedOut))??;
    let head = String::from_utf8_lossy(&buf[..end]);
    if !head.starts_with("HTTP/1.1 101") {
        return Err(invalid(&format!(
            "not upgraded: {}",
            head.lines().next().unwrap_or("")
        )));
    }
    if !head.lines().any(|line| {
        line.to_ascii_lowercase()
            .starts_with("sec-websocket-accept:")
            && line.ends_with(ACCEPT)
    }) {
        return Err(invalid("wrong Sec-WebSocket-Accept"));
    }
    Ok(buf[end..].to_vec())
}

fn find_end(buf: &[u8]) -> Option<usize> {
    buf.windows(4)
        .position(|w| w == b"\r\n\r\n")
        .map(|at| at + 4)
}

/// An `InvalidData` error saying `what`.
pub fn invalid(what: &str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, what.to_owned())
}

/// A client frame: `fin`, `rsv` (the three bits, in place), `opcode`,
/// `payload` masked with `mask` (`None` sends it unmasked, which a server
/// must refuse).
pub fn frame(fin: bool, rsv: u8, opcode: u8, payload: &[u8], mask: Option<[u8; 4]>) -> Vec<u8> {
    let mut out = Vec::with_capacity(payload.len() + 14);
    out.push(if fin { 0x80 } else { 0 } | (rsv & 0x70) | (opcode & 0x0F));
    let masked = if mask.is_some() { 0x80 } else { 0 };
    push_length(&mut out, masked, payload.len() as u64);
    match mask {
        Some(key) => {
            out.extend_from_slice(&key);
            out.extend(payload.iter().enumerate().map(|(i, b)| b ^ key[i % 4]));
        }
        None => out.extend_from_slice(payload),
    }
    out
}

/// The header alone of a masked frame announcing `length` payload bytes.
pub fn header(fin: bool, opcode: u8, length: u64, mask: [u8; 4]) -> Vec<u8> {
    let mut out = vec![if fin { 0x80 } else { 0 } | opcode];
    push_length(&mut out, 0x80, length);
    out.extend_from_slice(&mask);
    out
}

fn push_length(out: &mut Vec<u8>, masked: u8, length: u64) {
    if length < 126 {
        out.push(masked | length as u8);
    } else if length <= u16::MAX as u64 {
        out.push(masked | 126);
        out.extend_from_slice(&(length as u16).to_be_bytes());
    } else {
        out.push(masked | 127);
        out.extend_from_slice(&length.to_be_bytes());
    }
}

/// A whole, well-formed masked frame.
pub fn masked(opcode: u8, payload: &[u8], mask: [u8; 4]) -> Vec<u8> {
    frame(true, 0, opcode, payload, Some(mask))
}

/// A close frame with `code`.
pub fn close(code: u16, mask: [u8; 4]) -> Vec<u8> {
    masked(CLOSE, &code.to_be_bytes(), mask)
}

/// A frame from the server.
#[derive(Debug)]
pub struct Frame {
    pub fin: bool,
    pub opcode: u8,
    pub payload: Vec<u8>,
}

impl Frame {
    /// The close code of a close frame (1005 when it has none).
    pub fn close_code(&self) -> u16 {
        match self.payload.as_slice() {
            [a, b, ..] => u16::from_be_bytes([*a, *b]),
            _ => 1005,
        }
    }
}

/// Reads server frames from a stream, with what was read past the last one.
pub struct Reader<R> {
    io: R,
    buf: Vec<u8>,
    /// Largest payload accepted from the server.
    max: usize,
}

/// What [`Reader::next`] found.
pub enum Read {
    Frame(Frame),
    /// The server closed the TCP connection cleanly.
    Eof,
}

impl<R: tokio::io::AsyncRead + Unpin> Reader<R> {
    /// A reader over `io` that starts with `leftover` (from the handshake).
    pub fn new(io: R, leftover: Vec<u8>) -> Self {
        Self {
            io,
            buf: leftover,
            max: 4 << 20,
        }
    }

    /// The next frame, or the end of the stream; an error for a frame no
    /// server may send (masked, RSV bits, oversized).
    pub async fn next(&mut self) -> io::Result<Read> {
        loop {
            if let Some((frame, used)) = parse(&self.buf, self.max)? {
                self.buf.drain(..used);
                return Ok(Read::Frame(frame));
            }
            let mut chunk = [0u8; 16 * 1024];
            let n = self.io.read(&mut chunk).await?;
            if n == 0 {
                if self.buf.is_empty() {
                    return Ok(Read::Eof);
                }
                return Err(io::ErrorKind::UnexpectedEof.into());
            }
            self.buf.extend_from_slice(&chunk[..n]);
        }
    }
}

/// Parses one server frame from the front of `buf`: `None` when more bytes
/// are needed.
fn parse(buf: &[u8], max: usize) -> io::Result<Option<(Frame, usize)>> {
    if buf.len() < 2 {
        return Ok(None);
    }
    let (b0, b1) = (buf[0], buf[1]);
    if b0 & 0x70 != 0 {
        return Err(invalid("server frame with RSV bits"));
    }
    if b1 & 0x80 != 0 {
        return Err(invalid("masked server frame"));
    }
    let (length, at) = match b1 & 0x7F {
        126 if buf.len() >= 4 => (u16::from_be_bytes([buf[2], buf[3]]) as u64, 4),
        127 if buf.len() >= 10 => (u64::from_be_bytes(buf[2..10].try_into().unwrap()), 10),
        126 | 127 => return Ok(None),
        short => (short as u64, 2),
    };
    if length > max as u64 {
        return Err(invalid("server frame over 4 MiB"));
    }
    let end = at + length as usize;
    if buf.len() < end {
        return Ok(None);
    }
    let frame = Frame {
        fin: b0 & 0x80 != 0,
        opcode: b0 & 0x0F,
        payload: buf[at..end].to_vec(),
    };
    Ok(Some((frame, end)))
}

/// A whole message from the server, or a control frame.
pub enum Incoming {
    Message { opcode: u8, payload: Vec<u8> },
    Ping(Vec<u8>),
    Pong,
    Close(u16),
    Eof,
}

/// Reassembles fragmented messages from a [`Reader`].
pub struct MessageReader {
    pub frames: Reader<OwnedReadHalf>,
    partial: Option<(u8, Vec<u8>)>,
}

impl MessageReader {
    /// Messages from `frames`.
    pub fn new(frames: Reader<OwnedReadHalf>) -> Self {
        Self {
            frames,
            partial: None,
        }
    }

    /// The next message or control frame.
    pub async fn next(&mut self) -> io::Result<Incoming> {
        loop {
            let frame = match self.frames.next().await? {
                Read::Eof => return Ok(Incoming::Eof),
                Read::Frame(frame) => frame,
            };
            match frame.opcode {
                PING => return Ok(Incoming::Ping(frame.payload)),
                PONG => return Ok(Incoming::Pong),
                CLOSE => return Ok(Incoming::Close(frame.close_code())),
                TEXT | BINARY if self.partial.is_none() => {
                    if frame.fin {
                        return Ok(Incoming::Message {
                            opcode: frame.opcode,
                            payload: frame.payload,
                        });
                    }
                    self.partial = Some((frame.opcode, frame.payload));
                }
                CONTINUATION if self.partial.is_some() => {
                    let (_, payload) = self.partial.as_mut().unwrap();
                    payload.extend_from_slice(&frame.payload);
                    if frame.fin {
                        let (opcode, payload) = self.partial.take().unwrap();
                        return Ok(Incoming::Message { opcode, payload });
                    }
                }
                other => {
                    return Err(invalid(&format!("unexpected server opcode {other:#x}")));
                }
            }
        }
    }
}
