//! The `/oper` verifier: one thread that runs argon2 for the hub, so a
//! password check (tens of milliseconds, on purpose) never stalls the
//! reactor and with it everyone's chat.
//!
//! The hub hands over [`OperatorCheck`]s through `Outbox::verify_operator`
//! (a `try_send` on a bounded channel: never blocks; a full queue is the
//! hub's "busy" answer). The thread runs them one at a time, which is also
//! the global rate of password checks, and sends each verdict back through
//! a channel and the reactor's waker; `Server::woken` gives it to
//! `Hub::operator_checked`. The hash function itself is chat-hub's
//! ([`OperatorCheck::verdict`]).

use std::sync::Arc;
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};

use chat_hub::{ClientId, OperatorCheck, OperatorVerdict};

/// Checks waiting for the thread; past this the hub answers "busy".
pub const QUEUE: usize = 16;

/// The reactor's ends of the verifier.
pub struct Verifier {
    pub checks: SyncSender<OperatorCheck>,
    pub verdicts: Receiver<(ClientId, OperatorVerdict)>,
}

/// Starts the verifier thread; `wake` wakes the reactor after each verdict.
/// It runs until the reactor's ends are dropped.
pub fn spawn(wake: Arc<dyn Fn() + Send + Sync>) -> std::io::Result<Verifier> {
    let (checks, checks_rx) = sync_channel::<OperatorCheck>(QUEUE);
    // As many verdicts as checks can wait: the thread never blocks on it
    // for long, and memory stays bounded.
    let (verdicts_tx, verdicts) = sync_channel(QUEUE);
    std::thread::Builder::new()
        .name("oper-verifier".into())
        .spawn(move || {
            crate::background::lower_priority();
            for check in checks_rx {
                let verdict = check.verdict();
                if verdicts_tx.send((check.client, verdict)).is_err() {
                    return;
                }
                wake();
            }
        })?;
    Ok(Verifier { checks, verdicts })
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn checks_are_answered_through_the_channel_and_the_waker() {
        let woken = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let counter = Arc::clone(&woken);
        let wake = Arc::new(move || {
            counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        });
        let verifier = spawn(wake).unwrap_or_else(|e| panic!("{e}"));
        let check = OperatorCheck {
            client: ClientId(3),
            token: 9,
            hash: "not a hash".into(),
            password: "x".into(),
        };
        assert!(verifier.checks.try_send(check).is_ok());
        let answer = verifier.verdicts.recv_timeout(Duration::from_secs(10));
        let expected = OperatorVerdict {
            token: 9,
            matched: false,
        };
        assert_eq!(answer.ok(), Some((ClientId(3), expected)));
        // The thread wakes the reactor right after sending.
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while woken.load(std::sync::atomic::Ordering::SeqCst) == 0 {
            assert!(std::time::Instant::now() < deadline, "never woken");
            std::thread::sleep(Duration::from_millis(1));
        }
    }
}
