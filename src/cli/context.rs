//! What every subcommand shares: the config file and profiles, where a client finds its server
//! and token, `--filter`, the async runtime, logging, the progress line, and how a failure
//! becomes one sentence and an exit code.

use anyhow::{Context, anyhow};
use clap::Args;
use std::path::PathBuf;
use trailscope::client::ClientError;
use trailscope::config::{ConfigFile, Profile, tui_config_path};
use trailscope::model::Query;
use trailscope::tui::keymap::Keymap;

/// A mistake in how the program was called (exit code 2), as opposed to a failure (1).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct UsageError(pub String);

/// An error and its causes as one line.
pub fn sentence(e: &anyhow::Error) -> String {
    let mut parts: Vec<String> = Vec::new();
    for cause in e.chain() {
        let s = cause.to_string();
        if !parts.iter().any(|p| p.contains(&s)) {
            parts.push(s);
        }
    }
    parts.join(": ")
}

/// Whether a command's failure is the caller's mistake (exit 2) rather than a failure (1).
pub fn is_usage(e: &anyhow::Error) -> bool {
    e.downcast_ref::<UsageError>().is_some()
        || matches!(
            e.downcast_ref::<trailscope::export::verify::VerifyError>(),
            Some(trailscope::export::verify::VerifyError::Usage(_))
        )
}

/// A refused or failed request, with what to do about it.
pub fn refused(e: &ClientError) -> anyhow::Error {
    anyhow!("{e}; {}", e.advice())
}

/// Reads the TUI's config file (profiles, keys, views, cache); a missing file is an empty config.
pub fn load_config() -> anyhow::Result<(ConfigFile, Option<PathBuf>)> {
    let path = tui_config_path();
    match &path {
        Some(p) if p.exists() => Ok((ConfigFile::load(p)?, path)),
        _ => Ok((ConfigFile::default(), path)),
    }
}

/// The config file with the profile a command uses: `--profile`, else the config's default.
pub struct Profiled {
    pub config: ConfigFile,
    pub config_path: Option<PathBuf>,
    /// The config file's name for messages.
    pub where_: String,
    pub name: Option<String>,
    pub profile: Option<Profile>,
}

impl Profiled {
    /// Loads the config and picks the profile named (a usage error when there is none).
    pub fn load(name: Option<&str>) -> anyhow::Result<Profiled> {
        Profiled::pick(name, true)
    }

    /// Loads the config for what is not a server's (keys, views): no profile is picked.
    pub fn no_profile() -> anyhow::Result<Profiled> {
        Profiled::pick(None, false)
    }

    fn pick(name: Option<&str>, default: bool) -> anyhow::Result<Profiled> {
        let (config, config_path) = load_config()?;
        let where_ = config_path
            .as_ref()
            .map_or("the config file".to_string(), |p| p.display().to_string());
        let name = name
            .map(str::to_string)
            .or(config.default_profile.clone().filter(|_| default));
        let profile =
            match &name {
                Some(n) => {
                    Some(config.profiles.get(n).cloned().ok_or_else(|| {
                        UsageError(format!("there is no profile `{n}` in {where_}"))
                    })?)
                }
                None => None,
            };
        Ok(Profiled {
            config,
            config_path,
            where_,
            name,
            profile,
        })
    }

    /// The server: the flag (or environment), else the profile's; `missing` says what to do.
    pub fn server(&self, given: Option<&str>, missing: &str) -> Result<String, UsageError> {
        given
            .map(str::to_string)
            .or(self.profile.as_ref().and_then(|p| p.server.clone()))
            .ok_or_else(|| UsageError(missing.replace("{where}", &self.where_)))
    }

    /// The token: the flag (or environment), else the profile's token, token_file or
    /// token_cmd; `None` when none says.
    pub fn token(&self, given: Option<&str>) -> anyhow::Result<Option<String>> {
        match given {
            Some(t) => Ok(Some(t.to_string())),
            None => Ok(self
                .profile
                .as_ref()
                .map(Profile::resolve_token)
                .transpose()?
                .flatten()),
        }
    }

    /// The key bindings, with the config's `[keys]` over the defaults.
    pub fn keymap(&self) -> anyhow::Result<Keymap> {
        let overrides = self
            .config
            .keys
            .iter()
            .map(|(k, v)| (k.clone(), v.to_vec()))
            .collect();
        Keymap::with_overrides(&overrides).map_err(|e| anyhow!("{}: {e}", self.where_))
    }
}

/// Where a command-line client finds its server: flags, then environment, then a profile.
#[derive(Debug, Args)]
pub struct RemoteArgs {
    /// The server's URL [default: the profile's].
    // Without a value shown, clap writes `[env: TRAILSCOPE_SERVER]`, not the misleading `…=]`.
    #[arg(long, env = "TRAILSCOPE_SERVER", hide_env_values = true)]
    pub server: Option<String>,
    /// The API token; its role must allow the command (ingest: writer; prune, pseudonymise:
    /// admin; the rest: auditor or admin) [default: the profile's].
    #[arg(long, env = "TRAILSCOPE_TOKEN", hide_env_values = true)]
    pub token: Option<String>,
    /// A profile from the config file [default: its default_profile].
    #[arg(long)]
    pub profile: Option<String>,
}

