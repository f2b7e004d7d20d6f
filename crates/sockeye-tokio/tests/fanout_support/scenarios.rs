//! The fan-out scenarios, the same for every broker.

use std::time::{Duration, Instant};

use sockeye_tokio::Message;
use sockeye_tokio::fanout::FanoutEvent;
use tokio::time::timeout;

use super::*;

/// How long every instance may take to be back after the broker returns:
/// the longest backoff delay (500 ms in `quick_options`) plus a connect
/// and the resubscriptions, with room to spare on a loaded machine.
pub const RECONNECT_BOUND: Duration = Duration::from_secs(5);

async fn instances(kind: Kind, url: &str, n: usize) -> Vec<Instance> {
    let mut all = Vec::new();
    for _ in 0..n {
        all.push(Instance::start(kind, url, quick_options()).await);
    }
    wait_until(Duration::from_secs(10), "every instance connected", || {
        all.iter().all(|i| i.fanout.is_connected())
    })
    .await;
    all
}

/// Three instances, six clients of room `red` spread over them (two each)
/// and two of room `blue`: every red client gets every red message once,
/// in each sender's order, its own included; blue gets nothing.
pub async fn rooms_across_three_instances(kind: Kind) {
    const PER_SENDER: usize = 50;
    let broker = Broker::start(kind).await;
    let all = instances(kind, &broker.url(), 3).await;
    let mut reds = Vec::new();
    for n in 0..6 {
        reds.push(all[n % 3].client("red").await);
    }
    let mut blues = vec![all[0].client("blue").await, all[2].client("blue").await];
    let refs: Vec<&Instance> = all.iter().collect();
    wait_for_room(&refs, "red", &[2, 2, 2]).await;
    wait_for_room(&refs, "blue", &[1, 0, 1]).await;

    let mut tasks = Vec::new();
    for (n, mut ws) in reds.into_iter().enumerate() {
        tasks.push(tokio::spawn(async move {
            for k in 0..PER_SENDER {
                ws.send(Message::text(format!("c{n}:{k}"))).await.unwrap();
            }
            let counts = receive_in_order(&mut ws, 6 * PER_SENDER).await;
            // Nothing more: no duplicate arrives late.
            assert_eq!(next_text(&mut ws, Duration::from_millis(300)).await, None);
            counts
        }));
    }
    for task in tasks {
        let counts = task.await.unwrap();
        assert_eq!(counts.len(), 6);
        assert!(
            counts.values().all(|&n| n == PER_SENDER as u64),
            "{counts:?}"
        );
    }
    for blue in &mut blues {
        assert_eq!(next_text(blue, Duration::from_millis(300)).await, None);
    }
    for instance in &all {
        let stats = instance.fanout.stats();
        assert_eq!((stats.dropped, stats.out_of_order, stats.gaps), (0, 0, 0));
        // Two local senders' publications went out; four remote ones came in.
        assert_eq!(stats.sent, 2 * PER_SENDER as u64, "{stats:?}");
        assert_eq!(stats.received, 4 * PER_SENDER as u64, "{stats:?}");
    }
}

async fn expect_event(
    events: &mut tokio::sync::broadcast::Receiver<FanoutEvent>,
    limit: Duration,
    wanted: impl Fn(&FanoutEvent) -> bool,
) -> Duration {
    let started = Instant::now();
    timeout(limit, async {
        loop {
            let event = events.recv().await.unwrap();
            if wanted(&event) {
                return;
            }
        }
    })
    .await
    .unwrap_or_else(|_| panic!("no such event within {limit:?}"));
    started.elapsed()
}

