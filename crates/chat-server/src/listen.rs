//! One entry of `listen`: a plain TCP address, or a table with TLS files,
//! `web = true` (the browser page and its WebSocket) and the protocol its
//! connections speak, and the command-line form of each
//! (`--listen ADDR[,web][,line|raw|irc][,cert=PATH,key=PATH]`).

use std::fmt;
use std::net::SocketAddr;
use std::path::PathBuf;

use chat_hub::Protocol;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// One entry of `listen`: `"ADDR"` for plain TCP, or
/// `{ addr = "ADDR", tls = { cert = "PATH", key = "PATH" }, web = true,
/// protocol = "raw" }` (each of `tls`, `web` and `protocol` optional).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub enum Listen {
    Plain(SocketAddr),
    Table(ListenTable),
}

impl Listen {
    /// A plain IRC listener on `addr`.
    pub fn irc(addr: SocketAddr) -> Listen {
        Listen::Table(ListenTable {
            addr,
            tls: None,
            web: false,
            protocol: Some(Protocol::Irc),
        })
    }

    /// A plain (http, ws) web listener on `addr`.
    pub fn web(addr: SocketAddr) -> Listen {
        Listen::Table(ListenTable {
            addr,
            tls: None,
            web: true,
            protocol: None,
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListenTable {
    pub addr: SocketAddr,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls: Option<TlsFiles>,
    /// Serves the chat page on `/` and its WebSocket on `/ws` instead of
    /// the line protocol.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub web: bool,
    /// What its connections speak (`line`, `raw` or `irc`); `None`: `framing`,
    /// the server's default. The page speaks `line`.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        serialize_with = "protocol_name::serialize",
        deserialize_with = "protocol_name::deserialize"
    )]
    pub protocol: Option<Protocol>,
}

/// `protocol`, by its name in server.toml.
mod protocol_name {
    use super::*;

    pub(super) fn serialize<S: Serializer>(
        protocol: &Option<Protocol>,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(protocol.map_or("", Protocol::name))
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Option<Protocol>, D::Error> {
        let name = String::deserialize(deserializer)?;
        super::protocol(&name)
            .map(Some)
            .map_err(serde::de::Error::custom)
    }
}

/// The protocol named `name`, or why not.
fn protocol(name: &str) -> Result<Protocol, String> {
    let names = Protocol::NAMES;
    match names.iter().find(|(known, _, _)| *known == name) {
        Some(&(_, protocol, _)) => Ok(protocol),
        None => {
            let known: Vec<String> = names.iter().map(|(n, _, _)| format!("`{n}`")).collect();
            Err(format!(
                "unknown protocol `{name}`, expected {}",
                known.join(" or ")
            ))
        }
    }
}

/// PEM files of a TLS listener: the certificate chain and its private key
/// (PKCS#8, RSA or EC).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TlsFiles {
    pub cert: PathBuf,
    pub key: PathBuf,
}

impl Listen {
    pub fn addr(&self) -> SocketAddr {
        match self {
            Listen::Plain(addr) => *addr,
            Listen::Table(table) => table.addr,
        }
    }

    pub fn tls(&self) -> Option<&TlsFiles> {
        match self {
            Listen::Plain(_) => None,
            Listen::Table(table) => table.tls.as_ref(),
        }
    }

    /// Whether this is a web listener (the page and its WebSocket).
    pub fn is_web(&self) -> bool {
        matches!(self, Listen::Table(table) if table.web)
    }

    /// The protocol its connections speak, if it names one (else the
    /// server's `framing`).
    pub fn protocol(&self) -> Option<Protocol> {
        match self {
            Listen::Plain(_) => None,
            Listen::Table(table) => table.protocol,
        }
    }

    /// The protocol its connections speak, `default` unless it names one.
    /// The page speaks the line protocol, whatever `framing` says.
    pub fn protocol_or(&self, default: Protocol) -> Protocol {
        match self.protocol() {
            Some(protocol) => protocol,
            None if self.is_web() => Protocol::Line,
            None => default,
        }
    }

    /// The command-line form: `ADDR`, then optionally `web` and
    /// `cert=PATH,key=PATH`, comma-separated.
    pub fn parse_flag(text: &str) -> Result<Listen, String> {
        let mut parts = text.split(',');
        let addr = parts.next().unwrap_or_default();
        let addr: SocketAddr = addr.parse().map_err(|_| {
            format!("{addr:?} is not an address like 127.0.0.1:21263 or [::1]:21263")
        })?;
        let (mut cert, mut key, mut web, mut protocol) = (None, None, false, None);
        for part in parts {
            match part.split_once('=') {
                Some(("cert", path)) => cert = Some(PathBuf::from(path)),
                Some(("key", path)) => key = Some(PathBuf::from(path)),
                None if part == "web" => web = true,
                None if self::protocol(part).is_ok() => protocol = self::protocol(part).ok(),
                _ => {
                    return Err(format!(
                        "{part:?}: expected web, line, raw, cert=PATH or key=PATH"
                    ));
                }
            }
        }
        let tls = match (cert, key) {
            (None, None) => None,
            (Some(cert), Some(key)) => Some(TlsFiles { cert, key }),
            _ => return Err("a TLS listener needs both cert=PATH and key=PATH".into()),
        };
        if tls.is_none() && !web && protocol.is_none() {
            return Ok(Listen::Plain(addr));
        }
        let table = ListenTable {
            addr,
            tls,
            web,
            protocol,
        };
        table.check()?;
        Ok(Listen::Table(table))
    }
}

impl ListenTable {
    /// What no listener may be: a WebSocket of anything but the page's
    /// line protocol or IRC (IRC over WebSocket, as browser IRC clients
    /// speak it).
    fn check(&self) -> Result<(), String> {
        match self.protocol {
            Some(Protocol::Raw) if self.web => Err(
                "a web listener speaks the page's line protocol or IRC over WebSocket (protocol = \"irc\"): protocol = \"raw\" cannot run over it"
                    .to_owned(),
            ),
            _ => Ok(()),
        }
    }
}

// By hand rather than `#[serde(untagged)]`, whose error ("did not match any
// variant") would lose both the reason and the element's line.
impl<'de> Deserialize<'de> for Listen {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Listen, D::Error> {
        struct Visitor;
        impl<'de> serde::de::Visitor<'de> for Visitor {
            type Value = Listen;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an address like \"127.0.0.1:21263\" or a table { addr = \"ADDR\", tls = { cert = \"PATH\", key = \"PATH\" }, web = true }")
            }
            fn visit_str<E: serde::de::Error>(self, text: &str) -> Result<Listen, E> {
                text.parse().map(Listen::Plain).map_err(|_| {
                    E::custom(format!(
                        "{text:?} is not an address like \"127.0.0.1:21263\" or \"[::1]:21263\""
                    ))
                })
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(self, map: A) -> Result<Listen, A::Error> {
                let table =
                    ListenTable::deserialize(serde::de::value::MapAccessDeserializer::new(map))?;
                table.check().map_err(serde::de::Error::custom)?;
                Ok(Listen::Table(table))
            }
        }
        deserializer.deserialize_any(Visitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn web_listeners_parse_from_the_flag() {
        let web = Listen::parse_flag("127.0.0.1:8080,web").unwrap_or_else(|e| panic!("{e}"));
        assert!(web.is_web());
        assert!(web.tls().is_none());
        let wss = Listen::parse_flag("127.0.0.1:8443,web,cert=c.pem,key=k.pem")
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(wss.is_web() && wss.tls().is_some());
        let plain = Listen::parse_flag("127.0.0.1:1").unwrap_or_else(|e| panic!("{e}"));
        assert!(!plain.is_web());
        assert!(Listen::parse_flag("127.0.0.1:1,webb").is_err());
    }
}
