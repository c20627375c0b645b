//! The chat-server binary: flags and server.toml in, a reactor with the hub
//! on it, the operator console, and signals for a graceful stop.

#![allow(clippy::print_stdout, clippy::print_stderr)] // printing is a binary's job

use std::io::IsTerminal;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::mpsc::SyncSender;
use std::time::Duration;

use chat_hub::ClusterSettings;
use chat_hub::{Hub, Protocol};
use chat_net::{NetConfig, Reactor};
use chat_server::accounts;
use chat_server::cli::Args;
use chat_server::cluster::BridgeConfig;
use chat_server::config::{Config, DEFAULT_PORT};
use chat_server::console_input;
use chat_server::generate;
use chat_server::http_endpoints::HttpEndpoints;
use chat_server::log;
use chat_server::preflight::{self, Checked};
use chat_server::reload::Reloader;
use chat_server::server::{Server, TICK};
use chat_server::store::{self, HistoryStore, HistorySync};
use chat_server::web::{WebListener, WebListeners};
use clap::{CommandFactory, Parser};

fn main() -> ExitCode {
    let args = Args::parse();
    if let Some(what) = args.generate {
        let written = generate::write(Args::command(), what, &mut std::io::stdout().lock());
        return match written {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("chat-server: cannot write it: {e}");
                ExitCode::FAILURE
            }
        };
    }
    if args.hash_password {
        return hash_password();
    }
    let config = match preflight::settings(&args) {
        Ok(config) => config,
        Err(e) => return config_error(&e),
    };
    if let Some(name) = &args.create_account {
        return create_account(&config, name);
    }
    if args.print_config {
        print!("{}", config.to_toml());
        return ExitCode::SUCCESS;
    }
    let tls = match preflight::tls_configs(&config, args.config.as_deref()) {
        Ok(tls) => tls,
        Err(e) => return config_error(&e),
    };
    if args.check_config {
        if config.history_store == HistoryStore::Sqlite
            && config.cluster.is_none()
            && let Err(e) = store::check(&config.history_path)
        {
            // Worded as a start would word it.
            let file = args
                .config
                .as_deref()
                .map_or("command line".into(), |p| p.display().to_string());
            return config_error(&format!(
                "{file}: key `history_path`: cannot open the history store {}: {e}",
                config.history_path.display()
            ));
        }
        let source = args
            .config
            .as_deref()
            .map_or("the built-in defaults".into(), |p| p.display().to_string());
        println!("{source}: the configuration is good");
        return ExitCode::SUCCESS;
    }
    chat_server::log::init(&config.log_level, config.log_format);
    match run(&args, &Checked { config, tls }) {
        Ok(()) => ExitCode::SUCCESS,
        Err(Failure::Config(e)) => {
            let file = args
                .config
                .as_deref()
                .map_or("command line".into(), |p| p.display().to_string());
            log::error(&format!("error: {file}: {e}"));
            ExitCode::from(2)
        }
        Err(Failure::Run(e)) => {
            log::error(&e);
            ExitCode::FAILURE
        }
    }
}

/// A configuration that cannot be used: said, and exit code 2.
fn config_error(message: &str) -> ExitCode {
    eprintln!("chat-server: error: {message}");
    ExitCode::from(2)
}

/// Why the server could not run: a configuration fault (exit 2) or anything
/// else (exit 1).
enum Failure {
    Config(String),
    Run(String),
}

impl From<String> for Failure {
    fn from(e: String) -> Failure {
        Failure::Run(e)
    }
}

