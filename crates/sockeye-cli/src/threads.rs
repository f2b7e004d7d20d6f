//! Serving on several event-loop threads, for servers of their own making
//! (`sockeye chat` reads the request itself): each thread is a
//! current-thread tokio runtime accepting on its own socket of the same
//! port (`SO_REUSEPORT`, [`sockeye_io::server::bind_listeners`]) and serving
//! what it accepted, as `sockeye_tokio::ThreadedServer` does for servers
//! under a policy. State shared by the connections must be thread-safe.

use std::future::Future;
use std::net::{SocketAddr, ToSocketAddrs};
use std::sync::Arc;
use std::time::Duration;

use sockeye_io::server::bind_listeners;
use tokio::net::{TcpListener, TcpStream};

/// Listening sockets on `addr`, one per thread, and the address bound.
pub fn bind(
    addr: &str,
    threads: usize,
) -> Result<(Vec<std::net::TcpListener>, SocketAddr), String> {
    let cannot = |error: std::io::Error| format!("cannot listen on {addr}: {error}");
    let resolved = addr
        .to_socket_addrs()
        .map_err(cannot)?
        .next()
        .ok_or_else(|| format!("cannot listen on {addr}: it resolves to nothing"))?;
    let listeners = bind_listeners(resolved, threads).map_err(cannot)?;
    let local = listeners[0].local_addr().map_err(cannot)?;
    Ok((listeners, local))
}

/// Accept on every listener, each on a thread of its own, and run `serve`
/// on every connection in a task of that thread. Runs until the process
/// ends; an error only when a thread cannot be started.
pub async fn serve<F, Fut>(listeners: Vec<std::net::TcpListener>, serve: F) -> Result<(), String>
where
    F: Fn(TcpStream, SocketAddr) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    let serve = Arc::new(serve);
    let mut threads = Vec::new();
    for (index, listener) in listeners.into_iter().enumerate() {
        let serve = serve.clone();
        let thread = std::thread::Builder::new()
            .name(format!("sockeye-loop-{index}"))
            .spawn(move || accept_loop(listener, serve))
            .map_err(|error| format!("cannot start a server thread: {error}"))?;
        threads.push(thread);
    }
    tokio::task::spawn_blocking(move || {
        for thread in threads {
            match thread.join() {
                Ok(Ok(())) => {}
                Ok(Err(error)) => return Err(error),
                Err(_) => return Err("a server thread panicked".to_string()),
            }
        }
        Ok(())
    })
    .await
    .map_err(|error| error.to_string())?
}

fn accept_loop<F, Fut>(listener: std::net::TcpListener, serve: Arc<F>) -> Result<(), String>
where
    F: Fn(TcpStream, SocketAddr) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|error| format!("cannot start a server thread's runtime: {error}"))?;
    runtime.block_on(async move {
        let listener = TcpListener::from_std(listener).map_err(|error| error.to_string())?;
        loop {
            match listener.accept().await {
                Ok((stream, peer)) => drop(tokio::spawn(serve(stream, peer))),
                Err(error) => {
                    // Out of file descriptors and the like: keep serving the others.
                    tracing::warn!(%error, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            }
        }
    })
}
