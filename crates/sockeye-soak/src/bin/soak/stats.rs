//! What the driver counts: named counters, the well-behaved clients'
//! latencies per phase and per report interval, and the violations that
//! make the run fail.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::Duration;

/// The phase a latency sample belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Phase {
    WarmUp,
    Baseline,
    Mix,
    Drain,
}

/// Everything counted during a run, shared by every task.
#[derive(Default)]
pub struct Stats {
    counters: Mutex<BTreeMap<&'static str, u64>>,
    latency: Mutex<Latencies>,
    violations: Mutex<Vec<String>>,
}

#[derive(Default)]
struct Latencies {
    interval: Vec<u32>,
    baseline: Vec<u32>,
    mix: Vec<u32>,
}

impl Stats {
    /// Add one to counter `name`.
    pub fn count(&self, name: &'static str) {
        self.add(name, 1);
    }

    /// Add `n` to counter `name`.
    pub fn add(&self, name: &'static str, n: u64) {
        *self.counters.lock().unwrap().entry(name).or_default() += n;
    }

    /// The value of counter `name`.
    pub fn get(&self, name: &str) -> u64 {
        self.counters
            .lock()
            .unwrap()
            .get(name)
            .copied()
            .unwrap_or(0)
    }

    /// Every counter, sorted by name.
    pub fn counters(&self) -> BTreeMap<&'static str, u64> {
        self.counters.lock().unwrap().clone()
    }

    /// Record the round-trip time of one well-behaved message in `phase`.
    pub fn latency(&self, phase: Phase, rtt: Duration) {
        let micros = rtt.as_micros().min(u32::MAX as u128) as u32;
        let mut latency = self.latency.lock().unwrap();
        latency.interval.push(micros);
        match phase {
            Phase::Baseline => latency.baseline.push(micros),
            Phase::Mix => latency.mix.push(micros),
            Phase::WarmUp | Phase::Drain => {}
        }
    }

    /// The latencies since the last call, as percentiles.
    pub fn take_interval(&self) -> Percentiles {
        let mut samples = std::mem::take(&mut self.latency.lock().unwrap().interval);
        Percentiles::of(&mut samples)
    }

    /// The percentiles of the baseline phase and of the mixed phase.
    pub fn phases(&self) -> (Percentiles, Percentiles) {
        let latency = self.latency.lock().unwrap();
        let (mut baseline, mut mix) = (latency.baseline.clone(), latency.mix.clone());
        drop(latency);
        (Percentiles::of(&mut baseline), Percentiles::of(&mut mix))
    }

    /// Record a violation: the run fails.
    pub fn violation(&self, what: String) {
        eprintln!("VIOLATION: {what}");
        self.violations.lock().unwrap().push(what);
    }

    /// Every violation so far.
    pub fn violations(&self) -> Vec<String> {
        self.violations.lock().unwrap().clone()
    }
}

/// p50, p99 and p99.9 of a set of samples, in microseconds.
#[derive(Clone, Copy, Debug, Default)]
pub struct Percentiles {
    pub count: usize,
    pub p50: u32,
    pub p99: u32,
    pub p999: u32,
}

impl Percentiles {
    fn of(samples: &mut [u32]) -> Self {
        if samples.is_empty() {
            return Self::default();
        }
        samples.sort_unstable();
        let at = |q: f64| samples[((samples.len() as f64 * q) as usize).min(samples.len() - 1)];
        Self {
            count: samples.len(),
            p50: at(0.50),
            p99: at(0.99),
            p999: at(0.999),
        }
    }
}

impl std::fmt::Display for Percentiles {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let ms = |us: u32| us as f64 / 1000.0;
        write!(
            f,
            "p50 {:.2} ms, p99 {:.2} ms, p99.9 {:.2} ms ({} samples)",
            ms(self.p50),
            ms(self.p99),
            ms(self.p999),
            self.count
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_pick_the_ranked_samples() {
        let mut samples: Vec<u32> = (1..=1000).rev().collect();
        let p = Percentiles::of(&mut samples);
        assert_eq!((p.count, p.p50, p.p99, p.p999), (1000, 501, 991, 1000));
        assert_eq!(Percentiles::of(&mut []).count, 0);
    }
}
