//! HTTP `CONNECT` proxies (RFC 9110 §9.3.6): which proxy a connection goes
//! through, the request that opens the tunnel, and the reading of the
//! proxy's answer. No I/O here: the async connect sequence and the blocking
//! adapter both drive these pieces over their own sockets, so the rules are
//! written once.
//!
//! ```
//! use sockeye_io::{Proxy, Target};
//!
//! let proxy = Proxy::new("http://alice:secret@proxy.example:3128").unwrap();
//! assert_eq!(proxy.to_string(), "http://proxy.example:3128");
//! let target = Target::parse("wss://chat.example/room").unwrap();
//! let request = String::from_utf8(proxy.connect_request(&target)).unwrap();
//! assert!(request.starts_with("CONNECT chat.example:443 HTTP/1.1\r\n"));
//! assert!(request.contains("Proxy-Authorization: Basic YWxpY2U6c2VjcmV0\r\n"));
//! ```

use core::fmt;
use std::io;

use base64::Engine as _;

use crate::error::ProxyError;
use crate::{Error, Target};

/// The most bytes a proxy's answer to `CONNECT` may take before it is
/// refused as malformed: its head, since a tunnel's answer has no body.
pub const MAX_PROXY_RESPONSE: usize = 8 << 10;

/// An HTTP proxy that tunnels with `CONNECT`, with optional basic
/// authentication taken from the URL's user information.
#[derive(Clone, PartialEq, Eq)]
pub struct Proxy {
    host: String,
    port: u16,
    /// `Basic base64(user:password)`, kept out of `Debug` and `Display`.
    authorization: Option<String>,
}

impl Proxy {
    /// A proxy from a URL: `http://[user[:password]@]host[:port]` (port 80
    /// when absent; a bare `host:port` is taken as `http://`).
    /// Percent-encoded characters in the user and password are decoded.
    ///
    /// # Errors
    /// [`Error::Url`] for anything else (another scheme, a path, no host).
    pub fn new(url: &str) -> Result<Self, Error> {
        let with_scheme = if url.contains("://") {
            url.to_owned()
        } else {
            format!("http://{url}")
        };
        let bad = |why: &str| Error::Url(format!("proxy {url:?}: {why}"));
        let parsed = url::Url::parse(&with_scheme).map_err(|error| bad(&error.to_string()))?;
        if parsed.scheme() != "http" {
            return Err(bad("only http:// proxies (CONNECT) are supported"));
        }
        if !matches!(parsed.path(), "" | "/") || parsed.query().is_some() {
            return Err(bad("a proxy URL has no path or query"));
        }
        let host = match parsed.host() {
            Some(url::Host::Domain(name)) => name.to_owned(),
            Some(url::Host::Ipv4(ip)) => ip.to_string(),
            Some(url::Host::Ipv6(ip)) => ip.to_string(),
            None => return Err(bad("no host")),
        };
        let port = parsed.port_or_known_default().unwrap_or(80);
        let authorization = if parsed.username().is_empty() {
            None
        } else {
            let decode = |part: &str| {
                url::form_urlencoded::parse(format!("x={part}").as_bytes())
                    .next()
                    .map(|(_, value)| value.into_owned())
                    .unwrap_or_default()
            };
            let user = decode(parsed.username());
            let password = decode(parsed.password().unwrap_or(""));
            let token =
                base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
            Some(format!("Basic {token}"))
        };
        Ok(Self {
            host,
            port,
            authorization,
        })
    }

    /// The proxy the conventional environment variables name for `target`:
    /// `HTTPS_PROXY` for `wss://` and `HTTP_PROXY` for `ws://` (either in
    /// lower case too), then `ALL_PROXY`; none when `NO_PROXY` covers the
    /// host (a comma-separated list of names, each matching the host and
    /// its subdomains, a leading dot allowed; IP addresses matched exactly;
    /// `*` for every host), when the host is a loopback address or
    /// `localhost` (a proxy elsewhere cannot reach this machine's loopback),
    /// or when no variable is set.
    ///
    /// # Errors
    /// [`Error::Url`] when the variable holds no usable proxy URL.
    pub fn from_env(target: &Target) -> Result<Option<Self>, Error> {
        Self::from_vars(target, |name| std::env::var(name).ok())
    }

    /// [`from_env`](Self::from_env) over any source of variables.
    fn from_vars(
        target: &Target,
        var: impl Fn(&str) -> Option<String>,
    ) -> Result<Option<Self>, Error> {
        let get = |upper: &str| {
            var(upper)
                .or_else(|| var(&upper.to_ascii_lowercase()))
                .filter(|value| !value.trim().is_empty())
        };
        if is_loopback(&target.host) {
            return Ok(None);
        }
        if let Some(no_proxy) = get("NO_PROXY")
            && bypasses(&no_proxy, &target.host)
        {
            return Ok(None);
        }
        let scheme = if target.secure {
            "HTTPS_PROXY"
        } else {
            "HTTP_PROXY"
        };
        match get(scheme).or_else(|| get("ALL_PROXY")) {
            Some(url) => Self::new(url.trim()).map(Some),
            None => Ok(None),
        }
    }

