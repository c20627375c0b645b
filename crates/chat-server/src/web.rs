//! The web listeners (`listen = [{ addr = "…", web = true }]`): the chat
//! page on `/` (with its script and style), and its WebSocket on `/ws`,
//! all on the reactor's thread through chat-net's HTTP layer; incoming
//! webhooks on `/hooks/TOKEN` (`web/hook_requests.rs`) and the HTTP API on
//! `/api/v1/` (`web/api_requests.rs`) too.
//!
//! A connection starts as HTTP, owned here. A page request is answered and
//! closed. An upgrade to `/ws` from an allowed origin is accepted
//! ([`Net::accept_websocket`]); from then on the reactor hands the hub
//! lines, as for a TCP client, and this only keeps it alive with pings.
//! The hub is told of the client only then, with the address that limits
//! and bans apply to: the peer's, or the one a trusted proxy names in
//! `X-Forwarded-For`.
//!
//! The page is embedded at build time and loads nothing from elsewhere;
//! every answer carries a Content-Security-Policy that allows script and
//! style from this origin only (none inline) and no framing. A request must
//! name one host in `Host`, and while `web_origins` is empty only one this
//! listener answers to (`hosts.rs`: addresses, localhost, `web_hosts`), so
//! a DNS-rebinding page on another site gets neither the page nor `/ws`.

use std::collections::{HashMap, HashSet};
use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};

use chat_hub::{HubConfig, IpNet};
use chat_net::http::{self, Head, Request, Status};
use chat_net::{ConnId, ListenerId, Net};

use crate::api::{API_PATH, ApiTokens};
use crate::hooks::Hooks;

mod api_requests;
mod hook_requests;
mod hosts;
mod keep_alive;
mod waiting;

pub use api_requests::{ApiCall, ApiWork, READ_WAIT};
pub use hook_requests::{HOOKS_PATH, HookPost};
pub use hosts::check_host_name;
pub use keep_alive::MAX_REQUESTS_PER_CONN;
use waiting::Waiting;

/// The page, its script and its style, as files in `crates/chat-server/web/`.
/// The script is ES modules that `app.js` imports by path, each served
/// from here: the CSP's `script-src 'self'` admits them and nothing else.
const PAGE: &str = include_str!("../web/index.html");
const SCRIPT: &str = include_str!("../web/app.js");
const LINES_MODULE: &str = include_str!("../web/lines.js");
const SESSION_MODULE: &str = include_str!("../web/session.js");
const VIEWS_MODULE: &str = include_str!("../web/views.js");
const ACCOUNT_MODULE: &str = include_str!("../web/account.js");
const STYLE: &str = include_str!("../web/app.css");

/// HTTP connections waiting for their request, at most: past it, the one
/// that has waited longest is closed to make room for a new one. (From one
/// address at most `max_clients_per_ip` wait, unless it is `exempt` or a
/// trusted proxy.)
pub const MAX_PENDING: usize = 256;

/// How long a connection may take to send its request (also how long a
/// kept-alive one may stay idle between requests).
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

/// How often each WebSocket is pinged.
pub const PING_EVERY: Duration = Duration::from_secs(30);

/// A WebSocket silent this long (no pong either) is closed.
pub const SILENCE_LIMIT: Duration = Duration::from_secs(75);

/// Sent with every answer: script and style from this origin only (none
/// inline, none from elsewhere), connections to this origin only, no
/// framing, no sniffing of types.
pub const SECURITY_HEADERS: [(&str, &str); 5] = [
    (
        "Content-Security-Policy",
        "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; \
         img-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
    ),
    ("X-Frame-Options", "DENY"),
    ("X-Content-Type-Options", "nosniff"),
    ("Referrer-Policy", "no-referrer"),
    ("Cross-Origin-Opener-Policy", "same-origin"),
];

