//! A client that talks as fast as a chat allows (a few thousand lines a
//! second), for tests that kill a server in the middle of it.

use std::io::Write;
use std::net::{SocketAddr, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;
use std::time::Duration;

/// Sends `setup`, then `prefix 0`, `prefix 1`, ... in chunks of 20 lines
/// every 2 ms until `stop` is set or the connection fails; returns how
/// many lines it wrote.
pub fn flood(addr: SocketAddr, setup: &str, prefix: &str, stop: Arc<AtomicBool>) -> usize {
    let Ok(mut stream) = TcpStream::connect(addr) else {
        return 0;
    };
    if stream.write_all(setup.as_bytes()).is_err() {
        return 0;
    }
    let mut sent = 0;
    while !stop.load(Ordering::Relaxed) {
        let mut chunk = String::new();
        for _ in 0..20 {
            chunk.push_str(&format!("{prefix} {sent}\n"));
            sent += 1;
        }
        if stream.write_all(chunk.as_bytes()).is_err() {
            break;
        }
        thread::sleep(Duration::from_millis(2));
    }
    sent
}
