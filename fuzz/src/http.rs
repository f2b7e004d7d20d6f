//! A deliberately plain reading of an HTTP/1.1 header block, written from
//! RFC 9112 and RFC 6455 §4 without `httparse`, to re-check what the
//! handshake parsers accept. It only ever reads blocks the engine already
//! accepted, so it can afford to be strict and simple.

/// A header block split into its start line and fields.
#[derive(Debug)]
pub struct Head {
    pub start_line: String,
    pub fields: Vec<(String, String)>,
    /// Bytes after the blank line that ends the block.
    pub trailing: Vec<u8>,
}

impl Head {
    /// Split `bytes` at the first blank line that follows a start line
    /// (blank lines before the start line are skipped, RFC 9112 §2.2).
    pub fn parse(bytes: &[u8]) -> Option<Head> {
        let mut at = 0;
        while bytes[at..].starts_with(b"\r\n") || bytes[at..].starts_with(b"\n") {
            at += if bytes[at] == b'\r' { 2 } else { 1 };
        }
        let mut lines = Vec::new();
        let mut line_start = at;
        let mut i = at;
        let end = loop {
            if i >= bytes.len() {
                return None;
            }
            if bytes[i] == b'\n' {
                let mut line = &bytes[line_start..i];
                if let [rest @ .., b'\r'] = line {
                    line = rest;
                }
                if line.is_empty() {
                    break i + 1;
                }
                lines.push(String::from_utf8_lossy(line).into_owned());
                line_start = i + 1;
            }
            i += 1;
        };
        let mut lines = lines.into_iter();
        let start_line = lines.next()?;
        let mut fields = Vec::new();
        for line in lines {
            let (name, value) = line.split_once(':')?;
            fields.push((
                name.to_string(),
                value.trim_matches([' ', '\t']).to_string(),
            ));
        }
        Some(Head {
            start_line,
            fields,
            trailing: bytes[end..].to_vec(),
        })
    }

    /// Every value of the field `name` (case-insensitive).
    pub fn values(&self, name: &str) -> Vec<&str> {
        self.fields
            .iter()
            .filter(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
            .collect()
    }

    /// Whether the comma-separated list in any `name` field holds `token`
    /// (case-insensitive).
    pub fn has_token(&self, name: &str, token: &str) -> bool {
        self.values(name).iter().any(|value| {
            value
                .split(',')
                .any(|item| item.trim_matches([' ', '\t']).eq_ignore_ascii_case(token))
        })
    }
}

/// Decode standard padded base64 (RFC 4648 §4); `None` if not canonical.
pub fn base64_decode(text: &str) -> Option<Vec<u8>> {
    fn value(c: u8) -> Option<u32> {
        Some(match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => return None,
        } as u32)
    }
    let bytes = text.as_bytes();
    if bytes.len() % 4 != 0 {
        return None;
    }
    let mut out = Vec::new();
    for (n, quad) in bytes.chunks(4).enumerate() {
        let last = n + 1 == bytes.len() / 4;
        let pad = quad.iter().rev().take_while(|&&c| c == b'=').count();
        if pad > 2 || (pad > 0 && !last) {
            return None;
        }
        let mut acc = 0u32;
        for &c in &quad[..4 - pad] {
            acc = (acc << 6) | value(c)?;
        }
        acc <<= 6 * pad as u32;
        let decoded = [(acc >> 16) as u8, (acc >> 8) as u8, acc as u8];
        // Canonical: the bits dropped by the padding are zero.
        if decoded[3 - pad..].iter().any(|&b| b != 0) {
            return None;
        }
        out.extend_from_slice(&decoded[..3 - pad]);
    }
    Some(out)
}

/// A little deterministic generator for cutting input into pieces.
pub struct Cuts(u64);

impl Cuts {
    pub fn new(seed: u8) -> Self {
        Self(u64::from(seed).wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1)
    }

    /// The next piece length, between 1 and `max`.
    pub fn next(&mut self, max: usize) -> usize {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 % max.max(1) as u64) as usize + 1
    }
}
