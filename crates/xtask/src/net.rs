//! Local servers for end-to-end checks: a free port, waiting for a listener,
//! and a child process that is killed when it goes out of scope.

use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::process::{Child, Command, ExitStatus};
use std::thread::sleep;
use std::time::{Duration, Instant};

use crate::cmd::{self, Result};

const POLL: Duration = Duration::from_millis(50);

/// A TCP port on 127.0.0.1 that was free a moment ago (the OS picked it for a
/// listener that is closed again before returning).
///
/// # Panics
/// If binding 127.0.0.1:0 fails, which means the machine has no loopback.
pub fn free_port() -> u16 {
    TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .and_then(|listener| listener.local_addr())
        .expect("binding 127.0.0.1:0")
        .port()
}

/// Waits until something accepts TCP connections on 127.0.0.1:`port`.
///
/// # Errors
/// If nothing does within `timeout`.
#[allow(
    dead_code,
    reason = "for servers not started through ChildGuard (fuzz and bench steps)"
)]
pub fn wait_for_port(port: u16, timeout: Duration) -> Result {
    wait_for_port_while(port, timeout, || Ok(()))
}

/// [`wait_for_port`], also failing as soon as `alive` does (e.g. the server
/// that should listen has exited).
fn wait_for_port_while(port: u16, timeout: Duration, mut alive: impl FnMut() -> Result) -> Result {
    let address = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    let deadline = Instant::now() + timeout;
    loop {
        if TcpStream::connect_timeout(&address, POLL).is_ok() {
            return Ok(());
        }
        alive()?;
        if Instant::now() >= deadline {
            return Err(format!("nothing listened on {address} within {timeout:?}"));
        }
        sleep(POLL);
    }
}

/// A spawned child process that is killed (and reaped) on drop, so a server
/// never outlives the check that started it, even on an early return.
pub struct ChildGuard {
    child: Child,
    name: String,
}

impl ChildGuard {
    /// Spawns `command`; `name` is used in messages.
    pub fn spawn(name: &str, command: &mut Command) -> Result<Self> {
        println!("$ {}", cmd::display(command));
        let child = command
            .spawn()
            .map_err(|e| format!("could not start {name} (`{}`): {e}", cmd::display(command)))?;
        Ok(Self {
            child,
            name: name.to_owned(),
        })
    }

    /// Fails if the process has already exited.
    pub fn check_running(&mut self) -> Result {
        match self.child.try_wait() {
            Ok(None) => Ok(()),
            Ok(Some(status)) => Err(format!("{} exited early ({status})", self.name)),
            Err(e) => Err(format!("checking on {}: {e}", self.name)),
        }
    }

    /// Waits until the process listens on 127.0.0.1:`port`, failing early if
    /// it exits.
    pub fn wait_for_port(&mut self, port: u16, timeout: Duration) -> Result {
        wait_for_port_while(port, timeout, || self.check_running())
            .map_err(|e| format!("{}: {e}", self.name))
    }

    /// Waits for the process to exit by itself, killing it after `timeout`.
    ///
    /// # Errors
    /// If it had to be killed.
    pub fn wait_timeout(&mut self, timeout: Duration) -> Result<ExitStatus> {
        let deadline = Instant::now() + timeout;
        loop {
            match self.child.try_wait() {
                Ok(Some(status)) => return Ok(status),
                Ok(None) if Instant::now() >= deadline => {
                    self.kill();
                    return Err(format!(
                        "{} did not finish within {timeout:?} and was killed",
                        self.name
                    ));
                }
                Ok(None) => sleep(POLL),
                Err(e) => return Err(format!("waiting for {}: {e}", self.name)),
            }
        }
    }

    fn kill(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
        }
        let _ = self.child.wait();
    }
}

impl Drop for ChildGuard {
    fn drop(&mut self) {
        self.kill();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn process_exists(pid: u32) -> bool {
        std::path::Path::new(&format!("/proc/{pid}")).exists()
    }

    #[test]
    fn free_port_can_be_bound_again() {
        let port = free_port();
        assert_ne!(port, 0);
        TcpListener::bind((Ipv4Addr::LOCALHOST, port)).expect("port is free");
    }

    #[test]
    fn wait_for_port_sees_a_listener_and_times_out_without_one() {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).unwrap();
        let port = listener.local_addr().unwrap().port();
        wait_for_port(port, Duration::from_secs(2)).expect("listener is up");
        drop(listener);
        let error = wait_for_port(port, Duration::from_millis(200)).unwrap_err();
        assert!(error.contains("nothing listened"), "{error}");
    }

    #[test]
    fn child_guard_kills_on_drop() {
        let guard = ChildGuard::spawn("sleeper", Command::new("sleep").arg("30")).unwrap();
        let pid = guard.child.id();
        assert!(process_exists(pid));
        drop(guard);
        assert!(!process_exists(pid), "sleep {pid} survived the guard");
    }

    #[test]
    fn child_guard_reports_an_early_exit_while_waiting_for_its_port() {
        let mut guard = ChildGuard::spawn("quitter", &mut Command::new("true")).unwrap();
        let error = guard
            .wait_for_port(free_port(), Duration::from_secs(5))
            .unwrap_err();
        assert!(error.contains("quitter exited early"), "{error}");
    }

    #[test]
    fn wait_timeout_kills_a_process_that_runs_too_long() {
        let mut guard = ChildGuard::spawn("sleeper", Command::new("sleep").arg("30")).unwrap();
        let pid = guard.child.id();
        let error = guard.wait_timeout(Duration::from_millis(100)).unwrap_err();
        assert!(error.contains("was killed"), "{error}");
        assert!(!process_exists(pid));
        let mut quick = ChildGuard::spawn("true", &mut Command::new("true")).unwrap();
        assert!(
            quick
                .wait_timeout(Duration::from_secs(5))
                .unwrap()
                .success()
        );
    }
}
