//! What each [`ClusterRequest`] does in Redis, and the events it answers
//! with: nick claims and releases (through the [`scripts`]), member lists,
//! private messages and kicks to the node holding a nick, bans and unbans,
//! history reads, reading a room's stream back after missed lines
//! (`CatchUp`), and the periodic snapshot that renews this node's leases.
//!
//! Room lines are not here: the command thread publishes them in batches
//! (`CommandThread::publish`). The command thread runs the writes, the query
//! thread the reads (`/who`, `/rooms`, history); both answer with
//! [`unavailable`] when Redis cannot be asked.

use std::collections::{HashMap, HashSet};

use chat_proto::{nick_key, room_key};
use redis::{Commands, Connection, RedisResult};

use super::fail_fast::FailFast;
use super::wire::{self, WireKick, WirePrivate, WireSanction};
use super::{BridgeConfig, entries, keys, millis, now_ms, scripts};
use chat_hub::{ClaimResult, ClusterEvent, ClusterRequest, RoomLine};

/// Runs one request against Redis; returns the events it produces.
pub(super) fn run(
    con: &mut Connection,
    config: &BridgeConfig,
    request: ClusterRequest,
) -> RedisResult<Vec<ClusterEvent>> {
    let node = config.node.as_str();
    let lease = config.lease.as_secs().max(1);
    Ok(match request {
        // `CommandThread::handle` sends these to `publish`, in batches.
        ClusterRequest::Publish(_) => Vec::new(),
        ClusterRequest::Claim { client, nick } => {
            let ours: i64 = redis::cmd("EVAL")
                .arg(scripts::CLAIM)
                .arg(1)
                .arg(keys::nick(&nick))
                .arg(node)
                .arg(lease)
                .query(con)?;
            let result = if ours == 1 {
                ClaimResult::Claimed
            } else {
                ClaimResult::Taken
            };
            vec![ClusterEvent::Claimed {
                client,
                nick,
                result,
            }]
        }
        ClusterRequest::Release { nick } => {
            redis::pipe()
                .cmd("EVAL")
                .arg(scripts::RELEASE)
                .arg(1)
                .arg(keys::nick(&nick))
                .arg(node)
                .ignore()
                .cmd("HDEL")
                .arg(keys::members(node))
                .arg(&nick)
                .ignore()
                .query::<()>(&mut FailFast(con))?;
            Vec::new()
        }
        ClusterRequest::Member { nick, rooms } => {
            con.hset::<_, _, _, ()>(keys::members(node), nick, rooms.join(ROOM_SEPARATOR))?;
            Vec::new()
        }
        ClusterRequest::Sync { members } => sync(con, node, lease, &members)?,
        ClusterRequest::Private {
            client,
            from,
            to,
            text,
            time,
        } => {
            let holder: Option<String> = con.get(keys::nick(&to))?;
            let mut receivers = 0;
            if let Some(holder) = holder.filter(|holder| holder != node) {
                let payload = WirePrivate::new(&from, &to, &text, time);
                let payload = serde_json::to_string(&payload).unwrap_or_default();
                receivers = con.publish(keys::node(&holder), payload)?;
            }
            let error: Option<String> = (receivers == 0u64).then(|| format!("no such nick: {to}"));
            vec![ClusterEvent::PrivateSent {
                client,
                from,
                to,
                text,
                error,
            }]
        }
        ClusterRequest::History {
            client,
            token,
            room,
            count,
        } => {
            let lines = history(con, config, &room, count)?;
            vec![ClusterEvent::History {
                client,
                token,
                lines: Some(lines),
            }]
        }
        ClusterRequest::CatchUp { room, after, token } => {
            // From `after`'s entry, itself included: the read may resume
            // inside it (the hub passes over the lines it had).
            let key = keys::history(&room);
            let mut from = after.entry.to_string();
            let mut entries = Vec::new();
            let more = loop {
                let reply: redis::streams::StreamRangeReply =
                    con.xrange_count(&key, &from, "+", CATCH_UP_PAGE)?;
                let full = reply.ids.len() >= CATCH_UP_PAGE;
                let mut last_read = true;
                for entry in &reply.ids {
                    let lines = entries::read(entry);
                    last_read = !lines.is_empty();
                    entries.extend(lines);
                }
                // The hub asks for the next page from the last line it got:
                // a full page ending in entries that hold no line it can
                // read (a later build's) would be asked for again forever,
                // so the read goes on past them here.
                match reply.ids.last() {
                    Some(last) if full && !last_read => from = format!("({}", last.id),
                    _ => break full,
                }
            };
            vec![ClusterEvent::CaughtUp {
                room,
                token,
                entries: Some(entries),
                more,
            }]
        }
        ClusterRequest::Who { client, room } => {
            let key = room_key(&room);
            let mut nicks = Vec::new();
            for (nick, their_rooms) in remote_members(con, node)? {
                if their_rooms.iter().any(|room| room_key(room) == key) {
                    nicks.push(nick);
                }
            }
            vec![ClusterEvent::Members {
                client,
                room,
                nicks: Some(nicks),
            }]
        }
        ClusterRequest::Rooms { client } => {
            let mut counts: HashMap<String, (String, usize)> = HashMap::new();
            for (_, rooms) in remote_members(con, node)? {
                for room in rooms {
                    counts.entry(room_key(&room)).or_insert((room, 0)).1 += 1;
                }
            }
            vec![ClusterEvent::Rooms {
                client,
                rooms: Some(counts.into_values().collect()),
            }]
        }
        ClusterRequest::Ban { net, until, by } => {
            let notice = WireSanction::ban(node, net, until, &by);
            redis::pipe()
                // GT: banning again for less does not shorten a ban.
                .cmd("ZADD")
                .arg(keys::BANS)
                .arg("GT")
                .arg(until)
                .arg(wire::ban_member(net, &by))
                .ignore()
                .zrembyscore(keys::BANS, "-inf", now_ms() / 1000)
                .ignore()
                .publish(
                    keys::BAN_NOTICES,
                    serde_json::to_string(&notice).unwrap_or_default(),
                )
                .ignore()
                .query::<()>(&mut FailFast(con))?;
            Vec::new()
        }
        ClusterRequest::Unban { net } => {
            let members: Vec<String> = con.zrange(keys::BANS, 0, -1)?;
            let lifted: Vec<&String> = members
                .iter()
                .filter(|member| wire::parse_ban_member(member).is_some_and(|(n, _)| n == net))
                .collect();
            let notice = WireSanction::unban(node, net);
            let mut pipe = redis::pipe();
            if !lifted.is_empty() {
                pipe.zrem(keys::BANS, lifted).ignore();
            }
            pipe.publish(
                keys::BAN_NOTICES,
                serde_json::to_string(&notice).unwrap_or_default(),
            )
            .ignore()
            .query::<()>(&mut FailFast(con))?;
            Vec::new()
        }
        ClusterRequest::Kick {
            asker,
            nick,
            by,
            reason,
        } => {
            let holder: Option<String> = con.get(keys::nick(&nick))?;
            let mut receivers = 0;
            if let Some(holder) = holder.filter(|holder| holder != node) {
                let payload = WireKick::new(&nick, &by, reason.as_deref());
                let payload = serde_json::to_string(&payload).unwrap_or_default();
                receivers = con.publish(keys::node(&holder), payload)?;
            }
            let error = (receivers == 0u64).then(|| format!("no such nick: {nick}"));
            vec![ClusterEvent::KickSent { asker, nick, error }]
        }
    })
}

