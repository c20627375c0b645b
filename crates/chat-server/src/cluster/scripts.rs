//! The Lua scripts: the ones that keep a nick on one node, and the one that
//! writes room lines. Each runs as one atomic step in Redis: with `EVAL`,
//! and the one that writes room lines, run for every batch, by its hash
//! (`EVALSHA`, `commands.rs`).

/// Claims `KEYS[1]` for node `ARGV[1]` for `ARGV[2]` seconds, or renews our
/// own claim: `SET key node NX EX lease`, except that a key already ours
/// is ours again. 1: ours; 0: another node's.
pub(super) const CLAIM: &str = "local v = redis.call('GET', KEYS[1]) \
    if v == ARGV[1] then redis.call('EXPIRE', KEYS[1], ARGV[2]) return 1 end \
    if v then return 0 end \
    redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[2]) return 1";

/// Deletes `KEYS[1]` only if node `ARGV[1]` holds it.
pub(super) const RELEASE: &str = "if redis.call('GET', KEYS[1]) == ARGV[1] then \
    return redis.call('DEL', KEYS[1]) end return 0";

/// Writes a batch of room lines (and notices) once: one `XADD` per room
/// to its stream, the entry holding that room's lines of the batch (or
/// several entries, each of up to `commands::ENTRY_LINES` lines;
/// `entries.rs`), then one `PUBLISH` on `ARGV[2]` of the batch's entries,
/// each as `ID LEN ENTRY` (`packed.rs`), so subscribers know which entries
/// they heard (why per room and batch: ARCHITECTURE.md, "One stream entry
/// per room per batch"). One publication per batch: a second node costs
/// Redis one fan-out per batch. Being one script, a room's entries are in
/// the order of their ids. The publication is joined by one `table.concat`
/// of the entries as they came: Redis's Lua hashes every byte of every
/// string it makes, so each extra string of the lines costs a pass over them.
///
/// The batch's lines carry their node's sequence numbers, `ARGV[4]` the
/// first and `ARGV[5]` the last, and `KEYS[1]` holds the last one written.
/// A batch at or below it is skipped whole (sent again after a lost reply:
/// it ran); a batch straddling it (regrouped after a reconnection or a
/// failover) writes nothing and returns minus the mark, and the caller
/// sends again what lies above it. A replica has a prefix of the master's
/// scripts, so the mark splits what a new master has from what it lacks.
///
/// `KEYS[1]`: the node's written mark; `KEYS[2..]`: one stream per entry.
/// `ARGV[1]`: `MAXLEN ~` (in entries); `ARGV[2]`: the channel; `ARGV[3]`:
/// the mark's life in seconds; `ARGV[4]`, `ARGV[5]`: the batch's first and
/// last sequence numbers; then `ARGV[4 + i]` the packed lines of
/// `KEYS[i]`'s entry. Sequence numbers stay below 2^53, which Lua's numbers
/// hold exactly; the mark is stored as the string it came as (Lua would
/// print a large number in exponent form). Returns how many entries were
/// added (0: the batch was written before), or minus the mark.
pub(super) const WRITE_LINES: &str = "local mark = tonumber(redis.call('GET', KEYS[1]) or '0') \
    if mark >= tonumber(ARGV[5]) then return 0 end \
    if mark >= tonumber(ARGV[4]) then return -mark end \
    local published = {} \
    for i = 2, #KEYS do \
        local entry = ARGV[4 + i] \
        local id = redis.call('XADD', KEYS[i], 'MAXLEN', '~', ARGV[1], '*', 'packed', entry) \
        published[#published + 1] = id .. ' ' .. #entry .. ' ' \
        published[#published + 1] = entry \
    end \
    redis.call('PUBLISH', ARGV[2], table.concat(published)) \
    redis.call('SET', KEYS[1], ARGV[5], 'EX', ARGV[3]) \
    return #KEYS - 1";
