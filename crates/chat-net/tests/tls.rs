//! TLS listeners over real loopback sockets: a rustls client talks to the
//! reactor's TLS session; plain text on the TLS port and a stalled handshake
//! are closed without harm to anyone else.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::Arc;
use std::time::Duration;

use chat_net::rustls::{self, pki_types::ServerName};
use chat_net::{CloseReason, NetConfig, Reactor};
use support::{Behavior, LOCALHOST, Server};

struct Pki {
    server: Arc<rustls::ServerConfig>,
    client: Arc<rustls::ClientConfig>,
}

fn pki() -> Pki {
    let cert = rcgen::generate_simple_self_signed(vec!["localhost".into()]).unwrap();
    let der = cert.cert.der().clone();
    let key = rustls::pki_types::PrivateKeyDer::Pkcs8(cert.signing_key.serialize_der().into());
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let server = rustls::ServerConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(vec![der.clone()], key)
        .unwrap();
    let mut roots = rustls::RootCertStore::empty();
    roots.add(der).unwrap();
    let client = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    Pki {
        server: Arc::new(server),
        client: Arc::new(client),
    }
}

fn start(config: NetConfig, tls: Arc<rustls::ServerConfig>) -> Server {
    let mut reactor = Reactor::new(config).unwrap();
    let (_, addr) = reactor.listen_tls(LOCALHOST.parse().unwrap(), tls).unwrap();
    Server::spawn(reactor, vec![addr], Behavior::echo())
}

fn tls_client(
    pki: &Pki,
    server: &Server,
) -> rustls::StreamOwned<rustls::ClientConnection, TcpStream> {
    let tcp = TcpStream::connect(server.addr()).unwrap();
    tcp.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let name = ServerName::try_from("localhost").unwrap();
    let session = rustls::ClientConnection::new(pki.client.clone(), name).unwrap();
    rustls::StreamOwned::new(session, tcp)
}

#[test]
fn tls_echo_round_trip_including_large_writes() {
    let pki = pki();
    let mut server = start(NetConfig::default(), pki.server.clone());
    let mut client = tls_client(&pki, &server);
    client.write_all(b"hello over tls\n").unwrap();
    let mut buf = [0u8; 15];
    client.read_exact(&mut buf).unwrap();
    assert_eq!(&buf, b"hello over tls\n");
    assert_eq!(
        client.conn.protocol_version(),
        Some(rustls::ProtocolVersion::TLSv1_3)
    );

    // 1 MiB each way: exercises partial TLS writes and the plaintext limit.
    let payload: Vec<u8> = (0..1024 * 1024).map(|i| (i % 251) as u8).collect();
    let mut echoed = vec![0u8; payload.len()];
    let mut sent = 0;
    let mut got = 0;
    while got < payload.len() {
        if sent < payload.len() {
            let end = (sent + 16 * 1024).min(payload.len());
            client.write_all(&payload[sent..end]).unwrap();
            sent = end;
        }
        let n = client.read(&mut echoed[got..]).unwrap();
        assert!(n > 0, "EOF after {got} bytes");
        got += n;
    }
    assert!(echoed == payload, "echoed bytes differ");
    let conn = server.expect_accepted();
    drop(client);
    let reason = server.expect_closed(conn);
    assert!(
        matches!(reason, CloseReason::PeerClosed | CloseReason::Error(_)),
        "{reason:?}"
    );
    drop(server);
}

#[test]
fn plain_text_on_the_tls_port_is_closed_cleanly() {
    let pki = pki();
    let mut server = start(NetConfig::default(), pki.server.clone());
    let mut plain = TcpStream::connect(server.addr()).unwrap();
    plain
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    plain.write_all(b"hello, is this thing on?\n").unwrap();
    let conn = server.expect_accepted();
    let reason = server.expect_closed(conn);
    assert_eq!(reason, CloseReason::Error(std::io::ErrorKind::InvalidData));
    // Whatever came back (a TLS alert at most) ends in EOF.
    let mut rest = Vec::new();
    let _ = plain.read_to_end(&mut rest);
    assert!(rest.len() < 64, "{rest:?}");

    // The listener still serves real TLS clients.
    let mut client = tls_client(&pki, &server);
    client.write_all(b"ok\n").unwrap();
    let mut buf = [0u8; 3];
    client.read_exact(&mut buf).unwrap();
    assert_eq!(&buf, b"ok\n");
    drop(client);
    drop(server);
}

#[test]
fn a_stalled_handshake_is_closed_after_the_timeout() {
    let pki = pki();
    let config = NetConfig {
        tls_handshake_timeout: Duration::from_millis(300),
        ..NetConfig::default()
    };
    let mut server = start(config, pki.server.clone());
    let mut silent = TcpStream::connect(server.addr()).unwrap();
    silent
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    let conn = server.expect_accepted();
    let reason = server.expect_closed(conn);
    assert_eq!(reason, CloseReason::Error(std::io::ErrorKind::TimedOut));
    let mut rest = Vec::new();
    let _ = silent.read_to_end(&mut rest);
    drop(server);
}
