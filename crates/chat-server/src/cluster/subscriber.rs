//! The subscriber thread: room lines and private messages from Redis.
//!
//! It listens on [`keys::ROOMS`] and on this node's own channel, drops the
//! lines this node published itself, and hands the rest to the reactor as
//! [`ClusterEvent`]s. When the connection breaks it subscribes again, with
//! backoff; what was published meanwhile is not heard (at most once).

use redis::RedisResult;

use super::wire::{WireLine, WirePrivate};
use super::{BACKOFF_MAX, BACKOFF_MIN, BridgeConfig, CONNECT_TIMEOUT, Emitter, keys};
use chat_hub::ClusterEvent;

/// Runs until the reactor is gone.
pub(super) fn run(client: redis::Client, config: BridgeConfig, emit: Emitter) {
    let node_channel = keys::node(&config.node);
    let mut backoff = BACKOFF_MIN;
    loop {
        let result = (|| -> RedisResult<()> {
            let mut con = client.get_connection_with_timeout(CONNECT_TIMEOUT)?;
            let mut pubsub = con.as_pubsub();
            pubsub.subscribe(&[keys::ROOMS, node_channel.as_str()])?;
            backoff = BACKOFF_MIN;
            loop {
                let msg = pubsub.get_message()?;
                let Ok(payload) = msg.get_payload::<String>() else {
                    continue;
                };
                let event = if msg.get_channel_name() == keys::ROOMS {
                    match serde_json::from_str::<WireLine>(&payload) {
                        // A node ignores its own publications.
                        Ok(line) if line.node != config.node => {
                            line.into_line().map(ClusterEvent::Line)
                        }
                        _ => None,
                    }
                } else {
                    serde_json::from_str::<WirePrivate>(&payload)
                        .ok()
                        .and_then(WirePrivate::into_event)
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
