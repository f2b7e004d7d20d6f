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

/// Pin the calling thread to one CPU: the `index`-th (counting around) of
/// the CPUs this process may run on, so that thread `index` of a threaded
/// server keeps its caches and its connections' softirq work on one core.
///
/// # Errors
/// [`io::ErrorKind::Unsupported`] outside Linux; otherwise as
/// `sched_getaffinity` and `sched_setaffinity`.
pub fn pin_current_thread(index: usize) -> io::Result<usize> {
    #[cfg(target_os = "linux")]
    {
        use rustix::thread::{CpuSet, sched_getaffinity, sched_setaffinity};
        let allowed = sched_getaffinity(None)?;
        let cpus: Vec<usize> = (0..CpuSet::MAX_CPU)
            .filter(|&cpu| allowed.is_set(cpu))
            .collect();
        let Some(&cpu) = cpus.get(index % cpus.len().max(1)) else {
            return Err(io::Error::other("this process may run on no CPU"));
        };
        let mut only = CpuSet::new();
        only.set(cpu);
        sched_setaffinity(None, &only)?;
        Ok(cpu)
    }
    #[cfg(not(target_os = "linux"))]
    {
        let _ = index;
        Err(io::Error::new(
            io::ErrorKind::Unsupported,
            "pinning threads to CPUs is implemented on Linux only",
        ))
    }
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

    #[cfg(target_os = "linux")]
    #[test]
    fn a_pinned_thread_runs_on_the_one_cpu_it_was_given() {
        let allowed = std::fs::read_to_string("/proc/self/status").unwrap();
        let pinned = std::thread::spawn(|| {
            let cpu = pin_current_thread(1).unwrap();
            let status = std::fs::read_to_string("/proc/thread-self/status").unwrap();
            (cpu, status)
        })
        .join()
        .unwrap();
        let list = |status: &str| {
            status
                .lines()
                .find_map(|line| line.strip_prefix("Cpus_allowed_list:"))
                .unwrap()
                .trim()
                .to_string()
        };
        // The thread may run on its CPU alone, one the process may use.
        assert_eq!(list(&pinned.1), pinned.0.to_string());
        let process = list(&allowed);
        let in_process = process.split(',').any(|range| match range.split_once('-') {
            Some((low, high)) => (low.parse().unwrap()..=high.parse().unwrap()).contains(&pinned.0),
            None => range.parse::<usize>().unwrap() == pinned.0,
        });
        assert!(in_process, "CPU {} not in {process}", pinned.0);
    }

    #[test]
    fn zero_threads_is_refused() {
        let error = bind_listeners("127.0.0.1:0".parse().unwrap(), 0).unwrap_err();
        assert_eq!(error.kind(), io::ErrorKind::InvalidInput);
    }
}
