//! Threads whose work may wait while the chat may not: the account
//! store's (argon2 takes tens of milliseconds of CPU per login, on purpose)
//! and the `/oper` verifier's. On a busy machine, or one where the server
//! is pinned to a single core, such a thread would otherwise take the
//! reactor's CPU time in slices long enough to show in every client's
//! latency. Under `SCHED_IDLE` (Linux) a thread is preempted the moment
//! the reactor wakes, not at the end of its time slice as a thread at nice
//! 19 is (which cost the chat milliseconds of p99 in the logins benchmark),
//! and still gets a sliver of the core when the reactor is saturated, so
//! logins slow down before the chat does, and never stop.
//!
//! The history store's threads sit one step higher ([`behind_the_reactor`]):
//! their work is steady rather than bursty and must keep up with the chat,
//! so they yield to the reactor without ever waiting on other programs.

/// Puts the calling thread under `SCHED_IDLE`, or at nice 19 where that is
/// refused. Best effort: a system that refuses both leaves it as it was.
pub fn lower_priority() {
    #[cfg(target_os = "linux")]
    {
        let param = libc::sched_param { sched_priority: 0 };
        // SAFETY: plain integers and a pointer to a live local; pid 0 and
        // a thread id each name the calling thread alone on Linux.
        unsafe {
            if libc::sched_setscheduler(0, libc::SCHED_IDLE, &param) != 0 {
                let tid = libc::gettid();
                let _ = libc::setpriority(libc::PRIO_PROCESS, tid as libc::id_t, 19);
            }
        }
    }
}

/// The nice value of [`behind_the_reactor`]'s threads.
pub const BEHIND_THE_REACTOR_NICE: i32 = 10;

/// Puts the calling thread at nice [`BEHIND_THE_REACTOR_NICE`]: for work
/// that must keep pace with the chat over a second but not within a
/// millisecond, such as the history store's (committing batches, indexing
/// for `/search`, answering reads). On a core it shares with the reactor
/// such a thread gets about a tenth of the time the reactor wants, and the
/// rest whenever the reactor sleeps; unlike under `SCHED_IDLE`, a machine
/// busy with other programs never starves it. Best effort.
pub fn behind_the_reactor() {
    #[cfg(target_os = "linux")]
    {
        // SAFETY: plain integers; a thread id names the calling thread
        // alone on Linux.
        unsafe {
            let tid = libc::gettid();
            let _ = libc::setpriority(
                libc::PRIO_PROCESS,
                tid as libc::id_t,
                BEHIND_THE_REACTOR_NICE,
            );
        }
    }
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    #[test]
    fn the_calling_thread_alone_is_lowered() {
        let lowered = std::thread::spawn(|| {
            super::lower_priority();
            // SAFETY: plain integers; 0 is the calling thread.
            unsafe { libc::sched_getscheduler(0) }
        })
        .join()
        .unwrap_or(-1);
        assert_eq!(lowered, libc::SCHED_IDLE);
        // SAFETY: as above.
        let here = unsafe { libc::sched_getscheduler(0) };
        assert_eq!(
            here,
            libc::SCHED_OTHER,
            "only the thread that asked is lowered"
        );
    }

    #[test]
    fn a_thread_behind_the_reactor_is_niced_alone() {
        // SAFETY: plain integers; 0 with PRIO_PROCESS and a thread id name
        // the calling thread on Linux.
        let nice =
            || unsafe { libc::getpriority(libc::PRIO_PROCESS, libc::gettid() as libc::id_t) };
        let lowered = std::thread::spawn(move || {
            super::behind_the_reactor();
            nice()
        })
        .join()
        .unwrap_or(0);
        assert_eq!(lowered, super::BEHIND_THE_REACTOR_NICE);
        assert_eq!(nice(), 0, "only the thread that asked is lowered");
    }
}
