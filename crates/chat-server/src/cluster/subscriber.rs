//! The subscriber thread: room lines, private messages, kicks, bans and
//! unbans from Redis.
//!
//! It listens on [`keys::ROOMS`], [`keys::BAN_NOTICES`] and this node's own
//! channel, drops what this node published itself, and hands the rest to
//! the reactor as [`ClusterEvent`]s. Once subscribed it reads the bans in
//! force ([`keys::BANS`]), so a node that starts or comes back applies
//! every ban, including those made while it was away. When the connection
//! breaks it subscribes again, with backoff; lines published meanwhile are
//! not heard (at most once).

use redis::RedisResult;

use super::wire::{WireKick, WireLine, WirePrivate, WireSanction};
use super::{BACKOFF_MAX, BACKOFF_MIN, BridgeConfig, CONNECT_TIMEOUT, Emitter, keys, requests};
use chat_hub::ClusterEvent;

/// Runs until the reactor is gone.
pub(super) fn run(client: redis::Client, config: BridgeConfig, emit: Emitter) {
    let node_channel = keys::node(&config.node);
    let mut backoff = BACKOFF_MIN;
    loop {
        let result = (|| -> RedisResult<()> {
            let mut con = client.get_connection_with_timeout(CONNECT_TIMEOUT)?;
            let mut pubsub = con.as_pubsub();
            pubsub.subscribe(&[keys::ROOMS, keys::BAN_NOTICES, node_channel.as_str()])?;
            // After subscribing: a ban made meanwhile is heard, or read here.
            for event in requests::bans(&mut super::connect(&client)?)? {
                if !emit.emit(event) {
                    return Ok(()); // the reactor is gone
                }
            }
            backoff = BACKOFF_MIN;
            loop {
                let msg = pubsub.get_message()?;
                let Ok(payload) = msg.get_payload::<String>() else {
                    continue;
                };
                let event = match msg.get_channel_name() {
                    keys::ROOMS => match serde_json::from_str::<WireLine>(&payload) {
                        // A node ignores its own publications.
                        Ok(line) if line.node != config.node => {
                            line.into_line().map(ClusterEvent::Line)
                        }
                        _ => None,
                    },
                    keys::BAN_NOTICES => serde_json::from_str::<WireSanction>(&payload)
                        .ok()
                        .and_then(|notice| notice.into_event(&config.node)),
                    _ => match serde_json::from_str::<WireKick>(&payload) {
                        Ok(kick) => Some(kick.into_event()),
                        Err(_) => serde_json::from_str::<WirePrivate>(&payload)
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
        std::thread::sleep(backoff);
        backoff = (backoff * 2).min(BACKOFF_MAX);
    }
}
