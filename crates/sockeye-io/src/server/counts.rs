//! Who may connect: the connection counts every server keeps, judged
//! against its policy's limits in one place. [`Clients`](super::Clients)
//! keeps one inside its registry; a server that keeps its clients itself
//! (sockeye-mio's event loops) shares one between its threads.

use std::collections::HashMap;
use std::net::IpAddr;

use super::{Refusal, ServerPolicy};

/// Open connections, in total and by client address, under a policy's
/// limits ([`ServerPolicy::max_connections`],
/// [`ServerPolicy::max_connections_per_ip`]).
///
/// ```
/// use std::net::IpAddr;
/// use sockeye_io::server::{ConnectionCounts, Refusal, ServerPolicy};
///
/// let mut counts = ConnectionCounts::new(&ServerPolicy::new().max_connections_per_ip(1));
/// let ip: IpAddr = "192.0.2.7".parse().unwrap();
/// assert!(counts.admit(ip, false).is_ok());
/// assert!(matches!(counts.admit(ip, false), Err(Refusal::TooManyFromAddress)));
/// counts.release(ip);
/// assert!(matches!(counts.admit(ip, true), Err(Refusal::ShuttingDown)));
/// ```
#[derive(Debug, Default)]
pub struct ConnectionCounts {
    max_total: Option<usize>,
    max_per_ip: Option<usize>,
    open: usize,
    per_ip: HashMap<IpAddr, usize>,
}

impl ConnectionCounts {
    /// No connections yet, under `policy`'s limits.
    pub fn new(policy: &ServerPolicy) -> Self {
        let (max_total, max_per_ip) = policy.connection_limits();
        Self {
            max_total,
            max_per_ip,
            ..Self::default()
        }
    }

    /// Count one more connection from `ip`, unless the server is
    /// `shutting_down` or a limit is reached; a refusal is traced (with
    /// the `tracing` feature) and answered with 503 by the caller.
    ///
    /// # Errors
    /// The [`Refusal`], and nothing is counted.
    pub fn admit(&mut self, ip: IpAddr, shutting_down: bool) -> Result<(), Refusal> {
        self.judge(ip, shutting_down).inspect_err(|_refusal| {
            info_event!(
                peer = %ip,
                refusal = ?_refusal,
                status = 503_u16,
                "connection limit reached, refused"
            );
        })?;
        self.open += 1;
        *self.per_ip.entry(ip).or_default() += 1;
        Ok(())
    }

    fn judge(&self, ip: IpAddr, shutting_down: bool) -> Result<(), Refusal> {
        if shutting_down {
            return Err(Refusal::ShuttingDown);
        }
        if self.max_total.is_some_and(|max| self.open >= max) {
            return Err(Refusal::TooManyConnections);
        }
        if self.max_per_ip.is_some_and(|max| self.from(ip) >= max) {
            return Err(Refusal::TooManyFromAddress);
        }
        Ok(())
    }

    /// Give back the place an [`admit`](Self::admit) of `ip` took.
    pub fn release(&mut self, ip: IpAddr) {
        if let Some(count) = self.per_ip.get_mut(&ip) {
            *count -= 1;
            if *count == 0 {
                self.per_ip.remove(&ip);
            }
            self.open -= 1;
        }
    }

    /// Open connections in total.
    pub fn open(&self) -> usize {
        self.open
    }

    /// Open connections from `ip`.
    pub fn from(&self, ip: IpAddr) -> usize {
        self.per_ip.get(&ip).copied().unwrap_or(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_total_limit_counts_every_address_and_a_release_frees_a_place() {
        let mut counts = ConnectionCounts::new(&ServerPolicy::new().max_connections(2));
        let (a, b): (IpAddr, IpAddr) = ("192.0.2.1".parse().unwrap(), "192.0.2.2".parse().unwrap());
        counts.admit(a, false).unwrap();
        counts.admit(b, false).unwrap();
        assert!(matches!(
            counts.admit(a, false),
            Err(Refusal::TooManyConnections)
        ));
        assert_eq!((counts.open(), counts.from(a), counts.from(b)), (2, 1, 1));
        counts.release(b);
        assert_eq!((counts.open(), counts.from(b)), (1, 0));
        counts.admit(a, false).unwrap();
        assert_eq!(counts.from(a), 2);
        // A release of an address never admitted changes nothing.
        counts.release("192.0.2.9".parse().unwrap());
        assert_eq!(counts.open(), 2);
    }
}
