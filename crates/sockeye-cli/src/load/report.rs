//! The progress line and the final summary of `sockeye load`.

use std::fmt::Write as _;
use std::time::Duration;

use hdrhistogram::Histogram;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde_json::json;

use super::{Args, Snapshot};

/// A progress line on stderr (hidden when stderr is not a terminal).
pub fn progress(duration: Duration) -> ProgressBar {
    let millis = u64::try_from(duration.as_millis()).unwrap_or(u64::MAX);
    let bar = ProgressBar::with_draw_target(Some(millis), ProgressDrawTarget::stderr());
    let style = ProgressStyle::with_template("{bar:24.cyan/blue} {elapsed:>4} {msg}")
        .unwrap_or_else(|_| ProgressStyle::default_bar());
    bar.set_style(style);
    bar
}

/// Refresh the progress line with the counters.
pub fn update(bar: &ProgressBar, counters: &Snapshot, elapsed: Duration) {
    let secs = elapsed.as_secs_f64().max(1e-9);
    bar.set_position(u64::try_from(elapsed.as_millis()).unwrap_or(u64::MAX));
    bar.set_message(format!(
        "{} msgs  {:.0} msg/s  {:.2} MB/s  {} handshakes  {} errors",
        counters.messages,
        counters.messages as f64 / secs,
        counters.bytes as f64 / secs / 1e6,
        counters.handshakes,
        counters.errors,
    ));
}

/// The numbers of a finished run.
pub struct Summary {
    url: String,
    mode: &'static str,
    connections: usize,
    size: usize,
    window: usize,
    binary: bool,
    duration: Duration,
    elapsed: Duration,
    messages: u64,
    bytes: u64,
    handshakes: u64,
    /// Connections that ended with an error.
    pub errors: u64,
    p50: u64,
    p99: u64,
    p999: u64,
    max: u64,
    mean: f64,
}

impl Summary {
    /// Summarise a run.
    pub fn new(
        args: &Args,
        elapsed: Duration,
        counters: Snapshot,
        histogram: &Histogram<u64>,
    ) -> Self {
        let empty = histogram.is_empty();
        let quantile = |q: f64| {
            if empty {
                0
            } else {
                histogram.value_at_quantile(q)
            }
        };
        Self {
            url: args.url.clone(),
            mode: args.mode(),
            connections: args.connections,
            size: args.size,
            window: args.window,
            binary: args.binary,
            duration: args.duration,
            elapsed,
            messages: counters.messages,
            bytes: counters.bytes,
            handshakes: counters.handshakes,
            errors: counters.errors,
            p50: quantile(0.5),
            p99: quantile(0.99),
            p999: quantile(0.999),
            max: if empty { 0 } else { histogram.max() },
            mean: if empty { 0.0 } else { histogram.mean() },
        }
    }

    fn rate(&self) -> f64 {
        self.messages as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }

    fn handshake_rate(&self) -> f64 {
        self.handshakes as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }

    fn megabytes_per_sec(&self) -> f64 {
        self.bytes as f64 / self.elapsed.as_secs_f64().max(1e-9) / 1e6
    }

    /// The summary for people.
    pub fn human(&self) -> String {
        let ms = |micros: u64| micros as f64 / 1000.0;
        let mut out = String::new();
        let _ = writeln!(
            out,
            "{}: {} connections, {}-byte {} messages, window {}, {:.1} s",
            self.url,
            self.connections,
            self.size,
            if self.binary { "binary" } else { "text" },
            self.window,
            self.elapsed.as_secs_f64(),
        );
        match self.mode {
            "echo" => {
                let _ = writeln!(out, "  messages   {} ({:.0}/s)", self.messages, self.rate());
                let _ = writeln!(out, "  throughput {:.2} MB/s", self.megabytes_per_sec());
            }
            "handshakes" => {
                let _ = writeln!(
                    out,
                    "  handshakes {} ({:.0}/s)",
                    self.handshakes,
                    self.handshake_rate()
                );
            }
            _ => {
                let _ = writeln!(out, "  held       {} idle connections", self.handshakes);
            }
        }
        let _ = writeln!(
            out,
            "  latency    p50 {:.3} ms  p99 {:.3} ms  p99.9 {:.3} ms  max {:.3} ms",
            ms(self.p50),
            ms(self.p99),
            ms(self.p999),
            ms(self.max),
        );
        let _ = writeln!(out, "  errors     {}", self.errors);
        out
    }

    /// The summary as one line of JSON.
    pub fn json(&self) -> String {
        json!({
            "url": self.url,
            "mode": self.mode,
            "connections": self.connections,
            "size": self.size,
            "window": self.window,
            "binary": self.binary,
            "duration_secs": self.duration.as_secs_f64(),
            "elapsed_secs": self.elapsed.as_secs_f64(),
            "messages": self.messages,
            "messages_per_sec": self.rate(),
            "bytes": self.bytes,
            "mb_per_sec": self.megabytes_per_sec(),
            "handshakes": self.handshakes,
            "handshakes_per_sec": self.handshake_rate(),
            "latency_us": {
                "p50": self.p50,
                "p99": self.p99,
                "p999": self.p999,
                "max": self.max,
                "mean": self.mean,
            },
            "errors": self.errors,
        })
        .to_string()
    }
}
