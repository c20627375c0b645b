//! Threads whose work may wait while the chat may not: the account
//! store's (argon2 takes tens of milliseconds of CPU per login, on purpose)
//! and the `/oper` verifier's. On a busy machine, or one where the server
//! is pinned to a single core, such a thread would otherwise take the
//! reactor's CPU time in slices long enough to show in every client's
//! latency. At the lowest priority (nice 19) the scheduler gives it only
//! what the reactor leaves, and still some when the reactor is saturated,
//! so logins slow down before the chat does, and never stop.

/// Lowers the calling thread's priority to nice 19. Best effort: a system
/// that refuses leaves it as it was.
pub fn lower_priority() {
    #[cfg(target_os = "linux")]
    {
        // SAFETY: gettid and setpriority take and return plain integers;
        // on Linux, PRIO_PROCESS with a thread id sets that thread alone.
        unsafe {
            let tid = libc::gettid();
            let _ = libc::setpriority(libc::PRIO_PROCESS, tid as libc::id_t, 19);
        }
    }
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    #[test]
    fn the_calling_thread_alone_is_lowered() {
        let lowered = std::thread::spawn(|| {
            super::lower_priority();
            // SAFETY: as above; getpriority reads the calling thread's.
            unsafe { libc::getpriority(libc::PRIO_PROCESS, libc::gettid() as libc::id_t) }
        })
        .join()
        .unwrap_or(0);
        assert_eq!(lowered, 19);
        // SAFETY: as above.
        let here = unsafe { libc::getpriority(libc::PRIO_PROCESS, libc::gettid() as libc::id_t) };
        assert_ne!(here, 19, "only the thread that asked is lowered");
    }
}
