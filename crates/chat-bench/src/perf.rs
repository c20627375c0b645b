//! Counting what a server asks of the kernel with `perf stat`: write-family
//! and read-family system calls, the waits of its loop (`epoll_wait` for
//! chat-server and Redis, `select` for ncat), packets handed to loopback
//! and CPU time, attached to the server's pid for part of a window.
//!
//! `/proc/PID/io` counts `write`/`writev` but not `send*`, and Redis sends
//! with `write` while ncat and chat-server use `write`/`writev`: only the
//! syscall tracepoints count every server alike. `perf` runs as a child
//! process, bounded in time (`-- sleep SECS`), killed and reaped if it
//! outlasts the window it measures; its CSV (`-x,`) goes to a pipe that is read once it exited
//! (a few hundred bytes, far below a pipe's buffer, so it never blocks).

use std::io::Read as _;
use std::process::{Child, Command, Stdio};

/// The events counted, in the order [`Counts`] holds them, except that
/// every wait from `syscalls:sys_enter_epoll_wait` on adds to one count
/// (see [`slot`]).
pub const EVENTS: [&str; 14] = [
    "syscalls:sys_enter_write",
    "syscalls:sys_enter_writev",
    "syscalls:sys_enter_sendto",
    "syscalls:sys_enter_sendmsg",
    "syscalls:sys_enter_read",
    "syscalls:sys_enter_recvfrom",
    "net:net_dev_queue",
    "task-clock",
    // A server's loop turns, whichever call it waits in: ncat's loop is
    // select(), so epoll_wait alone would show it never waiting.
    "syscalls:sys_enter_epoll_wait",
    "syscalls:sys_enter_epoll_pwait",
    "syscalls:sys_enter_select",
    "syscalls:sys_enter_pselect6",
    "syscalls:sys_enter_poll",
    "syscalls:sys_enter_ppoll",
];

/// Where event `i` of [`EVENTS`] is counted: its own slot, or for the
/// waits, one slot for all of them.
fn slot(i: usize) -> usize {
    i.min(WAITS)
}

/// The slot of the waits.
const WAITS: usize = 8;

/// What one `perf stat` counted.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Counts {
    pub write: f64,
    pub writev: f64,
    pub sendto: f64,
    pub sendmsg: f64,
    pub read: f64,
    pub recvfrom: f64,
    /// `net:net_dev_queue`: packets the server's threads handed to a
    /// device (loopback here), one TCP segment each.
    pub packets: f64,
    /// CPU time of the server's threads, ms.
    pub task_clock_ms: f64,
    /// epoll_wait + epoll_pwait + select + pselect6 + poll + ppoll: the
    /// server's loop turns.
    pub waits: f64,
    /// How long perf counted (the `sleep` it ran), s.
    pub secs: f64,
}

impl Counts {
    /// write + writev + sendto + sendmsg.
    pub fn writes(&self) -> f64 {
        self.write + self.writev + self.sendto + self.sendmsg
    }

    /// read + recvfrom.
    pub fn reads(&self) -> f64 {
        self.read + self.recvfrom
    }
}

/// The `perf stat` command line attached to `pid` for `secs`.
pub fn args(pid: u32, secs: f64) -> Vec<String> {
    vec![
        "stat".into(),
        "-x,".into(),
        "-p".into(),
        pid.to_string(),
        "-e".into(),
        EVENTS.join(","),
        "--".into(),
        "sleep".into(),
        format!("{secs:.3}"),
    ]
}

/// Whether `perf stat` with [`EVENTS`] works here; if not, why (no perf,
/// no tracefs, no permission), in words for BENCHMARKS.md.
pub fn available() -> Result<(), String> {
    let out = Command::new("perf")
        .args(["stat", "-x,", "-e", &EVENTS.join(","), "--", "true"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .output()
        .map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => {
                "perf is not installed (`apt-get install linux-perf`)".to_string()
            }
            _ => format!("perf does not start: {e}"),
        })?;
    let text = String::from_utf8_lossy(&out.stderr);
    if !out.status.success() {
        return Err(format!("`perf stat` failed: {}", first_line(&text)));
    }
    parse(&text, 0.0).map(|_| ())
}

fn first_line(text: &str) -> String {
    text.lines()
        .map(str::trim)
        .find(|l| !l.is_empty())
        .unwrap_or("no output")
        .to_string()
}

