//! `trailscope` with no subcommand: resolve the server, token and filter, then run the TUI.

use crate::cli::TuiArgs;
use crate::client::Client;
use crate::config::{ConfigFile, tui_config_path};
use crate::model::Query;
use crate::tui::keymap::Keymap;
use crate::tui::source::Source;
use crate::tui::theme::{ColorDepth, Theme};
use crate::tui::{App, Settings, default_query};
use anyhow::{Context, anyhow};
use std::path::PathBuf;

/// A mistake in how the program was called (exit code 2), as opposed to a failure (1).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct UsageError(pub String);

/// Everything the TUI needs, resolved from flags, environment and config.
pub struct Resolved {
    pub server: String,
    pub token: String,
    pub source: String,
    pub query: Query,
    pub keymap: Keymap,
    pub views: Vec<(String, String)>,
    pub config_path: Option<PathBuf>,
    /// `--offline`: the cache only.
    pub offline: bool,
    /// This profile's (or server's) offline cache and its cap; `None` keeps no cache.
    pub cache: Option<(PathBuf, u64)>,
}

/// Reads the TUI's config file; a missing file is an empty config.
pub fn load_config() -> anyhow::Result<(ConfigFile, Option<PathBuf>)> {
    let path = tui_config_path();
    match &path {
        Some(p) if p.exists() => Ok((ConfigFile::load(p)?, path)),
        _ => Ok((ConfigFile::default(), path)),
    }
}

/// Resolves the flags against the config file.
pub fn resolve(args: &TuiArgs) -> anyhow::Result<Resolved> {
    let (config, config_path) = load_config()?;
    let where_ = config_path
        .as_ref()
        .map_or("the config file".to_string(), |p| p.display().to_string());
    let profile_name = args.profile.clone().or(config.default_profile.clone());
    let profile =
        match &profile_name {
            Some(name) => {
                Some(config.profiles.get(name).cloned().ok_or_else(|| {
                    UsageError(format!("there is no profile `{name}` in {where_}"))
                })?)
            }
            None => None,
        };
    let server = args
        .server
        .clone()
        .or(profile.as_ref().and_then(|p| p.server.clone()))
        .ok_or_else(|| UsageError(format!("say which server to read: --server URL, TRAILSCOPE_SERVER, or a profile in {where_} (or try `trailscope demo`)")))?;
    crate::client::check_base(&server).map_err(UsageError)?;
    let token = match &args.token {
        Some(t) => t.clone(),
        None => match profile
            .as_ref()
            .map(|p| p.resolve_token())
            .transpose()?
            .flatten()
        {
            Some(t) => t,
            // Offline, the server is never asked: no token is needed to read the cache.
            None if args.offline => String::new(),
            None => return Err(UsageError("say which token to use: --token T, TRAILSCOPE_TOKEN, or token / token_file / token_cmd in a profile".into()).into()),
        },
    };
    // One cache per profile; without a profile, one per server URL.
    let cache = config
        .cache
        .path_for(profile_name.as_deref().unwrap_or(&server))
        .map(|p| (p, config.cache.max_bytes()));
    let filter = args
        .filter
        .clone()
        .or(profile.as_ref().and_then(|p| p.filter.clone()));
    let query = match filter {
        Some(f) => f
            .parse::<Query>()
            .map_err(|e| UsageError(format!("--filter: {e}")))?,
        None => default_query(),
    };
    let overrides = config
        .keys
        .iter()
        .map(|(k, v)| (k.clone(), v.to_vec()))
        .collect();
    let keymap = Keymap::with_overrides(&overrides).map_err(|e| anyhow!("{where_}: {e}"))?;
    let source = match &profile_name {
        Some(name) => format!("{name} ({server})"),
        None => server.clone(),
    };
    Ok(Resolved {
        server,
        token,
        source,
        query,
        keymap,
        views: config.views.into_iter().collect(),
        config_path,
        offline: args.offline,
        cache,
    })
}

