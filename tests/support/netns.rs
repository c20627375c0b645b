//! A network namespace of a test's own, joined to the test's namespace by
//! veth pairs: a real network path to cut (`ip link set … down`), delay and
//! lose packets on (`tc qdisc … netem`, or `tbf` where the kernel has no
//! netem), with Redis (or anything) listening inside.
//!
//! Made with `ip netns` and `ip link`, which need root (or CAP_NET_ADMIN):
//! without them the calling test is skipped, or fails under
//! `CHAT_TESTS_REQUIRE=1` ([`crate::missing`]). Names are unique per lab
//! (process id and a counter), addresses private (`10.231.X.Y/30`, a /30 per
//! link), and everything is removed when the [`NetLab`] is dropped, a
//! failing test included; what a killed test process (no drop runs) left
//! behind is removed by the next lab made on the machine. Traffic only
//! crosses these links.

use std::net::Ipv4Addr;
use std::process::Command;
use std::sync::atomic::{AtomicU32, Ordering};

use crate::{missing, require_tool};

static LABS: AtomicU32 = AtomicU32::new(0);

/// A namespace and its links. Link `i` has an address on each side:
/// [`NetLab::host_addr`] here, [`NetLab::inner_addr`] in the namespace.
#[derive(Debug)]
pub struct NetLab {
    namespace: String,
    /// The host-side ends of the veth pairs, and the namespace-side ones.
    host_ends: Vec<String>,
    inner_ends: Vec<String>,
    /// The third octet of this lab's addresses.
    subnet: u8,
    /// How the links are shaped, for the report.
    pub shaping: String,
}

impl NetLab {
    /// A namespace joined by `links` veth pairs, each up and addressed.
    /// `None` when this host does not allow it: the test is then skipped,
    /// or fails under `CHAT_TESTS_REQUIRE=1`.
    pub fn new(links: usize) -> Option<NetLab> {
        require_tool("ip")?;
        require_tool("tc")?;
        let serial = LABS.fetch_add(1, Ordering::Relaxed);
        let pid = std::process::id();
        // Spread labs of concurrent test processes over 10.231.0-249.
        let subnet = u8::try_from((pid.wrapping_mul(7).wrapping_add(serial)) % 250).unwrap_or(0);
        // The name says whose it is and what it holds, for `sweep_stale`.
        let namespace = format!("{PREFIX}{pid}-{serial}-{subnet}");
        if let Err(why) = ip(&["netns", "add", &namespace]) {
            missing("network namespaces (root or CAP_NET_ADMIN)", &why);
            return None;
        }
        sweep_stale();
        let tag = link_tag(pid, serial);
        let mut lab = NetLab {
            namespace,
            host_ends: Vec::new(),
            inner_ends: Vec::new(),
            subnet,
            shaping: "none".into(),
        };
        lab.inside(&["ip", "link", "set", "lo", "up"]);
        // While a link is down its /30 route is gone: this keeps its
        // packets from taking the default route out of the machine.
        lab.must(&["route", "add", "unreachable", &lab.subnet_range()]);
        for link in 0..links {
            let (host, inner) = (format!("{tag}h{link}"), format!("{tag}n{link}"));
            lab.must(&["link", "add", &host, "type", "veth", "peer", "name", &inner]);
            lab.host_ends.push(host.clone());
            lab.must(&["link", "set", &inner, "netns", &lab.namespace]);
            lab.inner_ends.push(inner.clone());
            let (here, there) = (lab.host_addr(link), lab.inner_addr(link));
            lab.must(&["addr", "add", &format!("{here}/30"), "dev", &host]);
            lab.must(&["link", "set", &host, "up"]);
            lab.inside(&["ip", "addr", "add", &format!("{there}/30"), "dev", &inner]);
            lab.inside(&["ip", "link", "set", &inner, "up"]);
        }
        Some(lab)
    }

    /// `10.231.X.0/24`: every address of this lab.
    fn subnet_range(&self) -> String {
        format!("10.231.{}.0/24", self.subnet)
    }

    pub fn namespace(&self) -> &str {
        &self.namespace
    }

    /// This side's address on link `link`.
    pub fn host_addr(&self, link: usize) -> Ipv4Addr {
        Ipv4Addr::new(10, 231, self.subnet, Self::octet(link, 1))
    }

    /// The namespace's address on link `link`.
    pub fn inner_addr(&self, link: usize) -> Ipv4Addr {
        Ipv4Addr::new(10, 231, self.subnet, Self::octet(link, 2))
    }

    fn octet(link: usize, host: usize) -> u8 {
        u8::try_from(link * 4 + host).unwrap_or_else(|_| panic!("too many links: {link}"))
    }

    /// `argv` run inside the namespace, for [`crate::Proc`] and the like:
    /// `ip netns exec NAMESPACE argv…`.
    pub fn command(&self, argv: &[&str]) -> Command {
        let mut cmd = Command::new("ip");
        cmd.args(["netns", "exec", &self.namespace]).args(argv);
        cmd
    }

