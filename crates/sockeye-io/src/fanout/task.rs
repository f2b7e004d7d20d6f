//! The broker task, written once over any backend: connect with backoff
//! and jitter, subscribe to every live topic and the probe subject, move
//! publications out in batches and envelopes in, probe, and start again
//! when anything fails.

use std::collections::BTreeSet;
use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use bytes::Bytes;
use tokio::sync::mpsc;
use tokio::time::{Instant, MissedTickBehavior, timeout};

use super::FanoutOptions;
use super::hub::{FanoutEvent, Outbound, Shared};
use super::wire::{Envelope, Kind};
use crate::reconnect::Backoff;

/// A broker the fan-out can use: how to open a session on it.
pub trait Broker: Send + Sync + 'static {
    /// One connection (or pair of connections) to the broker.
    type Session: Session;

    /// Open a session; the task bounds it by [`FanoutOptions::op_timeout`].
    fn connect(&self) -> impl Future<Output = Result<Self::Session, String>> + Send;
}

/// A live session with a broker. Every method may fail; the task then
/// drops the session and connects anew.
pub trait Session: Send + 'static {
    /// Subscribe to the broker channel or subject `subject`.
    fn subscribe(&mut self, subject: &str) -> impl Future<Output = Result<(), String>> + Send;

    /// Stop receiving `subject`.
    fn unsubscribe(&mut self, subject: &str) -> impl Future<Output = Result<(), String>> + Send;

    /// Publish each `(subject, bytes)` of `batch`, in order.
    fn publish(&mut self, batch: &[Outbound]) -> impl Future<Output = Result<(), String>> + Send;

    /// The next payload from a subscription; `None` once the session is
    /// lost. Must be cancel-safe: the task drops it to do other work.
    fn next(&mut self) -> impl Future<Output = Option<Bytes>> + Send;
}

/// Run the fan-out's broker side until `outgoing` closes.
pub(crate) async fn run<B: Broker>(
    shared: Arc<Shared>,
    mut outgoing: mpsc::Receiver<Outbound>,
    broker: B,
    options: FanoutOptions,
) {
    let mut backoff = Backoff::new(&options.reconnect);
    let mut retry = 0;
    let mut probes = Probes::default();
    loop {
        let reason = match timeout(options.op_timeout, broker.connect()).await {
            Ok(Ok(mut session)) => {
                match start(&shared, &mut session, &mut probes, &options).await {
                    Ok(mut subscribed) => {
                        retry = 0;
                        info_event!(
                            instance = shared.instance,
                            "fan-out connected to the broker"
                        );
                        shared.set_connected(true, FanoutEvent::Connected);
                        let reason = serve(
                            &shared,
                            &mut session,
                            &mut subscribed,
                            &mut outgoing,
                            &mut probes,
                            &options,
                        )
                        .await;
                        if reason.is_none() {
                            return;
                        }
                        reason
                    }
                    Err(reason) => Some(reason),
                }
            }
            Ok(Err(reason)) => Some(reason),
            Err(_) => Some("connecting timed out".to_owned()),
        };
        let reason = reason.unwrap_or_default();
        if shared.connected.load(Ordering::Acquire) {
            info_event!(
                instance = shared.instance,
                reason,
                "fan-out lost the broker"
            );
            shared.set_connected(false, FanoutEvent::Disconnected { reason });
        } else {
            debug_event!(
                instance = shared.instance,
                reason,
                "fan-out cannot reach the broker"
            );
        }
        // At most once: what waited for the lost session is dropped.
        let mut stale = 0;
        while outgoing.try_recv().is_ok() {
            stale += 1;
        }
        shared.count_dropped(stale);
        let delay = backoff.delay(retry);
        retry = retry.saturating_add(1);
        tokio::time::sleep(delay).await;
    }
}

/// Subscribe a fresh session to the probe subject and every live topic.
async fn start<S: Session>(
    shared: &Shared,
    session: &mut S,
    probes: &mut Probes,
    options: &FanoutOptions,
) -> Result<BTreeSet<String>, String> {
    let probe = shared.probe_subject();
    bounded(options, session.subscribe(&probe)).await?;
    let mut subscribed = BTreeSet::new();
    reconcile(shared, session, &mut subscribed, probes, options).await?;
    Ok(subscribed)
}

/// Subscribe to the live topics the session lacks and leave the dead ones.
/// New subscriptions count only once a probe published after them has
/// come back: the broker handles a connection's commands in order, so it
/// then has them (a NATS client's flush does not wait for the server).
async fn reconcile<S: Session>(
    shared: &Shared,
    session: &mut S,
    subscribed: &mut BTreeSet<String>,
    probes: &mut Probes,
    options: &FanoutOptions,
) -> Result<(), String> {
    let live = shared.live_topics();
    let new: Vec<String> = live.difference(subscribed).cloned().collect();
    for topic in &new {
        bounded(options, session.subscribe(&shared.subject(topic))).await?;
        subscribed.insert(topic.clone());
    }
    if !new.is_empty() {
        confirm(shared, session, probes, options).await?;
        for topic in &new {
            shared.set_at_broker(topic, true);
        }
    }
    for topic in subscribed.difference(&live).cloned().collect::<Vec<_>>() {
        shared.set_at_broker(&topic, false);
        subscribed.remove(&topic);
        bounded(options, session.unsubscribe(&shared.subject(&topic))).await?;
    }
    Ok(())
}

