//! The fan-out across server instances through a real NATS server
//! (Debian's `nats-server`, started on a free loopback port and killed by
//! PID). Ignored in a plain `cargo test`; `cargo xtask ci` installs the
//! broker and runs them with `--ignored`.
#![cfg(feature = "nats")]

mod fanout_support;

use fanout_support::{Kind, scenarios};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs nats-server; run by `cargo xtask ci`"]
async fn every_client_gets_its_rooms_messages_once_in_order() {
    scenarios::rooms_across_three_instances(Kind::Nats).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs nats-server; run by `cargo xtask ci`"]
async fn reconnects_and_resubscribes_after_the_broker_restarts() {
    scenarios::broker_killed_and_restarted(Kind::Nats).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs nats-server; run by `cargo xtask ci`"]
async fn a_stopped_broker_bounds_memory_and_spares_local_clients() {
    scenarios::broker_stalled(Kind::Nats).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs nats-server; run by `cargo xtask ci`"]
async fn the_probe_repairs_a_silently_cut_subscription() {
    scenarios::silent_cut(Kind::Nats, true).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs nats-server; run by `cargo xtask ci`"]
async fn without_the_probe_a_silent_cut_stays_broken() {
    scenarios::silent_cut(Kind::Nats, false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs nats-server; run by `cargo xtask ci`"]
async fn a_dead_instances_presence_expires_within_the_bound() {
    scenarios::presence_expires_when_an_instance_dies(Kind::Nats).await;
}
