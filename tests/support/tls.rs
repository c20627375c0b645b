//! A self-signed certificate for `localhost` and `127.0.0.1` (made with
//! rcgen, not a CA, so webpki accepts it as a server's own), as PEM files in
//! a temp dir of its own.

use std::path::{Path, PathBuf};

use crate::TempDir;

/// The certificate and key files; removed on drop.
#[derive(Debug)]
pub struct TlsCert {
    cert: PathBuf,
    key: PathBuf,
    _dir: TempDir,
}

impl TlsCert {
    pub fn new() -> TlsCert {
        let made = rcgen::generate_simple_self_signed(vec![
            "localhost".to_owned(),
            "127.0.0.1".to_owned(),
        ])
        .expect("rcgen certificate");
        let dir = TempDir::new("tls");
        let cert = dir.write("cert.pem", &made.cert.pem());
        let key = dir.write("key.pem", &made.signing_key.serialize_pem());
        TlsCert {
            cert,
            key,
            _dir: dir,
        }
    }

    /// The certificate (PEM): the server's own, and the client's `--ca`.
    pub fn cert(&self) -> &Path {
        &self.cert
    }

    /// The private key (PEM).
    pub fn key(&self) -> &Path {
        &self.key
    }

    /// `chat-server --listen` for a TLS listener on `addr` with this
    /// certificate: `ADDR,cert=FILE,key=FILE`.
    pub fn listen_arg(&self, addr: &str) -> String {
        format!(
            "{addr},cert={},key={}",
            self.cert.display(),
            self.key.display()
        )
    }
}

impl Default for TlsCert {
    fn default() -> TlsCert {
        TlsCert::new()
    }
}
