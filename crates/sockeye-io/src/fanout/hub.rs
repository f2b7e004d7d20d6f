//! The instance's side of the fan-out: topics and their local clients,
//! local delivery, the bounded queue to the broker, and what comes back.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use bytes::Bytes;
use tokio::sync::{Notify, broadcast, mpsc};

use super::wire::{Envelope, Kind, TopicError, check_topic};
use crate::Message;
use crate::server::{ClientId, Clients};

/// What the application can watch on [`Fanout::events`].
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum FanoutEvent {
    /// Connected to the broker and subscribed to every live topic.
    Connected,
    /// The broker connection is gone (or judged broken); publications are
    /// dropped and counted until [`Connected`](Self::Connected).
    Disconnected {
        /// Why.
        reason: String,
    },
    /// The instance's own probe did not come back in time: the
    /// subscription is silently broken, and the connection is replaced.
    ProbeMissed,
}

/// Counters since the fan-out started, from [`Fanout::stats`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct FanoutStats {
    /// Publications queued for the broker (one that the connection is lost
    /// with is counted in [`dropped`](Self::dropped) as well).
    pub published: u64,
    /// Publications that never reached the broker: the queue was full (a
    /// slow or stalled broker) or the broker was unreachable.
    pub dropped: u64,
    /// Publications handed to the broker.
    pub sent: u64,
    /// Other instances' publications delivered to local clients.
    pub received: u64,
    /// Other instances' publications ignored because an equal or later
    /// sequence number of the same origin and topic came first.
    pub out_of_order: u64,
    /// Sequence numbers skipped by other instances' publications (what
    /// they dropped, or what was lost while this instance was away).
    pub gaps: u64,
    /// Envelopes from the broker that could not be read.
    pub malformed: u64,
    /// Connections made to the broker (the first included).
    pub connects: u64,
    /// Connections replaced because the probe did not come back.
    pub probe_repairs: u64,
}

#[derive(Default)]
struct Counters {
    published: AtomicU64,
    dropped: AtomicU64,
    sent: AtomicU64,
    received: AtomicU64,
    out_of_order: AtomicU64,
    gaps: AtomicU64,
    malformed: AtomicU64,
    connects: AtomicU64,
    probe_repairs: AtomicU64,
}

fn bump(counter: &AtomicU64, by: u64) {
    counter.fetch_add(by, Ordering::Relaxed);
}

/// One publication on its way to the broker.
pub struct Outbound {
    /// The broker channel or subject.
    pub subject: String,
    /// The encoded envelope.
    pub bytes: Vec<u8>,
}

/// What is remembered of another instance's publications to one topic.
#[derive(Clone, Copy, Debug)]
struct Seen {
    seq: u64,
    at: Instant,
}

/// How long an origin's place in the order is kept after its last
/// publication. Instances that die or restart (a restart is a new origin)
/// would otherwise leave an entry each for as long as the topic lives; a
/// publication from an origin silent for longer is taken as a new start.
const FORGET_SILENT_ORIGINS: Duration = Duration::from_secs(600);

/// The smallest `last_seen` that is swept for silent origins.
const FORGET_FROM: usize = 64;

#[derive(Default)]
struct Topics {
    /// Each live topic's local clients.
    members: BTreeMap<String, BTreeSet<ClientId>>,
    /// The topics each client is in, to leave them all at once.
    of_client: HashMap<ClientId, BTreeSet<String>>,
    /// The last sequence number this instance gave each topic.
    next_seq: HashMap<String, u64>,
    /// The last sequence number seen from each other origin and topic,
    /// and when.
    last_seen: HashMap<(u64, String), Seen>,
    /// The size of `last_seen` at which origins gone silent are forgotten.
    forget_at: usize,
    /// Topics the broker connection is subscribed to right now.
    at_broker: BTreeSet<String>,
    /// Topics subscribed to with or without local clients.
    kept: BTreeSet<String>,
}

pub(crate) struct Shared {
    pub instance: u64,
    pub prefix: String,
    clients: Clients,
    topics: Mutex<Topics>,
    outgoing: mpsc::Sender<Outbound>,
    pub connected: AtomicBool,
    /// Wakes the broker task when the set of live topics changes.
    pub topics_changed: Notify,
    pub events: broadcast::Sender<FanoutEvent>,
    counters: Counters,
    /// The highest probe number that came back.
    pub probe_seen: AtomicU64,
}

