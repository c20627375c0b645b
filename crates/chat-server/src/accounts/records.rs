//! The account records' thread: what the hub keeps for accounts (messages
//! that wait, read markers) written to the history file, so it outlasts a
//! restart. The hub acts on a record at once and never waits for this
//! thread; it hands records over with a `try_send` on a bounded channel,
//! and counts and logs what the channel could not take.
//!
//! Records are written in batches: whatever waits in the channel, in one
//! transaction. A batch that fails is logged and dropped (the hub still
//! holds what it says).

use std::sync::mpsc::{Receiver, SyncSender, sync_channel};

use chat_hub::AccountRecord;

use super::book::AccountBook;

/// Records waiting for the thread.
pub const QUEUE: usize = 4096;
/// The most records one transaction writes.
const BATCH: usize = 512;

/// Starts the thread over `book` (its own connection to the file); it
/// runs until the sender is dropped.
pub fn spawn(mut book: Box<dyn AccountBook>) -> std::io::Result<SyncSender<AccountRecord>> {
    let (records, rx) = sync_channel::<AccountRecord>(QUEUE);
    std::thread::Builder::new()
        .name("account-records".into())
        .spawn(move || {
            while let Some(batch) = next_batch(&rx) {
                match book.keep(&batch) {
                    Ok(0) => {}
                    Ok(dropped) => crate::log::warn(&format!(
                        "accounts: {dropped} private messages not kept: their account has {} waiting already",
                        super::book::MAIL_PER_ACCOUNT
                    )),
                    Err(e) => crate::log::error(&format!(
                        "accounts: {} waiting messages or read markers not written: {e}",
                        batch.len()
                    )),
                }
            }
        })?;
    Ok(records)
}

/// The next record and whatever else waits, up to [`BATCH`]; `None` once
/// the hub's end is gone.
fn next_batch(rx: &Receiver<AccountRecord>) -> Option<Vec<AccountRecord>> {
    let first = rx.recv().ok()?;
    let mut batch = vec![first];
    batch.extend(rx.try_iter().take(BATCH - 1));
    Some(batch)
}
