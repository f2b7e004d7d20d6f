//! Server handshake: parse and validate a typical Chrome upgrade request and
//! build the 101 response.
//!
//! - **sockeye**: `ServerHandshake::new(Config::default(), 0)`, one
//!   `receive` of the whole request, then `Request::accept(Accept::new(0))`,
//!   which returns the response bytes and the `Connection`.
//! - **tungstenite**: `tungstenite::accept` over an in-memory stream (a
//!   `Cursor` over the request for reads, a `Vec` collecting the response
//!   for writes, both made outside the timed part); it parses the request
//!   with httparse, writes the response and returns the `WebSocket`.

use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use sockeye::Config;
use sockeye::handshake::{Accept, ServerHandshake};
use std::hint::black_box;
use std::io::{Cursor, Read, Write};
use std::time::Duration;

/// What Chrome sends to open `wss://example.com/chat` from a page on
/// `https://example.com`.
const CHROME_REQUEST: &[u8] = b"GET /chat HTTP/1.1\r\n\
Host: example.com\r\n\
Connection: Upgrade\r\n\
Pragma: no-cache\r\n\
Cache-Control: no-cache\r\n\
User-Agent: Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36\r\n\
Upgrade: websocket\r\n\
Origin: https://example.com\r\n\
Sec-WebSocket-Version: 13\r\n\
Accept-Encoding: gzip, deflate, br, zstd\r\n\
Accept-Language: en-US,en;q=0.9\r\n\
Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n\
\r\n";

/// An in-memory transport: reads come from the request, writes are kept.
struct Memory {
    input: Cursor<&'static [u8]>,
    output: Vec<u8>,
}

impl Read for Memory {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        self.input.read(buf)
    }
}

impl Write for Memory {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.output.extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn sockeye_accept() -> usize {
    let mut handshake = ServerHandshake::new(Config::default(), Duration::ZERO);
    let request = handshake
        .receive(black_box(CHROME_REQUEST))
        .expect("valid request")
        .expect("complete request");
    let (response, connection) = request
        .accept(Accept::new(Duration::ZERO))
        .expect("accepted");
    black_box(connection);
    response.len()
}

fn tungstenite_accept(stream: Memory) -> usize {
    let socket = tungstenite::accept(stream).expect("accepted");
    socket.get_ref().output.len()
}

fn memory() -> Memory {
    Memory {
        input: Cursor::new(CHROME_REQUEST),
        output: Vec::with_capacity(256),
    }
}

fn handshake(c: &mut Criterion) {
    assert!(sockeye_accept() > 0);
    assert!(tungstenite_accept(memory()) > 0);
    let mut group = c.benchmark_group("handshake");
    group.throughput(Throughput::Elements(1));
    group.bench_function("sockeye", |b| b.iter(sockeye_accept));
    group.bench_function("tungstenite", |b| {
        b.iter_batched(memory, tungstenite_accept, BatchSize::SmallInput)
    });
    group.finish();
}

criterion_group!(benches, handshake);
criterion_main!(benches);
