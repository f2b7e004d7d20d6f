//! An independent reading of RFC 6455 §5 used to judge what the engine
//! writes and decodes. Written from the RFC, sharing no code with
//! `sockeye::frame`, so that one mistaken reading does not hide in both.

use std::fmt::Write as _;

/// Which end wrote a byte stream.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Sender {
    /// Client frames are masked (RFC 6455 §5.1).
    Client,
    /// Server frames are not.
    Server,
}

/// A header as the reference reads it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RefHeader {
    pub fin: bool,
    pub rsv: u8,
    pub opcode: u8,
    pub mask: Option<[u8; 4]>,
    pub payload_len: u64,
    pub header_len: usize,
}

/// The reference decoder's verdict on the front of a byte slice.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RefDecoded {
    Complete(RefHeader),
    /// The header is this many bytes long in total (a lower bound while
    /// fewer than two bytes are known).
    Partial {
        total: usize,
    },
    /// The header breaks §5.2 or §5.5.
    Invalid(&'static str),
}

/// Read a header from the front of `bytes`.
///
/// Rules from the first two bytes are judged as soon as those two bytes are
/// known (reserved opcodes, §5.5 control-frame rules); length rules once the
/// extended length is known.
pub fn ref_decode(bytes: &[u8]) -> RefDecoded {
    if bytes.len() < 2 {
        return RefDecoded::Partial { total: 2 };
    }
    let b0 = bytes[0];
    let b1 = bytes[1];
    let fin = b0 >> 7 == 1;
    let rsv = (b0 >> 4) & 7;
    let opcode = b0 & 0x0f;
    // §5.2: 0x3-0x7 and 0xB-0xF are reserved.
    if !matches!(opcode, 0x0 | 0x1 | 0x2 | 0x8 | 0x9 | 0xA) {
        return RefDecoded::Invalid("reserved opcode");
    }
    let masked = b1 >> 7 == 1;
    let len7 = b1 & 0x7f;
    let control = opcode >= 0x8;
    // §5.5: control frames have FIN and at most 125 bytes.
    if control && !fin {
        return RefDecoded::Invalid("fragmented control frame");
    }
    if control && len7 > 125 {
        return RefDecoded::Invalid("control frame too long");
    }
    let ext = match len7 {
        126 => 2,
        127 => 8,
        _ => 0,
    };
    let total = 2 + ext + if masked { 4 } else { 0 };
    if bytes.len() < total {
        return RefDecoded::Partial { total };
    }
    let payload_len = match ext {
        0 => u64::from(len7),
        2 => {
            let n = (u64::from(bytes[2]) << 8) | u64::from(bytes[3]);
            if n <= 125 {
                return RefDecoded::Invalid("non-minimal 16-bit length");
            }
            n
        }
        _ => {
            let mut n = 0u64;
            for &b in &bytes[2..10] {
                n = (n << 8) | u64::from(b);
            }
            if n & (1 << 63) != 0 {
                return RefDecoded::Invalid("64-bit length with the top bit set");
            }
            if n <= 0xffff {
                return RefDecoded::Invalid("non-minimal 64-bit length");
            }
            n
        }
    };
    let mask = masked.then(|| {
        let at = 2 + ext;
        [bytes[at], bytes[at + 1], bytes[at + 2], bytes[at + 3]]
    });
    RefDecoded::Complete(RefHeader {
        fin,
        rsv,
        opcode,
        mask,
        payload_len,
        header_len: total,
    })
}

/// Close codes that may be sent (RFC 6455 §7.4.1, §7.4.2 and the IANA registry).
pub fn close_code_allowed(code: u16) -> bool {
    matches!(code, 1000..=1003 | 1007..=1014 | 3000..=4999)
}

/// One frame read from an engine's output, payload unmasked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WireFrame {
    pub fin: bool,
    pub opcode: u8,
    pub payload: Vec<u8>,
}

/// What a receiver should report for a complete frame or message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RefEvent {
    Text(Vec<u8>),
    Binary(Vec<u8>),
    Ping(Vec<u8>),
    Pong(Vec<u8>),
    /// The close frame's payload (code and reason, or empty).
    Close(Vec<u8>),
}

/// Reads everything one end writes and checks it against RFC 6455:
/// masking by role (§5.1), minimal lengths (§5.2), RSV bits clear, control
/// frames with FIN and at most 125 bytes (§5.5), well-ordered fragments
/// (§5.4), valid close codes and UTF-8 reasons (§5.5.1, §7.4), UTF-8 text
/// messages (§8.1), and nothing at all after a close frame (§5.5.1).
#[derive(Debug)]
pub struct WireChecker {
    sender: Sender,
    buf: Vec<u8>,
    /// The data message in progress: `true` for text, with its bytes so far.
    message: Option<(bool, Vec<u8>)>,
    close_seen: bool,
    /// Reading what a peer sends to the engine: bytes after a close frame
    /// are ignored (the engine stops reading) instead of being an error.
    incoming: bool,
    /// The first violation found; nothing is read after it.
    violation: Option<String>,
    /// Every frame read so far, in order.
    pub frames: Vec<WireFrame>,
    /// Every message and control frame read so far, as a receiver reports them.
    pub events: Vec<RefEvent>,
}

