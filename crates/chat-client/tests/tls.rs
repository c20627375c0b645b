//! `--tls` against an in-test rustls server on loopback: the conversation
//! both ways with half-close, a wrong CA, a wrong name, `--insecure`, a
//! plain server, and a bulk transfer through the pump.
//!
//! Certificates are made here with rcgen (self-signed, for `localhost` and
//! `127.0.0.1`), written under `CARGO_TARGET_TMPDIR`.

mod common;

use std::fs;
use std::io::{self, Read as _, Write as _};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use common::{FakeServer, read_to_eof, run_client};
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::{ServerConfig, ServerConnection, StreamOwned};

/// A self-signed certificate with its key, and its PEM file on disk.
struct Cert {
    der: CertificateDer<'static>,
    key: PrivateKeyDer<'static>,
    pem_path: PathBuf,
}

impl Cert {
    fn new() -> Self {
        static COUNT: AtomicUsize = AtomicUsize::new(0);
        let n = COUNT.fetch_add(1, Ordering::Relaxed);
        // A name of its own, so another test certificate is an unknown
        // issuer rather than a same-named one with a bad signature.
        let mut params =
            rcgen::CertificateParams::new(vec!["localhost".to_owned(), "127.0.0.1".to_owned()])
                .expect("certificate params");
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, format!("chat-client test {n}"));
        let signing_key = rcgen::KeyPair::generate().expect("key pair");
        let cert = params
            .self_signed(&signing_key)
            .expect("self-signed certificate");
        let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("chat-client-tls");
        fs::create_dir_all(&dir).expect("temp dir");
        let pem_path = dir.join(format!("cert-{}-{n}.pem", std::process::id()));
        fs::write(&pem_path, cert.pem()).expect("write cert PEM");
        Self {
            der: cert.der().clone(),
            key: PrivateKeyDer::Pkcs8(signing_key.serialize_der().into()),
            pem_path,
        }
    }

    fn pem(&self) -> &str {
        self.pem_path.to_str().expect("UTF-8 temp path")
    }

    fn server_config(&self) -> Arc<ServerConfig> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let config = ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .expect("protocol versions")
            .with_no_client_auth()
            .with_single_cert(vec![self.der.clone()], self.key.clone_key())
            .expect("server config");
        Arc::new(config)
    }
}

type TlsStream = StreamOwned<ServerConnection, TcpStream>;

/// A one-connection TLS server running `handler` after the handshake.
fn tls_server<T: Send + 'static>(
    cert: &Cert,
    handler: impl FnOnce(&mut TlsStream) -> io::Result<T> + Send + 'static,
) -> FakeServer<T> {
    let config = cert.server_config();
    FakeServer::start(move |tcp| {
        let session = ServerConnection::new(config).map_err(io::Error::other)?;
        let mut stream = StreamOwned::new(session, tcp);
        handler(&mut stream)
    })
}

/// Greet, read everything until the client's close_notify, answer with
/// what arrived, then close (with close_notify).
fn greet_and_echo(stream: &mut TlsStream) -> io::Result<Vec<u8>> {
    stream.write_all(b"hello from tls\n")?;
    let mut got = Vec::new();
    stream.read_to_end(&mut got)?;
    stream.write_all(format!("got {} bytes\n", got.len()).as_bytes())?;
    stream.conn.send_close_notify();
    stream.flush()?;
    Ok(got)
}

#[test]
fn lines_go_both_ways_and_half_close_ends_cleanly() {
    let cert = Cert::new();
    let server = tls_server(&cert, greet_and_echo);
    let port = server.port();
    let client = run_client(
        ["--tls", "--ca", cert.pem(), "127.0.0.1", &port],
        b"line one\nline two\n",
    );
    let got = server.join(&client);
    assert_eq!(got, b"line one\nline two\n", "{client}");
    assert_eq!(client.code(), Some(0), "{client}");
    assert_eq!(client.stdout, "hello from tls\ngot 18 bytes\n", "{client}");
    assert_eq!(client.stderr, "", "{client}");
}

#[test]
fn tls_name_selects_the_name_checked() {
    let cert = Cert::new();
    let server = tls_server(&cert, greet_and_echo);
    let port = server.port();
    let client = run_client(
        [
            "--tls",
            "--ca",
            cert.pem(),
            "--tls-name",
            "localhost",
            "127.0.0.1",
            &port,
        ],
        b"by name\n",
    );
    let got = server.join(&client);
    assert_eq!(got, b"by name\n", "{client}");
    assert_eq!(client.code(), Some(0), "{client}");
}