/// Sends the TUI's log to `trailscope.log` in the state directory, never to the screen.
pub fn init_file_logging() {
    let Some(dir) = crate::config::state_dir() else {
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

/// Runs the TUI against a resolved server, inside a tokio runtime.
pub async fn run_resolved(
    r: Resolved,
    extra: Option<tokio::sync::mpsc::UnboundedReceiver<crate::tui::Action>>,
) -> anyhow::Result<()> {
    let client = Client::new(&r.server, &r.token)?;
    let cache = match &r.cache {
        Some((path, max)) => match crate::offline::Cache::open(path, *max) {
            Ok(c) => Some(c),
            Err(e) if r.offline => return Err(e),
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
    crate::tui::event_loop::run(source, app, r.config_path, extra).await
}

/// `trailscope [--server URL] [--token T] [--profile NAME] [--filter Q]`.
pub fn tui(args: TuiArgs) -> anyhow::Result<()> {
    let resolved = resolve(&args)?;
    init_file_logging();
    let rt = tokio::runtime::Runtime::new().context("cannot start the async runtime")?;
    rt.block_on(run_resolved(resolved, None))
}

/// `trailscope demo`: a generated trail in a temporary database, served on a free loopback
/// port in this process, and the TUI on it. Everything goes away on quit.
/// After the trail, the demo's automation keeps working: alerts, rule dispatches, tickets and
/// write-backs arrive every second or so, for follow mode (`F`) to show.
///
/// The store takes several seconds to index fifty thousand entries, so the TUI opens at once
/// and the trail is appended in the background, newest thousand first so the table is full
/// within a moment: each batch is in time order, and seqs run backwards across batches, as
/// after a backfill. The footer shows progress; the table and count follow each batch.
pub fn demo() -> anyhow::Result<()> {
    use crate::server::serve;
    use crate::store::sqlite::TokenAdmin;
    use crate::store::{Role, SqliteStore, Store};
    use crate::tui::Action;
    use std::sync::Arc;

    init_file_logging();
    let started = std::time::Instant::now();
    let dir = tempfile::Builder::new()
        .prefix("trailscope-demo-")
        .tempdir()
        .context("cannot create a temporary directory for the demo database")?;
    let db = dir.path().join("demo.db");
    let (_, token) = TokenAdmin::open(&db)?.create(Role::Admin, "default", Some("demo"))?;
    let sqlite = SqliteStore::open(&db)?;
    let (progress, extra) = tokio::sync::mpsc::unbounded_channel::<Action>();
    // The seeding thread appends through the synchronous engine under the server's store.
    let seeding = {
        let store = sqlite.db().clone();
        std::thread::spawn(move || -> anyhow::Result<()> {
            let now = chrono::Utc::now();
            let trail = crate::demo::trail(now, 42);
            let total = trail.len();
            let last_ticket = crate::demo::last_ticket(&trail);
            let mut done = 0;
            for batch in trail.rchunks(1000) {
                store.append("default", batch.to_vec())?;
                done += batch.len();
                let _ = progress.send(Action::Grew);
                let msg = format!(
                    "loading the demo trail, newest first: {} of {} entries",
                    crate::tui::views::header::thousands(done as u64),
                    crate::tui::views::header::thousands(total as u64)
                );
                let _ = progress.send(Action::Notice(msg));
            }
            tracing::info!(entries = total, took = ?started.elapsed(), "demo trail stored");
            let _ = progress.send(Action::Notice(format!(
                "the demo trail is in: {} entries over 30 days, and the automation keeps working (F follows it). Find the incident: channel:auth outcome:failure",
                crate::tui::views::header::thousands(total as u64)
            )));
            let _ = progress.send(Action::Grew);
            drop(progress);
            live_feed(store.as_ref(), now, last_ticket)
        })
    };
    let store: Arc<dyn Store> = Arc::new(sqlite);
    let rt = tokio::runtime::Runtime::new().context("cannot start the async runtime")?;
    let result = rt.block_on(async move {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .context("cannot listen on a loopback port")?;
        let url = format!("http://{}", listener.local_addr()?);
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        // The demo's log lives as long as the process, and so does the key that signs it.
        // Searches are audited as on a real server: the demo's own reads show in its log.
        let options = crate::server::ServerOptions {
            signing_key: Some(crate::proof::SigningKey::generate()),
            audit_searches: Some(Default::default()),
            ..crate::server::Allowlist::default().into()
        };
        let server = tokio::spawn(serve(store, options, listener, async move {
            let _ = stopped.await;
        }));
        let mut resolved = resolve(&TuiArgs {
            server: Some(url),
            token: Some(token),
            profile: None,
            filter: None,
            offline: false,
        })?;
        resolved.source = format!("demo ({})", resolved.server);
        // The demo's server lives as long as the process: nothing of it is worth caching.
        resolved.cache = None;
        let result = run_resolved(resolved, Some(extra)).await;
        let _ = stop.send(());
        let _ = server.await;
        result
    });
    // Quitting while the trail still loads is fine: the process ends with the seeding thread,
    // and the temporary directory goes with `dir` below.
    drop(seeding);
    drop(dir);
    result
}

/// Appends the automation's next 30 days as they happen, sixty times faster (a pause of at most
/// five seconds), each stamped with the moment it is written. Runs until the process ends.
fn live_feed(
    store: &crate::store::sqlite::SqliteDb,
    now: chrono::DateTime<chrono::Utc>,
    last_ticket: u64,
) -> anyhow::Result<()> {
    let feed = crate::demo::live_feed(now, 43, last_ticket + 1);
    let mut previous: Option<chrono::DateTime<chrono::Utc>> = None;
    for mut event in feed {
        let at = event.occurred_at;
        if let (Some(prev), Some(at)) = (previous, at) {
            let gap = (at - prev).to_std().unwrap_or_default() / 60;
            std::thread::sleep(gap.min(std::time::Duration::from_secs(5)));
        }
        previous = at;
        event.occurred_at = Some(chrono::Utc::now());
        store.append("default", vec![event])?;
    }
    Ok(())
}