impl WireChecker {
    /// A checker for the bytes `sender` writes.
    pub fn new(sender: Sender) -> Self {
        Self {
            sender,
            buf: Vec::new(),
            message: None,
            close_seen: false,
            incoming: false,
            violation: None,
            frames: Vec::new(),
            events: Vec::new(),
        }
    }

    /// A checker for what a peer in role `sender` sends to the engine: it
    /// stops reading at the peer's close frame, as the engine does.
    pub fn incoming(sender: Sender) -> Self {
        Self {
            incoming: true,
            ..Self::new(sender)
        }
    }

    /// The first violation read so far.
    pub fn violation(&self) -> Option<&str> {
        self.violation.as_deref()
    }

    /// A violation that the bytes already received prove, even though the
    /// frame they belong to is incomplete: a header that breaks a rule
    /// (decodable as soon as its own bytes are in), or text whose received
    /// part can no longer become UTF-8.
    pub fn pending_violation(&self) -> Option<String> {
        if let Some(violation) = &self.violation {
            return Some(violation.clone());
        }
        if self.close_seen && self.incoming {
            return None;
        }
        let header = match ref_decode(&self.buf) {
            RefDecoded::Partial { .. } => return None,
            RefDecoded::Invalid(why) => return Some(why.to_string()),
            RefDecoded::Complete(header) => header,
        };
        if let Err(violation) = self.check_header(&header) {
            return Some(violation);
        }
        let text_so_far = match (header.opcode, &self.message) {
            (0x1, _) => Vec::new(),
            (0x0, Some((true, so_far))) => so_far.clone(),
            _ => return None,
        };
        let available = (self.buf.len() - header.header_len)
            .min(usize::try_from(header.payload_len).unwrap_or(usize::MAX));
        let mut text = text_so_far;
        let key = header.mask;
        text.extend(
            self.buf[header.header_len..header.header_len + available]
                .iter()
                .enumerate()
                .map(|(i, b)| key.map_or(*b, |k| b ^ k[i % 4])),
        );
        match std::str::from_utf8(&text) {
            Err(e) if e.error_len().is_some() => Some("text can no longer be UTF-8".to_string()),
            _ => None,
        }
    }

    /// Whether a close frame has been read.
    pub fn close_seen(&self) -> bool {
        self.close_seen
    }

    /// Whether the bytes so far end on a frame boundary.
    pub fn at_frame_boundary(&self) -> bool {
        self.buf.is_empty()
    }

    /// Read more output; returns a description of the first violation.
    pub fn feed(&mut self, bytes: &[u8]) -> Result<(), String> {
        if let Some(violation) = &self.violation {
            return Err(violation.clone());
        }
        let result = self.read(bytes);
        if let Err(violation) = &result {
            self.violation = Some(violation.clone());
        }
        result
    }

    fn read(&mut self, bytes: &[u8]) -> Result<(), String> {
        if self.incoming && self.close_seen {
            return Ok(());
        }
        self.buf.extend_from_slice(bytes);
        loop {
            if self.incoming && self.close_seen {
                self.buf.clear();
                return Ok(());
            }
            let header = match ref_decode(&self.buf) {
                RefDecoded::Partial { .. } => return Ok(()),
                RefDecoded::Invalid(why) => {
                    return Err(format!(
                        "engine wrote an invalid header ({why}): {}",
                        hex(&self.buf)
                    ));
                }
                RefDecoded::Complete(header) => header,
            };
            let Ok(payload_len) = usize::try_from(header.payload_len) else {
                return Err(format!("absurd payload length {}", header.payload_len));
            };
            let end = header.header_len + payload_len;
            if self.buf.len() < end {
                return Ok(());
            }
            let mut payload = self.buf[header.header_len..end].to_vec();
            self.buf.drain(..end);
            if let Some(key) = header.mask {
                for (i, b) in payload.iter_mut().enumerate() {
                    *b ^= key[i % 4];
                }
            }
            self.check_frame(&header, &payload)?;
            self.frames.push(WireFrame {
                fin: header.fin,
                opcode: header.opcode,
                payload,
            });
        }
    }