/// Whether `request` offers the WebSocket subprotocol `name`.
fn offers_subprotocol(request: &Request, name: &str) -> bool {
    (request.headers.iter())
        .filter(|(header, _)| header.eq_ignore_ascii_case("sec-websocket-protocol"))
        .flat_map(|(_, value)| value.split(|&byte| byte == b','))
        .any(|offered| offered.trim_ascii().eq_ignore_ascii_case(name.as_bytes()))
}

/// What an IRC-over-WebSocket listener answers a plain request: where the
/// WebSocket is, since it serves no page.
fn irc_page() -> chat_net::Bytes {
    refusal_saying(
        Status::NOT_FOUND,
        "IRC over WebSocket is served at /ws (subprotocol text.ircv3.net); point a web IRC client there",
    )
}

/// Checks one `web_origins` entry: `http://HOST` or `https://HOST[:PORT]`,
/// without a path, as a browser sends it in `Origin`.
pub fn check_origin(origin: &str) -> Result<(), String> {
    let host = origin
        .strip_prefix("https://")
        .or_else(|| origin.strip_prefix("http://"));
    match host {
        Some(host)
            if !host.is_empty()
                && !host.contains(['/', '?', '#', ' ', '@'])
                && !host.chars().any(char::is_control) =>
        {
            Ok(())
        }
        _ => Err(format!(
            "{origin:?} is not an origin like https://chat.example.org or http://127.0.0.1:8080 (no path)"
        )),
    }
}

/// One web listener: the reactor's id for it, the address it is bound to,
/// and whether it is TLS (https and wss).
#[derive(Debug, Clone, Copy)]
pub struct WebListener {
    pub id: ListenerId,
    pub addr: SocketAddr,
    pub tls: bool,
    /// What its WebSockets speak: the page's line protocol, or IRC (the
    /// IRCv3 WebSocket spec's `text.ircv3.net`, for browser IRC clients).
    pub protocol: chat_hub::Protocol,
}

/// The WebSocket subprotocol of IRC over WebSocket (IRCv3): one IRC line
/// per text message.
pub const IRC_SUBPROTOCOL: &str = "text.ircv3.net";

/// What became of a closed connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Closed {
    /// It was still HTTP: the hub never knew it.
    Http,
    /// It was a WebSocket the hub knew, or not one of these at all: tell the hub.
    Hub,
}

/// Every web listener's connections.
#[derive(Debug)]
pub struct WebListeners {
    listeners: Vec<WebListener>,
    /// `web_origins`, lower case.
    origins: Vec<String>,
    /// `web_hosts`, lower case.
    hosts: Vec<String>,
    trusted_proxies: Vec<IpNet>,
    /// `max_line_bytes`: the longest message taken.
    max_message: usize,
    /// Connections waiting for their request.
    waiting: Waiting,
    /// Connections answered, refused or dropped while still HTTP, until
    /// the reactor reports them closed (the hub never knew them).
    closing: HashSet<ConnId>,
    /// Connections upgraded to WebSockets.
    sockets: HashSet<ConnId>,
    /// Hook and API requests taken, until answered: whether each
    /// connection may be kept alive for another (`web/keep_alive.rs`).
    reuse: HashMap<ConnId, keep_alive::Reuse>,
    last_ping: Option<Instant>,
    /// The incoming webhooks served at [`HOOKS_PATH`].
    pub hooks: Hooks,
    /// The HTTP API's tokens ([`API_PATH`]).
    pub api_tokens: ApiTokens,
    api_reads: api_requests::ApiReads,
}

/// What a web request came to, for the hub.
#[derive(Debug)]
pub enum Received {
    /// A WebSocket: the address the hub should know the client by, and
    /// the protocol it speaks.
    Upgraded(SocketAddr, chat_hub::Protocol),
    /// A webhook's lines to say ([`WebListeners::posted`] answers it).
    Posted(HookPost),
    /// An API call to carry out (answered with [`WebListeners::api_answer`]).
    Api(ApiCall),
}

