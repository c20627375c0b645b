//! The chat-bench binary: flags in, a full bench (table, bench/results.json,
//! bench/fanout.svg, BENCHMARKS.md) or a smoke run (exit 1 on any loss).

#![allow(clippy::print_stdout, clippy::print_stderr)] // printing is a binary's job

use std::path::PathBuf;
use std::process::ExitCode;

use chat_bench::plan::{self, Options, Workload};
use chat_bench::servers::Launch;
use clap::Parser;

/// Benchmark chat-server beside Redis pub/sub and ncat --chat, on loopback.
#[derive(Debug, Parser)]
#[command(name = "chat-bench")]
struct Args {
    /// A seconds-long run against chat-server only that checks counts, not speed
    #[arg(long)]
    smoke: bool,
    /// The chat-server binary (default: `chat-server` next to this executable)
    #[arg(long, value_name = "PATH")]
    server_bin: Option<PathBuf>,
    /// Where bench/ and BENCHMARKS.md are written (default: the workspace root)
    #[arg(long, value_name = "DIR")]
    root: Option<PathBuf>,
    /// Runs per figure (the median is shown with min and max)
    #[arg(long, default_value_t = 3)]
    runs: usize,
    /// Seconds per fan-out window
    #[arg(long, default_value_t = 1.0)]
    secs: f64,
    /// Skip Redis and ncat
    #[arg(long)]
    no_peers: bool,
    /// Skip the R = 10,000 fan-out
    #[arg(long)]
    no_r10k: bool,
    /// Idle clients for the conns workload
    #[arg(long, default_value_t = 19_000)]
    conns: usize,
    /// Do not write files; print the table only
    #[arg(long)]
    no_write: bool,
    /// Run only these workloads (comma-separated: fanout, irc-fanout, kernel-cost, rtt, churn,
    /// tls-fanout, web-fanout, cluster-fanout, store-fanout, store-search, conns,
    /// history-join, logins, webhooks, failover); implies
    /// --no-write, so a partial run never replaces the full figures. With --smoke,
    /// `--only logins,webhooks,failover` (or any of them) smokes those alone; other lists
    /// smoke all the rest too (but failover only when named)
    #[arg(long, value_name = "LIST", value_delimiter = ',', value_parser = workload)]
    only: Vec<Workload>,
    /// Leave these workloads out (same names; also implies --no-write)
    #[arg(long, value_name = "LIST", value_delimiter = ',', value_parser = workload)]
    skip: Vec<Workload>,
}

fn workload(name: &str) -> Result<Workload, String> {
    Workload::from_name(name).ok_or_else(|| {
        let names: Vec<&str> = Workload::ALL.iter().map(|w| w.name()).collect();
        format!("no workload {name:?}; the workloads: {}", names.join(", "))
    })
}

fn main() -> ExitCode {
    let args = Args::parse();
    let server_bin = args.server_bin.clone().unwrap_or_else(|| {
        std::env::current_exe()
            .ok()
            .and_then(|p| p.parent().map(|d| d.join("chat-server")))
            .unwrap_or_else(|| PathBuf::from("chat-server"))
    });
    if !server_bin.exists() {
        eprintln!(
            "chat-bench: no chat-server at {} (build it: cargo build --release -p chat-server, or pass --server-bin)",
            server_bin.display()
        );
        return ExitCode::from(2);
    }
    let two_cpus = std::thread::available_parallelism().map_or(1, |n| n.get()) >= 2;
    let opts = Options {
        launch: Launch {
            server_bin,
            scratch: std::env::temp_dir().join(format!("chat-bench-{}", std::process::id())),
            cpu: two_cpus.then_some(0),
        },
        runs: args.runs.max(1),
        secs: args.secs.clamp(0.1, 30.0),
        peers: !args.no_peers,
        r10k: !args.no_r10k,
        conns: args.conns.min(19_400),
        gen_cpu: two_cpus.then_some(1),
        workloads: Workload::ALL
            .into_iter()
            .filter(|w| args.only.is_empty() || args.only.contains(w))
            .filter(|w| !args.skip.contains(w))
            .collect(),
    };
    let mut log = |line: &str| eprintln!("chat-bench: {line}");
    let code = if args.smoke {
        smoke(&opts, &mut log)
    } else {
        full(&args, &opts, &mut log)
    };
    let _ = std::fs::remove_dir_all(&opts.launch.scratch);
    code
}

fn smoke(opts: &Options, log: &mut dyn FnMut(&str)) -> ExitCode {
    match plan::smoke(opts, log) {
        Ok(failures) if failures.is_empty() => {
            let classic = "fanout, fanout over TLS, over IRC and over WebSocket, the store's fanout alone and searched, rtt, churn, conns, joins replaying a history";
            let beside = [Workload::Logins, Workload::Webhooks, Workload::Failover];
            let alone = opts.workloads.iter().all(|w| beside.contains(w));
            let mut ran: Vec<&str> = Vec::new();
            if !alone {
                ran.push(classic);
            }
            // The default smoke leaves the failover out (plan::smoke).
            ran.extend(
                (beside.iter())
                    .filter(|w| opts.workloads.contains(w))
                    .filter(|w| alone || **w != Workload::Failover)
                    .map(|w| w.name()),
            );
            println!(
                "chat-bench smoke: passed ({}: every message delivered once, every login and webhook post answered, no failover line lost)",
                ran.join(", ")
            );
            ExitCode::SUCCESS
        }
        Ok(failures) => {
            for f in &failures {
                eprintln!("chat-bench smoke: FAILED: {f}");
            }
            ExitCode::FAILURE
        }
        Err(e) => {
            eprintln!("chat-bench smoke: error: {e}");
            ExitCode::FAILURE
        }
    }
}

fn full(args: &Args, opts: &Options, log: &mut dyn FnMut(&str)) -> ExitCode {
    let results = match plan::full(opts, log) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("chat-bench: error: {e}");
            return ExitCode::FAILURE;
        }
    };
    println!("{}", results.table());
    if args.no_write || !args.only.is_empty() || !args.skip.is_empty() {
        if !args.no_write {
            eprintln!("chat-bench: a partial run (--only/--skip): nothing written");
        }
        return ExitCode::SUCCESS;
    }
    let root = args.root.clone().unwrap_or_else(|| {
        PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("../..")
            .canonicalize()
            .unwrap_or_else(|_| PathBuf::from("."))
    });
    let bench = root.join("bench");
    let written = (|| -> Result<(), String> {
        std::fs::create_dir_all(&bench).map_err(|e| e.to_string())?;
        let json = serde_json::to_string_pretty(&results.json()).map_err(|e| e.to_string())?;
        std::fs::write(bench.join("results.json"), json + "\n").map_err(|e| e.to_string())?;
        results.svg(&bench.join("fanout.svg"))?;
        let notes = std::fs::read_to_string(bench.join("notes.md")).ok();
        let command =
            std::env::var("CHAT_BENCH_COMMAND").unwrap_or_else(|_| "cargo xtask bench".into());
        let md = chat_bench::markdown::markdown(&results, &command, notes.as_deref());
        std::fs::write(root.join("BENCHMARKS.md"), md).map_err(|e| e.to_string())
    })();
    match written {
        Ok(()) => {
            eprintln!(
                "chat-bench: wrote {}, {} and {}",
                bench.join("results.json").display(),
                bench.join("fanout.svg").display(),
                root.join("BENCHMARKS.md").display()
            );
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("chat-bench: cannot write results: {e}");
            ExitCode::FAILURE
        }
    }
}