/// Broadcast to topics across server instances through a broker.
///
/// Each instance has one `Fanout` beside its [`Clients`]: clients
/// [`join`](Self::join) topics (rooms, channels); [`publish`](Self::publish)
/// puts a message into the queues of this instance's clients in the topic
/// at once, in-process, and queues it for the broker, from which every
/// other instance with clients in the topic delivers it to its own, through
/// the same bounded per-client queues (a client that falls behind is
/// closed by [`Clients`], as with local broadcast). An instance ignores its
/// own publications coming back, so nothing is delivered twice.
///
/// Nothing here waits on the broker: the queue to it is bounded
/// ([`FanoutOptions::outgoing_capacity`](super::FanoutOptions)), and what
/// does not fit, or is published while the broker is unreachable, is
/// dropped and counted ([`FanoutStats::dropped`]): at most once, never
/// buffered without bound. The broker task (see the backends) reconnects
/// with backoff and jitter, resubscribes to every live topic, and probes
/// its own subscription.
///
/// Cloning gives another handle on the same fan-out.
#[derive(Clone)]
pub struct Fanout {
    pub(crate) shared: Arc<Shared>,
    /// The broker task, stopped with the last handle.
    pub(crate) task: Option<Arc<super::AbortOnDrop>>,
}

impl std::fmt::Debug for Fanout {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Fanout")
            .field("instance", &format_args!("{:016x}", self.shared.instance))
            .field("connected", &self.is_connected())
            .finish_non_exhaustive()
    }
}

impl Fanout {
    /// A fan-out delivering to `clients`, with a queue of
    /// `outgoing_capacity` publications to the broker; returns the
    /// receiving end of that queue for the broker task.
    pub(crate) fn new(
        clients: Clients,
        instance: u64,
        prefix: String,
        outgoing_capacity: usize,
    ) -> (Self, mpsc::Receiver<Outbound>) {
        let (outgoing, receiver) = mpsc::channel(outgoing_capacity.max(1));
        let (events, _) = broadcast::channel(64);
        let shared = Arc::new(Shared {
            instance,
            prefix,
            clients,
            topics: Mutex::new(Topics::default()),
            outgoing,
            connected: AtomicBool::new(false),
            topics_changed: Notify::new(),
            events,
            counters: Counters::default(),
            probe_seen: AtomicU64::new(0),
        });
        (Self { shared, task: None }, receiver)
    }

    /// This instance's id on the broker (random per fan-out).
    pub fn instance(&self) -> u64 {
        self.shared.instance
    }

    /// The clients this fan-out delivers to.
    pub fn clients(&self) -> &Clients {
        &self.shared.clients
    }

    /// Put client `id` in `topic`; the broker task subscribes to the topic
    /// when it gets its first local client.
    ///
    /// # Errors
    /// A topic name that [`check_topic`](super::check_topic) refuses.
    pub fn join(&self, topic: &str, id: ClientId) -> Result<(), TopicError> {
        check_topic(topic)?;
        let mut topics = self.shared.lock();
        let members = topics.members.entry(topic.to_owned()).or_default();
        let first = members.is_empty();
        members.insert(id);
        topics
            .of_client
            .entry(id)
            .or_default()
            .insert(topic.to_owned());
        drop(topics);
        if first {
            self.shared.topics_changed.notify_one();
        }
        Ok(())
    }

    /// Stay subscribed to `topic` even while it has no local client, so
    /// that a client joining it later misses nothing that the broker
    /// delivers meanwhile (and [`is_subscribed`](Self::is_subscribed) can
    /// be awaited before clients are accepted).
    ///
    /// # Errors
    /// A topic name that [`check_topic`](super::check_topic) refuses.
    pub fn keep(&self, topic: &str) -> Result<(), TopicError> {
        check_topic(topic)?;
        if self.shared.lock().kept.insert(topic.to_owned()) {
            self.shared.topics_changed.notify_one();
        }
        Ok(())
    }

    /// Take client `id` out of `topic`.
    pub fn leave(&self, topic: &str, id: ClientId) {
        let mut topics = self.shared.lock();
        if let Some(of_client) = topics.of_client.get_mut(&id) {
            of_client.remove(topic);
            if of_client.is_empty() {
                topics.of_client.remove(&id);
            }
        }
        let emptied = remove_member(&mut topics, topic, id);
        drop(topics);
        if emptied {
            self.shared.topics_changed.notify_one();
        }
    }

