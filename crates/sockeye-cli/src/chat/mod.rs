//! `sockeye chat`: a browser chat, page and WebSocket on one port.

mod protocol;
mod room;
mod scale;

use std::future::poll_fn;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use sockeye::handshake::Request;
use sockeye_io::server::Outgoing;
use sockeye_io::server::available_threads;
use sockeye_io::{CloseCode, Config, Message};
use sockeye_tokio::TokioClock;
use tokio::net::TcpStream;

use crate::upgrade::{self, Incoming};
use protocol::Outbound;
use room::{Membership, Room};

/// The page served at `/`.
const PAGE: &str = include_str!("../../assets/chat.html");

/// Longest the chat waits for the broker before it starts serving.
const BROKER_WAIT: Duration = Duration::from_secs(5);

/// Longest a client may take to accept a close frame after falling behind.
const EVICT_CLOSE_TIMEOUT: Duration = Duration::from_secs(5);

/// A chat server for browsers: the page at `/`, the WebSocket at `/ws`.
///
/// Open http://ADDR/ in a browser (add ?name=NAME to skip the prompt).
/// WebSocket clients connect to ws://ADDR/ws?name=NAME (a name such as
/// guest-3 is assigned without one; a taken name gets a -2, -3... suffix).
///
/// Protocol (JSON text messages):
///   client → server  {"type":"message","text":"…"}
///   server → client  {"type":"welcome","name":NAME}              (to the joining client)
///                    {"type":"message","from":NAME,"text":"…","timestamp":MILLIS}
///                    {"type":"join"|"leave","from":NAME,"timestamp":MILLIS}
///                    {"type":"presence","online":[NAMES]}
///                    {"type":"error","text":"…"}                 (malformed input;
///                                                                 the connection stays)
/// Every connected client, the sender included, receives each message.
///
/// Slow clients: each client has a queue of 256 outgoing messages. Broadcasting
/// never waits for anyone; a client whose queue is full has fallen behind and
/// is closed with 1008 (policy violation), and announced as having left.
///
/// Heartbeats: the server pings every client each --heartbeat interval and
/// drops one from which nothing comes back within 20 s of a ping.
///
/// Scaling out: with --redis URL or --nats URL, every chat process started
/// with the same broker shares the room: messages, joins and leaves reach
/// the members of every process, and the presence list (sorted by name)
/// shows everyone; a process that dies leaves it within 3 s. Names are
/// unique per process only.
#[derive(Debug, clap::Args)]
#[command(verbatim_doc_comment)]
pub struct Args {
    /// Address to listen on (port 0 picks a free port).
    #[arg(default_value = "127.0.0.1:8080")]
    pub addr: String,

    /// Require ?token=TOKEN on the WebSocket URL; connections without it are
    /// rejected with HTTP 401.
    #[arg(long, value_name = "TOKEN")]
    pub token: Option<String>,

    /// Seconds between the server's pings to each client.
    #[arg(long, value_name = "SECS", default_value_t = 30)]
    pub heartbeat: u64,

    /// Event-loop threads, each accepting on its own socket of the same port
    /// (SO_REUSEPORT) and serving its connections; one room spans them all
    /// (default: one per available core).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..))]
    pub threads: Option<u16>,

    /// Share the room with other chat processes through this Redis server
    /// (redis://HOST:PORT/).
    #[arg(long, value_name = "URL", conflicts_with = "nats")]
    pub redis: Option<String>,

    /// Share the room with other chat processes through this NATS server
    /// (nats://HOST:PORT).
    #[arg(long, value_name = "URL")]
    pub nats: Option<String>,
}

struct Server {
    room: Room,
    token: Option<String>,
    config: Config,
}

/// Run `sockeye chat`.
pub async fn run(args: Args) -> Result<ExitCode, String> {
    let threads = args.threads.map_or_else(available_threads, usize::from);
    let (listeners, local) = crate::threads::bind(&args.addr, threads)?;
    let mut config = Config::default();
    config.max_message_size = 64 << 10;
    config.max_frame_size = 64 << 10;
    config.keepalive_interval = Some(Duration::from_secs(args.heartbeat.max(1)));
    let broker = match (args.redis, args.nats) {
        (Some(url), _) => Some(scale::BrokerUrl::Redis(url)),
        (None, Some(url)) => Some(scale::BrokerUrl::Nats(url)),
        (None, None) => None,
    };
    let room = match &broker {
        Some(url) => Room::shared(url)?,
        None => Room::default(),
    };
    if let Some(scale) = room.scale()
        && !scale.wait_subscribed(BROKER_WAIT).await
    {
        tracing::warn!("the broker is not reachable yet; the room is local until it is");
    }
    eprintln!(
        "sockeye chat listening on http://{local}/ (WebSocket at ws://{local}/ws; {threads} thread{})",
        if threads == 1 { "" } else { "s" }
    );
    if let Some(url) = &broker {
        eprintln!("sharing the room through {url}");
    }
    // One room for every thread: its members' queues and names are shared.
    let server = Arc::new(Server {
        room,
        token: args.token,
        config,
    });
    crate::threads::serve(listeners, move |stream, peer| {
        let server = server.clone();
        async move {
            if let Err(error) = serve(&server, stream).await {
                tracing::info!(%peer, %error, "connection ended");
            }
        }
    })
    .await?;
    Ok(ExitCode::SUCCESS)
}

