//! Joins the hub to the reactor: reactor events become hub events, hub actions
//! become reactor calls. Every byte a client receives is the hub's: this
//! adapter only carries it.

use std::io::Write;
use std::net::SocketAddr;
use std::sync::mpsc::{Receiver, SyncSender};
use std::time::Duration;

use bytes::Bytes;
use chat_hub::{
    AccountRecord, AccountTask, Arrival, ClientId, ClusterRequest, Gone, Hub, Now, OperatorCheck,
    Outbox, Protocol, StoreRequest,
};
use chat_net::{CloseReason, ConnId, Handler, ListenerId, Net, TimerId};

use crate::accounts::{AccountEvent, AccountLink};
use crate::cluster::Bridge;
use crate::console_input::ConsoleInput;
use crate::http_endpoints::{self, HttpEndpoints};
use crate::metrics;
use crate::reload::Reloader;
use crate::store::StoreLink;
use crate::verifier::Verifier;
use crate::web::{self, WebListeners};

mod api_calls;
mod webhook_commands;

/// Events of another thread's channel handled per wake-up (the cluster's:
/// per turn); more wait for the next turn (the threads wake the reactor
/// again for each one they send).
const EVENTS_PER_WAKE: usize = 4096;

/// How long a stopping server waits for queued output to drain, unless
/// `shutdown_linger` says otherwise.
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(2);

/// How often the hub's clock ticks: delayed (flood-controlled) lines are
/// released at this granularity, and timeouts are swept once a second.
pub const TICK: Duration = Duration::from_millis(100);

pub struct Server {
    pub hub: Hub,
    pub console: Option<Receiver<ConsoleInput>>,
    /// Console lines go to stdout when an operator watches, else to the log
    /// (stderr).
    pub console_on_stdout: bool,
    /// The Redis bridge, when this server is a cluster node.
    pub cluster: Option<Bridge>,
    /// The `/oper` password checker's thread (without it, every `/oper`
    /// is answered "busy").
    pub verifier: Option<Verifier>,
    /// The account store's thread (without it, no account requests).
    pub accounts: Option<AccountLink>,
    /// The thread that keeps account records (waiting messages, markers).
    pub account_records: Option<SyncSender<AccountRecord>>,
    /// The history store's threads, unless history is kept in memory only.
    pub store: Option<StoreLink>,
    /// The `[metrics]` listener's connections, when it is on.
    pub http: Option<HttpEndpoints>,
    /// The web listeners' connections (page requests, then WebSockets).
    pub web: Option<WebListeners>,
    /// What the connections of each line listener speak (indexed by
    /// `ListenerId`); a listener not here speaks the line protocol.
    pub protocols: Vec<Protocol>,
    /// How long a stop waits for queued output (`shutdown_linger`).
    pub shutdown_linger: Duration,
    /// Reads the configuration again on SIGHUP and `/reload`.
    pub reloader: Option<Reloader>,
    /// When the service manager wants `WATCHDOG=1`: how often, and when
    /// it was last sent.
    pub watchdog: Option<(Duration, std::time::Instant)>,
    stopping: bool,
}

impl Server {
    pub fn new(
        hub: Hub,
        console: Option<Receiver<ConsoleInput>>,
        console_on_stdout: bool,
    ) -> Server {
        Server {
            hub,
            console,
            console_on_stdout,
            cluster: None,
            verifier: None,
            accounts: None,
            account_records: None,
            store: None,
            http: None,
            web: None,
            protocols: Vec::new(),
            shutdown_linger: SHUTDOWN_GRACE,
            reloader: None,
            watchdog: None,
            stopping: false,
        }
    }
}

fn now() -> Now {
    chrono::Local::now().fixed_offset()
}

/// The hub's [`Outbox`] over the reactor.
struct NetOutbox<'a> {
    net: &'a mut Net,
    console_on_stdout: bool,
    cluster: Option<&'a mut Bridge>,
    verifier: Option<&'a SyncSender<OperatorCheck>>,
    accounts: Option<&'a SyncSender<AccountTask>>,
    account_records: Option<&'a SyncSender<AccountRecord>>,
    store: Option<&'a StoreLink>,
    web: Option<&'a mut WebListeners>,
    linger: Duration,
}

