//! A timer that wakes the poll at a precise instant, for a loaded turn's
//! hold (`pace.rs`). epoll's timeout counts whole milliseconds (mio rounds
//! a shorter one up), so a hold of a few hundred microseconds would sleep a
//! whole millisecond whenever no input arrived meanwhile; a timerfd armed
//! for the hold and registered with the poll wakes it on time.

use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::time::Duration;

use mio::unix::SourceFd;
use mio::{Interest, Registry, Token};

pub(crate) struct HoldTimer {
    fd: OwnedFd,
}

impl HoldTimer {
    /// A disarmed timer, registered with `registry` under `token`.
    pub(crate) fn new(registry: &Registry, token: Token) -> io::Result<HoldTimer> {
        // SAFETY: a plain syscall with constant flags; the fd it returns is
        // owned by `OwnedFd` from here on.
        let raw = unsafe {
            libc::timerfd_create(
                libc::CLOCK_MONOTONIC,
                libc::TFD_NONBLOCK | libc::TFD_CLOEXEC,
            )
        };
        if raw < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: `raw` is a new, valid fd that nothing else owns.
        let fd = unsafe { OwnedFd::from_raw_fd(raw) };
        registry.register(&mut SourceFd(&fd.as_raw_fd()), token, Interest::READABLE)?;
        Ok(HoldTimer { fd })
    }

    /// Fires once, `after` from now (replacing any earlier arming).
    pub(crate) fn arm(&self, after: Duration) {
        let value = libc::timespec {
            tv_sec: libc::time_t::try_from(after.as_secs()).unwrap_or(libc::time_t::MAX),
            // An all-zero value would disarm the timer instead.
            tv_nsec: libc::c_long::from(after.subsec_nanos().max(1)),
        };
        let spec = libc::itimerspec {
            it_interval: libc::timespec {
                tv_sec: 0,
                tv_nsec: 0,
            },
            it_value: value,
        };
        // SAFETY: `spec` outlives the call and the old value is not asked
        // for. Failing (it cannot, with a valid fd and value) only makes the
        // hold end at poll's rounded timeout instead.
        unsafe {
            libc::timerfd_settime(self.fd.as_raw_fd(), 0, &spec, std::ptr::null_mut());
        }
    }

    /// Clears a fired timer's readiness.
    pub(crate) fn clear(&self) {
        let mut expirations = [0u8; 8];
        // SAFETY: reads at most 8 bytes into an 8-byte buffer; a timer that
        // has not fired answers EAGAIN (nonblocking), which is fine.
        unsafe {
            libc::read(self.fd.as_raw_fd(), expirations.as_mut_ptr().cast(), 8);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use mio::{Events, Poll};
    use std::time::Instant;

    #[test]
    fn an_armed_timer_wakes_the_poll_and_clearing_it_quiets_it() -> io::Result<()> {
        let mut poll = Poll::new()?;
        let timer = HoldTimer::new(poll.registry(), Token(7))?;
        let mut events = Events::with_capacity(4);

        let began = Instant::now();
        timer.arm(Duration::from_micros(300));
        poll.poll(&mut events, Some(Duration::from_secs(5)))?;
        assert!(events.iter().any(|e| e.token() == Token(7)));
        // Long before poll's own timeout: the timer woke it.
        assert!(
            began.elapsed() < Duration::from_secs(2),
            "{:?}",
            began.elapsed()
        );

        timer.clear();
        poll.poll(&mut events, Some(Duration::from_millis(20)))?;
        assert!(events.is_empty(), "a cleared timer stays quiet");
        Ok(())
    }
}