/// The broker is killed while two instances serve room `red`: local
/// delivery goes on, what is published meanwhile is dropped and counted;
/// the broker restarts on the same port and every instance reconnects and
/// resubscribes by itself within [`RECONNECT_BOUND`], after which messages
/// cross again.
pub async fn broker_killed_and_restarted(kind: Kind) {
    let mut broker = Broker::start(kind).await;
    let all = instances(kind, &broker.url(), 2).await;
    let (mut a1, mut a2, mut b1) = (
        all[0].client("red").await,
        all[0].client("red").await,
        all[1].client("red").await,
    );
    let refs: Vec<&Instance> = all.iter().collect();
    wait_for_room(&refs, "red", &[2, 1]).await;
    let mut events: Vec<_> = all.iter().map(|i| i.fanout.events()).collect();

    a1.send(Message::text("a1:0")).await.unwrap();
    for ws in [&mut a1, &mut a2, &mut b1] {
        assert_eq!(
            next_text(ws, Duration::from_secs(5)).await.as_deref(),
            Some("a1:0")
        );
    }

    broker.kill();
    for events in &mut events {
        expect_event(events, Duration::from_secs(5), |e| {
            matches!(e, FanoutEvent::Disconnected { .. })
        })
        .await;
    }
    // Local delivery does not wait for the broker.
    for k in 1..=5 {
        a1.send(Message::text(format!("a1:{k}"))).await.unwrap();
    }
    for ws in [&mut a1, &mut a2] {
        for k in 1..=5 {
            let text = next_text(ws, Duration::from_secs(2)).await;
            assert_eq!(text, Some(format!("a1:{k}")));
        }
    }
    assert_eq!(next_text(&mut b1, Duration::from_millis(300)).await, None);
    let dropped = all[0].fanout.stats().dropped;
    assert!(
        dropped >= 5,
        "published during the outage: {dropped} counted as dropped"
    );
    eprintln!("{kind:?}: {dropped} publications dropped during the outage");

    broker.restart().await;
    let mut took = Duration::ZERO;
    for events in &mut events {
        took =
            took.max(expect_event(events, RECONNECT_BOUND, |e| *e == FanoutEvent::Connected).await);
    }
    eprintln!("{kind:?}: every instance reconnected {took:?} after the broker restarted");
    wait_for_room(&refs, "red", &[2, 1]).await;
    b1.send(Message::text("b1:0")).await.unwrap();
    for ws in [&mut a1, &mut a2, &mut b1] {
        assert_eq!(
            next_text(ws, Duration::from_secs(5)).await.as_deref(),
            Some("b1:0")
        );
    }
    a2.send(Message::text("a2:0")).await.unwrap();
    for ws in [&mut a1, &mut a2, &mut b1] {
        assert_eq!(
            next_text(ws, Duration::from_secs(5)).await.as_deref(),
            Some("a2:0")
        );
    }
    assert!(all[1].fanout.stats().connects >= 2);
}