fn run(args: &Args, checked: &Checked) -> Result<(), Failure> {
    let config = &checked.config;
    // Opened before anything listens: a store that cannot be opened stops
    // the start (never a silent fallback to memory). A cluster keeps its
    // history in Redis.
    let history = match (config.history_store, &config.cluster) {
        (HistoryStore::Sqlite, None) => {
            let path = &config.history_path;
            let opened = store::open(path).map_err(|e| {
                Failure::Config(format!(
                    "key `history_path`: cannot open the history store {}: {e}",
                    path.display()
                ))
            })?;
            Some(opened)
        }
        _ => None,
    };
    let keepalive = (config.keepalive > 0).then(|| Duration::from_secs(config.keepalive));
    let net_config = NetConfig {
        max_queue_bytes: config.max_queue_bytes,
        keepalive,
        ..NetConfig::default()
    };
    let mut reactor = Reactor::new(net_config).map_err(|e| format!("cannot start: {e}"))?;
    let defaults = Config::default().listen;
    let mut listening = 0;
    let mut first_port = None;
    let mut listener_ids = Vec::new();
    let mut web_listeners = Vec::new();
    let mut protocols = Vec::new();
    for (listen, tls) in config.listen.iter().zip(&checked.tls) {
        let addr = listen.addr();
        let bound = match tls {
            None => reactor.listen(addr),
            Some(tls) => reactor.listen_tls(addr, Arc::clone(tls)),
        };
        match bound {
            Ok((id, bound)) => {
                let protocol = listen.protocol_or(config.framing);
                log::announce(&format!(
                    "listening on {bound}{}",
                    listening_as(listen.is_web(), protocol, listen.tls().is_some())
                ));
                if protocols.len() <= id.0 {
                    protocols.resize(id.0 + 1, Protocol::Line);
                }
                protocols[id.0] = protocol;
                if listen.is_web() {
                    web_listeners.push(WebListener {
                        id,
                        addr: bound,
                        tls: listen.tls().is_some(),
                        protocol,
                    });
                }
                listener_ids.push(Some(id));
                listening += 1;
                first_port.get_or_insert(bound.port());
            }
            // The default IPv6 listener is a bonus on hosts without IPv6.
            Err(e) if defaults.contains(listen) && addr.is_ipv6() => {
                log::warn(&format!("not listening on {addr}: {e}"));
                listener_ids.push(None);
            }
            Err(e) => return Err(Failure::Run(format!("cannot listen on {addr}: {e}"))),
        }
    }
    if listening == 0 {
        return Err(Failure::Run("no address to listen on".into()));
    }
    // After the chat listeners: scripts waiting for `listening on` lines
    // see them first.
    let http = match &config.metrics {
        None => None,
        Some(metrics) => {
            let (id, bound) = reactor
                .listen(metrics.listen)
                .map_err(|e| format!("cannot listen on {} (metrics): {e}", metrics.listen))?;
            // Still answering `/health` (503) while the clients drain.
            reactor.net().keep_listening(id);
            log::announce(&format!("metrics on http://{bound}/metrics"));
            Some(HttpEndpoints::new(id))
        }
    };
    reactor
        .watch_signals(&[libc::SIGINT, libc::SIGTERM, libc::SIGHUP])
        .map_err(|e| format!("cannot watch signals: {e}"))?;

    let console_on = config
        .console
        .unwrap_or_else(|| std::io::stdin().is_terminal());
    let console = if console_on {
        let wake = wake_callback(&reactor);
        Some(console_input::spawn(wake).map_err(|e| format!("cannot read the console: {e}"))?)
    } else {
        None
    };
    // Message text is worded (`Outbox::said`) only for someone to read it:
    // an operator at the console, or a log at debug from the start.
    // Otherwise a relayed line costs no formatting at all.
    let echo = console_on || tracing::enabled!(target: log::TARGET, tracing::Level::DEBUG);
    let mut hub_config = config.hub_config(echo);
    let bridge = match &config.cluster {
        None => None,
        Some(cluster) => {
            let node = cluster.node_name.clone().unwrap_or_else(|| {
                format!("{}:{}", hostname(), first_port.unwrap_or(DEFAULT_PORT))
            });
            let lease = Duration::from_secs(cluster.nick_lease_seconds);
            hub_config.cluster = Some(ClusterSettings {
                node: node.clone(),
                // Three renewals per lease: one lost renewal loses no nick.
                sync_seconds: (cluster.nick_lease_seconds / 3).max(1) as i64,
            });
            log::info(&format!(
                "cluster: node {node}, redis {}",
                cluster.describe()
            ));
            let bridge_config = BridgeConfig {
                target: cluster.target(),
                node,
                lease,
                history_keep: hub_config.history_keep(),
                history_retention: hub_config
                    .history_retention
                    .seconds()
                    .map(Duration::from_secs),
            };
            Some(
                chat_server::cluster::spawn(bridge_config, wake_callback(&reactor))
                    .map_err(|e| Failure::Config(format!("key `redis_url`: {e}")))?,
            )
        }
    };
    let mut hub = Hub::new(hub_config);
    let (accounts, account_records) =
        start_accounts(&mut hub, config, history.is_some(), &reactor)?;
    let store = match history {
        None => None,
        Some(opened) => {
            let always = config.history_sync == HistorySync::Always;
            hub.use_store(opened.next_id, opened.rooms.clone(), always);
            Some(
                store::spawn(opened, always, wake_callback(&reactor))
                    .map_err(|e| format!("cannot start the store: {e}"))?,
            )
        }
    };
    hub.start(chrono::Local::now().fixed_offset());
    reactor.net().set_timer(TICK);
    let mut server = Server::new(hub, console, console_on);
    server.cluster = bridge;
    server.http = http;
    server.protocols = protocols;
    if !web_listeners.is_empty() {
        server.web = Some(WebListeners::new(
            web_listeners,
            &config.web_origins,
            &config.web_hosts,
            config.trusted_proxies.iter().map(|net| net.0).collect(),
            config.max_line_bytes,
            chat_server::hooks::Hooks::new(&config.webhooks, config.hook_limits()),
        ));
    }
    if let Some(web) = &mut server.web {
        web.api_tokens = chat_server::api::ApiTokens::new(&config.api_tokens);
    }
    server.shutdown_linger = Duration::from_secs(config.shutdown_linger);
    server.reloader = Some(Reloader::new(args.clone(), config.clone(), listener_ids));
    let verifier = chat_server::verifier::spawn(wake_callback(&reactor))
        .map_err(|e| format!("cannot start the /oper verifier: {e}"))?;
    server.verifier = Some(verifier);
    server.accounts = Some(accounts);
    server.account_records = Some(account_records);
    server.store = store;
    server.watchdog =
        chat_server::notify::watchdog_interval().map(|every| (every, std::time::Instant::now()));
    chat_server::notify::ready();
    let ran = reactor
        .run(&mut server)
        .map_err(|e| Failure::Run(format!("reactor failed: {e}")));
    // What waits for the disk is written before the process ends.
    if let Some(store) = server.store.take() {
        store.close();
    }
    ran
}

