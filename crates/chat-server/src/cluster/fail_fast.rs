//! A pipeline that fails at its first timeout.
//!
//! The `redis` crate reads every reply of a pipeline even after one read
//! failed (a transaction must see all of them), and each read waits the
//! connection's whole timeout: on a master that stopped answering (frozen,
//! or cut off without a reset) a pipeline of n commands blocks its thread
//! for n timeouts. The bridge threads must notice a dead master within one
//! timeout to move to the new one, so their pipelines go through
//! [`FailFast`], which stops at the first error; the connection is dropped
//! after any error anyway.

use redis::{Connection, ConnectionLike, RedisError, RedisResult, Value};

/// `pipe.query(&mut FailFast(con))`: the pipeline's replies, or the first
/// error without waiting for the rest.
pub struct FailFast<'a>(pub &'a mut Connection);

impl ConnectionLike for FailFast<'_> {
    fn req_packed_command(&mut self, cmd: &[u8]) -> RedisResult<Value> {
        self.0.req_packed_command(cmd)
    }

    fn req_packed_commands(
        &mut self,
        cmd: &[u8],
        offset: usize,
        count: usize,
    ) -> RedisResult<Vec<Value>> {
        self.0.send_packed_command(cmd)?;
        let mut replies = Vec::with_capacity(count);
        for index in 0..offset + count {
            let reply = self.0.recv_response()?;
            match reply {
                // Before `offset`: a transaction's MULTI and QUEUED; an
                // error there aborted it.
                Value::ServerError(e) if index < offset => return Err(RedisError::from(e)),
                _ if index < offset => {}
                reply => replies.push(reply),
            }
        }
        Ok(replies)
    }

    fn get_db(&self) -> i64 {
        self.0.get_db()
    }

    fn check_connection(&mut self) -> bool {
        self.0.check_connection()
    }

    fn is_open(&self) -> bool {
        self.0.is_open()
    }
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, Instant};

    use super::FailFast;

    #[test]
    fn a_pipeline_to_a_frozen_redis_fails_within_one_timeout() {
        let Some(redis) = chat_tests::RedisProcess::start_with(&["--enable-debug-command", "yes"])
        else {
            return; // skipped (or failed, when required) by the harness
        };
        let client = redis::Client::open(redis.url()).unwrap_or_else(|e| panic!("{e}"));
        let connect = || {
            let con = client
                .get_connection_with_timeout(Duration::from_secs(5))
                .unwrap_or_else(|e| panic!("{e}"));
            con.set_read_timeout(Some(Duration::from_millis(500)))
                .unwrap_or_else(|e| panic!("{e}"));
            con
        };
        let mut con = connect();
        let mut pipe = redis::pipe();
        pipe.set("a", 1).ignore().set("b", 2).ignore().get("a");
        let (a,): (i64,) = pipe
            .query(&mut FailFast(&mut con))
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(a, 1, "answered replies come back as from the connection");

        let mut sleeper = connect();
        std::thread::spawn(move || {
            let _ = redis::cmd("DEBUG")
                .arg("SLEEP")
                .arg(4)
                .query::<()>(&mut sleeper);
        });
        std::thread::sleep(Duration::from_millis(200));
        let began = Instant::now();
        let frozen = pipe.query::<(i64,)>(&mut FailFast(&mut con));
        let took = began.elapsed();
        assert!(frozen.is_err(), "no answer is an error: {frozen:?}");
        assert!(
            took < Duration::from_millis(1500),
            "one timeout (500 ms), not one per command: {took:?}"
        );
    }
}