    /// The proxy's host, to resolve and connect to.
    pub fn host(&self) -> &str {
        &self.host
    }

    /// The proxy's port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The `CONNECT` request that asks the proxy for a tunnel to `target`.
    pub fn connect_request(&self, target: &Target) -> Vec<u8> {
        let authority = authority(&target.host, target.port);
        let mut request = format!("CONNECT {authority} HTTP/1.1\r\nHost: {authority}\r\n");
        if let Some(authorization) = &self.authorization {
            request.push_str("Proxy-Authorization: ");
            request.push_str(authorization);
            request.push_str("\r\n");
        }
        request.push_str("\r\n");
        request.into_bytes()
    }

    /// Reads the proxy's answer from the bytes received so far: `Ok(false)`
    /// while its head is incomplete, `Ok(true)` once a `2xx` head has
    /// arrived and nothing after it (the tunnel is open).
    ///
    /// # Errors
    /// [`Error::Proxy`] when the proxy refuses (any other status, naming it
    /// and its reason), answers with something that is not HTTP, sends more
    /// than [`MAX_PROXY_RESPONSE`] bytes of head, or sends bytes after its
    /// answer: they cannot be the server's, which has not been spoken to
    /// yet, and would corrupt the stream.
    pub fn read_response(&self, received: &[u8]) -> Result<bool, Error> {
        let mut fields = [httparse::EMPTY_HEADER; 32];
        let mut response = httparse::Response::new(&mut fields);
        match response.parse(received) {
            Ok(httparse::Status::Partial) => {
                if received.len() > MAX_PROXY_RESPONSE {
                    return Err(self.failure(io::Error::new(
                        io::ErrorKind::InvalidData,
                        format!("its answer is longer than {MAX_PROXY_RESPONSE} bytes"),
                    )));
                }
                Ok(false)
            }
            Ok(httparse::Status::Complete(len)) => {
                let status = response.code.unwrap_or(0);
                if (200..300).contains(&status) {
                    if len != received.len() {
                        return Err(self.failure(io::Error::new(
                            io::ErrorKind::InvalidData,
                            "it sent bytes after its answer to CONNECT",
                        )));
                    }
                    return Ok(true);
                }
                let reason = response.reason.unwrap_or("").to_owned();
                Err(Error::Proxy(Box::new(ProxyError {
                    proxy: self.to_string(),
                    status: Some(status),
                    error: io::Error::other(format!("it answered {status} {reason}")),
                })))
            }
            Err(error) => Err(self.failure(io::Error::new(
                io::ErrorKind::InvalidData,
                format!("its answer is not HTTP ({error})"),
            ))),
        }
    }

    /// The error of a proxy that closed the connection before its answer
    /// to `CONNECT` was complete.
    pub fn closed_before_answering(&self) -> Error {
        self.failure(io::Error::new(
            io::ErrorKind::UnexpectedEof,
            "it closed the connection without answering CONNECT",
        ))
    }

    /// The error of a proxy that could not be reached: a failure to
    /// resolve or connect to it becomes [`Error::Proxy`] naming it; any
    /// other error (the connect timeout) is left as it is.
    pub fn unreachable(&self, error: Error) -> Error {
        match error {
            Error::Resolve(error) | Error::Connect(error) => self.failure(error),
            other => other,
        }
    }

    /// The error of a proxy that could not be reached or used: `error` says
    /// why.
    pub fn failure(&self, error: io::Error) -> Error {
        Error::Proxy(Box::new(ProxyError {
            proxy: self.to_string(),
            status: None,
            error,
        }))
    }
}

/// `host:port`, with brackets around an IPv6 literal.
fn authority(host: &str, port: u16) -> String {
    if host.contains(':') && !host.starts_with('[') {
        format!("[{host}]:{port}")
    } else {
        format!("{host}:{port}")
    }
}

/// Whether `host` names this machine's loopback interface.
fn is_loopback(host: &str) -> bool {
    let host = host.trim_start_matches('[').trim_end_matches(']');
    host.eq_ignore_ascii_case("localhost")
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// Whether a `NO_PROXY` list covers `host`.
fn bypasses(no_proxy: &str, host: &str) -> bool {
    let host = host.trim_start_matches('[').trim_end_matches(']');
    no_proxy.split(',').map(str::trim).any(|entry| {
        // An entry may carry a port (`example.com:8080`); ports are not
        // told apart here, as most clients do not.
        let entry = match entry.rsplit_once(':') {
            Some((name, port)) if !name.contains(':') && port.parse::<u16>().is_ok() => name,
            _ => entry,
        };
        let entry = entry.trim_start_matches('[').trim_end_matches(']');
        if entry == "*" {
            return true;
        }
        let name = entry.trim_start_matches('.');
        !name.is_empty()
            && (host.eq_ignore_ascii_case(name)
                || (host.len() > name.len()
                    && host[host.len() - name.len()..].eq_ignore_ascii_case(name)
                    && host.as_bytes()[host.len() - name.len() - 1] == b'.'))
    })
}

impl fmt::Display for Proxy {
    /// The proxy as `http://host:port`, without its credentials.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "http://{}", authority(&self.host, self.port))
    }
}

