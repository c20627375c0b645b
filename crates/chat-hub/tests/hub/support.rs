//! The fixture every test of the hub binary drives it with: a [`Recorder`]
//! standing in for the server (it keeps what the hub sends, closes and asks
//! for), a fixed clock, and helpers that connect clients, log them in and
//! play the cluster's side.

use std::collections::BTreeMap;

use bytes::Bytes;
use chrono::DateTime;

use chat_hub::*;

/// Records what the hub asked for.
#[derive(Default)]
pub(crate) struct Recorder {
    pub(crate) sent: BTreeMap<ClientId, Vec<Bytes>>,
    pub(crate) closed: Vec<ClientId>,
    pub(crate) console: Vec<String>,
    pub(crate) shutdown: bool,
    /// Requests to the cluster, taken when `cluster_up`.
    pub(crate) requests: Vec<ClusterRequest>,
    pub(crate) cluster_up: bool,
    /// `/oper` checks handed to the verifier, not answered yet.
    pub(crate) checks: Vec<OperatorCheck>,
    /// The verifier's queue is full: it takes no check.
    pub(crate) verifier_full: bool,
    /// Requests to the account store, not answered yet.
    pub(crate) account_tasks: Vec<AccountTask>,
    /// What the hub handed the account store to keep, when a test keeps
    /// it (`None`: there is no store to take it).
    pub(crate) records: Option<Vec<AccountRecord>>,
}

impl Outbox for Recorder {
    fn send(&mut self, to: ClientId, msg: Bytes) {
        self.sent.entry(to).or_default().push(msg);
    }
    fn close(&mut self, client: ClientId) {
        self.closed.push(client);
    }
    fn console(&mut self, line: &str) {
        self.console.push(line.to_owned());
    }
    fn shutdown(&mut self) {
        self.shutdown = true;
    }
    fn cluster(&mut self, request: ClusterRequest) -> bool {
        if self.cluster_up {
            self.requests.push(request);
        }
        self.cluster_up
    }
    fn verify_operator(&mut self, check: OperatorCheck) -> bool {
        if !self.verifier_full {
            self.checks.push(check);
        }
        !self.verifier_full
    }
    fn accounts(&mut self, task: AccountTask) -> bool {
        self.account_tasks.push(task);
        true
    }
    fn account_record(&mut self, record: AccountRecord) -> bool {
        self.records
            .as_mut()
            .map(|kept| kept.push(record))
            .is_some()
    }
}

impl Recorder {
    /// Everything sent to `id` since the last call, as text.
    pub(crate) fn take(&mut self, id: u64) -> String {
        let sent = self.sent.remove(&ClientId(id as usize)).unwrap_or_default();
        sent.iter()
            .map(|b| String::from_utf8_lossy(b).into_owned())
            .collect()
    }
}

pub(crate) fn now() -> Now {
    DateTime::parse_from_rfc3339("2026-11-03T08:05:09+00:00").unwrap_or_else(|e| panic!("{e}"))
}

pub(crate) struct Fixture {
    pub(crate) hub: Hub,
    pub(crate) out: Recorder,
    pub(crate) time: Now,
    /// Leave `/oper` checks unanswered until [`Fixture::answer_checks`]
    /// (else each `say` answers them, as a verifier that is never behind).
    pub(crate) hold_checks: bool,
    /// What every connection speaks: the config's `framing`.
    pub(crate) protocol: Protocol,
}

impl Fixture {
    pub(crate) fn arrival(&self, peer: std::net::SocketAddr) -> Arrival {
        Arrival {
            peer,
            protocol: self.protocol,
        }
    }

    pub(crate) fn new(config: HubConfig) -> Fixture {
        let protocol = config.framing;
        let mut hub = Hub::new(config);
        hub.start(now());
        Fixture {
            hub,
            out: Recorder::default(),
            time: now(),
            hold_checks: false,
            protocol,
        }
    }

    /// Runs the `/oper` checks handed over (argon2, synchronously, as the
    /// server's worker would) and gives the hub their verdicts.
    pub(crate) fn answer_checks(&mut self) {
        for check in std::mem::take(&mut self.out.checks) {
            let verdict = check.verdict();
            self.hub
                .operator_checked(&mut self.out, check.client, verdict, self.time);
        }
    }

    pub(crate) fn connect(&mut self, id: u64) {
        let peer = format!("127.0.0.1:{}", 40000 + id)
            .parse()
            .unwrap_or_else(|e| panic!("{e}"));
        let arrival = self.arrival(peer);
        self.hub
            .connected(&mut self.out, ClientId(id as usize), arrival, self.time);
    }

    pub(crate) fn say(&mut self, id: u64, bytes: &str) {
        self.hub.received(
            &mut self.out,
            ClientId(id as usize),
            bytes.as_bytes(),
            self.time,
        );
        if !self.hold_checks {
            self.answer_checks();
        }
    }

    pub(crate) fn console(&mut self, line: &str) {
        self.hub.console_line(&mut self.out, line, self.time);
    }

    pub(crate) fn connect_from(&mut self, id: u64, peer: &str) {
        let peer = peer.parse().unwrap_or_else(|e| panic!("{peer}: {e}"));
        let arrival = self.arrival(peer);
        self.hub
            .connected(&mut self.out, ClientId(id as usize), arrival, self.time);
    }

    /// Lets `ms` milliseconds pass, ticking the hub every 100 ms as the server does.
    pub(crate) fn advance(&mut self, ms: i64) {
        for _ in 0..ms / 100 {
            self.time += chrono::Duration::milliseconds(100);
            self.hub.tick(&mut self.out, self.time);
        }
    }

