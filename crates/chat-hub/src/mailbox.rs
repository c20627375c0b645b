//! Private messages that wait: a message to an account none of whose
//! connections is here is kept, and delivered when one logs in.
//!
//! The hub holds them (bounded per account and in all), so delivering
//! them at a login needs no read; the account store keeps a copy
//! (`AccountRecord::Mail`) so they outlast a restart, and is told when
//! they were delivered.

use std::collections::{HashMap, VecDeque};

use crate::Now;
use crate::accounts::Mail;

/// Messages one account may have waiting; past it, senders are told.
pub const MAIL_PER_ACCOUNT: usize = 200;
/// Messages waiting for every account together.
const MAIL_IN_ALL: usize = 100_000;

#[derive(Debug, Default)]
pub(crate) struct Mailbox {
    waiting: HashMap<String, VecDeque<Mail>>,
    held: usize,
    next_id: u64,
}

impl Mailbox {
    /// The messages waiting since before a restart.
    pub(crate) fn load(&mut self, mail: Vec<Mail>) {
        for mail in mail {
            self.next_id = self.next_id.max(mail.id.saturating_add(1));
            self.held += 1;
            self.waiting
                .entry(mail.to.clone())
                .or_default()
                .push_back(mail);
        }
    }

    /// Keeps a message for account `to` (a key); `None` if its mailbox (or
    /// the server's) is full.
    pub(crate) fn keep(&mut self, to: &str, from: &str, text: &str, time: Now) -> Option<Mail> {
        let queue = self.waiting.entry(to.to_owned()).or_default();
        if queue.len() >= MAIL_PER_ACCOUNT || self.held >= MAIL_IN_ALL {
            return None;
        }
        self.next_id = self.next_id.max(1);
        let mail = Mail {
            id: self.next_id,
            to: to.to_owned(),
            from: from.to_owned(),
            text: text.to_owned(),
            time,
        };
        self.next_id += 1;
        self.held += 1;
        queue.push_back(mail.clone());
        Some(mail)
    }

    /// Everything waiting for account `to` (a key), oldest first; it no
    /// longer waits.
    pub(crate) fn take(&mut self, to: &str) -> Vec<Mail> {
        let mail: Vec<Mail> = self.waiting.remove(to).map(Vec::from).unwrap_or_default();
        self.held -= mail.len();
        mail
    }

    /// Account `to` is gone: what waited for it goes too.
    pub(crate) fn discard(&mut self, to: &str) {
        self.take(to);
    }
}
