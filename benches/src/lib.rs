//! Benchmarks only: see `benches/`.

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
