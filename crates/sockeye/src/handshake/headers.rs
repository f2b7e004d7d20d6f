//! An ordered list of header fields with case-insensitive lookup.

use alloc::string::String;
use alloc::vec::Vec;

use super::list_items;

/// Header slots parsed into without touching the heap: enough for the
/// default [`Config::max_headers`](crate::Config::max_headers). A larger
/// limit gets its slots from the heap.
const HEADER_SLOTS_ON_STACK: usize = 64;

/// Run `parse` with `max` empty header slots for httparse. The slots are on
/// the stack up to [`HEADER_SLOTS_ON_STACK`]: a handshake then makes no
/// allocation of this size that it frees again at once, which on a server
/// opening many connections would leave holes among the long-lived blocks.
pub(super) fn with_header_slots<'buf, R>(
    max: usize,
    parse: impl FnOnce(&mut [httparse::Header<'buf>]) -> R,
) -> R {
    if max <= HEADER_SLOTS_ON_STACK {
        let mut slots = [httparse::EMPTY_HEADER; HEADER_SLOTS_ON_STACK];
        parse(&mut slots[..max])
    } else {
        parse(&mut alloc::vec![httparse::EMPTY_HEADER; max])
    }
}

/// The header fields of a handshake request or response, in the order
/// received, with names compared case-insensitively (RFC 9110 §5.1).
///
/// Values are kept as received. HTTP allows bytes outside ASCII in values;
/// [`get`](Headers::get) and [`get_all`](Headers::get_all) show only values
/// that are valid UTF-8, [`get_bytes`](Headers::get_bytes) shows any.
///
/// ```
/// use sockeye::handshake::Headers;
///
/// let mut headers = Headers::new();
/// headers.append("Connection", "keep-alive, Upgrade");
/// headers.append("Sec-WebSocket-Protocol", "a");
/// headers.append("sec-websocket-protocol", "b");
/// assert_eq!(headers.get("CONNECTION"), Some("keep-alive, Upgrade"));
/// assert!(headers.contains_token("connection", "upgrade"));
/// assert_eq!(headers.get_all("Sec-WebSocket-Protocol").collect::<Vec<_>>(), ["a", "b"]);
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Headers {
    fields: Vec<(String, Vec<u8>)>,
}

impl Headers {
    /// An empty list.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a field at the end, keeping earlier fields of the same name.
    pub fn append(&mut self, name: &str, value: &str) {
        self.append_bytes(name, value.as_bytes());
    }

    pub(crate) fn append_bytes(&mut self, name: &str, value: &[u8]) {
        self.fields.push((String::from(name), value.to_vec()));
    }

    /// Number of fields (repeated names counted each time).
    pub fn len(&self) -> usize {
        self.fields.len()
    }

    /// Whether there are no fields.
    pub fn is_empty(&self) -> bool {
        self.fields.is_empty()
    }

    /// The value of the first field named `name`, if there is one and it is
    /// valid UTF-8.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.get_bytes(name)
            .and_then(|value| core::str::from_utf8(value).ok())
    }

    /// The raw value of the first field named `name`.
    pub fn get_bytes(&self, name: &str) -> Option<&[u8]> {
        self.fields
            .iter()
            .find(|(field, _)| field.eq_ignore_ascii_case(name))
            .map(|(_, value)| value.as_slice())
    }

    /// The values of every field named `name`, in order, skipping values
    /// that are not valid UTF-8.
    pub fn get_all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.get_all_bytes(name)
            .filter_map(|value| core::str::from_utf8(value).ok())
    }

    /// The raw values of every field named `name`, in order.
    pub fn get_all_bytes<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a [u8]> + 'a {
        self.fields
            .iter()
            .filter(move |(field, _)| field.eq_ignore_ascii_case(name))
            .map(|(_, value)| value.as_slice())
    }

    /// Whether a field named `name` is present.
    pub fn contains(&self, name: &str) -> bool {
        self.get_bytes(name).is_some()
    }

    /// Number of fields named `name`.
    pub fn count(&self, name: &str) -> usize {
        self.get_all_bytes(name).count()
    }

    /// Whether any field named `name`, read as a comma-separated list,
    /// contains `token` (compared case-insensitively), as for `Connection`
    /// and `Upgrade`.
    pub fn contains_token(&self, name: &str, token: &str) -> bool {
        self.get_all_bytes(name)
            .flat_map(list_items)
            .any(|item| item.eq_ignore_ascii_case(token.as_bytes()))
    }

    /// Every field as `(name, raw value)`, in order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &[u8])> {
        self.fields
            .iter()
            .map(|(name, value)| (name.as_str(), value.as_slice()))
    }

    /// Copies the fields parsed by `httparse`.
    pub(crate) fn from_parsed(parsed: &[httparse::Header<'_>]) -> Self {
        let mut headers = Headers {
            fields: Vec::with_capacity(parsed.len()),
        };
        for field in parsed {
            headers.append_bytes(field.name, field.value.trim_ascii());
        }
        headers
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lookup_ignores_case_and_keeps_order() {
        let mut headers = Headers::new();
        headers.append("Upgrade", "WebSocket");
        headers.append("X-Twice", "1");
        headers.append("x-twice", "2");
        assert_eq!(headers.get("upgrade"), Some("WebSocket"));
        assert_eq!(headers.get_all("X-TWICE").collect::<Vec<_>>(), ["1", "2"]);
        assert_eq!(headers.count("x-twice"), 2);
        assert!(!headers.contains("Host"));
        assert_eq!(headers.len(), 3);
    }

    #[test]
    fn tokens_are_found_across_repeated_fields() {
        let mut headers = Headers::new();
        headers.append("Connection", "keep-alive");
        headers.append("Connection", "UPGRADE");
        assert!(headers.contains_token("connection", "Upgrade"));
        assert!(!headers.contains_token("connection", "close"));
        headers.append("Upgrade", "websocket/13");
        assert!(!headers.contains_token("upgrade", "websocket"));
    }

    #[test]
    fn values_that_are_not_utf8_are_only_visible_as_bytes() {
        let mut headers = Headers::new();
        headers.append_bytes("X", b"\xff");
        assert_eq!(headers.get("x"), None);
        assert_eq!(headers.get_bytes("x"), Some(&b"\xff"[..]));
    }
}