/// Publish a probe and wait for it to come back, delivering what arrives
/// meanwhile.
async fn confirm<S: Session>(
    shared: &Shared,
    session: &mut S,
    probes: &mut Probes,
    options: &FanoutOptions,
) -> Result<(), String> {
    let number = send_probe(shared, session, probes, options).await?;
    let round_trip = async {
        while shared.probe_seen.load(Ordering::Acquire) < number {
            match session.next().await {
                Some(bytes) => shared.receive(bytes),
                None => return Err("the broker closed the connection".to_owned()),
            }
        }
        Ok(())
    };
    timeout(options.op_timeout, round_trip)
        .await
        .map_err(|_| "the broker did not confirm the subscriptions".to_owned())?
}

async fn bounded(
    options: &FanoutOptions,
    operation: impl Future<Output = Result<(), String>>,
) -> Result<(), String> {
    timeout(options.op_timeout, operation)
        .await
        .map_err(|_| format!("the broker did not answer within {:?}", options.op_timeout))?
}

/// The probe in flight: its number and when it left.
#[derive(Default)]
struct Probes {
    sent: u64,
    outstanding: Option<(u64, Instant)>,
}

/// Serve one session; `Some(reason)` when it has to be replaced, `None`
/// when the fan-out is gone.
async fn serve<S: Session>(
    shared: &Shared,
    session: &mut S,
    subscribed: &mut BTreeSet<String>,
    outgoing: &mut mpsc::Receiver<Outbound>,
    probes: &mut Probes,
    options: &FanoutOptions,
) -> Option<String> {
    let probing = options.probe_interval.is_some();
    // Without a probe the ticker is never polled; any period does. A zero
    // period would make `interval` panic.
    let period = options.probe_interval.unwrap_or(Duration::from_secs(3600));
    let mut tick = tokio::time::interval(period.max(Duration::from_millis(1)));
    tick.set_missed_tick_behavior(MissedTickBehavior::Delay);
    // A new session starts a new probe.
    probes.outstanding = None;
    let mut batch = Vec::with_capacity(options.batch.max(1));
    loop {
        tokio::select! {
            received = session.next() => match received {
                Some(bytes) => shared.receive(bytes),
                None => return Some("the broker closed the connection".into()),
            },
            () = shared.topics_changed.notified() => {
                if let Err(reason) = reconcile(shared, session, subscribed, probes, options).await {
                    return Some(reason);
                }
            }
            taken = outgoing.recv_many(&mut batch, options.batch.max(1)) => {
                if taken == 0 {
                    return None;
                }
                let result = bounded(options, session.publish(&batch)).await;
                match result {
                    Ok(()) => shared.count_sent(taken as u64),
                    Err(reason) => {
                        shared.count_dropped(taken as u64);
                        return Some(reason);
                    }
                }
                batch.clear();
            }
            _ = tick.tick(), if probing => {
                if let Some(reason) = probe(shared, session, probes, options).await {
                    return Some(reason);
                }
            }
        }
    }
}

/// Check the probe in flight and send the next: a probe that has not come
/// back within the timeout means the subscription is broken.
async fn probe<S: Session>(
    shared: &Shared,
    session: &mut S,
    probes: &mut Probes,
    options: &FanoutOptions,
) -> Option<String> {
    if let Some((number, sent_at)) = probes.outstanding {
        if shared.probe_seen.load(Ordering::Acquire) >= number {
            probes.outstanding = None;
        } else if sent_at.elapsed() >= options.probe_timeout {
            info_event!(
                instance = shared.instance,
                "fan-out probe did not come back: replacing the connection"
            );
            shared.count_probe_repair();
            return Some("the probe did not come back".into());
        } else {
            return None;
        }
    }
    send_probe(shared, session, probes, options).await.err()
}

/// Publish the next probe; its number.
async fn send_probe<S: Session>(
    shared: &Shared,
    session: &mut S,
    probes: &mut Probes,
    options: &FanoutOptions,
) -> Result<u64, String> {
    probes.sent += 1;
    let subject = shared.probe_subject();
    let envelope = Envelope {
        origin: shared.instance,
        seq: probes.sent,
        topic: subject[shared.prefix.len()..].to_owned(),
        kind: Kind::Probe,
    };
    let outbound = [Outbound {
        subject,
        bytes: envelope.encode(),
    }];
    probes.outstanding = Some((probes.sent, Instant::now()));
    bounded(options, session.publish(&outbound)).await?;
    Ok(probes.sent)
}
