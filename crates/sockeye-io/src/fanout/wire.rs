//! The fan-out's wire format on the broker, version 1 (docs/fanout.md).
//!
//! ```text
//! offset  size  field
//! 0       1     version: 1
//! 1       1     kind: 1 text message, 2 binary message, 3 probe
//! 2       8     origin instance id, big-endian
//! 10      8     sequence number, big-endian (per origin and topic, from 1)
//! 18      2     topic length N, big-endian
//! 20      N     topic, UTF-8
//! 20+N    rest  payload (UTF-8 for a text message)
//! ```

use bytes::Bytes;

use crate::{Message, Utf8Bytes};

/// The version this crate writes and reads.
pub const WIRE_VERSION: u8 = 1;

/// Bytes before the topic.
const HEADER_LEN: usize = 20;

/// The longest topic name, in bytes.
pub const MAX_TOPIC_LEN: usize = 200;

/// What an envelope carries.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Kind {
    /// A message for the topic's clients.
    Message(Message),
    /// An instance's probe of its own subscription (empty payload).
    Probe,
}

/// One publication on the broker.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Envelope {
    /// The publishing instance.
    pub origin: u64,
    /// Its sequence number for this topic.
    pub seq: u64,
    /// The topic.
    pub topic: String,
    /// The content.
    pub kind: Kind,
}

/// Why bytes from the broker are not an envelope this crate reads.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum WireError {
    /// Fewer bytes than the header and topic need.
    Truncated,
    /// A version other than [`WIRE_VERSION`].
    Version(u8),
    /// An unknown kind byte.
    Kind(u8),
    /// The topic or a text payload is not UTF-8.
    NotUtf8,
    /// The topic breaks the rules of [`check_topic`].
    Topic(TopicError),
}

impl std::fmt::Display for WireError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            WireError::Truncated => f.write_str("truncated fan-out envelope"),
            WireError::Version(v) => write!(f, "fan-out envelope version {v}, this reads 1"),
            WireError::Kind(k) => write!(f, "unknown fan-out envelope kind {k}"),
            WireError::NotUtf8 => f.write_str("fan-out envelope text is not UTF-8"),
            WireError::Topic(e) => write!(f, "fan-out envelope topic: {e}"),
        }
    }
}

impl std::error::Error for WireError {}

/// Why a topic name is refused.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum TopicError {
    /// The empty string.
    Empty,
    /// Longer than [`MAX_TOPIC_LEN`] bytes.
    TooLong,
    /// A character outside `A-Z a-z 0-9 - _ :` and `.` between words.
    Character(char),
    /// Starts with a word the fan-out uses itself: `probe.` or `presence.`.
    Reserved,
}

/// Topic prefixes the fan-out uses for its own subjects.
const RESERVED: [&str; 2] = ["probe.", "presence."];

impl std::fmt::Display for TopicError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            TopicError::Empty => f.write_str("empty topic"),
            TopicError::TooLong => write!(f, "topic longer than {MAX_TOPIC_LEN} bytes"),
            TopicError::Reserved => {
                f.write_str("topics starting with probe. or presence. are reserved")
            }
            TopicError::Character(c) => write!(
                f,
                "topic character {c:?}: use letters, digits, '-', '_', ':' and '.' between words"
            ),
        }
    }
}

impl std::error::Error for TopicError {}

/// Check a topic name: 1 to [`MAX_TOPIC_LEN`] bytes of ASCII letters,
/// digits, `-`, `_`, `:`, with `.` only between non-empty words. The rule
/// is the intersection of what Redis channels and NATS subjects take as
/// one literal name (no wildcards, no spaces). Topics starting with
/// `probe.` or `presence.` are the fan-out's own.
///
/// # Errors
/// The rule broken.
pub fn check_topic(topic: &str) -> Result<(), TopicError> {
    check_name(topic)?;
    if RESERVED.iter().any(|reserved| topic.starts_with(reserved)) {
        return Err(TopicError::Reserved);
    }
    Ok(())
}

/// The character and length rules of [`check_topic`], which the fan-out's
/// own subjects follow too.
pub(crate) fn check_name(topic: &str) -> Result<(), TopicError> {
    if topic.is_empty() {
        return Err(TopicError::Empty);
    }
    if topic.len() > MAX_TOPIC_LEN {
        return Err(TopicError::TooLong);
    }
    for word in topic.split('.') {
        if word.is_empty() {
            return Err(TopicError::Character('.'));
        }
        if let Some(bad) = word
            .chars()
            .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | ':')))
        {
            return Err(TopicError::Character(bad));
        }
    }
    Ok(())
}