impl Outbox for NetOutbox<'_> {
    fn send(&mut self, to: ClientId, msg: Bytes) {
        self.net.send(ConnId(to.0), msg);
    }

    fn close(&mut self, client: ClientId) {
        self.net.close_after_flush(ConnId(client.0));
    }

    fn console(&mut self, line: &str) {
        if self.console_on_stdout {
            // A console that cannot be written must not stop the chat.
            let _ = writeln!(std::io::stdout().lock(), "{line}");
        } else {
            crate::log::info(line);
        }
    }

    fn said(&mut self, line: &str) {
        if self.console_on_stdout {
            let _ = writeln!(std::io::stdout().lock(), "{line}");
        } else {
            crate::log::debug(line);
        }
    }

    fn shutdown(&mut self) {
        crate::notify::stopping();
        self.net.close_listeners();
        self.net.stop_when_drained(self.linger);
    }

    fn cluster(&mut self, request: ClusterRequest) -> bool {
        // Never blocks: a full channel (a slow Redis) drops the request.
        self.cluster
            .as_mut()
            .is_some_and(|bridge| bridge.send(request))
    }

    fn verify_operator(&mut self, check: OperatorCheck) -> bool {
        // Never blocks: a full queue is answered "busy" by the hub.
        self.verifier
            .is_some_and(|checks| checks.try_send(check).is_ok())
    }

    fn accounts(&mut self, task: AccountTask) -> bool {
        // Never blocks: a full queue is answered "busy" by the hub.
        self.accounts
            .is_some_and(|tasks| tasks.try_send(task).is_ok())
    }

    fn account_record(&mut self, record: AccountRecord) -> bool {
        // Never blocks: a full queue loses the record's copy on disk (the
        // hub counts and logs it).
        self.account_records
            .is_some_and(|records| records.try_send(record).is_ok())
    }

    fn webhook(&mut self, args: &str) -> Option<String> {
        let web = self.web.as_deref_mut()?;
        Some(webhook_commands::webhook_answer(Some(web), args, true))
    }

    fn store(&mut self, request: StoreRequest) -> bool {
        // Never blocks: a full channel (a stuck disk, a busy reader)
        // refuses the request, and the hub counts it.
        self.store.is_some_and(|store| store.send(request))
    }

    fn io_totals(&self) -> (u64, u64) {
        let stats = self.net.stats();
        (stats.bytes_in, stats.bytes_out)
    }
}

impl Server {
    /// Other nodes' lines and news, as many as one turn takes.
    fn take_cluster_events(&mut self, net: &mut Net) {
        let events: Vec<_> = match &self.cluster {
            Some(bridge) => bridge.events.try_iter().take(EVENTS_PER_WAKE).collect(),
            None => Vec::new(),
        };
        for event in events {
            let (hub, mut out) = self.parts(net);
            hub.cluster_event(&mut out, event, now());
        }
    }

