//! Telling a supervisor (systemd `Type=notify`) how the server is doing,
//! through the `sd-notify` crate: `READY=1` once every listener is bound,
//! `RELOADING=1` … `READY=1` around a reload, `STOPPING=1` when a stop
//! begins, and `WATCHDOG=1` from the reactor's own timer when
//! `WATCHDOG_USEC` asks for it (so a stuck loop is noticed).
//!
//! Without `NOTIFY_SOCKET` every call does nothing. A notice that cannot
//! be sent is logged at debug and otherwise ignored: the chat goes on.

use std::time::Duration;

use sd_notify::NotifyState;

fn send(states: &[NotifyState<'_>]) {
    if let Err(e) = sd_notify::notify(false, states) {
        crate::log::debug(&format!("cannot notify the service manager: {e}"));
    }
}

/// Every listener is bound; the server serves.
pub fn ready() {
    send(&[NotifyState::Ready]);
}

/// A reload begins (`READY=1` follows when it is over, taken or not).
pub fn reloading() {
    match NotifyState::monotonic_usec_now() {
        Ok(now) => send(&[NotifyState::Reloading, now]),
        Err(_) => send(&[NotifyState::Reloading]),
    }
}

/// A stop begins.
pub fn stopping() {
    send(&[NotifyState::Stopping]);
}

/// The loop is alive.
pub fn watchdog() {
    send(&[NotifyState::Watchdog]);
}

/// How often to send [`watchdog`]: half the interval `WATCHDOG_USEC` asks
/// for, as systemd recommends; `None` when no watchdog is set.
pub fn watchdog_interval() -> Option<Duration> {
    let mut usec = 0;
    if sd_notify::watchdog_enabled(false, &mut usec) && usec > 0 {
        return Some(Duration::from_micros(usec / 2));
    }
    // sd_watchdog_enabled(3): without WATCHDOG_PID the watchdog is this
    // process's. The crate insists on the PID, which a supervisor that
    // starts us directly (or a test) need not set.
    if std::env::var_os("WATCHDOG_PID").is_some() {
        return None;
    }
    let usec: u64 = std::env::var("WATCHDOG_USEC").ok()?.parse().ok()?;
    (usec > 0).then(|| Duration::from_micros(usec / 2))
}