impl Envelope {
    /// The bytes published on the broker.
    pub fn encode(&self) -> Vec<u8> {
        let (kind, payload): (u8, &[u8]) = match &self.kind {
            Kind::Message(Message::Text(text)) => (1, text.as_ref()),
            Kind::Message(Message::Binary(data)) => (2, data),
            // Only data messages are published (see `Fanout::publish`).
            Kind::Message(_) => (2, &[]),
            Kind::Probe => (3, &[]),
        };
        let mut out = Vec::with_capacity(HEADER_LEN + self.topic.len() + payload.len());
        out.push(WIRE_VERSION);
        out.push(kind);
        out.extend_from_slice(&self.origin.to_be_bytes());
        out.extend_from_slice(&self.seq.to_be_bytes());
        // check_topic keeps topics far below u16::MAX.
        out.extend_from_slice(&(self.topic.len() as u16).to_be_bytes());
        out.extend_from_slice(self.topic.as_bytes());
        out.extend_from_slice(payload);
        out
    }

    /// Read an envelope.
    ///
    /// # Errors
    /// What makes `bytes` unreadable.
    pub fn decode(bytes: Bytes) -> Result<Self, WireError> {
        if bytes.len() < HEADER_LEN {
            return Err(WireError::Truncated);
        }
        if bytes[0] != WIRE_VERSION {
            return Err(WireError::Version(bytes[0]));
        }
        let number = |at: usize| {
            let mut eight = [0; 8];
            eight.copy_from_slice(&bytes[at..at + 8]);
            u64::from_be_bytes(eight)
        };
        let origin = number(2);
        let seq = number(10);
        let topic_len = usize::from(u16::from_be_bytes([bytes[18], bytes[19]]));
        let payload_at = HEADER_LEN + topic_len;
        if bytes.len() < payload_at {
            return Err(WireError::Truncated);
        }
        let topic = std::str::from_utf8(&bytes[HEADER_LEN..payload_at])
            .map_err(|_| WireError::NotUtf8)?
            .to_owned();
        check_name(&topic).map_err(WireError::Topic)?;
        let payload = bytes.slice(payload_at..);
        let kind = match bytes[1] {
            1 => Kind::Message(Message::Text(
                Utf8Bytes::try_from(payload).map_err(|_| WireError::NotUtf8)?,
            )),
            2 => Kind::Message(Message::Binary(payload)),
            3 => Kind::Probe,
            other => return Err(WireError::Kind(other)),
        };
        Ok(Envelope {
            origin,
            seq,
            topic,
            kind,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_each_kind_with_the_documented_layout() {
        let text = Envelope {
            origin: 0x0102_0304_0506_0708,
            seq: 9,
            topic: "room.a".into(),
            kind: Kind::Message(Message::text("hé")),
        };
        let bytes = text.encode();
        assert_eq!(
            bytes,
            [
                &[1, 1, 1, 2, 3, 4, 5, 6, 7, 8, 0, 0, 0, 0, 0, 0, 0, 9, 0, 6][..],
                b"room.a",
                "hé".as_bytes()
            ]
            .concat()
        );
        assert_eq!(Envelope::decode(bytes.into()).unwrap(), text);
        for kind in [Kind::Message(Message::binary(vec![0, 255])), Kind::Probe] {
            let envelope = Envelope {
                kind,
                ..text.clone()
            };
            assert_eq!(
                Envelope::decode(envelope.encode().into()).unwrap(),
                envelope
            );
        }
    }

    #[test]
    fn refuses_what_it_cannot_read() {
        let good = Envelope {
            origin: 1,
            seq: 1,
            topic: "t".into(),
            kind: Kind::Probe,
        }
        .encode();
        assert_eq!(
            Envelope::decode(good[..19].to_vec().into()),
            Err(WireError::Truncated)
        );
        let mut version = good.clone();
        version[0] = 2;
        assert_eq!(Envelope::decode(version.into()), Err(WireError::Version(2)));
        let mut kind = good.clone();
        kind[1] = 9;
        assert_eq!(Envelope::decode(kind.into()), Err(WireError::Kind(9)));
        let mut text = good;
        text[1] = 1;
        text.extend_from_slice(&[0xff]);
        assert_eq!(Envelope::decode(text.into()), Err(WireError::NotUtf8));
    }

    #[test]
    fn topics_are_literal_names_both_brokers_take() {
        for good in ["room", "room.a", "a-b_c:1", &"x".repeat(MAX_TOPIC_LEN)] {
            assert_eq!(check_topic(good), Ok(()), "{good}");
        }
        assert_eq!(check_topic(""), Err(TopicError::Empty));
        assert_eq!(check_topic("probe.1"), Err(TopicError::Reserved));
        assert_eq!(check_topic("presence.room"), Err(TopicError::Reserved));
        assert_eq!(
            check_topic(&"x".repeat(MAX_TOPIC_LEN + 1)),
            Err(TopicError::TooLong)
        );
        for (bad, c) in [
            ("a b", ' '),
            ("a.*", '*'),
            ("a.>", '>'),
            ("a..b", '.'),
            (".a", '.'),
        ] {
            assert_eq!(check_topic(bad), Err(TopicError::Character(c)), "{bad}");
        }
    }
}