    /// The hub, and an outbox over the reactor for it.
    fn parts<'a>(&'a mut self, net: &'a mut Net) -> (&'a mut Hub, NetOutbox<'a>) {
        let out = NetOutbox {
            net,
            console_on_stdout: self.console_on_stdout,
            cluster: self.cluster.as_mut(),
            verifier: self.verifier.as_ref().map(|verifier| &verifier.checks),
            accounts: self.accounts.as_ref().map(|accounts| &accounts.tasks),
            account_records: self.account_records.as_ref(),
            store: self.store.as_ref(),
            web: self.web.as_mut(),
            linger: self.shutdown_linger,
        };
        (&mut self.hub, out)
    }

    /// A whole request on the metrics listener: answered, then closed.
    fn serve_http(&mut self, net: &mut Net, conn: ConnId, data: &[u8]) {
        let Some(http) = &mut self.http else { return };
        let Some(request) = http.received(net, conn, data) else {
            return;
        };
        let hub = &self.hub;
        let probe = self.cluster.as_ref().map(|bridge| &*bridge.probe);
        let response = http_endpoints::answer(&request, |path| match path {
            "/metrics" => Some((
                chat_net::http::Status::OK,
                metrics::CONTENT_TYPE,
                metrics::render(hub, &net.stats(), probe),
            )),
            "/health" => Some(match metrics::health(hub, probe) {
                Ok(text) => (chat_net::http::Status::OK, "text/plain", text.to_owned()),
                Err(why) => (
                    chat_net::http::Status::SERVICE_UNAVAILABLE,
                    "text/plain",
                    why,
                ),
            }),
            _ => None,
        });
        http_endpoints::respond(net, conn, response);
    }

    /// SIGHUP or `/reload`: the configuration read again and applied
    /// where it can be, or, if it is bad, nothing changed.
    fn reload(&mut self, net: &mut Net) {
        let Some(reloader) = &mut self.reloader else {
            return;
        };
        if reloader.file().is_none() {
            crate::log::info("reload: no --config file to read again; nothing changed");
            return;
        }
        crate::notify::reloading();
        match reloader.reload(&mut self.hub, net, &mut self.shutdown_linger) {
            Ok(reloaded) => {
                if let Some(web) = &mut self.web {
                    let running = reloader.running();
                    web.hooks.replace(&running.webhooks, running.hook_limits());
                    web.api_tokens = crate::api::ApiTokens::new(&running.api_tokens);
                }
                crate::log::reloaded(&reloaded)
            }
            Err(e) => crate::log::reload_refused(&e),
        }
        crate::notify::ready();
    }

    fn is_http(&self, conn: ConnId) -> bool {
        self.http.as_ref().is_some_and(|http| http.owns(conn))
    }
}

impl Handler for Server {
    fn accepted(&mut self, net: &mut Net, conn: ConnId, peer: SocketAddr, listener: ListenerId) {
        if let Some(http) = &mut self.http
            && http.listener() == listener
        {
            return http.accepted(net, conn);
        }
        if let Some(web) = &mut self.web
            && web.serves(listener)
        {
            // The hub hears of it once it is a WebSocket.
            return web.accepted(net, conn, peer, listener, self.hub.config());
        }
        let protocol = self.protocols.get(listener.0).copied();
        let arrival = Arrival {
            peer,
            protocol: protocol.unwrap_or(Protocol::Line),
        };
        let (hub, mut out) = self.parts(net);
        hub.connected(&mut out, ClientId(conn.0), arrival, now());
    }

    fn received(&mut self, net: &mut Net, conn: ConnId, data: &[u8]) {
        if self.is_http(conn) {
            return self.serve_http(net, conn, data);
        }
        if let Some(web) = &mut self.web
            && web.is_http(conn)
        {
            match web.received(net, conn, data) {
                Some(web::Received::Upgraded(peer, protocol)) => {
                    let arrival = Arrival { peer, protocol };
                    let (hub, mut out) = self.parts(net);
                    hub.connected(&mut out, ClientId(conn.0), arrival, now());
                }
                Some(web::Received::Posted(post)) => self.say_posted(net, &post),
                Some(web::Received::Api(call)) => self.api_call(net, call),
                None => {}
            }
            return;
        }
        let (hub, mut out) = self.parts(net);
        hub.received(&mut out, ClientId(conn.0), data, now());
    }

    fn read_closed(&mut self, net: &mut Net, conn: ConnId) {
        if self.is_http(conn) || self.web.as_ref().is_some_and(|web| web.is_http(conn)) {
            return net.close_after_flush(conn);
        }
        let (hub, mut out) = self.parts(net);
        hub.read_closed(&mut out, ClientId(conn.0), now());
    }

