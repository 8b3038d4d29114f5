//! Configuration files: the server's (`trailscope serve --config`) and the TUI's (profiles,
//! keys, saved views, at the platform's config directory); every key is in config.example.toml.

use serde::Deserialize;
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

/// What is wrong with a config file (or a profile's token source), as one sentence that names
/// the file and the key.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct ConfigError(String);

/// A [`ConfigError`] with a formatted sentence.
macro_rules! config_error {
    ($($t:tt)*) => { ConfigError(format!($($t)*)) };
}

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
    /// Retention windows, the floor, the daily prune and its archive.
    #[serde(default)]
    pub retention: crate::server::retention::RetentionConfig,
    /// The profile the TUI uses when `--profile` is not given.
    pub default_profile: Option<String>,
    /// `[profiles.NAME]`: servers the TUI can talk to.
    #[serde(default)]
    pub profiles: BTreeMap<String, Profile>,
    /// `[keys]`: command name = key or list of keys.
    #[serde(default)]
    pub keys: BTreeMap<String, OneOrMany>,
    /// `[views]`: saved views, name = filter in the query language.
    #[serde(default)]
    pub views: BTreeMap<String, String>,
    /// `[cache]`: the offline cache's size cap and place.
    #[serde(default)]
    pub cache: crate::client::cache::CacheConfig,
}

/// `[profiles.NAME]`: where a server is and how to get its token.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Profile {
    pub server: Option<String>,
    /// The token in clear text; prefer `token_file` or `token_cmd`.
    pub token: Option<String>,
    /// A file holding the token (its first line).
    pub token_file: Option<PathBuf>,
    /// A shell command printing the token (e.g. `pass show trailscope/prod`).
    pub token_cmd: Option<String>,
    /// The filter the TUI opens with.
    pub filter: Option<String>,
}

/// A key binding: one key or several.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum OneOrMany {
    One(String),
    Many(Vec<String>),
}

impl OneOrMany {
    /// The keys as a list.
    pub fn to_vec(&self) -> Vec<String> {
        match self {
            OneOrMany::One(s) => vec![s.clone()],
            OneOrMany::Many(v) => v.clone(),
        }
    }
}

/// The TUI's config file: `$TRAILSCOPE_CONFIG`, else `config.toml` in the platform's config dir.
pub fn tui_config_path() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("TRAILSCOPE_CONFIG") {
        return Some(PathBuf::from(p));
    }
    directories::ProjectDirs::from("", "", "trailscope").map(|d| d.config_dir().join("config.toml"))
}

/// Where the TUI writes its log: the platform's state dir (or local data dir where there is none).
pub fn state_dir() -> Option<PathBuf> {
    directories::ProjectDirs::from("", "", "trailscope")
        .map(|d| d.state_dir().unwrap_or(d.data_local_dir()).to_path_buf())
}

impl Profile {
    /// The token: in clear, else the first line of `token_file`, else `token_cmd`'s output.
    pub fn resolve_token(&self) -> Result<Option<String>, ConfigError> {
        if let Some(t) = &self.token {
            return Ok(Some(t.clone()));
        }
        if let Some(p) = &self.token_file {
            let text = std::fs::read_to_string(p)
                .map_err(|e| config_error!("cannot read the token file {}: {e}", p.display()))?;
            return Ok(Some(text.lines().next().unwrap_or("").trim().to_string()));
        }
        if let Some(cmd) = &self.token_cmd {
            let out = std::process::Command::new("sh")
                .arg("-c")
                .arg(cmd)
                .stderr(std::process::Stdio::inherit())
                .output()
                .map_err(|e| config_error!("cannot run token_cmd `{cmd}`: {e}"))?;
            if !out.status.success() {
                return Err(config_error!("token_cmd `{cmd}` failed ({})", out.status));
            }
            let text = String::from_utf8_lossy(&out.stdout);
            return Ok(Some(text.lines().next().unwrap_or("").trim().to_string()));
        }
        Ok(None)
    }
}

/// Adds or replaces a saved view in the config file, keeping everything else byte for byte
/// (comments, order, formatting: `toml_edit`). The new file is written beside the old one and
/// renamed over it, so a crash leaves the old file or the new one, never half of one; the
/// file keeps its permissions.
pub fn save_view(path: &Path, name: &str, filter: &str) -> Result<(), ConfigError> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
        Err(e) => return Err(config_error!("cannot read {}: {e}", path.display())),
    };
    let mut doc: toml_edit::DocumentMut = text.parse().map_err(|e: toml_edit::TomlError| {
        config_error!("{} is not valid TOML: {}", path.display(), e.message())
    })?;
    let views = doc.entry("views").or_insert_with(toml_edit::table);
    let Some(views) = views.as_table_like_mut() else {
        return Err(config_error!(
            "`views` in {} is not a table",
            path.display()
        ));
    };
    views.insert(name, toml_edit::value(filter));
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    std::fs::create_dir_all(&dir)
        .map_err(|e| config_error!("cannot create {}: {e}", dir.display()))?;
    let write = || -> std::io::Result<()> {
        let mut tmp = tempfile::NamedTempFile::new_in(&dir)?;
        std::io::Write::write_all(&mut tmp, doc.to_string().as_bytes())?;
        if let Ok(meta) = std::fs::metadata(path) {
            tmp.as_file().set_permissions(meta.permissions())?;
        }
        tmp.as_file().sync_all()?;
        tmp.persist(path).map_err(|e| e.error)?;
        Ok(())
    };
    write().map_err(|e| config_error!("cannot write {}: {e}", path.display()))
}

/// `[server]`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServerConfig {
    pub db: Option<PathBuf>,
    /// A PostgreSQL database instead of `db` (`postgres://…`).
    pub database_url: Option<String>,
    /// Connections each server keeps to PostgreSQL (default 16).
    pub pool_size: Option<usize>,
    /// How long one PostgreSQL partition of the entries is, `month` or `day` (the database keeps
    /// what it was last told; a new database starts with `month`).
    pub partition: Option<crate::store::postgres::PartitionUnit>,
    pub listen: Option<SocketAddr>,
    /// CIDRs or bare addresses (one host each).
    #[serde(default, deserialize_with = "crate::server::deserialize_nets")]
    pub allow_from: Vec<ipnet::IpNet>,
    #[serde(default, deserialize_with = "crate::server::deserialize_nets")]
    pub ingest_allow_from: Vec<ipnet::IpNet>,
    /// Record searches as `audit_log.searched` (default true).
    pub audit_searches: Option<bool>,
}

impl ConfigFile {
    /// Reads and parses a config file; the error names the file and the bad key.
    pub fn load(path: &Path) -> Result<ConfigFile, ConfigError> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| config_error!("cannot read {}: {e}", path.display()))?;
        toml::from_str(&text).map_err(|e| {
            config_error!(
                "{} is not a valid config file: {}",
                path.display(),
                e.message()
            )
        })
    }
}