impl WebListeners {
    pub fn new(
        listeners: Vec<WebListener>,
        origins: &[String],
        hosts: &[String],
        trusted_proxies: Vec<IpNet>,
        max_message: usize,
        hooks: Hooks,
    ) -> WebListeners {
        let lower = |list: &[String]| list.iter().map(|o| o.to_ascii_lowercase()).collect();
        WebListeners {
            listeners,
            origins: lower(origins),
            hosts: lower(hosts),
            trusted_proxies,
            max_message,
            waiting: Waiting::default(),
            closing: HashSet::new(),
            sockets: HashSet::new(),
            reuse: HashMap::new(),
            last_ping: None,
            hooks,
            api_tokens: ApiTokens::default(),
            api_reads: api_requests::ApiReads::default(),
        }
    }

    /// The first web listener's address (for a hook's URL).
    pub fn first_address(&self) -> String {
        self.listeners
            .first()
            .map_or_else(|| "HOST:PORT".to_owned(), |web| web.addr.to_string())
    }

    /// Whether `listener` is a web listener (its connections come here).
    pub fn serves(&self, listener: ListenerId) -> bool {
        self.listeners.iter().any(|web| web.id == listener)
    }

    /// A connection on a web listener came in. It waits for its request,
    /// unless its address already has `max_clients_per_ip` waiting (the
    /// chat's rule per address, with its `exempt` ranges, from `limits`):
    /// then it is told so and closed. A trusted proxy is not limited so: it
    /// speaks for many addresses. When [`MAX_PENDING`] wait, the one that
    /// has waited longest is closed to make room.
    pub fn accepted(
        &mut self,
        net: &mut Net,
        conn: ConnId,
        peer: SocketAddr,
        listener: ListenerId,
        limits: &HubConfig,
    ) {
        let Some(&listener) = self.listeners.iter().find(|web| web.id == listener) else {
            // Not one of ours (the server asks `serves` first): the hub never
            // hears of it either way.
            self.closing.insert(conn);
            return net.close(conn);
        };
        let ip = peer.ip();
        if !limits.is_exempt(ip)
            && !self.is_trusted_proxy(ip)
            && self.waiting.count_from(ip) >= limits.max_clients_per_ip
        {
            self.closing.insert(conn);
            return respond(
                net,
                conn,
                refusal_saying(
                    Status::SERVICE_UNAVAILABLE,
                    "too many connections from your address are waiting to send a request",
                ),
            );
        }
        if self.waiting.len() >= MAX_PENDING
            && let Some(oldest) = self.waiting.oldest()
        {
            self.drop_waiting(net, oldest);
        }
        self.waiting.add(conn, peer, listener, net.now());
    }

    /// Closes `conn`, which waits for its request, without an answer.
    fn drop_waiting(&mut self, net: &mut Net, conn: ConnId) {
        self.waiting.remove(conn);
        self.closing.insert(conn);
        net.close(conn);
    }

    /// Answers `conn`'s request with `response` and closes it once sent.
    fn answer(&mut self, net: &mut Net, conn: ConnId, response: chat_net::Bytes) {
        self.waiting.remove(conn);
        self.closing.insert(conn);
        respond(net, conn, response);
    }

    /// Whether `conn` is still speaking HTTP here (cheap when none is).
    pub fn is_http(&self, conn: ConnId) -> bool {
        (!self.waiting.is_empty() && self.waiting.contains(conn))
            || (!self.closing.is_empty() && self.closing.contains(&conn))
    }