    /// Delays (and where netem exists, loses) packets both ways on every
    /// link: netem with `delay 20ms 10ms loss 1%`; without netem (this
    /// machine's kernel has no `sch_netem`) a `tbf` rate limit, whose queue
    /// delays packets instead. Says on stderr which it used.
    pub fn shape(&mut self) {
        let netem = ["netem", "delay", "20ms", "10ms", "loss", "1%"];
        let tbf = ["tbf", "rate", "4mbit", "burst", "8kb", "latency", "100ms"];
        let mut used = "netem delay 20ms 10ms loss 1%";
        for link in 0..self.host_ends.len() {
            let (host, inner) = (self.host_ends[link].clone(), self.inner_ends[link].clone());
            let add = |dev: &str, qdisc: &[&str]| {
                let mut args = vec!["qdisc", "add", "dev", dev, "root"];
                args.extend_from_slice(qdisc);
                args.iter().map(|a| (*a).to_owned()).collect::<Vec<_>>()
            };
            let here = |args: Vec<String>| run("tc", &args);
            let inside = |args: Vec<String>| {
                let mut argv = vec![
                    "netns".to_owned(),
                    "exec".to_owned(),
                    self.namespace.clone(),
                ];
                argv.push("tc".into());
                argv.extend(args);
                run("ip", &argv)
            };
            let with_netem = here(add(&host, &netem)).and_then(|_| inside(add(&inner, &netem)));
            if let Err(why) = with_netem {
                if used.starts_with("netem") {
                    say(&format!(
                        "netem is unavailable ({}): shaping with tbf (rate 4mbit, queueing delay) instead",
                        why.lines().last().unwrap_or_default()
                    ));
                }
                used = "tbf rate 4mbit burst 8kb latency 100ms (no netem: no loss)";
                let _ = here(vec![
                    "qdisc".into(),
                    "del".into(),
                    "dev".into(),
                    host.clone(),
                    "root".into(),
                ]);
                if let Err(why) = here(add(&host, &tbf)).and_then(|_| inside(add(&inner, &tbf))) {
                    panic!("tc cannot shape {host}: {why}");
                }
            }
        }
        self.shaping = used.to_owned();
    }

    /// Cuts link `link` (its host end goes down: packets go nowhere).
    pub fn cut(&self, link: usize) {
        self.must(&["link", "set", &self.host_ends[link], "down"]);
    }

    /// Brings link `link` back.
    pub fn heal(&self, link: usize) {
        self.must(&["link", "set", &self.host_ends[link], "up"]);
    }

    fn must(&self, args: &[&str]) {
        if let Err(why) = ip(args) {
            panic!("{why}");
        }
    }

    fn inside(&self, argv: &[&str]) {
        let mut args = vec!["netns", "exec", &self.namespace];
        args.extend_from_slice(argv);
        self.must(&args);
    }
}

impl Drop for NetLab {
    fn drop(&mut self) {
        // Deleting the namespace deletes the veth ends inside it and so
        // their pairs; the host ends are deleted too in case one was
        // never moved in.
        let _ = ip(&["netns", "del", &self.namespace]);
        let _ = ip(&["route", "del", "unreachable", &self.subnet_range()]);
        for host in &self.host_ends {
            let _ = ip(&["link", "del", host]);
        }
    }
}

/// Every lab's namespace is named `PREFIX` + `PID-SERIAL-SUBNET`.
const PREFIX: &str = "chat-test-";

/// The start of a lab's interface names (at most 15 characters in all).
fn link_tag(pid: u32, serial: u32) -> String {
    format!("cq{:x}{serial}", pid & 0xffff)
}

/// Removes the labs of test processes that are gone: a test killed (by a
/// timeout, say) runs no drop. Their processes (killed by id), namespace,
/// links and route go.
fn sweep_stale() {
    let Ok(entries) = std::fs::read_dir("/run/netns") else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let Some(rest) = name.strip_prefix(PREFIX) else {
            continue;
        };
        let fields: Vec<u32> = rest.split('-').filter_map(|f| f.parse().ok()).collect();
        let [pid, serial, subnet] = fields[..] else {
            continue;
        };
        if std::path::Path::new(&format!("/proc/{pid}")).exists() {
            continue; // its test is running
        }
        if let Ok(pids) = ip(&["netns", "pids", &name]) {
            for pid in pids.split_whitespace() {
                let _ = Command::new("kill").args(["-KILL", pid]).status();
            }
        }
        let _ = ip(&["netns", "del", &name]);
        for link in 0..8 {
            let _ = ip(&["link", "del", &format!("{}h{link}", link_tag(pid, serial))]);
        }
        let _ = ip(&[
            "route",
            "del",
            "unreachable",
            &format!("10.231.{subnet}.0/24"),
        ]);
    }
}

fn ip(args: &[&str]) -> Result<String, String> {
    let args: Vec<String> = args.iter().map(|a| (*a).to_owned()).collect();
    run("ip", &args)
}

/// Runs `program args`; its stdout, or the command and all it printed.
fn run(program: &str, args: &[String]) -> Result<String, String> {
    let shown = format!("{program} {}", args.join(" "));
    let output = Command::new(program)
        .args(args)
        .output()
        .map_err(|e| format!("`{shown}` did not run: {e}"))?;
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    if output.status.success() {
        return Ok(stdout);
    }
    Err(format!(
        "`{shown}` failed ({}):\nstdout: {stdout}\nstderr: {}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    ))
}

#[allow(
    clippy::print_stderr,
    reason = "the test says how its links are shaped"
)]
fn say(text: &str) {
    eprintln!("{text}");
}
