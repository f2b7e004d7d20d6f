//! The chat's JSON messages.
//!
//! From a client: `{"type":"message","text":"…"}`. To clients:
//! `welcome` (to the joining client: the name it got), `message`, `join`,
//! `leave`, `presence` and `error`.

use serde::{Deserialize, Serialize};

/// Longest accepted message text, in characters.
pub const MAX_TEXT_CHARS: usize = 4000;
/// Longest name, in characters; longer ones are cut.
pub const MAX_NAME_CHARS: usize = 32;

/// What a client may send.
#[derive(Debug, Deserialize)]
#[serde(tag = "type", rename_all = "lowercase", deny_unknown_fields)]
pub enum Inbound {
    /// A chat line for everyone.
    Message {
        /// The text.
        text: String,
    },
}

/// What the server sends.
#[derive(Debug, Serialize)]
#[serde(tag = "type", rename_all = "lowercase")]
pub enum Outbound<'a> {
    /// To a client that just joined: the name it goes by.
    Welcome {
        /// The name.
        name: &'a str,
    },
    /// A chat line.
    Message {
        /// The sender's name.
        from: &'a str,
        /// The text.
        text: &'a str,
        /// Milliseconds since the Unix epoch.
        timestamp: u64,
    },
    /// Someone joined.
    Join {
        /// Who.
        from: &'a str,
        /// Milliseconds since the Unix epoch.
        timestamp: u64,
    },
    /// Someone left.
    Leave {
        /// Who.
        from: &'a str,
        /// Milliseconds since the Unix epoch.
        timestamp: u64,
    },
    /// Everyone online, in order of arrival.
    Presence {
        /// Their names.
        online: Vec<&'a str>,
    },
    /// The client's last message was not understood.
    Error {
        /// Why.
        text: &'a str,
    },
}

impl Outbound<'_> {
    /// The JSON text.
    pub fn to_json(&self) -> String {
        // Serialising these plain structs cannot fail.
        serde_json::to_string(self).unwrap_or_default()
    }
}

/// Parse a client's text message; the error is the text of the reply.
pub fn parse(text: &str) -> Result<String, String> {
    let inbound: Inbound = serde_json::from_str(text)
        .map_err(|error| format!(r#"expected {{"type":"message","text":"…"}}: {error}"#))?;
    let Inbound::Message { text } = inbound;
    if text.trim().is_empty() {
        return Err("the message text is empty".into());
    }
    if text.chars().count() > MAX_TEXT_CHARS {
        return Err(format!(
            "the message text is longer than {MAX_TEXT_CHARS} characters"
        ));
    }
    Ok(text)
}

/// A usable display name from a `?name=` value: trimmed, control characters
/// removed, at most [`MAX_NAME_CHARS`] characters; `None` when nothing is left.
pub fn clean_name(raw: &str) -> Option<String> {
    let name: String = raw
        .trim()
        .chars()
        .filter(|c| !c.is_control())
        .take(MAX_NAME_CHARS)
        .collect();
    let name = name.trim().to_owned();
    (!name.is_empty()).then_some(name)
}

/// Milliseconds since the Unix epoch.
pub fn now_millis() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |elapsed| {
            u64::try_from(elapsed.as_millis()).unwrap_or(u64::MAX)
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_a_message() {
        assert_eq!(parse(r#"{"type":"message","text":"hi"}"#).unwrap(), "hi");
    }

    #[test]
    fn rejects_other_shapes() {
        for bad in [
            "hi",
            "{}",
            r#"{"type":"message"}"#,
            r#"{"type":"shout","text":"x"}"#,
            r#"{"type":"message","text":5}"#,
            r#"{"type":"message","text":"  "}"#,
        ] {
            assert!(parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn cleans_names() {
        assert_eq!(clean_name("  ann \n").as_deref(), Some("ann"));
        assert_eq!(clean_name(" \t "), None);
        assert_eq!(clean_name(&"x".repeat(50)).unwrap().len(), MAX_NAME_CHARS);
    }

    #[test]
    fn serialises_with_a_type_tag() {
        let json = Outbound::Message {
            from: "ann",
            text: "hi",
            timestamp: 7,
        }
        .to_json();
        assert_eq!(
            json,
            r#"{"type":"message","from":"ann","text":"hi","timestamp":7}"#
        );
        let json = Outbound::Presence {
            online: vec!["ann", "bob"],
        }
        .to_json();
        assert_eq!(json, r#"{"type":"presence","online":["ann","bob"]}"#);
    }
}
