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
}
