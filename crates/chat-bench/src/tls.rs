//! TLS for the bench: a self-signed certificate made at start (rcgen) for
//! chat-server's TLS listener, and the rustls client configuration the
//! generator's TLS clients use, trusting exactly that certificate.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::pki_types::CertificateDer;
use rustls::{ClientConfig, RootCertStore};

use crate::loadgen::TLS_NAME;

/// A certificate and key written as PEM files, and the client
/// configuration that trusts the certificate.
#[derive(Debug, Clone)]
pub struct Credentials {
    pub cert_pem: PathBuf,
    pub key_pem: PathBuf,
    pub client: Arc<ClientConfig>,
}

/// Makes a self-signed certificate for `localhost` and 127.0.0.1, writes
/// `bench-cert.pem` and `bench-key.pem` into `dir`, and builds the client
/// side (ring, TLS 1.3 and 1.2, the certificate as the only root).
pub fn credentials(dir: &Path) -> Result<Credentials, String> {
    let certified = rcgen::generate_simple_self_signed(vec![TLS_NAME.into(), "127.0.0.1".into()])
        .map_err(|e| format!("cannot make a certificate: {e}"))?;
    std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let cert_pem = dir.join("bench-cert.pem");
    let key_pem = dir.join("bench-key.pem");
    let write = |path: &Path, text: String| {
        std::fs::write(path, text).map_err(|e| format!("{}: {e}", path.display()))
    };
    write(&cert_pem, certified.cert.pem())?;
    write(&key_pem, certified.signing_key.serialize_pem())?;
    let mut roots = RootCertStore::empty();
    roots
        .add(CertificateDer::from(certified.cert.der().to_vec()))
        .map_err(|e| format!("cannot trust the bench certificate: {e}"))?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let client = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("TLS client setup: {e}"))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(Credentials {
        cert_pem,
        key_pem,
        client: Arc::new(client),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_pem_files_and_a_client_config() {
        let dir = std::env::temp_dir().join(format!("chat-bench-tls-test-{}", std::process::id()));
        let creds = credentials(&dir).unwrap_or_else(|e| panic!("{e}"));
        let cert = std::fs::read_to_string(&creds.cert_pem).unwrap_or_default();
        let key = std::fs::read_to_string(&creds.key_pem).unwrap_or_default();
        assert!(cert.starts_with("-----BEGIN CERTIFICATE-----"), "{cert}");
        assert!(key.contains("PRIVATE KEY-----"), "{key}");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