/// Run the client against a TLS server whose handshake should fail; the
/// server's own error is not the point.
fn refused(cert: &Cert, args: &[&str]) -> common::Finished {
    let server = tls_server(cert, |stream| {
        let _ = stream.write_all(b"should never be read\n");
        Ok(())
    });
    let port = server.port();
    let mut all: Vec<&str> = args.to_vec();
    all.extend(["127.0.0.1", &port]);
    let mut client = run_client(&all, b"secret line\n");
    let () = server.join(&client);
    client.stderr = client.stderr.replace(&port, "[PORT]");
    assert_eq!(client.code(), Some(1), "{client}");
    assert_eq!(client.stdout, "", "{client}");
    assert_eq!(client.stderr.lines().count(), 1, "{client}");
    client
}

#[test]
fn wrong_ca_is_refused() {
    let cert = Cert::new();
    let other = Cert::new();
    let client = refused(&cert, &["--tls", "--ca", other.pem()]);
    insta::assert_snapshot!("wrong_ca", client.stderr);
}

#[test]
fn default_roots_refuse_a_self_signed_certificate() {
    let cert = Cert::new();
    let client = refused(&cert, &["--tls"]);
    assert!(client.stderr.contains("UnknownIssuer"), "{client}");
}

#[test]
fn wrong_name_is_refused() {
    let cert = Cert::new();
    let client = refused(
        &cert,
        &["--tls", "--ca", cert.pem(), "--tls-name", "wrong.example"],
    );
    insta::assert_snapshot!("wrong_name", client.stderr);
}

#[test]
fn insecure_accepts_any_certificate_and_warns() {
    let cert = Cert::new();
    let server = tls_server(&cert, greet_and_echo);
    let port = server.port();
    let client = run_client(["--tls", "--insecure", "localhost", &port], b"anyway\n");
    let got = server.join(&client);
    assert_eq!(got, b"anyway\n", "{client}");
    assert_eq!(client.code(), Some(0), "{client}");
    assert_eq!(client.stdout, "hello from tls\ngot 7 bytes\n", "{client}");
    insta::assert_snapshot!("insecure_warning", client.stderr);
}

#[test]
fn tls_to_a_plain_server_is_a_clean_error() {
    let server = FakeServer::start(|mut stream| {
        stream.write_all(b"[2025-01-01T00:00:00Z] -!- Welcome, guest1!\n")?;
        let _ = read_to_eof(&mut stream);
        Ok(())
    });
    let port = server.port();
    let client = run_client(["--tls", "--insecure", "127.0.0.1", &port], b"hi\n");
    let () = server.join(&client);
    assert_eq!(client.code(), Some(1), "{client}");
    assert_eq!(client.stdout, "", "{client}");
    let error = client.stderr.lines().last().unwrap_or_default();
    assert!(
        error.starts_with(&format!("chat-client: TLS with 127.0.0.1:{port} failed: ")),
        "{client}"
    );
}

#[test]
fn tls_to_a_closed_port_is_a_connect_error() {
    let port = {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        listener
            .local_addr()
            .expect("local_addr")
            .port()
            .to_string()
    };
    let client = run_client(["--tls", "127.0.0.1", &port], b"");
    assert_eq!(client.code(), Some(1), "{client}");
    assert!(
        client.stderr.contains("cannot connect to 127.0.0.1:"),
        "{client}"
    );
}

#[test]
fn megabytes_pass_both_ways_at_once() {
    // The server echoes while the client is still sending: the pump must
    // read and write at the same time.
    const LINES: usize = 40_000;
    let cert = Cert::new();
    let server = tls_server(&cert, |stream| {
        let mut buf = [0_u8; 8192];
        let mut total = 0;
        loop {
            let read = stream.read(&mut buf)?;
            if read == 0 {
                break;
            }
            total += read;
            stream.write_all(&buf[..read])?;
        }
        stream.conn.send_close_notify();
        stream.flush()?;
        Ok(total)
    });
    let port = server.port();
    let input: String = (0..LINES)
        .map(|i| format!("line {i:06} of a long session\n"))
        .collect();
    let client = run_client(
        ["--tls", "--ca", cert.pem(), "127.0.0.1", &port],
        input.as_bytes(),
    );
    let total = server.join(&client);
    assert_eq!(total, input.len());
    assert_eq!(client.code(), Some(0), "{}", client.stderr);
    assert!(
        client.stdout == input,
        "echo differs ({} bytes back)",
        client.stdout.len()
    );
}

#[test]
fn missing_ca_file_is_an_error_naming_it() {
    let client = run_client(
        ["--tls", "--ca", "/nonexistent/ca.pem", "127.0.0.1", "1"],
        b"",
    );
    assert_eq!(client.code(), Some(1), "{client}");
    assert!(
        client
            .stderr
            .starts_with("chat-client: cannot read CA file /nonexistent/ca.pem:"),
        "{client}"
    );
}

#[test]
fn tls_options_need_tls() {
    let client = run_client(["--ca", "ca.pem"], b"");
    assert_eq!(client.code(), Some(2), "{client}");
    let client = run_client(["--tls", "--insecure", "--ca", "ca.pem"], b"");
    assert_eq!(client.code(), Some(2), "{client}");
}
