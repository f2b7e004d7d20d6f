//! A process's CPU time from `/proc` (Linux), for the end-to-end
//! benchmarks that report server CPU per message.

use std::time::Duration;

/// User plus system CPU time of process `pid` (`"self"` for this one), in
/// clock ticks, from `/proc/PID/stat`.
///
/// # Errors
/// When the file cannot be read or does not hold the two fields.
pub fn cpu_ticks(pid: &str) -> Result<u64, String> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .map_err(|error| format!("reading /proc/PID/stat: {error}"))?;
    // The command name may hold spaces; fields count from its closing ')'.
    let rest = stat.rsplit_once(')').map(|(_, rest)| rest).unwrap_or("");
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // After ')': state is field 3, utime field 14, stime field 15.
    let field = |n: usize| fields.get(n - 3).and_then(|v| v.parse::<u64>().ok());
    match (field(14), field(15)) {
        (Some(user), Some(system)) => Ok(user + system),
        _ => Err("unexpected /proc/PID/stat".into()),
    }
}

/// Clock ticks per second (`getconf CLK_TCK`; 100 when it cannot say).
pub fn clock_ticks_per_second() -> f64 {
    std::process::Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|out| String::from_utf8(out.stdout).ok())
        .and_then(|text| text.trim().parse().ok())
        .unwrap_or(100.0)
}

/// A tick count as time, at `ticks_per_second`.
pub fn ticks_to_time(ticks: u64, ticks_per_second: f64) -> Duration {
    Duration::from_secs_f64(ticks as f64 / ticks_per_second)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn this_process_has_spent_some_cpu_and_the_count_only_grows() {
        let before = cpu_ticks("self").unwrap();
        let mut spin = 0u64;
        let start = std::time::Instant::now();
        while start.elapsed() < Duration::from_millis(50) {
            spin = spin.wrapping_add(1);
        }
        assert!(spin > 0);
        assert!(cpu_ticks("self").unwrap() >= before);
        assert!(clock_ticks_per_second() > 0.0);
    }
}
