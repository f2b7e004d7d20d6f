//! Where a client connects: a `ws://` or `wss://` URL taken apart.

use std::net::{SocketAddr, ToSocketAddrs};

use crate::Error;

/// A parsed `ws://` or `wss://` URL: what to resolve, what to connect to, and
/// what to put in the request.
///
/// ```
/// use sockeye_io::Target;
///
/// let target = Target::parse("wss://example.com/chat?room=1").unwrap();
/// assert!(target.secure);
/// assert_eq!((target.host.as_str(), target.port), ("example.com", 443));
/// assert_eq!(target.resource, "/chat?room=1");
/// assert_eq!(target.host_header, "example.com");
///
/// let local = Target::parse("ws://[::1]:9001").unwrap();
/// assert_eq!((local.host.as_str(), local.port), ("::1", 9001));
/// assert_eq!(local.host_header, "[::1]:9001");
/// assert!(Target::parse("http://example.com").is_err());
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Target {
    /// `wss` (TLS) rather than `ws`.
    pub secure: bool,
    /// The host name or address, IPv6 literals without brackets (what DNS
    /// and TLS server-name checks want).
    pub host: String,
    /// The port: the URL's, or 80 for `ws` and 443 for `wss`.
    pub port: u16,
    /// The request target: path and query (RFC 6455 §3 "resource name").
    pub resource: String,
    /// The `Host` header value: the host (bracketed when IPv6), with the port
    /// when it is not the default.
    pub host_header: String,
}

impl Target {
    /// Parse `url`.
    ///
    /// # Errors
    /// [`Error::Url`] when it does not parse, its scheme is not `ws` or
    /// `wss`, it has no host, or it carries a fragment (RFC 6455 §3).
    pub fn parse(url: &str) -> Result<Self, Error> {
        let url = url::Url::parse(url).map_err(|error| Error::Url(format!("{url}: {error}")))?;
        let secure = match url.scheme() {
            "ws" => false,
            "wss" => true,
            other => {
                return Err(Error::Url(format!("scheme `{other}` is not `ws` or `wss`")));
            }
        };
        if url.fragment().is_some() {
            return Err(Error::Url("a WebSocket URL has no fragment".into()));
        }
        let host = match url.host() {
            Some(url::Host::Domain(name)) => name.to_owned(),
            Some(url::Host::Ipv4(addr)) => addr.to_string(),
            Some(url::Host::Ipv6(addr)) => addr.to_string(),
            None => return Err(Error::Url("the URL has no host".into())),
        };
        let port = url
            .port_or_known_default()
            .unwrap_or(if secure { 443 } else { 80 });
        let bracketed = url.host_str().unwrap_or_default();
        let host_header = match url.port() {
            Some(port) => format!("{bracketed}:{port}"),
            None => bracketed.to_owned(),
        };
        let mut resource = url.path().to_owned();
        if resource.is_empty() {
            resource.push('/');
        }
        if let Some(query) = url.query() {
            resource.push('?');
            resource.push_str(query);
        }
        Ok(Target {
            secure,
            host,
            port,
            resource,
            host_header,
        })
    }

    /// Resolve the host with the system resolver (blocking).
    ///
    /// # Errors
    /// [`Error::Resolve`] when resolution fails or yields no address.
    pub fn resolve(&self) -> Result<Vec<SocketAddr>, Error> {
        Self::resolve_host(&self.host, self.port)
    }

    /// Resolve `host` at `port` with the system resolver (blocking): the
    /// server's host, or a proxy's.
    ///
    /// # Errors
    /// [`Error::Resolve`] when resolution fails or yields no address.
    pub fn resolve_host(host: &str, port: u16) -> Result<Vec<SocketAddr>, Error> {
        let addrs: Vec<SocketAddr> = (host, port)
            .to_socket_addrs()
            .map_err(Error::Resolve)?
            .collect();
        if addrs.is_empty() {
            return Err(Error::Resolve(std::io::Error::new(
                std::io::ErrorKind::NotFound,
                format!("{host} has no address"),
            )));
        }
        Ok(addrs)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_ports_follow_the_scheme() {
        assert_eq!(Target::parse("ws://a.test").unwrap().port, 80);
        assert_eq!(Target::parse("wss://a.test").unwrap().port, 443);
        assert_eq!(Target::parse("ws://a.test:8080").unwrap().port, 8080);
    }

    #[test]
    fn explicit_default_port_is_left_out_of_the_host_header() {
        let target = Target::parse("ws://a.test:80/x").unwrap();
        assert_eq!(target.host_header, "a.test");
        assert_eq!(target.resource, "/x");
    }

    #[test]
    fn ipv6_literal_keeps_brackets_only_in_the_host_header() {
        let target = Target::parse("wss://[2001:db8::1]/p?q=1&r").unwrap();
        assert_eq!(target.host, "2001:db8::1");
        assert_eq!(target.host_header, "[2001:db8::1]");
        assert_eq!(target.resource, "/p?q=1&r");
    }

    #[test]
    fn empty_path_becomes_slash() {
        assert_eq!(Target::parse("ws://a.test?x").unwrap().resource, "/?x");
    }

    #[test]
    fn rejects_other_schemes_fragments_and_garbage() {
        for bad in ["http://a.test", "ws://a.test/#frag", "not a url", "ws://"] {
            assert!(matches!(Target::parse(bad), Err(Error::Url(_))), "{bad}");
        }
    }
}