    /// Bytes of a request: what it came to for the hub, once it comes to
    /// something (a WebSocket, a hook's post, an API call).
    pub fn received(&mut self, net: &mut Net, conn: ConnId, data: &[u8]) -> Option<Received> {
        let Some(pending) = self.waiting.get_mut(conn) else {
            // Still HTTP but not waiting: its request is with the hub.
            self.pipelined(conn);
            return None;
        };
        if let Some(post) = &mut pending.post {
            let api = matches!(post.to, hook_requests::PostTo::Api { .. });
            return match (post.feed(data), api) {
                (false, _) => None,
                (true, false) => self.hook_body(net, conn).map(Received::Posted),
                (true, true) => self.api_body(net, conn).map(Received::Api),
            };
        }
        let request = match pending.reader.feed(data) {
            Head::Partial => return None,
            Head::Request(request) => request,
            Head::Refused(status) => {
                self.answer(net, conn, refusal(status));
                return None;
            }
        };
        let (listener, peer) = (pending.listener, pending.peer);
        let early = pending.reader.take_rest();
        if request.path().starts_with(HOOKS_PATH) || request.path().starts_with(API_PATH) {
            let reuse = keep_alive::Reuse::new(&request, peer, listener, pending.served + 1);
            self.reuse.insert(conn, reuse);
        }
        if request.path().starts_with(HOOKS_PATH) {
            return self
                .hook_request(net, conn, &request, &early)
                .map(Received::Posted);
        }
        if request.path().starts_with(API_PATH) {
            return (self.api_request(net, conn, &request, &early)).map(Received::Api);
        }
        if let Some(refused) = self.host_refusal(&request, listener.addr.ip()) {
            self.answer(net, conn, refused);
            return None;
        }
        let irc = listener.protocol == chat_hub::Protocol::Irc;
        if request.path() != "/ws" {
            let answer = match irc {
                true => irc_page(),
                false => page(&request),
            };
            self.answer(net, conn, answer);
            return None;
        }
        let key = match http::websocket_key(&request) {
            Ok(key) => key,
            Err(Status::UPGRADE_REQUIRED) => {
                self.answer(
                    net,
                    conn,
                    http::websocket_version_required(&SECURITY_HEADERS),
                );
                return None;
            }
            Err(status) => {
                self.answer(net, conn, refusal(status));
                return None;
            }
        };
        if !self.origin_allowed(&request, listener.tls) {
            self.answer(net, conn, refusal(Status::FORBIDDEN));
            return None;
        }
        let client = self.client_address(&request, peer);
        let mut headers = SECURITY_HEADERS.to_vec();
        if irc && offers_subprotocol(&request, IRC_SUBPROTOCOL) {
            headers.push(("Sec-WebSocket-Protocol", IRC_SUBPROTOCOL));
        }
        let response = http::websocket_accept(key, &headers);
        self.waiting.remove(conn);
        let max_message = match irc {
            true => listener.protocol.max_message_bytes(self.max_message),
            false => self.max_message,
        };
        net.accept_websocket(conn, response, max_message, &early);
        self.sockets.insert(conn);
        Some(Received::Upgraded(client, listener.protocol))
    }

    /// The answer to a request whose `Host` is refused, if it is: there must
    /// be one, naming a host, and while `web_origins` is empty it must be
    /// one a listener on `listener` answers to ([`hosts::allowed`]). With
    /// `web_origins` set, those origins alone open the WebSocket, whatever
    /// `Host` a proxy in front sends.
    fn host_refusal(&self, request: &Request, listener: IpAddr) -> Option<chat_net::Bytes> {
        let mut values = request
            .headers
            .iter()
            .filter(|(name, _)| name.eq_ignore_ascii_case("host"));
        let host = match (values.next(), values.next()) {
            (Some((_, value)), None) => hosts::parse(value),
            _ => None,
        };
        let Some(host) = host else {
            return Some(refusal_saying(
                Status::BAD_REQUEST,
                "a request needs one Host header naming a host",
            ));
        };
        if self.origins.is_empty() && !hosts::allowed(&host, &self.hosts, listener) {
            return Some(refusal_saying(
                Status::MISDIRECTED_REQUEST,
                "this server does not answer to that name (its operator may list it in web_hosts)",
            ));
        }
        None
    }