/// The bans in force, as events, for a node that has just connected.
pub(super) fn bans(con: &mut Connection) -> RedisResult<Vec<ClusterEvent>> {
    let now = format!("({}", now_ms() / 1000);
    let bans: Vec<(String, f64)> = con.zrangebyscore_withscores(keys::BANS, now, "+inf")?;
    Ok(bans
        .into_iter()
        .filter_map(|(member, until)| {
            let (net, by) = wire::parse_ban_member(&member)?;
            Some(ClusterEvent::Banned {
                net,
                until: until as i64,
                by,
            })
        })
        .collect())
}

/// Renews this node's leases and member list from a snapshot.
fn sync(
    con: &mut Connection,
    node: &str,
    lease: u64,
    members: &[(String, Vec<String>)],
) -> RedisResult<Vec<ClusterEvent>> {
    let mut claims = redis::pipe();
    for (nick, _) in members {
        claims
            .cmd("EVAL")
            .arg(scripts::CLAIM)
            .arg(1)
            .arg(keys::nick(nick))
            .arg(node)
            .arg(lease);
    }
    let ours: Vec<i64> = if members.is_empty() {
        Vec::new()
    } else {
        claims.query(&mut FailFast(con))?
    };
    let key = keys::members(node);
    let mut list = redis::pipe();
    list.atomic().del(&key).ignore();
    for chunk in members.chunks(512) {
        let chunk: Vec<(&str, String)> = chunk
            .iter()
            .map(|(nick, rooms)| (nick.as_str(), rooms.join(ROOM_SEPARATOR)))
            .collect();
        list.hset_multiple(&key, &chunk).ignore();
    }
    let lease_ms = i64::try_from(lease).unwrap_or(15) * 1000;
    list.expire(&key, lease as i64)
        .ignore()
        .zadd(keys::NODES, node, now_ms() + lease_ms)
        .ignore()
        .zrembyscore(keys::NODES, "-inf", now_ms())
        .ignore()
        .query::<()>(&mut FailFast(con))?;
    let lost = members
        .iter()
        .zip(ours)
        .filter(|(_, ours)| *ours == 0)
        .map(|((nick, _), _)| ClusterEvent::NickLost { nick: nick.clone() });
    Ok(lost.collect())
}

