//! The chat-server binary: flags and server.toml in, a reactor with the hub
//! on it, the operator console, and signals for a graceful stop.

#![allow(clippy::print_stdout, clippy::print_stderr)] // printing is a binary's job

use std::io::IsTerminal;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use chat_net::{NetConfig, Reactor};
use chat_server::cli::Args;
use chat_server::config::Config;
use chat_server::console_input;
use chat_server::hub::Hub;
use chat_server::server::{Server, TICK};
use clap::Parser;

fn main() -> ExitCode {
    let args = Args::parse();
    let mut config = match &args.config {
        Some(path) => match Config::load(path) {
            Ok(config) => config,
            Err(e) => {
                eprintln!("chat-server: error: {e}");
                return ExitCode::from(2);
            }
        },
        None => Config::default(),
    };
    args.apply(&mut config);
    if let Err((key, message)) = config.check() {
        eprintln!("chat-server: error: command line: `{key}`: {message}");
        return ExitCode::from(2);
    }
    if args.print_config {
        print!("{}", config.to_toml());
        return ExitCode::SUCCESS;
    }
    match run(&config) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("chat-server: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run(config: &Config) -> Result<(), String> {
    let keepalive = (config.keepalive > 0).then(|| Duration::from_secs(config.keepalive));
    let net_config = NetConfig {
        max_queue_bytes: config.max_queue_bytes,
        keepalive,
        ..NetConfig::default()
    };
    let mut reactor = Reactor::new(net_config).map_err(|e| format!("cannot start: {e}"))?;
    let defaults = Config::default().listen;
    let mut listening = 0;
    for &addr in &config.listen {
        match reactor.listen(addr) {
            Ok((_, bound)) => {
                eprintln!("listening on {bound}");
                listening += 1;
            }
            // The default IPv6 listener is a bonus on hosts without IPv6.
            Err(e) if defaults.contains(&addr) && addr.is_ipv6() => {
                eprintln!("chat-server: not listening on {addr}: {e}");
            }
            Err(e) => return Err(format!("cannot listen on {addr}: {e}")),
        }
    }
    if listening == 0 {
        return Err("no address to listen on".into());
    }
    reactor
        .watch_signals(&[libc::SIGINT, libc::SIGTERM])
        .map_err(|e| format!("cannot watch signals: {e}"))?;

    let console_on = config
        .console
        .unwrap_or_else(|| std::io::stdin().is_terminal());
    let console = if console_on {
        let waker = reactor.waker();
        let wake = Arc::new(move || {
            // A failed wake only delays the line to the next event.
            let _ = waker.wake();
        });
        Some(console_input::spawn(wake).map_err(|e| format!("cannot read the console: {e}"))?)
    } else {
        None
    };
    let mut hub = Hub::new(config.hub_config(console_on));
    hub.start(chrono::Local::now().fixed_offset());
    reactor.net().set_timer(TICK);
    let mut server = Server::new(hub, console, console_on);
    reactor
        .run(&mut server)
        .map_err(|e| format!("reactor failed: {e}"))
}