impl RemoteArgs {
    /// The server and token: flags and environment first, then the profile named (or the
    /// config's default profile).
    pub fn resolve(&self) -> anyhow::Result<(String, String)> {
        let p = Profiled::load(self.profile.as_deref())?;
        let server = p.server(
            self.server.as_deref(),
            "say which server: --server URL, TRAILSCOPE_SERVER, or a profile in {where}",
        )?;
        let token = p
            .token(self.token.as_deref())?
            .ok_or_else(|| UsageError(format!("say which token: {TOKEN_SOURCES}")))?;
        Ok((server, token))
    }

    /// A client for the resolved server.
    pub fn client(&self) -> anyhow::Result<trailscope::client::Client> {
        let (server, token) = self.resolve()?;
        Ok(trailscope::client::Client::new(&server, &token)?)
    }
}

/// Where a token can come from, for the message that asks for one.
pub const TOKEN_SOURCES: &str =
    "--token T, TRAILSCOPE_TOKEN, or token / token_file / token_cmd in a profile";

/// `--filter`, parsed; its mistakes are the caller's (exit 2).
pub fn parse_filter(text: Option<&str>) -> Result<Option<Query>, UsageError> {
    text.map(|f| {
        f.parse::<Query>()
            .map_err(|e| UsageError(format!("--filter: {e}")))
    })
    .transpose()
}

/// How much of the machine a command's runtime takes.
#[derive(Debug, Clone, Copy)]
pub enum Threads {
    /// A command's few requests: one thread.
    One,
    /// The server and the TUI: a worker per core.
    PerCore,
}

/// The async runtime a command runs in (the only place one is built).
pub fn runtime(threads: Threads) -> anyhow::Result<tokio::runtime::Runtime> {
    let mut builder = match threads {
        Threads::One => tokio::runtime::Builder::new_current_thread(),
        Threads::PerCore => tokio::runtime::Builder::new_multi_thread(),
    };
    builder
        .enable_all()
        .build()
        .context("cannot start the async runtime")
}

/// Logging for the server: stderr, coloured only for a person at a terminal (a log redirected
/// to a file stays plain text); `TRAILSCOPE_LOG` sets the filter.
pub fn log_to_stderr() {
    let filter = tracing_subscriber::EnvFilter::try_from_env("TRAILSCOPE_LOG")
        .unwrap_or_else(|_| "info".into());
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .try_init();
}

/// Logging for the TUI: `trailscope.log` in the state directory, never the screen it draws on.
pub fn log_to_file() {
    let Some(dir) = trailscope::config::state_dir() else {
        return;
    };
    if std::fs::create_dir_all(&dir).is_err() {
        return;
    }
    let Ok(file) = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(dir.join("trailscope.log"))
    else {
        return;
    };
    let filter = tracing_subscriber::EnvFilter::try_from_env("TRAILSCOPE_LOG")
        .unwrap_or_else(|_| "info".into());
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(false)
        .with_writer(std::sync::Mutex::new(file))
        .try_init();
}

/// A progress line on stderr, drawn only when stderr is a terminal (indicatif hides it
/// otherwise), so a log or a pipe never gets escape codes.
pub struct Progress {
    bar: indicatif::ProgressBar,
}

impl Progress {
    fn with(bar: indicatif::ProgressBar, template: &str) -> Progress {
        if let Ok(style) = indicatif::ProgressStyle::with_template(template) {
            bar.set_style(style.progress_chars("#>-"));
        }
        bar.set_draw_target(indicatif::ProgressDrawTarget::stderr_with_hz(5));
        Progress { bar }
    }

    /// A download: bytes (and rows, when counted) and the time it took.
    pub fn download() -> Progress {
        Progress::with(indicatif::ProgressBar::no_length(), "↓ {msg} in {elapsed}")
    }

    /// Entries toward a total when the total is known.
    pub fn entries(total: Option<u64>) -> Progress {
        match total {
            Some(t) if t > 0 => Progress::with(
                indicatif::ProgressBar::new(t),
                "[{bar:30}] {percent:>3}%  {msg}",
            ),
            _ => Progress::with(indicatif::ProgressBar::no_length(), "{msg}"),
        }
    }

    /// A verify's walk of `total` rows (each entry in the hash chain, each leaf in the tree).
    pub fn walk(total: u64) -> Progress {
        Progress::with(
            indicatif::ProgressBar::new(total),
            "[{bar:30}] {percent:>3}%  {msg}, about {eta} left",
        )
    }

    /// How far the server's walk got.
    pub fn walked(&self, p: trailscope::model::VerifyProgress) {
        use trailscope::tui::views::header::thousands;
        self.bar.set_length(p.total);
        self.bar.set_position(p.checked);
        self.bar.set_message(format!(
            "verifying: {} of {} rows of the chain and the tree",
            thousands(p.checked),
            thousands(p.total)
        ));
    }

    /// Bytes received so far, and rows when the format lets them be counted.
    pub fn bytes(&self, bytes: u64, rows: Option<u64>) {
        let rows = rows.map(|r| format!(", {r} rows")).unwrap_or_default();
        self.bar
            .set_message(format!("{}{rows}", trailscope::text::human_bytes(bytes)));
    }

    /// Entries done so far.
    pub fn entries_done(&self, done: u64) {
        use trailscope::tui::views::header::thousands;
        self.bar.set_position(done);
        self.bar.set_message(match self.bar.length() {
            Some(t) => format!("{} of {} entries", thousands(done), thousands(t)),
            None => format!("{} entries", thousands(done)),
        });
    }

    /// Takes the line away (a download's summary follows on its own line).
    pub fn clear(&self) {
        self.bar.finish_and_clear();
    }

    /// Leaves the last line standing.
    pub fn finish(&self) {
        self.bar.finish();
    }
}