    /// Take client `id` out of every topic (when it disconnects).
    pub fn leave_all(&self, id: ClientId) {
        let mut topics = self.shared.lock();
        let mut emptied = false;
        for topic in topics.of_client.remove(&id).unwrap_or_default() {
            emptied |= remove_member(&mut topics, &topic, id);
        }
        drop(topics);
        if emptied {
            self.shared.topics_changed.notify_one();
        }
    }

    /// The local clients in `topic`.
    pub fn members(&self, topic: &str) -> Vec<ClientId> {
        self.shared
            .lock()
            .members
            .get(topic)
            .map(|m| m.iter().copied().collect())
            .unwrap_or_default()
    }

    /// Whether the broker connection is subscribed to `topic` right now,
    /// so that other instances' publications to it arrive.
    pub fn is_subscribed(&self, topic: &str) -> bool {
        self.shared.lock().at_broker.contains(topic)
    }

    /// Publish a data `message` (text or binary) to `topic`: queued at once
    /// for this instance's clients in the topic, and for the broker.
    /// Returns how many local clients took it. Never waits.
    ///
    /// # Errors
    /// A refused topic name; other message kinds are not published (and
    /// return `Ok(0)`).
    pub fn publish(&self, topic: &str, message: Message) -> Result<usize, TopicError> {
        check_topic(topic)?;
        if !message.is_data() {
            return Ok(0);
        }
        let shared = &self.shared;
        // Held across local delivery, numbering and queueing, so that each
        // topic's sequence numbers enter the queue in order.
        let mut topics = shared.lock();
        let local = deliver(&shared.clients, &topics, topic, &message);
        let seq = topics.next_seq.entry(topic.to_owned()).or_default();
        *seq += 1;
        let envelope = Envelope {
            origin: shared.instance,
            seq: *seq,
            topic: topic.to_owned(),
            kind: Kind::Message(message),
        };
        if !shared.connected.load(Ordering::Acquire) {
            bump(&shared.counters.dropped, 1);
            return Ok(local);
        }
        let outbound = Outbound {
            subject: shared.subject(topic),
            bytes: envelope.encode(),
        };
        match shared.outgoing.try_send(outbound) {
            Ok(()) => bump(&shared.counters.published, 1),
            Err(_) => {
                debug_event!(topic, "fan-out queue full: publication dropped");
                bump(&shared.counters.dropped, 1);
            }
        }
        Ok(local)
    }

    /// The counters.
    pub fn stats(&self) -> FanoutStats {
        let c = &self.shared.counters;
        let read = |counter: &AtomicU64| counter.load(Ordering::Relaxed);
        FanoutStats {
            published: read(&c.published),
            dropped: read(&c.dropped),
            sent: read(&c.sent),
            received: read(&c.received),
            out_of_order: read(&c.out_of_order),
            gaps: read(&c.gaps),
            malformed: read(&c.malformed),
            connects: read(&c.connects),
            probe_repairs: read(&c.probe_repairs),
        }
    }

    /// Whether the broker connection is up (and subscribed).
    pub fn is_connected(&self) -> bool {
        self.shared.connected.load(Ordering::Acquire)
    }

    /// Connection events from now on (a bounded channel: a receiver that
    /// lags loses the oldest).
    pub fn events(&self) -> broadcast::Receiver<FanoutEvent> {
        self.shared.events.subscribe()
    }
}

/// Take `id` out of `topic`'s members; true if that emptied the topic.
fn remove_member(topics: &mut Topics, topic: &str, id: ClientId) -> bool {
    let Some(members) = topics.members.get_mut(topic) else {
        return false;
    };
    members.remove(&id);
    if !members.is_empty() {
        return false;
    }
    topics.members.remove(topic);
    topics.next_seq.remove(topic);
    topics.last_seen.retain(|(_, seen), _| seen != topic);
    true
}

/// Forget the origins not heard from in [`FORGET_SILENT_ORIGINS`], and
/// sweep again once the map has doubled: the sweeps cost O(1) per
/// publication received.
fn forget_silent_origins(topics: &mut Topics, now: Instant) {
    topics
        .last_seen
        .retain(|_, seen| now.duration_since(seen.at) < FORGET_SILENT_ORIGINS);
    topics.forget_at = topics.last_seen.len() * 2;
}

