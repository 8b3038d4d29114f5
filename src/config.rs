//! Configuration files: the server's (`trailscope serve --config`), documented in config.example.toml.

use serde::Deserialize;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

/// The default listen address.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:7807";

/// The whole config file; unknown keys are an error so typos surface.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConfigFile {
    #[serde(default)]
    pub server: ServerConfig,
    /// The filters behind each kind of evidence pack.
    #[serde(default)]
    pub evidence: crate::export::evidence::PackKinds,
}

/// `[server]`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServerConfig {
    pub db: Option<PathBuf>,
    pub listen: Option<SocketAddr>,
    #[serde(default)]
    pub allow_from: Vec<ipnet::IpNet>,
    #[serde(default)]
    pub ingest_allow_from: Vec<ipnet::IpNet>,
}

impl ConfigFile {
    /// Reads and parses a config file; the error names the file and the bad key.
    pub fn load(path: &Path) -> anyhow::Result<ConfigFile> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| anyhow::anyhow!("cannot read {}: {e}", path.display()))?;
        toml::from_str(&text).map_err(|e| {
            anyhow::anyhow!(
                "{} is not a valid config file: {}",
                path.display(),
                e.message()
            )
        })
    }
}
