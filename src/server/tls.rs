//! TLS for `serve --tls-cert PEM --tls-key PEM` (rustls, the same crypto provider the client
//! uses). The configuration sits behind a watch channel: [`TlsFiles::reload`] (on SIGHUP)
//! swaps in a new certificate for the connections accepted after it, and a certificate that
//! does not load leaves the old one serving — a renewal gone wrong never takes the server down.

use rustls::ServerConfig;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use tokio::sync::watch;

/// The certificate chain and key a server presents, as files, and the configuration they make.
pub struct TlsFiles {
    cert: PathBuf,
    key: PathBuf,
    tx: watch::Sender<Arc<ServerConfig>>,
}

/// What the accept loop reads: the configuration in force.
#[derive(Clone)]
pub struct Tls(watch::Receiver<Arc<ServerConfig>>);

impl std::fmt::Debug for Tls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Tls")
    }
}

impl Tls {
    /// The configuration for a connection accepted now.
    pub fn current(&self) -> Arc<ServerConfig> {
        self.0.borrow().clone()
    }
}

/// Why the certificate and key do not make a TLS configuration: one sentence naming the file at
/// fault.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("cannot read the certificate {}: {source}", .path.display())]
    CertUnreadable {
        path: PathBuf,
        source: rustls::pki_types::pem::Error,
    },
    #[error("{} is not a PEM certificate chain: {source}", .path.display())]
    NotPem {
        path: PathBuf,
        source: rustls::pki_types::pem::Error,
    },
    #[error("{} holds no PEM certificate", .0.display())]
    NoCertificate(PathBuf),
    #[error("cannot read a PEM private key from {}: {source}", .path.display())]
    KeyUnreadable {
        path: PathBuf,
        source: rustls::pki_types::pem::Error,
    },
    #[error("TLS: {0}")]
    Protocol(rustls::Error),
    #[error("the certificate and the key do not make a TLS identity: {0}")]
    NotAnIdentity(rustls::Error),
}

/// Builds a server configuration from a PEM certificate chain and a PEM private key (PKCS#8,
/// PKCS#1 or SEC1).
pub fn load(cert: &Path, key: &Path) -> Result<Arc<ServerConfig>, TlsError> {
    let path = || cert.to_path_buf();
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(cert)
        .map_err(|source| TlsError::CertUnreadable {
            path: path(),
            source,
        })?
        .collect::<Result<_, _>>()
        .map_err(|source| TlsError::NotPem {
            path: path(),
            source,
        })?;
    if certs.is_empty() {
        return Err(TlsError::NoCertificate(path()));
    }
    let key = PrivateKeyDer::from_pem_file(key).map_err(|source| TlsError::KeyUnreadable {
        path: key.to_path_buf(),
        source,
    })?;
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let mut config = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(TlsError::Protocol)?
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .map_err(TlsError::NotAnIdentity)?;
    // The server speaks HTTP/1.1 only (listen.rs).
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

impl TlsFiles {
    /// Loads the files; the error is one sentence naming the file at fault.
    pub fn open(cert: PathBuf, key: PathBuf) -> Result<(TlsFiles, Tls), TlsError> {
        let config = load(&cert, &key)?;
        let (tx, rx) = watch::channel(config);
        Ok((TlsFiles { cert, key, tx }, Tls(rx)))
    }

    /// Reads the files again and serves the new certificate to new connections; on an error
    /// the old one stays.
    pub fn reload(&self) -> Result<(), TlsError> {
        let config = load(&self.cert, &self.key)?;
        self.tx.send_replace(config);
        Ok(())
    }

    /// Reloads on every SIGHUP until the process ends, logging what happened.
    #[cfg(unix)]
    pub fn reload_on_sighup(self) -> std::io::Result<()> {
        use tokio::signal::unix::{SignalKind, signal};
        let mut hup = signal(SignalKind::hangup())?;
        tokio::spawn(async move {
            while hup.recv().await.is_some() {
                match self.reload() {
                    Ok(()) => {
                        tracing::info!(cert = %self.cert.display(), "SIGHUP: TLS certificate reloaded")
                    }
                    Err(e) => tracing::error!(
                        "SIGHUP: the TLS certificate was not reloaded, the old one stays: {e}"
                    ),
                }
            }
        });
        Ok(())
    }
}