    /// The rules a header breaks in the context of the frames before it.
    fn check_header(&self, header: &RefHeader) -> Result<(), String> {
        let what = describe(header);
        if self.close_seen {
            return Err(format!("{what} written after a close frame"));
        }
        match (self.sender, header.mask) {
            (Sender::Client, None) => return Err(format!("{what}: client frame not masked")),
            (Sender::Server, Some(_)) => return Err(format!("{what}: server frame masked")),
            _ => {}
        }
        if header.rsv != 0 {
            return Err(format!("{what}: RSV bits set"));
        }
        match (header.opcode, &self.message) {
            (0x0, None) => Err(format!(
                "{what}: continuation without a message in progress"
            )),
            (0x1 | 0x2, Some(_)) => Err(format!("{what}: new message while one is in progress")),
            (0x0 | 0x1 | 0x2 | 0x8 | 0x9 | 0xA, _) => Ok(()),
            (other, _) => Err(format!("{what}: opcode {other:#x}")),
        }
    }

    fn check_frame(&mut self, header: &RefHeader, payload: &[u8]) -> Result<(), String> {
        self.check_header(header)?;
        let what = describe(header);
        match header.opcode {
            0x8 => {
                self.close_seen = true;
                match payload {
                    [] => {}
                    [_] => return Err(format!("{what}: one-byte close payload")),
                    [hi, lo, reason @ ..] => {
                        let code = u16::from_be_bytes([*hi, *lo]);
                        if !close_code_allowed(code) {
                            return Err(format!("{what}: close code {code} may not be sent"));
                        }
                        if std::str::from_utf8(reason).is_err() {
                            return Err(format!("{what}: close reason not UTF-8: {}", hex(reason)));
                        }
                    }
                }
                self.events.push(RefEvent::Close(payload.to_vec()));
            }
            0x9 => self.events.push(RefEvent::Ping(payload.to_vec())),
            0xA => self.events.push(RefEvent::Pong(payload.to_vec())),
            0x0 => {
                let Some((is_text, so_far)) = self.message.as_mut() else {
                    return Err(format!(
                        "{what}: continuation without a message in progress"
                    ));
                };
                so_far.extend_from_slice(payload);
                let is_text = *is_text;
                check_prefix(is_text, so_far, &what)?;
                if header.fin {
                    let (_, whole) = self.message.take().unwrap_or_default();
                    check_text(is_text, &whole, &what)?;
                    self.events.push(message_event(is_text, whole));
                }
            }
            0x1 | 0x2 => {
                let is_text = header.opcode == 0x1;
                if header.fin {
                    check_text(is_text, payload, &what)?;
                    self.events.push(message_event(is_text, payload.to_vec()));
                } else {
                    check_prefix(is_text, payload, &what)?;
                    self.message = Some((is_text, payload.to_vec()));
                }
            }
            _ => {}
        }
        Ok(())
    }
}

fn message_event(is_text: bool, bytes: Vec<u8>) -> RefEvent {
    if is_text {
        RefEvent::Text(bytes)
    } else {
        RefEvent::Binary(bytes)
    }
}

fn describe(header: &RefHeader) -> String {
    format!(
        "frame fin={} rsv={} opcode={:#x} len={}",
        header.fin, header.rsv, header.opcode, header.payload_len
    )
}

/// Text so far that can no longer become UTF-8 is a violation already.
fn check_prefix(is_text: bool, so_far: &[u8], what: &str) -> Result<(), String> {
    if is_text {
        if let Err(e) = std::str::from_utf8(so_far) {
            if e.error_len().is_some() {
                return Err(format!(
                    "{what}: text can no longer be UTF-8: {}",
                    hex(so_far)
                ));
            }
        }
    }
    Ok(())
}

fn check_text(is_text: bool, whole: &[u8], what: &str) -> Result<(), String> {
    if is_text && std::str::from_utf8(whole).is_err() {
        return Err(format!("{what}: text message not UTF-8: {}", hex(whole)));
    }
    Ok(())
}

/// Encode one frame the way a peer would, for feeding an engine: the
/// shortest length form, masked with `mask` if given.
pub fn encode_frame(
    fin: bool,
    rsv: u8,
    opcode: u8,
    mask: Option<[u8; 4]>,
    payload: &[u8],
) -> Vec<u8> {
    let mut out = Vec::with_capacity(payload.len() + 14);
    out.push((u8::from(fin) << 7) | ((rsv & 7) << 4) | (opcode & 0x0f));
    let m = if mask.is_some() { 0x80 } else { 0 };
    let len = payload.len();
    if len <= 125 {
        out.push(m | len as u8);
    } else if len <= 0xffff {
        out.push(m | 126);
        out.extend_from_slice(&(len as u16).to_be_bytes());
    } else {
        out.push(m | 127);
        out.extend_from_slice(&(len as u64).to_be_bytes());
    }
    match mask {
        Some(key) => {
            out.extend_from_slice(&key);
            out.extend(payload.iter().enumerate().map(|(i, b)| b ^ key[i % 4]));
        }
        None => out.extend_from_slice(payload),
    }
    out
}

/// Bytes as hex, for failure messages.
pub fn hex(bytes: &[u8]) -> String {
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes.iter().take(256) {
        let _ = write!(s, "{b:02x}");
    }
    if bytes.len() > 256 {
        s.push_str("...");
    }
    s
}