/// Queue `message` for `topic`'s local clients; how many took it.
fn deliver(clients: &Clients, topics: &Topics, topic: &str, message: &Message) -> usize {
    topics.members.get(topic).map_or(0, |members| {
        members
            .iter()
            .filter(|&&id| clients.send_to(id, message.clone()))
            .count()
    })
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, Topics> {
        self.topics.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The broker channel or subject of `topic`.
    pub fn subject(&self, topic: &str) -> String {
        format!("{}{topic}", self.prefix)
    }

    /// The subject this instance's probes travel on.
    pub fn probe_subject(&self) -> String {
        format!("{}probe.{:016x}", self.prefix, self.instance)
    }

    /// The topics with local clients, and the kept ones.
    pub fn live_topics(&self) -> BTreeSet<String> {
        let topics = self.lock();
        topics.members.keys().chain(&topics.kept).cloned().collect()
    }

    pub fn set_at_broker(&self, topic: &str, subscribed: bool) {
        let mut topics = self.lock();
        if subscribed {
            topics.at_broker.insert(topic.to_owned());
        } else {
            topics.at_broker.remove(topic);
        }
    }

    pub fn set_connected(&self, connected: bool, event: FanoutEvent) {
        if connected {
            bump(&self.counters.connects, 1);
        } else {
            self.lock().at_broker.clear();
        }
        self.connected.store(connected, Ordering::Release);
        let _ = self.events.send(event);
    }

    pub fn count_sent(&self, n: u64) {
        bump(&self.counters.sent, n);
    }

    pub fn count_dropped(&self, n: u64) {
        bump(&self.counters.dropped, n);
    }

    pub fn count_probe_repair(&self) {
        bump(&self.counters.probe_repairs, 1);
        let _ = self.events.send(FanoutEvent::ProbeMissed);
    }

    /// Handle bytes from the broker: another instance's publication goes to
    /// the topic's local clients, unless it is older than one already
    /// delivered; this instance's own come back only as probes.
    pub fn receive(&self, bytes: Bytes) {
        let envelope = match Envelope::decode(bytes) {
            Ok(envelope) => envelope,
            Err(_error) => {
                debug_event!(error = %_error, "unreadable fan-out envelope ignored");
                bump(&self.counters.malformed, 1);
                return;
            }
        };
        if envelope.origin == self.instance {
            if envelope.kind == Kind::Probe {
                self.probe_seen.fetch_max(envelope.seq, Ordering::AcqRel);
            }
            return;
        }
        let Kind::Message(message) = envelope.kind else {
            return;
        };
        let mut topics = self.lock();
        if !topics.members.contains_key(&envelope.topic) {
            return;
        }
        let key = (envelope.origin, envelope.topic);
        let now = Instant::now();
        let last = topics.last_seen.get(&key).copied();
        if let Some(last) = last {
            if envelope.seq <= last.seq {
                bump(&self.counters.out_of_order, 1);
                return;
            }
            bump(&self.counters.gaps, envelope.seq - last.seq - 1);
        }
        let topic = key.1.clone();
        topics.last_seen.insert(
            key,
            Seen {
                seq: envelope.seq,
                at: now,
            },
        );
        if topics.last_seen.len() >= topics.forget_at.max(FORGET_FROM) {
            forget_silent_origins(&mut topics, now);
        }
        deliver(&self.clients, &topics, &topic, &message);
        bump(&self.counters.received, 1);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::server::{ClientSlot, Outgoing, ServerPolicy};
    use std::task::{Context, Poll, Waker};

    fn texts(slot: &ClientSlot) -> Vec<String> {
        let mut cx = Context::from_waker(Waker::noop());
        let mut out = Vec::new();
        while let Poll::Ready(Outgoing::Message(m)) = slot.poll_outgoing(&mut cx) {
            out.push(m.as_text().unwrap().to_owned());
        }
        out
    }

    fn envelope(origin: u64, seq: u64, topic: &str, text: &str) -> Bytes {
        Envelope {
            origin,
            seq,
            topic: topic.into(),
            kind: Kind::Message(Message::text(text.to_owned())),
        }
        .encode()
        .into()
    }

    #[test]
    fn origins_gone_silent_are_forgotten_so_restarts_do_not_pile_up() {
        let clients = Clients::new(&ServerPolicy::new());
        let (fanout, _queue) = Fanout::new(clients.clone(), 7, "t.".into(), 2);
        let member = clients.admit("127.0.0.1".parse().unwrap()).unwrap();
        fanout.join("room", member.id()).unwrap();
        // A thousand instances, each publishing once (as restarts would).
        for origin in 0..1000 {
            fanout
                .shared
                .receive(envelope(100 + origin, 1, "room", "hi"));
        }
        assert_eq!(texts(&member).len(), 1000);
        let remembered = |fanout: &Fanout| fanout.shared.lock().last_seen.len();
        // Recent origins are all kept: their order still matters.
        assert_eq!(remembered(&fanout), 1000);
        // Once they have been silent long enough, a sweep drops them all.
        let later = Instant::now() + FORGET_SILENT_ORIGINS + Duration::from_secs(1);
        forget_silent_origins(&mut fanout.shared.lock(), later);
        assert_eq!(remembered(&fanout), 0);
        // A live origin is still checked for order afterwards.
        fanout.shared.receive(envelope(5, 2, "room", "two"));
        fanout.shared.receive(envelope(5, 1, "room", "late"));
        assert_eq!(texts(&member), ["two"]);
    }

    #[test]
    fn publishes_to_local_members_only_and_drops_while_disconnected() {
        let clients = Clients::new(&ServerPolicy::new());
        let (fanout, mut queue) = Fanout::new(clients.clone(), 7, "t.".into(), 2);
        let ip = "127.0.0.1".parse().unwrap();
        let (a, b) = (clients.admit(ip).unwrap(), clients.admit(ip).unwrap());
        fanout.join("red", a.id()).unwrap();
        fanout.join("blue", b.id()).unwrap();
        assert_eq!(fanout.publish("red", Message::text("1")), Ok(1));
        assert_eq!((texts(&a), texts(&b)), (vec!["1".into()], vec![]));
        // Not connected: nothing queued for the broker, one dropped.
        assert!(queue.try_recv().is_err());
        assert_eq!(fanout.stats().dropped, 1);
        fanout.shared.set_connected(true, FanoutEvent::Connected);
        for n in 2..=4 {
            fanout.publish("red", Message::text(n.to_string())).unwrap();
        }
        // Capacity 2: the third is dropped, never buffered.
        let first = queue.try_recv().unwrap();
        assert_eq!(first.subject, "t.red");
        let decoded = Envelope::decode(first.bytes.into()).unwrap();
        assert_eq!((decoded.origin, decoded.seq), (7, 2));
        assert!(queue.try_recv().is_ok());
        assert!(queue.try_recv().is_err());
        assert_eq!((fanout.stats().published, fanout.stats().dropped), (2, 2));
        assert!(fanout.publish("no space", Message::text("x")).is_err());
    }

    #[test]
    fn delivers_others_publications_once_in_order_and_ignores_its_own() {
        let clients = Clients::new(&ServerPolicy::new());
        let (fanout, _queue) = Fanout::new(clients.clone(), 7, "t.".into(), 8);
        let a = clients.admit("127.0.0.1".parse().unwrap()).unwrap();
        fanout.join("red", a.id()).unwrap();
        let shared = &fanout.shared;
        shared.receive(envelope(9, 1, "red", "one"));
        shared.receive(envelope(9, 1, "red", "again"));
        shared.receive(envelope(9, 4, "red", "four"));
        shared.receive(envelope(9, 3, "red", "late"));
        shared.receive(envelope(7, 5, "red", "mine"));
        shared.receive(envelope(9, 5, "blue", "elsewhere"));
        shared.receive(Bytes::from_static(b"junk"));
        assert_eq!(texts(&a), ["one", "four"]);
        let stats = fanout.stats();
        assert_eq!(
            (
                stats.received,
                stats.out_of_order,
                stats.gaps,
                stats.malformed
            ),
            (2, 2, 2, 1)
        );
    }

    #[test]
    fn leaving_empties_topics_and_forgets_the_client() {
        let clients = Clients::new(&ServerPolicy::new());
        let (fanout, _queue) = Fanout::new(clients.clone(), 7, "t.".into(), 8);
        let a = clients.admit("127.0.0.1".parse().unwrap()).unwrap();
        fanout.join("red", a.id()).unwrap();
        fanout.join("blue", a.id()).unwrap();
        assert_eq!(
            fanout.shared.live_topics().into_iter().collect::<Vec<_>>(),
            ["blue", "red"]
        );
        fanout.leave("red", a.id());
        assert_eq!(fanout.members("red"), []);
        fanout.leave_all(a.id());
        assert!(fanout.shared.live_topics().is_empty());
        fanout.keep("green").unwrap();
        assert_eq!(
            fanout.shared.live_topics().into_iter().collect::<Vec<_>>(),
            ["green"]
        );
    }
}