/// The broker stops reading (SIGSTOP) while an instance floods a topic
/// with 1 KiB publications: the process's memory stays bounded (the queue
/// to the broker drops what does not fit), local clients keep getting
/// their room's messages at once, and after SIGCONT messages cross again.
pub async fn broker_stalled(kind: Kind) {
    const FLOOD: usize = 100_000;
    let broker = Broker::start(kind).await;
    let all = instances(kind, &broker.url(), 2).await;
    let (mut a1, mut a2, mut b1) = (
        all[0].client("red").await,
        all[0].client("red").await,
        all[1].client("red").await,
    );
    // The flood's topic has a listener on the other instance, so the
    // publications really go to the broker.
    let _listener = all[1].client("flood").await;
    let refs: Vec<&Instance> = all.iter().collect();
    wait_for_room(&refs, "red", &[2, 1]).await;
    wait_for_room(&refs, "flood", &[0, 1]).await;

    broker.pause();
    let before = resident_bytes();
    let payload = "x".repeat(1024);
    let started = Instant::now();
    for n in 0..FLOOD {
        all[0]
            .fanout
            .publish("flood", Message::text(payload.clone()))
            .unwrap();
        if n % 1000 == 0 {
            tokio::task::yield_now().await;
        }
    }
    let flood_took = started.elapsed();
    let grown = resident_bytes().saturating_sub(before);
    // 100 MiB published; the queue holds 4096 of them at most (4 MiB) and
    // the client library its own bounded share.
    assert!(
        grown < 48 << 20,
        "memory grew by {grown} bytes while publishing {} MiB",
        FLOOD >> 10
    );
    let stats = all[0].fanout.stats();
    assert!(
        // A queued publication the lost session never sent counts in both.
        stats.dropped > 0 && stats.published + stats.dropped >= FLOOD as u64,
        "{stats:?}"
    );
    eprintln!("{kind:?}: flood of {FLOOD} took {flood_took:?}, memory +{grown} B, {stats:?}");

    // Local clients are unaffected while the broker is stopped.
    let sent = Instant::now();
    a1.send(Message::text("a1:0")).await.unwrap();
    for ws in [&mut a1, &mut a2] {
        assert_eq!(
            next_text(ws, Duration::from_secs(1)).await.as_deref(),
            Some("a1:0")
        );
    }
    assert!(sent.elapsed() < Duration::from_secs(1));
    // Accepting goes on too.
    let mut late = all[0].client("red").await;
    wait_for_room(&refs[..1], "red", &[3]).await;

    // Stopped for several seconds in all.
    tokio::time::sleep(Duration::from_secs(3)).await;
    broker.resume();
    wait_until(RECONNECT_BOUND, "connected again", || {
        all.iter().all(|i| i.fanout.is_connected())
    })
    .await;
    wait_for_room(&refs, "red", &[3, 1]).await;
    // Published until crossing again (the first ones may still find the
    // old connection's replies in flight).
    let deadline = Instant::now() + RECONNECT_BOUND;
    let mut k = 1;
    loop {
        b1.send(Message::text(format!("b1:{k}"))).await.unwrap();
        if next_text(&mut late, Duration::from_millis(500))
            .await
            .is_some()
        {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "messages do not cross after SIGCONT"
        );
        k += 1;
    }
}

/// A subscription cut silently (the connection stays up, the broker's
/// deliveries stop): with the probe on, the instance notices its own
/// probe missing and replaces the connection, after which messages cross;
/// with the probe off (`probe_interval: None`) nothing notices and the
/// messages never arrive, so the repair is the probe's doing.
pub async fn silent_cut(kind: Kind, probe: bool) {
    let broker = Broker::start(kind).await;
    let relay = Relay::start(broker.port).await;
    let relayed = match kind {
        Kind::Redis => format!("redis://127.0.0.1:{}/", relay.port),
        Kind::Nats => format!("nats://127.0.0.1:{}", relay.port),
    };
    let mut options = quick_options();
    if !probe {
        options.probe_interval = None;
    }
    let a = Instance::start(kind, &broker.url(), quick_options()).await;
    let b = Instance::start(kind, &relayed, options).await;
    let mut a1 = a.client("red").await;
    let mut b1 = b.client("red").await;
    wait_for_room(&[&a, &b], "red", &[1, 1]).await;
    a1.send(Message::text("a1:0")).await.unwrap();
    let first = next_text(&mut b1, Duration::from_secs(5)).await;
    assert_eq!(
        first.as_deref(),
        Some("a1:0"),
        "before the cut: {:?} {:?}",
        a.fanout.stats(),
        b.fanout.stats()
    );

    relay.cut_subscribers();
    let mut events = b.fanout.events();
    // Publish once a second for 6 s; with the probe the cut is repaired
    // within the probe timeout plus a reconnect.
    let mut arrived = Vec::new();
    for k in 1..=6 {
        a1.send(Message::text(format!("a1:{k}"))).await.unwrap();
        if let Some(text) = next_text(&mut b1, Duration::from_secs(1)).await {
            arrived.push(text);
        }
    }
    let repaired = events.try_recv().is_ok();
    let stats = b.fanout.stats();
    eprintln!("{kind:?} probe {probe}: arrived after the cut {arrived:?}, {stats:?}");
    if probe {
        assert!(stats.probe_repairs >= 1, "{stats:?}");
        assert!(repaired);
        assert!(
            arrived.last().is_some_and(|t| t == "a1:6"),
            "messages cross again after the repair: {arrived:?}"
        );
    } else {
        assert_eq!(stats.probe_repairs, 0);
        assert!(
            arrived.is_empty(),
            "without the probe nothing repairs the cut: {arrived:?}"
        );
    }
}

