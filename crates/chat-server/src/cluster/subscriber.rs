//! The subscriber thread: room lines and notices, private messages, kicks,
//! bans and unbans from Redis.
//!
//! It listens on [`keys::ROOMS`], [`keys::BAN_NOTICES`] and this node's own
//! channel, drops what this node published itself, and hands the rest to
//! the reactor as [`ClusterEvent`]s. Once subscribed it reads the bans in
//! force ([`keys::BANS`]), so a node that starts or comes back applies
//! every ban, including those made while it was away, and tells the hub
//! it subscribed ([`ClusterEvent::Subscribed`], with Redis's clock), which
//! then reads back from the rooms' streams whatever it missed (the hub's
//! `catchup.rs`). When the connection breaks it subscribes again, with
//! backoff.
//!
//! A cut network path does not break a connection by itself: a quiet
//! subscription pings Redis every [`QUIET`], and a ping unanswered within
//! as long counts as a lost connection. So does a master switch announced
//! by the sentinels (`link.rs`): it subscribes again on the new master and
//! the hub catches up as after any outage. The health pings the command
//! thread publishes on this node's channel come back here (`probe.rs`).

use std::time::Duration;

use redis::{ErrorKind, RedisError, RedisResult};

use super::link::Link;
use super::probe::Probe;
use super::wire::{WireKick, WirePrivate, WireSanction};
use super::{BACKOFF_MAX, BACKOFF_MIN, BridgeConfig, Emitter, entries, keys, requests};
use chat_hub::{ClusterEvent, StreamId};

/// A subscription this long without a message is pinged; a ping this long
/// without an answer is a lost connection.
const QUIET: Duration = Duration::from_secs(1);

/// Runs until the reactor is gone.
pub(super) fn run(link: &Link, config: &BridgeConfig, emit: &Emitter, probe: &Probe) {
    let node_channel = keys::node(&config.node);
    let mut backoff = BACKOFF_MIN;
    loop {
        let switches = link.switches();
        let result = (|| -> RedisResult<()> {
            let (mut con, master) = link.connect()?;
            let mut pubsub = con.as_pubsub();
            pubsub.subscribe(&[keys::ROOMS, keys::BAN_NOTICES, node_channel.as_str()])?;
            pubsub.set_read_timeout(Some(QUIET))?;
            // After subscribing: a ban made meanwhile is heard, or read
            // here; a line added meanwhile is heard, or read back from
            // after `at` (everything added before has a smaller id).
            let (mut reader, also) = link.connect()?;
            if also != master {
                return Err(switched());
            }
            let at = redis_clock(&mut reader)?;
            for event in requests::bans(&mut reader)? {
                if !emit.emit(event) {
                    return Ok(()); // the reactor is gone
                }
            }
            if !emit.emit(ClusterEvent::Subscribed { at }) {
                return Ok(());
            }
            drop(reader);
            backoff = BACKOFF_MIN;
            loop {
                if link.switches() != switches {
                    return Err(switched());
                }
                let msg = match pubsub.get_message() {
                    Err(e) if e.is_timeout() => {
                        pubsub.ping::<redis::Value>()?;
                        continue;
                    }
                    msg => msg?,
                };
                let channel = msg.get_channel_name();
                if channel == keys::ROOMS {
                    // A batch of entries, as sent (not copied); a node
                    // ignores its own lines.
                    let lines = entries::published(msg.get_payload_bytes(), &config.node);
                    let events = lines
                        .into_iter()
                        .map(|(id, line)| ClusterEvent::Line { id, line });
                    // One wake-up for the batch, not one per line.
                    if !emit.emit_all(events) {
                        return Ok(()); // the reactor is gone
                    }
                    continue;
                }
                let Ok(payload) = std::str::from_utf8(msg.get_payload_bytes()) else {
                    continue;
                };
                let event = match channel {
                    keys::BAN_NOTICES => serde_json::from_str::<WireSanction>(payload)
                        .ok()
                        .and_then(|notice| notice.into_event(&config.node)),
                    _ if probe.heard(payload) => None,
                    _ => match serde_json::from_str::<WireKick>(payload) {
                        Ok(kick) => Some(kick.into_event()),
                        Err(_) => serde_json::from_str::<WirePrivate>(payload)
                            .ok()
                            .and_then(WirePrivate::into_event),
                    },
                };
                if let Some(event) = event
                    && !emit.emit(event)
                {
                    return Ok(()); // the reactor is gone
                }
            }
        })();
        if result.is_ok() {
            return;
        }
        link.pause(backoff, switches);
        backoff = (backoff * 2).min(BACKOFF_MAX);
    }
}

fn switched() -> RedisError {
    RedisError::from((ErrorKind::Client, "the master switched"))
}

/// Redis's clock now, as a stream id (`TIME`: seconds and microseconds).
fn redis_clock(con: &mut redis::Connection) -> RedisResult<StreamId> {
    let (seconds, micros): (u64, u64) = redis::cmd("TIME").query(con)?;
    Ok(StreamId {
        ms: seconds.saturating_mul(1000).saturating_add(micros / 1000),
        seq: 0,
    })
}