/// Parses `perf stat -x,` output (`value,unit,event,...` per line);
/// `secs` is how long it counted. An event missing, `<not counted>` or
/// `<not supported>` is an error: a figure is measured or it is not.
pub fn parse(text: &str, secs: f64) -> Result<Counts, String> {
    let mut values = [None; EVENTS.len()];
    for line in text.lines() {
        let fields: Vec<&str> = line.split(',').collect();
        if line.starts_with('#') || fields.len() < 3 {
            continue;
        }
        let Some(i) = EVENTS.iter().position(|e| *e == fields[2].trim()) else {
            continue;
        };
        let value = fields[0].trim();
        values[i] = Some(
            value
                .parse::<f64>()
                .map_err(|_| format!("perf did not count {}: {value}", EVENTS[i]))?,
        );
    }
    let mut got = [0.0; WAITS + 1];
    for (i, v) in values.iter().enumerate() {
        got[slot(i)] += v.ok_or_else(|| format!("perf printed no count of {}", EVENTS[i]))?;
    }
    let [
        write,
        writev,
        sendto,
        sendmsg,
        read,
        recvfrom,
        packets,
        task_clock_ms,
        waits,
    ] = got;
    Ok(Counts {
        write,
        writev,
        sendto,
        sendmsg,
        read,
        recvfrom,
        packets,
        task_clock_ms,
        waits,
        secs,
    })
}

/// A `perf stat` running against a server.
#[derive(Debug)]
pub struct Probe {
    child: Child,
    secs: f64,
}

impl Probe {
    /// Starts counting `pid`'s events for `secs`.
    pub fn start(pid: u32, secs: f64) -> Result<Probe, String> {
        let child = Command::new("perf")
            .args(args(pid, secs))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| format!("perf does not start: {e}"))?;
        Ok(Probe { child, secs })
    }

    /// The counts, once perf exited (None while it runs).
    pub fn poll(&mut self) -> Option<Result<Counts, String>> {
        match self.child.try_wait() {
            Ok(None) => None,
            Ok(Some(status)) => Some(self.output(status.success())),
            Err(e) => Some(Err(format!("cannot wait for perf: {e}"))),
        }
    }

    fn output(&mut self, success: bool) -> Result<Counts, String> {
        let mut text = String::new();
        if let Some(mut err) = self.child.stderr.take() {
            let _ = err.read_to_string(&mut text);
        }
        if !success {
            return Err(format!("`perf stat` failed: {}", first_line(&text)));
        }
        parse(&text, self.secs)
    }
}

impl Drop for Probe {
    fn drop(&mut self) {
        // Never leave a perf attached: kill it if it still runs, and reap it.
        if matches!(self.child.try_wait(), Ok(None)) {
            let _ = self.child.kill();
        }
        let _ = self.child.wait();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const OUT: &str = "\
# started on Sun Nov 30
12,,syscalls:sys_enter_write,1500000000,100.00,,
3400,,syscalls:sys_enter_writev,1500000000,100.00,,
0,,syscalls:sys_enter_sendto,1500000000,100.00,,
1,,syscalls:sys_enter_sendmsg,1500000000,100.00,,
900,,syscalls:sys_enter_read,1500000000,100.00,,
0,,syscalls:sys_enter_recvfrom,1500000000,100.00,,
750,,syscalls:sys_enter_epoll_wait,1500000000,100.00,,
3000,,net:net_dev_queue,1500000000,100.00,,
1234.50,msec,task-clock,1500000000,100.00,0.823,CPUs utilized
0,,syscalls:sys_enter_epoll_pwait,1500000000,100.00,,
20,,syscalls:sys_enter_select,1500000000,100.00,,
0,,syscalls:sys_enter_pselect6,1500000000,100.00,,
5,,syscalls:sys_enter_poll,1500000000,100.00,,
0,,syscalls:sys_enter_ppoll,1500000000,100.00,,
";

    #[test]
    fn csv_is_parsed() {
        let c = parse(OUT, 1.5).expect("parses");
        assert_eq!(c.writes(), 3413.0);
        assert_eq!(c.reads(), 900.0);
        assert_eq!((c.waits, c.packets), (775.0, 3000.0));
        assert_eq!((c.task_clock_ms, c.secs), (1234.5, 1.5));
    }

    #[test]
    fn a_count_missing_or_not_counted_is_an_error() {
        let partial: String = OUT
            .lines()
            .filter(|l| !l.contains("net_dev"))
            .collect::<Vec<_>>()
            .join("\n");
        let e = parse(&partial, 1.0).expect_err("no packets");
        assert!(e.contains("net:net_dev_queue"), "{e}");
        let not = OUT.replace("3000,,net", "<not counted>,,net");
        let e = parse(&not, 1.0).expect_err("not counted");
        assert!(e.contains("<not counted>"), "{e}");
    }

    #[test]
    fn the_command_is_bounded() {
        let a = args(42, 1.5).join(" ");
        assert!(
            a.starts_with("stat -x, -p 42 -e syscalls:sys_enter_write,"),
            "{a}"
        );
        assert!(
            a.ends_with(",syscalls:sys_enter_ppoll -- sleep 1.500"),
            "{a}"
        );
    }
}
