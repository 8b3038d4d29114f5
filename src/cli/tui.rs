//! `trailscope` with no subcommand: resolve the server, token and filter, then run the TUI.

use super::context::{
    Profiled, TOKEN_SOURCES, Threads, UsageError, log_to_file, parse_filter, runtime,
};
use anyhow::anyhow;
use clap::Args;
use std::path::PathBuf;
use trailscope::client::Client;
use trailscope::client::source::Source;
use trailscope::model::Query;
use trailscope::tui::keymap::Keymap;
use trailscope::tui::source_name::SourceName;
use trailscope::tui::theme::{ColorDepth, Theme};
use trailscope::tui::{App, Settings, default_query};

/// What the TUI (no subcommand) takes.
#[derive(Debug, Args, Default, Clone)]
pub struct TuiArgs {
    /// The server's URL, e.g. https://audit.example.com [default: the profile's].
    // Without a value shown, clap writes `[env: TRAILSCOPE_SERVER]`, not the misleading `…=]`.
    #[arg(long, env = "TRAILSCOPE_SERVER", hide_env_values = true)]
    pub server: Option<String>,
    /// The API token (auditor or admin) [default: the profile's].
    #[arg(long, env = "TRAILSCOPE_TOKEN", hide_env_values = true)]
    pub token: Option<String>,
    /// A profile from the config file [default: its default_profile].
    #[arg(long)]
    pub profile: Option<String>,
    /// The filter to open with, in the query language (e.g. "kind:deleted since:2d").
    #[arg(long)]
    pub filter: Option<String>,
    /// Read the profile's offline cache only; never ask the server.
    #[arg(long)]
    pub offline: bool,
}

/// Everything the TUI needs, resolved from flags, environment and config.
pub struct Resolved {
    pub server: String,
    pub token: String,
    pub source: SourceName,
    pub query: Query,
    pub keymap: Keymap,
    pub views: Vec<(String, String)>,
    pub config_path: Option<PathBuf>,
    /// `--offline`: the cache only.
    pub offline: bool,
    /// This profile's (or server's) offline cache and its cap; `None` keeps no cache.
    pub cache: Option<(PathBuf, u64)>,
}

/// Resolves the flags against the config file.
pub fn resolve(args: &TuiArgs) -> anyhow::Result<Resolved> {
    let p = Profiled::load(args.profile.as_deref())?;
    let server = p.server(
        args.server.as_deref(),
        "say which server to read: --server URL, TRAILSCOPE_SERVER, or a profile in {where} (or try `trailscope demo`)",
    )?;
    trailscope::client::check_base(&server).map_err(|e| UsageError(e.to_string()))?;
    let token = match p.token(args.token.as_deref())? {
        Some(t) => t,
        // Offline, the server is never asked: no token is needed to read the cache.
        None if args.offline => String::new(),
        None => return Err(UsageError(format!("say which token to use: {TOKEN_SOURCES}")).into()),
    };
    // One cache per profile; without a profile, one per server URL.
    let cache = p
        .config
        .cache
        .path_for(p.name.as_deref().unwrap_or(&server))
        .map(|path| (path, p.config.cache.max_bytes()));
    let filter = args
        .filter
        .clone()
        .or(p.profile.as_ref().and_then(|p| p.filter.clone()));
    let query = parse_filter(filter.as_deref())?.unwrap_or_else(default_query);
    let keymap = p.keymap()?;
    let source = match &p.name {
        Some(name) => SourceName::profile(name, &server),
        None => SourceName::from(server.clone()),
    };
    Ok(Resolved {
        server,
        token,
        source,
        query,
        keymap,
        views: p.config.views.into_iter().collect(),
        config_path: p.config_path,
        offline: args.offline,
        cache,
    })
}

/// Runs the TUI against a resolved server, inside a tokio runtime.
pub async fn run_resolved(
    r: Resolved,
    extra: Option<tokio::sync::mpsc::UnboundedReceiver<trailscope::tui::Action>>,
) -> anyhow::Result<()> {
    let client = Client::new(&r.server, &r.token)?;
    let cache = match &r.cache {
        Some((path, max)) => match trailscope::client::cache::Cache::open(path, *max) {
            Ok(c) => Some(c),
            Err(e) if r.offline => return Err(e.into()),
            Err(e) => {
                tracing::warn!("working without the offline cache: {e:#}");
                None
            }
        },
        None if r.offline => {
            return Err(anyhow!(
                "there is no cache directory on this system, so there is nothing to read offline"
            ));
        }
        None => None,
    };
    let source = match cache {
        Some(c) if r.offline => Source::offline(c),
        cache => Source::remote(client, cache),
    };
    let app = App::new(Settings {
        source: r.source,
        query: r.query,
        keymap: r.keymap,
        theme: Theme::new(ColorDepth::detect()),
        views: r.views,
        now: chrono::Utc::now(),
        size: (80, 24),
    })
    .with_link(source.link());
    Ok(trailscope::tui::event_loop::run(source, app, r.config_path, extra).await?)
}

/// `trailscope [--server URL] [--token T] [--profile NAME] [--filter Q]`.
pub fn run(args: &TuiArgs) -> anyhow::Result<()> {
    let resolved = resolve(args)?;
    log_to_file();
    runtime(Threads::PerCore)?.block_on(run_resolved(resolved, None))
}