/// Entries read back per [`ClusterRequest::CatchUp`]; the hub asks for the
/// next page when one is full. An entry holds up to
/// [`ENTRY_LINES`](super::commands::ENTRY_LINES) lines, so a page holds at
/// most some tens of thousands.
const CATCH_UP_PAGE: usize = 100;

/// Pages of a stream read for one history: notices share the stream with
/// the lines, so a page may hold fewer lines than asked.
const HISTORY_PAGES: usize = 5;

/// Entries of a history's first page: an entry holds one line or many
/// (one per line when the room is quiet, many under load), so the first
/// page is small, the later ones as many entries as lines asked.
const HISTORY_FIRST_PAGE: usize = 16;

/// The last `count` lines said in `room` (notices left out), oldest first,
/// none older than the retention (entries are read newest first until
/// they hold `count` lines).
fn history(
    con: &mut Connection,
    config: &BridgeConfig,
    room: &str,
    count: usize,
) -> RedisResult<Vec<RoomLine>> {
    // Entry ids are the milliseconds they were added at: none older than
    // the retention is read.
    let oldest = match config.history_retention {
        Some(retention) => now_ms().saturating_sub(millis(retention)).to_string(),
        None => "-".to_owned(),
    };
    let mut lines: Vec<RoomLine> = Vec::new();
    let mut end = "+".to_owned();
    let mut page = count.min(HISTORY_FIRST_PAGE);
    for _ in 0..HISTORY_PAGES {
        if page == 0 {
            break;
        }
        let reply: redis::streams::StreamRangeReply =
            con.xrevrange_count(keys::history(room), &end, &oldest, page)?;
        for entry in &reply.ids {
            end = format!("({}", entry.id);
            // Newest first, as the entries come.
            for (_, line) in entries::read(entry).into_iter().rev() {
                if line.kind.is_said() && lines.len() < count {
                    lines.push(line);
                }
            }
        }
        if lines.len() >= count || reply.ids.len() < page {
            break;
        }
        page = count;
    }
    lines.reverse();
    Ok(lines)
}

/// Every (nick, room) on the other live nodes.
/// Between the rooms of one member in its node's member hash (room names
/// hold no spaces).
const ROOM_SEPARATOR: &str = " ";

/// The members of the other live nodes, each with its rooms.
fn remote_members(con: &mut Connection, node: &str) -> RedisResult<Vec<(String, Vec<String>)>> {
    let nodes: Vec<String> = con.zrangebyscore(keys::NODES, now_ms(), "+inf")?;
    let mut members = Vec::new();
    let mut seen = HashSet::new();
    for other in nodes.iter().filter(|other| *other != node) {
        let theirs: HashMap<String, String> = con.hgetall(keys::members(other))?;
        for (nick, rooms) in theirs {
            if seen.insert(nick_key(&nick)) {
                let rooms = rooms.split(ROOM_SEPARATOR).filter(|room| !room.is_empty());
                members.push((nick, rooms.map(str::to_owned).collect()));
            }
        }
    }
    Ok(members)
}

/// The answer to `request` when Redis cannot be asked; `None`: it needs none.
pub(super) fn unavailable(request: ClusterRequest) -> Option<ClusterEvent> {
    Some(match request {
        ClusterRequest::Claim { client, nick } => ClusterEvent::Claimed {
            client,
            nick,
            result: ClaimResult::Unavailable,
        },
        ClusterRequest::Private {
            client,
            from,
            to,
            text,
            ..
        } => ClusterEvent::PrivateSent {
            client,
            error: Some(format!(
                "no such nick on this server: {to} (the cluster is unreachable)"
            )),
            from,
            to,
            text,
        },
        ClusterRequest::History { client, token, .. } => ClusterEvent::History {
            client,
            token,
            lines: None,
        },
        ClusterRequest::CatchUp { room, token, .. } => ClusterEvent::CaughtUp {
            room,
            token,
            entries: None,
            more: false,
        },
        ClusterRequest::Who { client, room } => ClusterEvent::Members {
            client,
            room,
            nicks: None,
        },
        ClusterRequest::Rooms { client } => ClusterEvent::Rooms {
            client,
            rooms: None,
        },
        ClusterRequest::Kick { asker, nick, .. } => ClusterEvent::KickSent {
            asker,
            error: Some(format!(
                "no such nick on this server: {nick} (the cluster is unreachable)"
            )),
            nick,
        },
        // Applied on this node only.
        ClusterRequest::Ban { .. } | ClusterRequest::Unban { .. } => return None,
        ClusterRequest::Publish(_)
        | ClusterRequest::Release { .. }
        | ClusterRequest::Member { .. }
        | ClusterRequest::Sync { .. } => return None,
    })
}