    pub(crate) fn lines_for(&mut self, id: u64) -> Vec<String> {
        self.out
            .take(id)
            .lines()
            .map(|l| l.split_once("] ").map_or(l, |x| x.1).to_owned())
            .collect()
    }

    /// Connects `ids` and forgets what they were sent while joining.
    pub(crate) fn with_clients(ids: &[u64]) -> Fixture {
        let mut f = Fixture::new(HubConfig::default());
        for &id in ids {
            f.connect(id);
        }
        for &id in ids {
            f.out.take(id);
        }
        // The setup's own console lines (who connected) are not the test's.
        f.out.console.clear();
        f
    }
}

/// A cheap argon2 hash, so debug-build tests stay fast.
pub(crate) fn cheap_hash(password: &str) -> String {
    use argon2::password_hash::{PasswordHasher, SaltString};
    let params = argon2::Params::new(8, 1, 1, None).unwrap_or_else(|e| panic!("{e}"));
    let argon = argon2::Argon2::new(argon2::Algorithm::Argon2id, argon2::Version::V0x13, params);
    let salt = SaltString::encode_b64(b"a fixed test salt").unwrap_or_else(|e| panic!("{e}"));
    argon
        .hash_password(password.as_bytes(), &salt)
        .unwrap_or_else(|e| panic!("{e}"))
        .to_string()
}

pub(crate) fn with_admission() -> Fixture {
    Fixture::new(HubConfig {
        password: Some("s3cret".into()),
        operators: vec![Operator {
            name: "root".into(),
            password_hash: cheap_hash("hunter2"),
        }],
        ..HubConfig::default()
    })
}

/// A cluster node (`a:1`) whose channel to the cluster takes every request.
pub(crate) fn cluster_fixture() -> Fixture {
    let mut f = Fixture::new(HubConfig {
        cluster: Some(ClusterSettings {
            node: "a:1".into(),
            sync_seconds: 5,
        }),
        ..HubConfig::default()
    });
    f.out.cluster_up = true;
    f
}

/// A cluster node whose console echoes room lines (as `--console` does).
pub(crate) fn echoing_cluster_fixture() -> Fixture {
    let mut f = Fixture::new(HubConfig {
        cluster: Some(ClusterSettings {
            node: "a:1".into(),
            sync_seconds: 5,
        }),
        echo_messages: true,
        ..HubConfig::default()
    });
    f.out.cluster_up = true;
    f
}

impl Fixture {
    /// Connects `id` in a cluster and answers its history request (empty).
    pub(crate) fn connect_node(&mut self, id: u64) {
        self.connect(id);
        let token = self.out.requests.iter().find_map(|r| match r {
            ClusterRequest::History { client, token, .. } if *client == ClientId(id as usize) => {
                Some(*token)
            }
            _ => None,
        });
        let mut out = std::mem::take(&mut self.out);
        if let Some(token) = token {
            let event = ClusterEvent::History {
                client: ClientId(id as usize),
                token,
                lines: Some(Vec::new()),
            };
            self.hub.cluster_event(&mut out, event, self.time);
        }
        self.out = out;
    }

    /// Hands the hub one event from the cluster.
    pub(crate) fn event(&mut self, event: ClusterEvent) {
        let mut out = std::mem::take(&mut self.out);
        self.hub.cluster_event(&mut out, event, self.time);
        self.out = out;
    }

    /// The token of `id`'s last history request.
    pub(crate) fn history_token(&self, id: u64) -> u64 {
        self.out
            .requests
            .iter()
            .rev()
            .find_map(|r| match r {
                ClusterRequest::History { client, token, .. }
                    if *client == ClientId(id as usize) =>
                {
                    Some(*token)
                }
                _ => None,
            })
            .unwrap_or_else(|| panic!("no history request: {:?}", self.out.requests))
    }

    pub(crate) fn cluster(&mut self, event: ClusterEvent) {
        let mut out = std::mem::take(&mut self.out);
        self.hub.cluster_event(&mut out, event, self.time);
        self.out = out;
    }

    /// `line` heard live from another node as stream entry `ms`-0.
    pub(crate) fn heard(&mut self, ms: u64, line: RoomLine) {
        let id = StreamId { ms, seq: 0 }.into();
        self.cluster(ClusterEvent::Line { id, line });
    }

    /// Answers `id`'s latest history request (with nothing).
    pub(crate) fn answer_history(&mut self, id: u64) {
        let token = self.out.requests.iter().rev().find_map(|r| match r {
            ClusterRequest::History { client, token, .. } if *client == ClientId(id as usize) => {
                Some(*token)
            }
            _ => None,
        });
        if let Some(token) = token {
            self.cluster(ClusterEvent::History {
                client: ClientId(id as usize),
                token,
                lines: Some(Vec::new()),
            });
        }
    }

    /// The room lines and notices asked to be published, as `kind room nick text`.
    pub(crate) fn published(&mut self) -> Vec<String> {
        let published = self
            .out
            .requests
            .iter()
            .filter_map(|request| match request {
                ClusterRequest::Publish(line) => Some(format!(
                    "{:?} {} {} {}",
                    line.kind, line.room, line.nick, line.text
                )),
                _ => None,
            });
        let published = published.collect();
        self.out.requests.clear();
        published
    }
}

pub(crate) fn remote_line(text: &str, time: Now) -> RoomLine {
    RoomLine {
        origin: "b:2".into(),
        room: "Lobby".into(),
        nick: "bob".into(),
        text: text.into(),
        kind: RoomEvent::Message,
        time,
        seq: 0,
    }
}

pub(crate) fn bob_in(room: &str, kind: RoomEvent, text: &str) -> RoomLine {
    RoomLine {
        room: room.into(),
        kind,
        ..remote_line(text, now())
    }
}
