//! `Sec-WebSocket-Extensions` values (RFC 6455 §9.1).

use alloc::string::String;
use alloc::vec::Vec;
use core::fmt;

use super::{HandshakeError, is_tchar};

/// One extension of a `Sec-WebSocket-Extensions` list: a name and its
/// parameters, such as `permessage-deflate; client_max_window_bits`.
///
/// Parameter values given as quoted strings are stored unquoted.
///
/// ```
/// use sockeye::handshake::Extension;
///
/// let list = Extension::parse_list("permessage-deflate; client_max_window_bits, x-foo; a=\"1\"")?;
/// assert_eq!(list[0].name(), "permessage-deflate");
/// assert_eq!(list[0].param("client_max_window_bits"), Some(None));
/// assert_eq!(list[1].param("a"), Some(Some("1")));
/// assert_eq!(list[1].to_string(), "x-foo; a=1");
/// # Ok::<(), sockeye::handshake::HandshakeError>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Extension {
    name: String,
    params: Vec<(String, Option<String>)>,
}

impl Extension {
    /// The extension's name (its `extension-token`).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The parameters in order, each with its value if it has one.
    pub fn params(&self) -> impl Iterator<Item = (&str, Option<&str>)> {
        self.params
            .iter()
            .map(|(name, value)| (name.as_str(), value.as_deref()))
    }

    /// The parameter named `name` (compared case-insensitively): `None` when
    /// absent, `Some(None)` when present without a value.
    pub fn param(&self, name: &str) -> Option<Option<&str>> {
        self.params()
            .find(|(param, _)| param.eq_ignore_ascii_case(name))
            .map(|(_, value)| value)
    }

    /// Parses an `extension-list` (RFC 6455 §9.1): comma-separated
    /// extensions, each a token followed by `; name` or `; name=value`
    /// parameters whose values are tokens or quoted strings holding a token.
    ///
    /// # Errors
    ///
    /// [`HandshakeError::MalformedHeader`] when `value` does not follow the
    /// grammar or lists no extension.
    pub fn parse_list(value: &str) -> Result<Vec<Extension>, HandshakeError> {
        let mut list = Vec::new();
        Parser {
            bytes: value.as_bytes(),
            at: 0,
        }
        .list(&mut list)
        .ok_or(HandshakeError::MalformedHeader("Sec-WebSocket-Extensions"))?;
        if list.is_empty() {
            return Err(HandshakeError::MalformedHeader("Sec-WebSocket-Extensions"));
        }
        Ok(list)
    }
}

impl fmt::Display for Extension {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name)?;
        for (name, value) in self.params() {
            match value {
                Some(value) => write!(f, "; {name}={value}")?,
                None => write!(f, "; {name}")?,
            }
        }
        Ok(())
    }
}

/// A cursor over a header value; every method returns `None` on a syntax error.
struct Parser<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl Parser<'_> {
    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.at).copied()
    }

    fn skip_whitespace(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t')) {
            self.at += 1;
        }
    }

    fn token(&mut self) -> Option<String> {
        let start = self.at;
        while self.peek().is_some_and(is_tchar) {
            self.at += 1;
        }
        let token = &self.bytes[start..self.at];
        (!token.is_empty()).then(|| String::from_utf8_lossy(token).into_owned())
    }

    /// A `quoted-string` (RFC 9110 §5.6.4), unescaped.
    fn quoted(&mut self) -> Option<String> {
        self.at += 1; // the opening quote
        let mut out = Vec::new();
        loop {
            match self.peek()? {
                b'"' => {
                    self.at += 1;
                    return String::from_utf8(out).ok();
                }
                b'\\' => {
                    self.at += 1;
                    out.push(self.peek()?);
                }
                b => out.push(b),
            }
            self.at += 1;
        }
    }

    fn list(&mut self, list: &mut Vec<Extension>) -> Option<()> {
        loop {
            self.skip_whitespace();
            match self.peek() {
                None => return Some(()),
                // `#rule` lists may contain empty elements.
                Some(b',') => self.at += 1,
                Some(_) => list.push(self.extension()?),
            }
        }
    }

    fn extension(&mut self) -> Option<Extension> {
        let name = self.token()?;
        let mut params = Vec::new();
        loop {
            self.skip_whitespace();
            match self.peek() {
                None => break,
                Some(b',') => {
                    self.at += 1;
                    break;
                }
                Some(b';') => {
                    self.at += 1;
                    self.skip_whitespace();
                    params.push(self.param()?);
                }
                Some(_) => return None,
            }
        }
        Some(Extension { name, params })
    }

    fn param(&mut self) -> Option<(String, Option<String>)> {
        let name = self.token()?;
        self.skip_whitespace();
        if self.peek() != Some(b'=') {
            return Some((name, None));
        }
        self.at += 1;
        self.skip_whitespace();
        let value = if self.peek() == Some(b'"') {
            // RFC 6455 §9.1: once unescaped, a quoted value must be a token.
            let value = self.quoted()?;
            if !super::is_token(&value) {
                return None;
            }
            value
        } else {
            self.token()?
        };
        Some((name, Some(value)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::string::ToString;

    fn names(value: &str) -> Vec<String> {
        Extension::parse_list(value)
            .unwrap()
            .iter()
            .map(|e| e.name().to_string())
            .collect()
    }

    #[test]
    fn parses_browser_offers() {
        let list = Extension::parse_list("permessage-deflate; client_max_window_bits").unwrap();
        assert_eq!(list.len(), 1);
        assert_eq!(list[0].name(), "permessage-deflate");
        assert_eq!(list[0].param("client_max_window_bits"), Some(None));
        assert_eq!(list[0].param("server_no_context_takeover"), None);
    }

    #[test]
    fn parses_rfc_6455_section_9_1_examples() {
        assert_eq!(names("foo, bar; baz=2"), ["foo", "bar"]);
        assert_eq!(
            names("deflate-stream, mux; max-channels=4; flow-control, deflate-stream"),
            ["deflate-stream", "mux", "deflate-stream"]
        );
        let list = Extension::parse_list("private-extension; a = \"b\\c\"").unwrap();
        assert_eq!(list[0].param("a"), Some(Some("bc")));
    }

    #[test]
    fn tolerates_whitespace_and_empty_elements() {
        assert_eq!(names(" , a ;b=1 ,, c\t"), ["a", "c"]);
    }

    #[test]
    fn rejects_what_the_grammar_forbids() {
        for bad in [
            "",
            " , ",
            ";a",
            "a;",
            "a; =1",
            "a; b=",
            "a b",
            "a; b=\"c d\"",
            "a; b=\"unterminated",
            "a; b=c d",
            "\"a\"",
        ] {
            assert_eq!(
                Extension::parse_list(bad),
                Err(HandshakeError::MalformedHeader("Sec-WebSocket-Extensions")),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn display_round_trips_through_the_parser() {
        let list = Extension::parse_list("x; a; b=\"2\"").unwrap();
        let again = Extension::parse_list(&list[0].to_string()).unwrap();
        assert_eq!(list, again);
    }
}
