//! Accepting under a [`ServerPolicy`]: the shared accept-time decisions and
//! connection limits, for blocking servers.

use std::net::TcpStream;

use sockeye_io::server::{ClientSlot, Clients, RequestInfo, ServerPolicy};
use sockeye_io::{Error, Request};

use crate::{WebSocket, accept_with};

/// Accept a client on `tcp` as `policy` says: the path, the verify hook,
/// the subprotocol, the extra response fields and the engine configuration
/// (message size, heartbeat), with the connection limits counted in
/// `clients`. Keep the returned [`ClientSlot`] for as long as the
/// connection lives: dropping it frees the client's place.
///
/// A blocking server has no task to drain a broadcast queue, so
/// [`Clients`] serves here for counting and limits; the engine's heartbeat
/// timers run when a read returns, so give the socket a read timeout no
/// longer than the heartbeat interval. Plain HTTP requests get the default
/// `426 Upgrade Required`.
///
/// ```no_run
/// use sockeye_std::{Decision, accept_with_policy};
/// use sockeye_std::server::{Clients, ServerPolicy};
///
/// let policy = ServerPolicy::new().path("/ws").max_connections_per_ip(4);
/// let clients = Clients::new(&policy);
/// let listener = std::net::TcpListener::bind("127.0.0.1:9001")?;
/// for tcp in listener.incoming() {
///     let (policy, clients) = (policy.clone(), clients.clone());
///     std::thread::spawn(move || {
///         let (mut ws, _slot, _request) = accept_with_policy(tcp?, &policy, &clients)?;
///         while let Some(message) = ws.recv() {
///             let message = message?;
///             if message.is_data() {
///                 ws.send(message)?;
///             }
///         }
///         Ok::<_, sockeye_std::Error>(())
///     });
/// }
/// # Ok::<(), std::io::Error>(())
/// ```
///
/// # Errors
/// As [`accept_with`]: [`Error::Rejected`] with the status the policy
/// refused with (404, the hook's, 503 for a limit), [`Error::Handshake`]
/// for an invalid or plain request (already answered), [`Error::Io`].
pub fn accept_with_policy(
    tcp: TcpStream,
    policy: &ServerPolicy,
    clients: &Clients,
) -> Result<(WebSocket<TcpStream>, ClientSlot, Request), Error> {
    let peer = tcp.peer_addr().map_err(Error::Io)?;
    let mut slot = None;
    let (ws, request) = accept_with(tcp, policy.shared_config().clone(), |request| {
        let decision = policy.decide(&RequestInfo::new(request, peer));
        if decision.rejected_status().is_some() {
            return decision;
        }
        match clients.admit(peer.ip()) {
            Ok(admitted) => {
                slot = Some(admitted);
                decision
            }
            Err(refusal) => refusal.decision(),
        }
    })?;
    let slot = slot.ok_or(Error::Closed)?;
    Ok((ws, slot, request))
}
