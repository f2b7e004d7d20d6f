//! Listening sockets for a server that runs one event loop per thread.
//!
//! Each thread accepts on a socket of its own bound to the same address
//! with `SO_REUSEPORT` (where the system has it): the kernel spreads new
//! connections over the sockets by a hash of their addresses and ports, so
//! no thread wakes for another's connection and nothing is handed between
//! threads. Elsewhere the threads share one listening socket (a clone per
//! thread) and whichever thread accepts first serves the connection.

use std::io;
use std::net::{SocketAddr, TcpListener};
use std::num::NonZeroUsize;

/// Connections waiting to be accepted, per listening socket.
const BACKLOG: i32 = 1024;

/// The number of threads a threaded server runs unless told otherwise: the
/// cores available to this process (one where that cannot be told).
pub fn available_threads() -> usize {
    std::thread::available_parallelism().map_or(1, NonZeroUsize::get)
}

/// `count` non-blocking listening sockets on `addr`, one per thread (see the
/// module's documentation). Port 0 picks one free port for all of them.
///
/// # Errors
/// [`io::ErrorKind::InvalidInput`] when `count` is zero; otherwise as the
/// operating system's `socket`, `setsockopt`, `bind` and `listen`.
pub fn bind_listeners(addr: SocketAddr, count: usize) -> io::Result<Vec<TcpListener>> {
    if count == 0 {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "a server needs at least one thread",
        ));
    }
    let first = bind_one(addr)?;
    // Every further socket takes the port the first one got.
    let bound = first.local_addr()?;
    let mut listeners = Vec::with_capacity(count);
    listeners.push(first);
    for _ in 1..count {
        let next = if cfg!(unix) {
            bind_one(bound)?
        } else {
            listeners[0].try_clone()?
        };
        listeners.push(next);
    }
    Ok(listeners)
}

fn bind_one(addr: SocketAddr) -> io::Result<TcpListener> {
    use socket2::{Domain, Protocol, Socket, Type};
    let socket = Socket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP))?;
    // As std's TcpListener::bind does: a restarted server can bind at once.
    #[cfg(unix)]
    socket.set_reuse_address(true)?;
    #[cfg(unix)]
    socket.set_reuse_port(true)?;
    socket.set_nonblocking(true)?;
    socket.bind(&addr.into())?;
    socket.listen(BACKLOG)?;
    Ok(socket.into())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Read, Write};

    #[test]
    fn every_listener_shares_one_port_and_accepts() {
        let listeners = bind_listeners("127.0.0.1:0".parse().unwrap(), 3).unwrap();
        let port = listeners[0].local_addr().unwrap().port();
        assert_ne!(port, 0);
        for listener in &listeners {
            assert_eq!(listener.local_addr().unwrap().port(), port);
        }
        // A connection reaches one of them, whichever the kernel picks.
        let mut client = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
        client.write_all(b"x").unwrap();
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        let mut accepted = None;
        while accepted.is_none() {
            assert!(std::time::Instant::now() < deadline, "never accepted");
            accepted = listeners.iter().find_map(|l| l.accept().ok());
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
        let (mut server, _) = accepted.unwrap();
        server.set_nonblocking(false).unwrap();
        let mut byte = [0u8; 1];
        server.read_exact(&mut byte).unwrap();
        assert_eq!(&byte, b"x");
    }

    #[test]
    fn zero_threads_is_refused() {
        let error = bind_listeners("127.0.0.1:0".parse().unwrap(), 0).unwrap_err();
        assert_eq!(error.kind(), io::ErrorKind::InvalidInput);
    }
}