/// Redis drops every subscriber (`CLIENT KILL TYPE pubsub`): the instances
/// see their subscribed connection end, connect again and resubscribe.
pub async fn redis_client_kill_pubsub() {
    let broker = Broker::start(Kind::Redis).await;
    let all = instances(Kind::Redis, &broker.url(), 2).await;
    let mut a1 = all[0].client("red").await;
    let mut b1 = all[1].client("red").await;
    let refs: Vec<&Instance> = all.iter().collect();
    wait_for_room(&refs, "red", &[1, 1]).await;
    let mut events = all[1].fanout.events();
    let killed = broker.redis_cli(&["CLIENT", "KILL", "TYPE", "pubsub"]);
    assert_eq!(killed.trim(), "2", "one subscriber per instance");
    expect_event(&mut events, Duration::from_secs(5), |e| {
        matches!(e, FanoutEvent::Disconnected { .. })
    })
    .await;
    expect_event(&mut events, RECONNECT_BOUND, |e| {
        *e == FanoutEvent::Connected
    })
    .await;
    wait_for_room(&refs, "red", &[1, 1]).await;
    a1.send(Message::text("a1:0")).await.unwrap();
    assert_eq!(
        next_text(&mut b1, Duration::from_secs(5)).await.as_deref(),
        Some("a1:0")
    );
}

/// Three instances with presence in room `red`: each sees everyone; an
/// instance dies without a word (connections dropped, no cleanup): the
/// others' clients carry on, and its names disappear from the others'
/// presence within the TTL (600 ms here) plus one refresh and a poll.
pub async fn presence_expires_when_an_instance_dies(kind: Kind) {
    let broker = Broker::start(kind).await;
    let mut all = instances(kind, &broker.url(), 3).await;
    all[0].presence.set("red", &["ann"]);
    all[1].presence.set("red", &["bob", "bea"]);
    all[2].presence.set("red", &["cy"]);
    all[1].presence.set("blue", &["bo"]);
    let everyone = ["ann", "bob", "bea", "cy"];
    for instance in &all {
        instance
            .presence
            .wait_for("red", &everyone, Duration::from_secs(5))
            .await;
    }
    all[0]
        .presence
        .wait_for("blue", &["bo"], Duration::from_secs(5))
        .await;
    // Leaving a room is announced at once, well within the TTL.
    all[1].presence.set("blue", &[]);
    let left = all[0]
        .presence
        .wait_for("blue", &[], Duration::from_secs(2))
        .await;
    assert!(left < quick_presence().ttl, "left after {left:?}");

    let (mut a1, mut c1) = (all[0].client("red").await, all[2].client("red").await);
    let _b1 = all[1].client("red").await;
    let refs: Vec<&Instance> = all.iter().collect();
    wait_for_room(&refs, "red", &[1, 1, 1]).await;

    drop(all.remove(1));
    let bound = quick_presence().ttl + quick_presence().interval + Duration::from_millis(500);
    for instance in &all {
        let took = instance
            .presence
            .wait_for("red", &["ann", "cy"], bound)
            .await;
        eprintln!("{kind:?}: a dead instance's presence expired {took:?} after it died");
    }
    // The survivors' clients carry on.
    a1.send(Message::text("a1:0")).await.unwrap();
    for ws in [&mut a1, &mut c1] {
        assert_eq!(
            next_text(ws, Duration::from_secs(5)).await.as_deref(),
            Some("a1:0")
        );
    }
}