impl fmt::Debug for Proxy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Proxy")
            .field("url", &self.to_string())
            .field("authenticated", &self.authorization.is_some())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn target(url: &str) -> Target {
        Target::parse(url).unwrap()
    }

    #[test]
    fn proxy_urls_are_read_with_their_defaults_and_credentials() {
        let proxy = Proxy::new("proxy.example:3128").unwrap();
        assert_eq!((proxy.host(), proxy.port()), ("proxy.example", 3128));
        assert_eq!(Proxy::new("http://10.0.0.1").unwrap().port(), 80);
        let proxy = Proxy::new("http://us%40er:p%3Ass@[::1]:8080/").unwrap();
        assert_eq!(proxy.to_string(), "http://[::1]:8080");
        let request = String::from_utf8(proxy.connect_request(&target("ws://[::1]:9/"))).unwrap();
        // "us@er:p:ss" in base64.
        assert!(request.contains("Proxy-Authorization: Basic dXNAZXI6cDpzcw==\r\n"));
        assert!(request.starts_with("CONNECT [::1]:9 HTTP/1.1\r\nHost: [::1]:9\r\n"));
        assert!(
            !format!("{proxy:?}").contains("dXN"),
            "credentials in Debug"
        );
        for bad in ["socks5://h:1", "https://h:1", "http://h:1/path", "http://"] {
            assert!(matches!(Proxy::new(bad), Err(Error::Url(_))), "{bad}");
        }
    }

    #[test]
    fn the_environment_picks_by_scheme_and_no_proxy_bypasses() {
        let vars = |pairs: &'static [(&'static str, &'static str)]| {
            move |name: &str| {
                pairs
                    .iter()
                    .find(|(key, _)| *key == name)
                    .map(|(_, value)| value.to_string())
            }
        };
        let env = vars(&[
            ("HTTPS_PROXY", "http://secure:1"),
            ("http_proxy", "http://plain:2"),
            ("NO_PROXY", "internal.example, .corp, 10.1.2.3:80"),
        ]);
        let via = |url: &str| {
            Proxy::from_vars(&target(url), env)
                .unwrap()
                .map(|p| p.to_string())
        };
        assert_eq!(via("wss://a.example/").as_deref(), Some("http://secure:1"));
        assert_eq!(via("ws://a.example/").as_deref(), Some("http://plain:2"));
        assert_eq!(via("ws://internal.example/"), None);
        assert_eq!(via("ws://x.internal.example/"), None);
        assert_eq!(
            via("ws://notinternal.example/").as_deref(),
            Some("http://plain:2")
        );
        assert_eq!(via("ws://deep.in.corp/"), None);
        assert_eq!(via("ws://10.1.2.3/"), None);
        for local in ["ws://127.0.0.1:9/", "ws://localhost/", "wss://[::1]/"] {
            assert_eq!(via(local), None, "{local}");
        }
        let all = vars(&[("ALL_PROXY", "http://all:3"), ("no_proxy", "*")]);
        assert_eq!(Proxy::from_vars(&target("ws://a/"), all).unwrap(), None);
        let all = vars(&[("all_proxy", "http://all:3")]);
        let proxy = Proxy::from_vars(&target("wss://a/"), all).unwrap().unwrap();
        assert_eq!(proxy.to_string(), "http://all:3");
        let none = vars(&[]);
        assert_eq!(Proxy::from_vars(&target("ws://a/"), none).unwrap(), None);
        let broken = vars(&[("HTTP_PROXY", "ftp://x")]);
        assert!(Proxy::from_vars(&target("ws://a/"), broken).is_err());
    }

    #[test]
    fn the_answer_opens_the_tunnel_only_with_a_2xx_status() {
        let proxy = Proxy::new("http://p:1").unwrap();
        let ok = b"HTTP/1.1 200 Connection established\r\n\r\n";
        for cut in 0..ok.len() {
            assert!(!proxy.read_response(&ok[..cut]).unwrap(), "cut {cut}");
        }
        assert!(proxy.read_response(ok).unwrap());
        let mut trailing = ok.to_vec();
        trailing.push(0x16);
        assert!(matches!(
            proxy.read_response(&trailing),
            Err(Error::Proxy(failure)) if failure.status.is_none()
        ));
        let refused = proxy
            .read_response(
                b"HTTP/1.1 407 Proxy Authentication Required\r\nContent-Length: 0\r\n\r\n",
            )
            .unwrap_err();
        assert!(matches!(&refused, Error::Proxy(failure) if failure.status == Some(407)));
        let message = refused.to_string();
        assert!(
            message.contains("http://p:1") && message.contains("407"),
            "{message}"
        );
        assert!(matches!(
            proxy.read_response(b"SSH-2.0-OpenSSH\r\n\r\n"),
            Err(Error::Proxy(failure)) if failure.status.is_none()
        ));
        let endless = vec![b'a'; MAX_PROXY_RESPONSE + 1];
        let mut head = b"HTTP/1.1 200 OK\r\nX: ".to_vec();
        head.extend_from_slice(&endless);
        assert!(proxy.read_response(&head).is_err());
    }
}