    /// The upgrade's `Origin` (a browser always sends one) is in
    /// `web_origins`, or, when that is empty, names the host the request
    /// was made to (the page's own origin, by http or https: a proxy in
    /// front may add TLS). A client without `Origin` is not a browser page
    /// and cannot be one on another site.
    fn origin_allowed(&self, request: &Request, tls: bool) -> bool {
        let Some(origin) = request.header("origin") else {
            return true;
        };
        let origin = String::from_utf8_lossy(origin).to_ascii_lowercase();
        if !self.origins.is_empty() {
            return self.origins.contains(&origin);
        }
        let Some(host) = request.header("host") else {
            return false;
        };
        let host = String::from_utf8_lossy(host).to_ascii_lowercase();
        let schemes: &[&str] = if tls { &["https"] } else { &["http", "https"] };
        schemes
            .iter()
            .any(|scheme| origin == format!("{scheme}://{host}"))
    }

    fn is_trusted_proxy(&self, ip: IpAddr) -> bool {
        self.trusted_proxies.iter().any(|net| net.contains(&ip))
    }

    /// The peer, or, when the peer is a trusted proxy, the nearest address
    /// in `X-Forwarded-For` that is not one (proxies append, so the right
    /// end is the one a trusted proxy wrote).
    fn client_address(&self, request: &Request, peer: SocketAddr) -> SocketAddr {
        let trusted = |ip: &IpAddr| self.is_trusted_proxy(*ip);
        if !trusted(&peer.ip()) {
            return peer;
        }
        let Some(forwarded) = request.header("x-forwarded-for") else {
            return peer;
        };
        let forwarded = String::from_utf8_lossy(forwarded);
        let named = forwarded
            .rsplit(',')
            .map(|entry| entry.trim().parse::<IpAddr>())
            .take_while(Result::is_ok)
            .filter_map(Result::ok)
            .find(|ip| !trusted(ip));
        named.map_or(peer, |ip| SocketAddr::new(ip, peer.port()))
    }

    /// `conn` is gone.
    pub fn closed(&mut self, conn: ConnId) -> Closed {
        self.api_closed(conn);
        self.reuse.remove(&conn);
        if self.waiting.remove(conn).is_some() || self.closing.remove(&conn) {
            return Closed::Http;
        }
        self.sockets.remove(&conn);
        Closed::Hub
    }

    /// On the server's tick: requests that took too long are closed, and
    /// every [`PING_EVERY`] each WebSocket is pinged (or closed if silent
    /// for [`SILENCE_LIMIT`]).
    pub fn tick(&mut self, net: &mut Net) {
        let now = net.now();
        for conn in self.waiting.overdue(now, REQUEST_TIMEOUT) {
            self.drop_waiting(net, conn);
        }
        self.api_reads_overdue(net, now);
        let last = *self.last_ping.get_or_insert(now);
        if now.duration_since(last) >= PING_EVERY {
            self.last_ping = Some(now);
            for &conn in &self.sockets {
                net.websocket_keepalive(conn, SILENCE_LIMIT);
            }
        }
    }
}

/// Sends `response` and closes once it is written.
fn respond(net: &mut Net, conn: ConnId, response: chat_net::Bytes) {
    net.send(conn, response);
    net.close_after_flush(conn);
}

fn refusal(status: Status) -> chat_net::Bytes {
    refusal_saying(status, "")
}

/// A refusal whose body says `why` after the status (nothing if empty).
fn refusal_saying(status: Status, why: &str) -> chat_net::Bytes {
    let body = refusal_text(status, why);
    http::response_with_headers(
        status,
        "text/plain; charset=utf-8",
        &SECURITY_HEADERS,
        body.as_bytes(),
        None,
    )
}

/// The body of a refusal: the status, then `why` if there is one.
fn refusal_text(status: Status, why: &str) -> String {
    match why {
        "" => format!("{} {}\n", status.0, status.1),
        why => format!("{} {}: {why}\n", status.0, status.1),
    }
}