/// What a `listening on ADDR` line says after the address: ` (web)`,
/// ` (TLS)`, ` (raw)`, ` (raw, TLS)`, ` (web, irc)`, nothing for plain
/// lines.
fn listening_as(web: bool, protocol: Protocol, tls: bool) -> String {
    let mut what: Vec<&str> = Vec::new();
    if web {
        what.push("web");
    }
    if protocol != Protocol::Line {
        what.push(protocol.name());
    }
    if tls {
        what.push("TLS");
    }
    match what.is_empty() {
        true => String::new(),
        false => format!(" ({})", what.join(", ")),
    }
}

/// A callback that wakes the reactor, for a thread that hands it events.
fn wake_callback(reactor: &Reactor) -> Arc<dyn Fn() + Send + Sync> {
    let waker = reactor.waker();
    Arc::new(move || {
        let _ = waker.wake();
    })
}

/// This host's name, for the default node name.
fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .or_else(|_| std::fs::read_to_string("/etc/hostname"))
        .map(|name| name.trim().to_owned())
        .ok()
        .filter(|name| !name.is_empty())
        .unwrap_or_else(|| "localhost".into())
}

/// The account store's two threads, over the history file when there is
/// one, a cluster's Redis, or memory; the accounts handed to the hub first.
fn start_accounts(
    hub: &mut Hub,
    config: &Config,
    in_file: bool,
    reactor: &Reactor,
) -> Result<(accounts::AccountLink, SyncSender<chat_hub::AccountRecord>), Failure> {
    use accounts::book::{AccountBook, FileBook, MemoryBook, RedisBook};
    let mut book: Box<dyn AccountBook> = match (&config.cluster, in_file) {
        (Some(cluster), _) => Box::new(RedisBook::open(cluster.target())),
        (None, true) => Box::new(FileBook::open(&config.history_path).map_err(|e| {
            Failure::Config(format!("key `history_path`: cannot open the accounts: {e}"))
        })?),
        (None, false) => Box::new(MemoryBook::default()),
    };
    // A cluster whose Redis is away starts without accounts known: the
    // account thread reads them once it answers.
    match book.list() {
        Ok(known) => hub.use_accounts(known),
        Err(e) if config.cluster.is_some() => {
            log::warn(&format!("accounts: {e}; read again once Redis answers"));
            hub.use_accounts(Vec::new());
        }
        Err(e) => return Err(Failure::Run(format!("cannot read the accounts: {e}"))),
    }
    let records = book.another()?;
    let link = accounts::spawn(book, wake_callback(reactor))
        .map_err(|e| format!("cannot start the account store: {e}"))?;
    let records = accounts::records::spawn(records)
        .map_err(|e| format!("cannot start the account records: {e}"))?;
    Ok((link, records))
}

