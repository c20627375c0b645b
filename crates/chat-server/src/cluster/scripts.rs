//! The Lua scripts that keep a nick on one node: run with `EVAL`, so each
//! check-and-set is one atomic step in Redis.

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