    fn closed(&mut self, net: &mut Net, conn: ConnId, reason: CloseReason) {
        if self.http.as_mut().is_some_and(|http| http.closed(conn)) {
            return;
        }
        if self
            .web
            .as_mut()
            .is_some_and(|web| web.closed(conn) == web::Closed::Http)
        {
            return;
        }
        let why = match reason {
            CloseReason::PeerClosed | CloseReason::Local => Gone::Closed,
            CloseReason::QueueOverflow => Gone::TooSlow,
            CloseReason::Error(kind) => Gone::Failed(kind),
        };
        let (hub, mut out) = self.parts(net);
        hub.disconnected(&mut out, ClientId(conn.0), why, now());
    }

    fn turn_ending(&mut self, net: &mut Net) {
        // Other nodes' lines are taken here, once a turn: like a
        // connection's input, they wait while the loop is behind its writes
        // (chat-net's `Net::is_behind`), the subscriber then blocking on the
        // full channel and Redis holding the rest.
        if !net.is_behind() {
            self.take_cluster_events(net);
        }
        if let Some(bridge) = &mut self.cluster {
            bridge.hand_over();
        }
    }

    fn woken(&mut self, net: &mut Net) {
        let verdicts: Vec<_> = match &self.verifier {
            Some(verifier) => verifier.verdicts.try_iter().collect(),
            None => Vec::new(),
        };
        for (client, verdict) in verdicts {
            let (hub, mut out) = self.parts(net);
            hub.operator_checked(&mut out, client, verdict, now());
        }
        let events: Vec<_> = match &self.accounts {
            Some(accounts) => accounts.events.try_iter().collect(),
            None => Vec::new(),
        };
        for event in events {
            let (hub, mut out) = self.parts(net);
            match event {
                AccountEvent::Reply(reply) => hub.account_reply(&mut out, reply, now()),
                AccountEvent::Known(accounts) => hub.use_accounts(accounts),
            }
        }
        let events: Vec<_> = match &self.store {
            Some(store) => store.events(EVENTS_PER_WAKE),
            None => Vec::new(),
        };
        for event in events {
            let Some(event) = self.store_answer(net, event) else {
                continue;
            };
            let (hub, mut out) = self.parts(net);
            hub.store_event(&mut out, event, now());
        }
        let Some(console) = &self.console else { return };
        let inputs: Vec<ConsoleInput> = console.try_iter().collect();
        let mut closed = false;
        for input in inputs {
            if matches!(&input, ConsoleInput::Line(line) if line.trim() == "/reload") {
                self.reload(net);
                continue;
            }
            if let ConsoleInput::Line(line) = &input
                && self.webhook_command(net, line)
            {
                continue;
            }
            let (hub, mut out) = self.parts(net);
            match input {
                ConsoleInput::Line(line) => hub.console_line(&mut out, &line, now()),
                ConsoleInput::Closed => {
                    out.console("console input ended; the server keeps running");
                    closed = true;
                }
            }
        }
        if closed {
            self.console = None;
        }
    }

    fn timer(&mut self, net: &mut Net, _timer: TimerId) {
        let (hub, mut out) = self.parts(net);
        hub.tick(&mut out, now());
        if let Some(http) = &mut self.http {
            http.sweep(net);
        }
        if let Some(web) = &mut self.web {
            web.tick(net);
        }
        if let Some((every, last)) = &mut self.watchdog
            && net.now().duration_since(*last) >= *every
        {
            *last = net.now();
            crate::notify::watchdog();
        }
        net.set_timer(TICK);
    }

    fn signal(&mut self, net: &mut Net, signal: i32) {
        if signal == libc::SIGHUP {
            return self.reload(net);
        }
        if self.stopping {
            // A second signal: stop now, without waiting for slow clients.
            net.stop();
            return;
        }
        self.stopping = true;
        let (hub, mut out) = self.parts(net);
        hub.shutdown(&mut out, now());
    }

    fn refusal_notice(&mut self, _peer: SocketAddr) -> Option<Bytes> {
        Some(self.hub.refusal(now()))
    }
}