/// `--create-account NAME`: the password from one line of stdin, the
/// account into the history file (where a start would keep it).
fn create_account(config: &Config, name: &str) -> ExitCode {
    if let Err(why) = chat_proto::validate_nick(name) {
        eprintln!("chat-server: an account name is a nick: {name:?} {why}");
        return ExitCode::from(2);
    }
    if config.history_store != HistoryStore::Sqlite || config.cluster.is_some() {
        eprintln!(
            "chat-server: accounts are kept in the history file: set history_store = \"sqlite\""
        );
        return ExitCode::from(2);
    }
    let mut line = String::new();
    if let Err(e) = std::io::stdin().read_line(&mut line) {
        eprintln!("chat-server: cannot read the password: {e}");
        return ExitCode::FAILURE;
    }
    let password = line.trim_end_matches(['\n', '\r']);
    if !chat_hub::PASSWORD_BYTES.contains(&password.len()) {
        let (min, max) = (
            chat_hub::PASSWORD_BYTES.start(),
            chat_hub::PASSWORD_BYTES.end(),
        );
        eprintln!("chat-server: a password has {min} to {max} bytes");
        return ExitCode::from(2);
    }
    let path = &config.history_path;
    let made = store::open(path)
        .and_then(|_| accounts::book::FileBook::open(path))
        .and_then(|mut book| {
            use accounts::book::AccountBook;
            let record = accounts::new_record(name, password)?;
            book.insert(&record)
        });
    match made {
        Ok(true) => {
            println!("account {name} created in {}", path.display());
            ExitCode::SUCCESS
        }
        Ok(false) => {
            eprintln!("chat-server: account {name} already exists");
            ExitCode::FAILURE
        }
        Err(e) => {
            eprintln!(
                "chat-server: cannot create the account in {}: {e}",
                path.display()
            );
            ExitCode::FAILURE
        }
    }
}

/// `--hash-password`: one line of stdin in, its argon2 PHC string out.
fn hash_password() -> ExitCode {
    use argon2::password_hash::{PasswordHasher, SaltString, rand_core::OsRng};
    let mut line = String::new();
    if let Err(e) = std::io::stdin().read_line(&mut line) {
        eprintln!("chat-server: cannot read the password: {e}");
        return ExitCode::FAILURE;
    }
    let password = line.trim_end_matches(['\n', '\r']);
    if password.is_empty() {
        eprintln!("chat-server: the password is empty");
        return ExitCode::from(2);
    }
    let salt = SaltString::generate(&mut OsRng);
    match argon2::Argon2::default().hash_password(password.as_bytes(), &salt) {
        Ok(hash) => {
            println!("{hash}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("chat-server: cannot hash the password: {e}");
            ExitCode::FAILURE
        }
    }
}