async fn serve(server: &Server, mut stream: TcpStream) -> Result<(), String> {
    let _ = stream.set_nodelay(true);
    let clock = TokioClock::new();
    let request = match upgrade::read_request(&mut stream, &server.config, &clock).await? {
        Incoming::Http(request) => {
            let response = page_response(&request)?;
            upgrade::respond(&mut stream, &response).await;
            return Ok(());
        }
        Incoming::Upgrade(request) => request,
    };
    if request.path() != "/ws" {
        let response = reject(&request, 404, "no WebSocket here; use /ws\n")?;
        upgrade::respond(&mut stream, &response).await;
        return Ok(());
    }
    if let Some(token) = &server.token
        && request.query("token").as_deref() != Some(token.as_str())
    {
        let response = reject(&request, 401, "missing or wrong token\n")?;
        upgrade::respond(&mut stream, &response).await;
        return Ok(());
    }
    let wanted = request
        .query("name")
        .as_deref()
        .and_then(protocol::clean_name);
    let socket = upgrade::accept(stream, &request, server.config.clone(), clock).await?;
    let membership = server.room.join(wanted);
    let id = membership.id;
    tracing::info!(name = membership.name, "joined");
    let result = converse(&server.room, socket, &membership).await;
    server.room.leave(id);
    result
}

/// Relay between one client and the room until either side ends.
async fn converse(
    room: &Room,
    mut socket: sockeye_tokio::WebSocketStream<TcpStream>,
    membership: &Membership,
) -> Result<(), String> {
    let slot = &membership.slot;
    loop {
        tokio::select! {
            biased;
            outgoing = poll_fn(|cx| slot.poll_outgoing(cx)) => match outgoing {
                Outgoing::Message(message) => {
                    tokio::select! {
                        sent = socket.send(message) => {
                            if let Err(error) = sent { return Err(error.to_string()); }
                        }
                        _ = poll_fn(|cx| slot.poll_close_order(cx)) => break,
                    }
                }
                // Told to close: only falling behind does that here.
                _ => break,
            },
            received = socket.recv() => match received {
                Some(Ok(Message::Text(text))) => match protocol::parse(text.as_str()) {
                    Ok(text) => room.say(&membership.name, &text),
                    Err(why) => reply_error(room, membership, &why),
                },
                Some(Ok(Message::Binary(_))) => {
                    let why = "binary messages are not understood; send JSON text";
                    reply_error(room, membership, why);
                }
                Some(Ok(_)) => {}
                Some(Err(error)) => return Err(error.to_string()),
                None => return Ok(()),
            },
        }
    }
    let _ = tokio::time::timeout(
        EVICT_CLOSE_TIMEOUT,
        socket.close(
            CloseCode::POLICY_VIOLATION,
            "too slow: fell behind the chat",
        ),
    )
    .await;
    Err("fell behind; closed with 1008".into())
}

/// Answer malformed input. It is queued behind the broadcasts already
/// queued for this client, so that it follows everything said before it.
fn reply_error(room: &Room, membership: &Membership, why: &str) {
    room.tell(membership.id, Outbound::Error { text: why }.to_json());
}

/// The answer to a plain HTTP request: the page at `/`, 404 elsewhere.
fn page_response(request: &Request) -> Result<Vec<u8>, String> {
    match (request.method(), request.path()) {
        (method @ ("GET" | "HEAD"), "/") => {
            let mut response = request
                .reject(
                    200,
                    &[
                        ("Content-Type", "text/html; charset=utf-8"),
                        ("Cache-Control", "no-cache"),
                    ],
                    PAGE.as_bytes(),
                )
                .map_err(|error| error.to_string())?;
            if method == "HEAD" {
                // The same head (Content-Length included), no body.
                response.truncate(response.len() - PAGE.len());
            }
            Ok(response)
        }
        _ => reject(request, 404, "not found\n"),
    }
}

fn reject(request: &Request, status: u16, body: &str) -> Result<Vec<u8>, String> {
    request
        .reject(
            status,
            &[("Content-Type", "text/plain; charset=utf-8")],
            body.as_bytes(),
        )
        .map_err(|error| error.to_string())
}
