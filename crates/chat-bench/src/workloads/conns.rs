//! Idle clients: a fresh server, N clients connected (at most 256 waiting
//! for their welcome at once), the server's VmRSS before and after, the
//! kernel's slab memory before and after, and the connect-and-welcome rate.

use std::io;
use std::time::Duration;

use crate::dialect::Dialect;
use crate::loadgen::{Gen, Role};
use crate::servers::{Launch, Server};
use crate::stats::{Spread, spread};
use crate::sys;
use crate::workloads::connect_many;

/// One conns run.
#[derive(Debug, Clone, Default)]
pub struct ConnsRun {
    /// Clients that got ready.
    pub clients: usize,
    /// Clients ready per second.
    pub rate: f64,
    /// Server RSS growth per ready client, bytes.
    pub rss_per_client: f64,
    /// Kernel slab growth per client, bytes (both ends of the loopback
    /// connection are on this machine).
    pub slab_per_client: f64,
    pub rss_before_kib: u64,
    pub rss_after_kib: u64,
    /// Whether the server still ran at the end.
    pub survived: bool,
}

/// One server's conns runs.
#[derive(Debug, Clone)]
pub struct Conns {
    pub dialect: Dialect,
    pub target: usize,
    pub runs: Vec<ConnsRun>,
}

impl Conns {
    pub fn clients(&self) -> Spread {
        spread(self.runs.iter().map(|r| r.clients as f64))
    }
    pub fn rate(&self) -> Spread {
        spread(self.runs.iter().map(|r| r.rate))
    }
    pub fn rss(&self) -> Spread {
        spread(self.runs.iter().map(|r| r.rss_per_client))
    }
    pub fn slab(&self) -> Spread {
        spread(self.runs.iter().map(|r| r.slab_per_client))
    }
}

/// Runs conns `runs` times for each of `dialects`, `n` clients each (fewer
/// where the server has a lower limit).
pub fn run(
    lg: &mut Gen,
    launch: &Launch,
    dialects: &[Dialect],
    n: usize,
    runs: usize,
    log: &mut dyn FnMut(&str),
) -> io::Result<Vec<Conns>> {
    let mut out = Vec::new();
    for &d in dialects {
        let target = n.min(d.max_clients().saturating_sub(20));
        let mut c = Conns {
            dialect: d,
            target,
            runs: Vec::new(),
        };
        for _ in 0..runs {
            let mut server = match Server::start(d, launch) {
                Ok(s) => s,
                Err(e) => {
                    log(&format!("conns: {e}"));
                    break;
                }
            };
            let group = lg.add_group(d, server.addr)?;
            std::thread::sleep(Duration::from_millis(200));
            let rss0 = server.rss_kib().unwrap_or(0);
            let slab0 = sys::meminfo_kib("Slab").unwrap_or(0);
            let (ready, took) = connect_many(
                lg,
                group,
                Role::Idle,
                target,
                d.connect_burst(),
                Duration::from_secs(60),
            )?;
            lg.settle(&[group], Duration::from_millis(300), Duration::from_secs(5))?;
            let rss1 = server.rss_kib().unwrap_or(0);
            let slab1 = sys::meminfo_kib("Slab").unwrap_or(0);
            let ready_now = lg.groups[group].ready;
            let per = |a: u64, b: u64| (b as f64 - a as f64) * 1024.0 / ready_now.max(1) as f64;
            let run = ConnsRun {
                clients: ready.min(ready_now),
                rate: ready as f64 / took.as_secs_f64(),
                rss_per_client: per(rss0, rss1),
                slab_per_client: per(slab0, slab1),
                rss_before_kib: rss0,
                rss_after_kib: rss1,
                survived: server.running(),
            };
            log(&format!(
                "conns {:<11} {} of {target} clients, {:.0}/s, RSS {:.0} B/client ({} -> {} KiB), slab {:.0} B/client",
                d.key(),
                run.clients,
                run.rate,
                run.rss_per_client,
                rss0,
                rss1,
                run.slab_per_client
            ));
            c.runs.push(run);
            lg.teardown(group);
            drop(server);
            lg.settle(&[], Duration::from_millis(100), Duration::from_millis(300))?;
        }
        out.push(c);
    }
    Ok(out)
}
