//! A real HTTP proxy for the adapters' proxy tests: Debian's `tinyproxy`,
//! started on a free loopback port with a configuration of the test's
//! choosing and stopped by PID when dropped. The tests that use it are
//! `#[ignore]`d and run by `cargo xtask test`, which installs tinyproxy;
//! run by hand without it, they fail and say so.

use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A running tinyproxy.
pub struct Tinyproxy {
    child: Child,
    config: PathBuf,
    /// `http://127.0.0.1:PORT`.
    pub url: String,
}

impl Tinyproxy {
    /// Start tinyproxy on a free port. `connect_ports` limits the ports it
    /// opens tunnels to (it answers 403 for others); `credentials` makes
    /// it require basic authentication (407 without it).
    pub fn start(name: &str, connect_ports: &[u16], credentials: Option<(&str, &str)>) -> Self {
        let binary = std::env::var("SOCKEYE_TINYPROXY").unwrap_or_else(|_| "tinyproxy".into());
        let port = free_port();
        let mut config = format!(
            "Port {port}\nListen 127.0.0.1\nTimeout 30\nMaxClients 64\nLogLevel Error\nAllow 127.0.0.1\n"
        );
        for allowed in connect_ports {
            config.push_str(&format!("ConnectPort {allowed}\n"));
        }
        if let Some((user, password)) = credentials {
            config.push_str(&format!("BasicAuth {user} {password}\n"));
        }
        let path = std::env::temp_dir().join(format!(
            "sockeye-tinyproxy-{name}-{}.conf",
            std::process::id()
        ));
        std::fs::write(&path, config).unwrap();
        let child = Command::new(&binary)
            .args(["-d", "-c"])
            .arg(&path)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .spawn()
            .unwrap_or_else(|error| {
                panic!(
                    "cannot start {binary} ({error}): this test needs tinyproxy \
                     (`cargo xtask test` installs Debian's package and runs it)"
                )
            });
        let proxy = Self {
            child,
            config: path,
            url: format!("http://127.0.0.1:{port}"),
        };
        let deadline = Instant::now() + Duration::from_secs(10);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "tinyproxy did not listen on {port}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        proxy
    }

    /// The proxy URL with `user:password@` in it.
    pub fn url_with_credentials(&self, user: &str, password: &str) -> String {
        self.url
            .replacen("http://", &format!("http://{user}:{password}@"), 1)
    }
}

impl Drop for Tinyproxy {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_file(&self.config);
    }
}

/// A loopback port that was free a moment ago.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}
