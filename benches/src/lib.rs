//! Benchmarks only: see `benches/`.

pub mod cpu;
pub mod reader;

use std::time::Duration;

use sockeye::deflate::DeflateConfig;
use sockeye::handshake::{Accept, ClientHandshake, ClientRequest, ServerHandshake};
use sockeye::{Config, Connection, Entropy};

/// Mask keys for the client; their value does not matter here.
struct FixedEntropy;

impl Entropy for FixedEntropy {
    fn fill(&mut self, dest: &mut [u8]) {
        dest.fill(0x5a);
    }
}

/// A client and a server `Connection` after a real opening handshake in
/// memory, negotiating permessage-deflate with `deflate` when given: the
/// permessage-deflate benchmarks send from the server to the client.
pub fn deflate_pair(deflate: Option<DeflateConfig>) -> (Connection, Connection) {
    let now = Duration::ZERO;
    let mut config = Config::default();
    config.deflate = deflate;
    let request = ClientRequest::new("example.com", "/").expect("request");
    let mut client =
        ClientHandshake::with_entropy(request, config.clone(), now, Box::new(FixedEntropy));
    let mut server = ServerHandshake::new(config, now);
    let request = server
        .receive(client.request_bytes())
        .expect("request parses")
        .expect("request complete");
    let (response, server) = request.accept(Accept::new(now)).expect("accept");
    let client = client
        .receive(&response)
        .expect("response parses")
        .expect("response complete")
        .into_connection(now);
    (client, server)
}

/// The JSON-like corpus of the permessage-deflate benchmarks: 64 messages
/// of 100 B to 8 KiB of JSON records (ids, names, flags and numbers,
/// repeating keys as chat and RPC traffic does), made deterministically.
/// `benches/benches/deflate.rs` sends it through sockeye; `deflate-peers`
/// writes it to a file, one message a line, for the peer scripts.
pub fn deflate_corpus() -> Vec<String> {
    let mut seed = 0x2545_f491_u64;
    let mut next = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    (0..64)
        .map(|i| {
            let target = 100 + (next() % 8092) as usize;
            let mut text = String::from("[");
            let mut id = i * 1000;
            while text.len() < target {
                let n = next();
                text.push_str(&format!(
                    "{{\"id\":{id},\"user\":\"user{}\",\"room\":\"room-{}\",\"online\":{},\"score\":{}.{}}},",
                    n % 500,
                    n % 7,
                    n % 2 == 0,
                    n % 10_000,
                    n % 100
                ));
                id += 1;
            }
            text.push(']');
            text
        })
        .collect()
}

/// `count` masked binary frames of `size` payload bytes (`size` < 65,536),
/// as a client sends them, each with its own mask key.
pub fn masked_binary_frames(count: usize, size: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(count * (size + 8));
    for n in 0..count {
        out.push(0x82);
        if size < 126 {
            out.push(0x80 | size as u8);
        } else {
            out.push(0x80 | 126);
            out.extend_from_slice(&(size as u16).to_be_bytes());
        }
        let key = (n as u32).wrapping_mul(0x9e37_79b9).to_be_bytes();
        out.extend_from_slice(&key);
        out.extend((0..size).map(|i| (i as u8) ^ key[i % 4]));
    }
    out
}