/// The page's files, for GET and HEAD.
fn page(request: &Request) -> chat_net::Bytes {
    let head_only = request.method == "HEAD";
    if request.method != "GET" && !head_only {
        return refusal(Status::METHOD_NOT_ALLOWED);
    }
    let (content_type, body) = match request.path() {
        "/" | "/index.html" => ("text/html; charset=utf-8", PAGE),
        "/app.js" => ("text/javascript; charset=utf-8", SCRIPT),
        "/lines.js" => ("text/javascript; charset=utf-8", LINES_MODULE),
        "/session.js" => ("text/javascript; charset=utf-8", SESSION_MODULE),
        "/views.js" => ("text/javascript; charset=utf-8", VIEWS_MODULE),
        "/account.js" => ("text/javascript; charset=utf-8", ACCOUNT_MODULE),
        "/app.css" => ("text/css; charset=utf-8", STYLE),
        _ => return refusal(Status::NOT_FOUND),
    };
    let sent: &[u8] = if head_only { b"" } else { body.as_bytes() };
    http::response_with_headers(
        Status::OK,
        content_type,
        &SECURITY_HEADERS,
        sent,
        Some(body.len()),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use chat_net::http::HeadReader;

    fn request(text: &str) -> Request {
        match HeadReader::new().feed(text.as_bytes()) {
            Head::Request(request) => request,
            other => panic!("{other:?}"),
        }
    }

    fn web(origins: &[&str], proxies: &[&str]) -> WebListeners {
        let origins: Vec<String> = origins.iter().map(|o| (*o).to_owned()).collect();
        let proxies = proxies
            .iter()
            .map(|p| p.parse().unwrap_or_else(|e| panic!("{p}: {e}")))
            .collect();
        let hooks = crate::config::Config::default().hook_limits();
        WebListeners::new(
            Vec::new(),
            &origins,
            &[],
            proxies,
            100,
            Hooks::new(&[], hooks),
        )
    }

    #[test]
    fn the_pages_own_origin_is_the_default() {
        let web = web(&[], &[]);
        let ask = |origin: &str| {
            request(&format!(
                "GET /ws HTTP/1.1\r\nHost: 127.0.0.1:8080\r\nOrigin: {origin}\r\n\r\n"
            ))
        };
        assert!(web.origin_allowed(&ask("http://127.0.0.1:8080"), false));
        assert!(web.origin_allowed(&ask("HTTP://127.0.0.1:8080"), false));
        assert!(!web.origin_allowed(&ask("http://evil.example"), false));
        assert!(!web.origin_allowed(&ask("http://127.0.0.1:8080"), true));
        assert!(web.origin_allowed(&request("GET /ws HTTP/1.1\r\n\r\n"), false));
        let listed = self::web(&["https://chat.example.org"], &[]);
        assert!(listed.origin_allowed(&ask("https://chat.example.org"), false));
        assert!(!listed.origin_allowed(&ask("http://127.0.0.1:8080"), false));
    }

    #[test]
    fn forwarded_for_counts_only_from_trusted_proxies() {
        let web = web(&[], &["10.0.0.0/8"]);
        let ask = request("GET /ws HTTP/1.1\r\nX-Forwarded-For: 1.2.3.4, 10.0.0.7\r\n\r\n");
        let proxy: SocketAddr = "10.0.0.1:5000".parse().unwrap_or_else(|e| panic!("{e}"));
        let stranger: SocketAddr = "9.9.9.9:5000".parse().unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            web.client_address(&ask, proxy),
            "1.2.3.4:5000".parse().unwrap_or_else(|e| panic!("{e}"))
        );
        assert_eq!(web.client_address(&ask, stranger), stranger);
        let junk = request("GET /ws HTTP/1.1\r\nX-Forwarded-For: nonsense\r\n\r\n");
        assert_eq!(web.client_address(&junk, proxy), proxy);
    }

    #[test]
    fn origins_are_checked_in_the_config() {
        assert!(check_origin("https://chat.example.org").is_ok());
        assert!(check_origin("http://127.0.0.1:8080").is_ok());
        assert!(check_origin("chat.example.org").is_err());
        assert!(check_origin("https://chat.example.org/").is_err());
    }
}
