//! The figures: a line every `--report-every` and at the end, and the
//! final verdict on what must hold.

use std::time::{Duration, Instant};

use crate::Options;
use crate::ctx::Ctx;
use crate::server::Sample;

/// Below this p99 the 3× comparison is against this floor: timer and
/// scheduler noise, not the server, decides sub-millisecond tails.
const P99_FLOOR_US: u32 = 1_000;

/// The least growth of the resident set the leak check allows: on a
/// server of 5 MiB, 10 % is half a megabyte, less than what the allocator's
/// fragmentation alone keeps after a busy minute (freed chunks below the
/// top of the heap cannot be returned). The heap count, exact, is checked
/// at 10 % without a floor.
const RSS_FLOOR_KIB: u64 = 2 * 1024;

/// Prints the periodic lines.
pub struct Reporter {
    start: Instant,
    every: Duration,
    next: Instant,
}

impl Reporter {
    /// A reporter printing every `--report-every`.
    pub fn new(options: &Options) -> Self {
        let start = Instant::now();
        Self {
            start,
            every: options.report_every,
            next: start + options.report_every,
        }
    }

    /// Time until the next line is due.
    pub fn until_next(&self) -> Duration {
        self.next.saturating_duration_since(Instant::now())
    }

    /// Whether a line is due (and, if so, schedules the next one).
    pub fn due(&mut self) -> bool {
        if Instant::now() < self.next {
            return false;
        }
        self.next += self.every;
        true
    }

    /// Print one line of figures, labelled `label`.
    pub fn line(&self, label: &str, ctx: &Ctx, sample: &Sample) {
        let s = &ctx.stats;
        let sum = |prefix: &str| -> u64 {
            s.counters()
                .iter()
                .filter(|(name, _)| name.starts_with(prefix))
                .map(|(_, n)| n)
                .sum()
        };
        println!(
            "[{:>6.0}s] {label}: opened direct {} proxied {} churn {} abusive {} | \
             sent {} verified {} broadcasts verified {} | lost {} dup {} reord {} corrupt {} | \
             faults {} | {} | server rss {:.1} MiB heap {:.1} MiB fds {} live {} tasks {}",
            self.start.elapsed().as_secs_f64(),
            s.get("opened.direct"),
            s.get("opened.proxied"),
            sum("churn."),
            sum("abuse."),
            s.get("msg.sent"),
            s.get("msg.verified"),
            s.get("broadcast.verified"),
            s.get("msg.lost") + s.get("broadcast.lost"),
            s.get("msg.duplicated"),
            s.get("msg.reordered") + s.get("broadcast.duplicated-or-reordered"),
            s.get("msg.corrupted") + s.get("broadcast.corrupted"),
            sum("fault."),
            s.take_interval(),
            sample.rss_kib as f64 / 1024.0,
            sample.heap as f64 / (1 << 20) as f64,
            sample.fds,
            sample.live,
            sample.tasks,
        );
    }
}

/// Print the final figures and judge the run: `Err` names every violation.
pub fn finish(
    ctx: &Ctx,
    options: &Options,
    idle: &Sample,
    after: &Sample,
    crashed: bool,
) -> Result<(), String> {
    let stats = &ctx.stats;
    println!();
    println!(
        "soak summary: server {}, seed {}, duration {:?}",
        options.server, options.seed, options.duration
    );
    for (name, value) in stats.counters() {
        println!("  {name:<36} {value}");
    }
    let (baseline, mix) = stats.phases();
    println!("  latency baseline: {baseline}");
    println!("  latency mix:      {mix}");
    println!(
        "  server idle after warm-up: rss {} KiB, heap {} B, fds {}, live {}, tasks {}",
        idle.rss_kib, idle.heap, idle.fds, idle.live, idle.tasks
    );
    println!(
        "  server idle after the load: rss {} KiB, heap {} B, fds {}, live {}, tasks {}",
        after.rss_kib, after.heap, after.fds, after.live, after.tasks
    );

    if crashed {
        stats.violation("the server crashed or exited".into());
    }
    for counter in [
        "msg.lost",
        "msg.duplicated",
        "msg.reordered",
        "msg.corrupted",
        "broadcast.lost",
        "broadcast.duplicated-or-reordered",
        "broadcast.corrupted",
    ] {
        let n = stats.get(counter);
        if n > 0 {
            stats.violation(format!("{counter} = {n} (must be 0)"));
        }
    }
    if stats.get("msg.verified") == 0 {
        stats.violation("no message was verified: the load did not run".into());
    }
    let rss_allowed = idle.rss_kib + (idle.rss_kib / 10).max(RSS_FLOOR_KIB);
    if after.rss_kib > rss_allowed {
        stats.violation(format!(
            "memory leak: rss {} KiB after the load, over the {} KiB allowed \
             ({} KiB idle, plus 10 % or 2 MiB)",
            after.rss_kib, rss_allowed, idle.rss_kib
        ));
    }
    if after.heap as f64 > idle.heap as f64 * 1.10 {
        stats.violation(format!(
            "memory leak: {} heap bytes in use after the load, over 110 % of {} idle",
            after.heap, idle.heap
        ));
    }
    if after.fds > idle.fds {
        stats.violation(format!(
            "descriptor leak: {} open after the load, {} idle",
            after.fds, idle.fds
        ));
    }
    if after.live > idle.live || after.tasks > idle.tasks {
        stats.violation(format!(
            "connection leak: {} clients and {} tasks after the load, {} and {} idle",
            after.live, after.tasks, idle.live, idle.tasks
        ));
    }
    let reference = baseline.p99.max(P99_FLOOR_US);
    println!(
        "  p99 under the mix / baseline (at least 1 ms): {:.2}",
        mix.p99 as f64 / reference as f64
    );
    let bound = options.latency_bound;
    if bound > 0 && mix.p99 > bound * reference {
        stats.violation(format!(
            "well-behaved p99 {:.2} ms under the mix, over {bound} x the baseline's {:.2} ms",
            mix.p99 as f64 / 1000.0,
            reference as f64 / 1000.0
        ));
    }
    let violations = stats.violations();
    if violations.is_empty() {
        println!("soak passed");
        Ok(())
    } else {
        Err(format!(
            "{} violation(s):\n  {}",
            violations.len(),
            violations.join("\n  ")
        ))
    }
}
