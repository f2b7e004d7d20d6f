//! Real broker processes for the fan-out tests: Debian's `redis-server`
//! and `nats-server` on free loopback ports, stopped by PID. Shared with
//! the chat's tests (`crates/sockeye-cli/tests/chat_scale.rs`).

#![allow(dead_code)]

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use tokio::net::TcpStream;
use tokio::time::sleep;

/// Which broker a test runs on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Redis,
    Nats,
}

/// A free loopback port (bound and released; the broker binds it next).
pub fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

/// A broker process on a loopback port, killed by PID when dropped.
pub struct Broker {
    pub kind: Kind,
    pub port: u16,
    child: Option<Child>,
}

impl Broker {
    /// Start a broker on a free port and wait until it takes connections.
    pub async fn start(kind: Kind) -> Self {
        let mut broker = Broker {
            kind,
            port: free_port(),
            child: None,
        };
        broker.restart().await;
        broker
    }

    /// The URL the fan-out connects to.
    pub fn url(&self) -> String {
        match self.kind {
            Kind::Redis => format!("redis://127.0.0.1:{}/", self.port),
            Kind::Nats => format!("nats://127.0.0.1:{}", self.port),
        }
    }

    fn pid(&self) -> u32 {
        self.child.as_ref().expect("the broker runs").id()
    }

    /// (Re)start the broker on its port.
    pub async fn restart(&mut self) {
        assert!(self.child.is_none(), "the broker already runs");
        let port = self.port.to_string();
        let mut command = match self.kind {
            Kind::Redis => {
                let mut command = Command::new("redis-server");
                command.args(["--port", &port, "--bind", "127.0.0.1", "--save", ""]);
                command.args(["--appendonly", "no"]);
                command
            }
            Kind::Nats => {
                let mut command = Command::new("nats-server");
                command.args(["-a", "127.0.0.1", "-p", &port]);
                command
            }
        };
        let child = command
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {:?} (install it): {e}", self.kind));
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(10);
        while TcpStream::connect(("127.0.0.1", self.port)).await.is_err() {
            assert!(Instant::now() < deadline, "{:?} did not start", self.kind);
            sleep(Duration::from_millis(20)).await;
        }
    }

    /// Kill the broker (SIGKILL by PID) and reap it.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Stop the broker reading (SIGSTOP by PID).
    pub fn pause(&self) {
        signal("-STOP", self.pid());
    }

    /// Let it go on (SIGCONT).
    pub fn resume(&self) {
        signal("-CONT", self.pid());
    }

    /// Run a command on the broker with its own command-line client.
    pub fn redis_cli(&self, args: &[&str]) -> String {
        let output = Command::new("redis-cli")
            .args(["-p", &self.port.to_string()])
            .args(args)
            .output()
            .expect("redis-cli runs");
        String::from_utf8_lossy(&output.stdout).into_owned()
    }
}

fn signal(which: &str, pid: u32) {
    let status = Command::new("kill")
        .args([which, &pid.to_string()])
        .status()
        .unwrap();
    assert!(status.success(), "kill {which} {pid}");
}

impl Drop for Broker {
    fn drop(&mut self) {
        self.kill();
    }
}
