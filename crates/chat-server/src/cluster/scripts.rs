//! The Lua scripts: the ones that keep a nick on one node, and the one that
//! writes room lines. Run with `EVAL`, so each is one atomic step in Redis.

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

/// Writes a batch of room lines (and notices), each once: `XADD` to its
/// room's stream, then one `PUBLISH` on `ARGV[2]` for the whole batch: a
/// JSON array of the lines, each with its new entry's id put first in its
/// JSON (`{"id":"MS-SEQ",` + the rest), so subscribers know which entries
/// they heard. One publication per batch, not per line: a second node
/// costs Redis one fan-out per batch. Being one script, a room's
/// copies are in the order of their ids.
///
/// Each line carries its node's sequence number, and `KEYS[1]` holds the
/// last one written: a line at or below it is skipped. So a batch sent
/// again after a lost reply (it may have run) is not written twice.
///
/// `KEYS[1]`: the node's written mark; `KEYS[2..]`: one stream per line.
/// `ARGV[1]`: `MAXLEN ~`; `ARGV[2]`: the channel; `ARGV[3]`: the mark's
/// life in seconds; then per line `i` (its stream `KEYS[i]`, from 2):
/// `ARGV[2i]` its sequence number, `ARGV[2i+1]` its JSON. Sequence numbers
/// stay below 2^53, which Lua's numbers hold exactly; the mark is stored as
/// the string it came as (Lua would print a large number in exponent form).
/// Returns how many lines were added.
pub(super) const WRITE_LINES: &str = "local mark = redis.call('GET', KEYS[1]) \
    local written = tonumber(mark or '0') \
    local published = {} \
    for i = 2, #KEYS do \
        local seq = ARGV[2 * i] \
        if tonumber(seq) > written then \
            local json = ARGV[2 * i + 1] \
            local id = redis.call('XADD', KEYS[i], 'MAXLEN', '~', ARGV[1], '*', 'line', json) \
            published[#published + 1] = '{\"id\":\"' .. id .. '\",' .. string.sub(json, 2) \
            written = tonumber(seq) \
            mark = seq \
        end \
    end \
    if #published > 0 then \
        redis.call('PUBLISH', ARGV[2], '[' .. table.concat(published, ',') .. ']') \
    end \
    if mark then redis.call('SET', KEYS[1], mark, 'EX', ARGV[3]) end \
    return #published";
