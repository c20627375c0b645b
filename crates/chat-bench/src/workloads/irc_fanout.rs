//! IRC fan-out: the fan-out sweeps of R = 100 and R = 1,000 with every
//! client on chat-server's IRC listener, beside the line protocol on a
//! plain chat-server and Redis pub/sub (where installed and peers are
//! wanted), window for window interleaved, with the rates, runs and
//! verdicts of [`fanout`].
//!
//! Each IRC client registers under a nick of its own and joins `#lobby`;
//! a sender's message is `PRIVMSG #lobby :PAYLOAD`, a receiver gets
//! `:NICK!NICK@HOST PRIVMSG #lobby :PAYLOAD` (no tags: no capability is
//! negotiated), so one encoding per message serves every receiver, as
//! the line protocol's does. What the comparison asks: IRC's server CPU
//! per delivery over the line protocol's at the highest rate both
//! sustain, and IRC's best sustained rate over Redis's.

use crate::dialect::Dialect;
use crate::loadgen::Gen;
use crate::plan::Shape;
use crate::servers::{self, Launch, Server};
use crate::workloads::Target;
use crate::workloads::fanout::{self, Comparison, Sweep};

/// The bound on IRC's server CPU per delivery over the line protocol's,
/// at R = 100: the IRC front-end parses and renders once per message, so
/// per delivery it should cost about what the line protocol does.
pub const CPU_TARGET: f64 = 1.2;

/// IRC's best sustained rate over Redis's, at least (as the line
/// protocol's fan-out is held to).
pub const OVER_REDIS: f64 = 2.0;

/// The sweeps of one run: one per shape, each with line, IRC and Redis.
#[derive(Debug, Clone)]
pub struct IrcFanout {
    pub sweeps: Vec<Sweep>,
    /// Whether Redis was wanted and installed (so swept).
    pub redis: bool,
}

impl IrcFanout {
    /// The sweep of R = `receivers`.
    pub fn sweep(&self, receivers: usize) -> Option<&Sweep> {
        self.sweeps.iter().find(|s| s.config.receivers == receivers)
    }
}

/// The line protocol (base) beside IRC (other), in a sweep.
pub fn line_vs_irc(s: &Sweep) -> Comparison {
    fanout::compare(s, Dialect::Ours, Dialect::OursIrc)
}

/// Redis (base) beside IRC (other), in a sweep: `throughput_cost` is
/// Redis over IRC, so IRC over Redis is its inverse ([`over_redis`]).
pub fn redis_vs_irc(s: &Sweep) -> Comparison {
    fanout::compare(s, Dialect::Redis, Dialect::OursIrc)
}

/// IRC's best sustained rate over Redis's (None: either sustained none).
pub fn over_redis(s: &Sweep) -> Option<f64> {
    let c = redis_vs_irc(s);
    match (c.other_best, c.base_best) {
        (Some(irc), Some(redis)) if redis > 0.0 => Some(irc / redis),
        _ => None,
    }
}

/// IRC's server CPU per delivery over the line protocol's at every
/// offered rate both sustained, ascending: (rate, ratio). The target
/// takes the highest; the others show how steady the ratio is.
pub fn cpu_ratios(s: &Sweep) -> Vec<(f64, f64)> {
    let mut ratios = Vec::new();
    for line in s.points.iter().filter(|p| p.dialect == Dialect::Ours) {
        let Some(irc) = s.at(Dialect::OursIrc, line.target) else {
            continue;
        };
        let (a, b) = (
            fanout::cpu_ns_per_delivery(line),
            fanout::cpu_ns_per_delivery(irc),
        );
        if line.sustained() && irc.sustained() && a > 0.0 && a.is_finite() && b.is_finite() {
            ratios.push((line.target, b / a));
        }
    }
    ratios.sort_by(|x, y| x.0.total_cmp(&y.0));
    ratios
}

/// Runs the sweeps of `shapes`: a plain chat-server (line protocol), one
/// with an IRC listener and, with `peers`, Redis if installed. Each shape
/// connects its clients afresh (an IRC receiver of R = 100 would otherwise
/// hear R = 1,000's joins).
pub fn run(
    lg: &mut Gen,
    launch: &Launch,
    shapes: &[Shape],
    peers: bool,
    (runs, secs): (usize, f64),
    log: &mut dyn FnMut(&str),
) -> Result<IrcFanout, String> {
    let mut dialects = vec![Dialect::Ours, Dialect::OursIrc];
    let redis = peers && servers::installed(Dialect::Redis);
    if redis {
        dialects.push(Dialect::Redis);
    }
    let mut targets = Vec::new();
    for &d in &dialects {
        let server = Server::start(d, launch)?;
        log(&format!(
            "irc-fanout: started {} on {} (pid {})",
            d.key(),
            server.addr,
            server.pid
        ));
        let group = lg.add_group(d, server.addr).map_err(|e| e.to_string())?;
        targets.push(Target { server, group });
    }
    let mut sweeps = Vec::new();
    for shape in shapes {
        let config = fanout::Config {
            receivers: shape.receivers,
            senders: shape.senders,
            rates: shape.rates.iter().map(|x| x * 1e6).collect(),
            runs,
            secs,
        };
        let sweep = fanout::run(lg, &mut targets, &config, log).map_err(|e| e.to_string())?;
        let c = line_vs_irc(&sweep);
        log(&format!(
            "irc-fanout R={}: best line {}, IRC {}; server CPU per delivery IRC / line {}",
            shape.receivers,
            shown(c.base_best),
            shown(c.other_best),
            c.cpu_cost().map_or("—".into(), |x| format!("{x:.2}×"))
        ));
        sweeps.push(sweep);
    }
    Ok(IrcFanout { sweeps, redis })
}

fn shown(x: Option<f64>) -> String {
    x.map_or("—".into(), |x| format!("{:.2}M", x / 1e6))
}
