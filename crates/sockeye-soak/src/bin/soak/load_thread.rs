//! The thread that generates the abusive part of the load, at a lower
//! scheduling priority than the server and the measured clients.
//!
//! The driver shares the machine's cores with the server under test. The
//! churn, the abusive clients and the byte-at-a-time proxy keep a core
//! busy on their own, and without a lower priority they would take CPU
//! from the server and from the measured clients' thread whenever both
//! cores are wanted, so the latencies under the mix would measure the
//! driver's own crowding rather than the server. A real attacker runs on
//! other machines; a nice value of 10 is the nearest a single machine gets
//! to that. The load itself is unchanged: when a core is free, the thread
//! gets all of it.

use tokio::runtime::Handle;

/// The nice value of the load thread (0 is normal, 19 the lowest).
pub const NICE: i32 = 10;

/// Start the load thread with its own single-threaded tokio runtime and
/// return a handle to spawn onto it; the thread lives as long as the
/// process. Where the priority cannot be lowered the load runs at normal
/// priority and a note says so.
pub fn start() -> Handle {
    let (handle_tx, handle_rx) = std::sync::mpsc::channel();
    std::thread::Builder::new()
        .name("soak-load".into())
        .spawn(move || {
            if let Err(error) = lower_priority(NICE) {
                eprintln!("soak: the load thread keeps normal priority ({error})");
            }
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("a tokio runtime");
            handle_tx
                .send(runtime.handle().clone())
                .expect("the driver waits for the handle");
            runtime.block_on(std::future::pending::<()>());
        })
        .expect("a thread for the load");
    handle_rx.recv().expect("the load thread's runtime")
}

/// Lower the calling thread's nice value to `nice`, unless it is already
/// at least that (Linux schedules threads, so this leaves the process's
/// other threads as they are).
fn lower_priority(nice: i32) -> std::io::Result<()> {
    let nice = nice.max(current_nice()?);
    // SAFETY: `gettid` takes nothing and cannot fail; `setpriority` takes
    // plain integers (no pointers) and reports failure by its return value.
    let status =
        unsafe { libc::setpriority(libc::PRIO_PROCESS, libc::gettid() as libc::id_t, nice) };
    if status == 0 {
        Ok(())
    } else {
        Err(std::io::Error::last_os_error())
    }
}

/// The calling thread's nice value, from `/proc/thread-self/stat` (the
/// 19th field).
fn current_nice() -> std::io::Result<i32> {
    let stat = std::fs::read_to_string("/proc/thread-self/stat")?;
    // The command name, in parentheses, may hold spaces: count after it.
    stat.rfind(')')
        .and_then(|end| stat.get(end + 2..))
        .and_then(|fields| fields.split(' ').nth(16))
        .and_then(|field| field.parse().ok())
        .ok_or_else(|| std::io::Error::other("no nice value in /proc/thread-self/stat"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_load_thread_runs_at_the_lower_priority_and_the_rest_does_not() {
        let before = current_nice().unwrap();
        let handle = start();
        let (tx, rx) = std::sync::mpsc::channel();
        handle.spawn(async move { tx.send(current_nice().unwrap()).unwrap() });
        assert_eq!(rx.recv().unwrap(), before.max(NICE));
        assert_eq!(current_nice().unwrap(), before);
    }
}
