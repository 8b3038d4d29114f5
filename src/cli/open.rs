//! `trailscope cache info|clear|pull` and `trailscope open FILE`.

use crate::cli::tui::{UsageError, load_config};
use crate::cli::{RemoteArgs, TuiArgs};
use crate::client::Client;
use crate::model::{Query, format_ts};
use crate::offline::load::{self, FileFormat, LoadError};
use crate::offline::{CacheConfig, SYNCED_AT, synced_at};
use crate::store::sqlite::{Durability, LocalStore};
use crate::tui::views::header::thousands;
use crate::tui::{Action, App, Settings};
use anyhow::{Context, anyhow};
use clap::{Args, Subcommand};
use std::io::{IsTerminal, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// `trailscope cache …`.
#[derive(Debug, Subcommand)]
pub enum CacheCommand {
    /// Where the caches are, their size, entries and last sync.
    Info,
    /// Delete the cache of one profile (or server), or every cache.
    Clear {
        /// The profile (or server URL) whose cache to delete [default: all of them].
        #[arg(long)]
        profile: Option<String>,
    },
    /// Fetch everything matching a filter into the cache ahead of time; an interrupted pull
    /// resumes where it stopped when run again with the same filter.
    Pull {
        #[command(flatten)]
        remote: RemoteArgs,
        /// Only entries matching this filter [default: the profile's, else the last 7 days].
        #[arg(long)]
        filter: Option<String>,
    },
}

/// `trailscope open`.
#[derive(Debug, Args)]
pub struct OpenArgs {
    /// A CSV, JSON or NDJSON export written by trailscope (the format is detected).
    pub file: PathBuf,
    /// The filter to open with, in the query language [default: none, the whole file].
    #[arg(long)]
    pub filter: Option<String>,
}

/// Runs a `cache` subcommand.
pub fn cache(cmd: CacheCommand) -> anyhow::Result<()> {
    let (config, _) = load_config()?;
    let cfg = config.cache;
    match cmd {
        CacheCommand::Info => info(&cfg),
        CacheCommand::Clear { profile } => clear(&cfg, profile.as_deref()),
        CacheCommand::Pull { remote, filter } => pull(remote, filter),
    }
}

fn cache_dir(cfg: &CacheConfig) -> anyhow::Result<PathBuf> {
    cfg.dir().ok_or_else(|| {
        anyhow!("there is no cache directory on this system: set `dir` under [cache]")
    })
}

/// The cache files in the directory, by name.
fn cache_files(dir: &Path) -> anyhow::Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    match std::fs::read_dir(dir) {
        Ok(rd) => {
            for e in rd {
                let p = e?.path();
                if p.extension().is_some_and(|x| x == "db") {
                    out.push(p);
                }
            }
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(anyhow!("cannot read {}: {e}", dir.display())),
    }
    out.sort();
    Ok(out)
}

/// The database and its -wal and -shm files.
fn with_sidecars(db: &Path) -> [PathBuf; 3] {
    let s = db.as_os_str().to_owned();
    let side = |suffix: &str| {
        let mut s = s.clone();
        s.push(suffix);
        PathBuf::from(s)
    };
    [db.to_path_buf(), side("-wal"), side("-shm")]
}

fn mib(bytes: u64) -> String {
    format!("{:.1} MiB", bytes as f64 / (1024.0 * 1024.0))
}

fn info(cfg: &CacheConfig) -> anyhow::Result<()> {
    let dir = cache_dir(cfg)?;
    println!(
        "cache directory: {} (cap {} MiB per profile)",
        dir.display(),
        cfg.max_size_mb
    );
    let files = cache_files(&dir)?;
    if files.is_empty() {
        println!("no caches yet: they fill as the TUI reads, or with `trailscope cache pull`");
    }
    for f in files {
        let bytes: u64 = with_sidecars(&f)
            .iter()
            .filter_map(|p| std::fs::metadata(p).ok())
            .map(|m| m.len())
            .sum();
        let name = f
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        let store = LocalStore::open(&f, Durability::Cache)
            .map_err(|e| anyhow!("cannot read the cache {}: {e}", f.display()))?;
        let synced = synced_at(&store).map_or("never".to_string(), |t| format_ts(&t));
        let pending = match store.meta(PULL)? {
            Some(_) => " (an interrupted pull can be resumed)",
            None => "",
        };
        println!(
            "{name}  {}  {} entries  synced {synced}{pending}",
            mib(bytes),
            thousands(store.count()?)
        );
    }
    Ok(())
}

fn clear(cfg: &CacheConfig, profile: Option<&str>) -> anyhow::Result<()> {
    let dir = cache_dir(cfg)?;
    let files = match profile {
        Some(p) => {
            let path = cfg.path_for(p).unwrap_or_else(|| dir.join(p));
            if !path.exists() {
                return Err(UsageError(format!(
                    "there is no cache for `{p}` in {}",
                    dir.display()
                ))
                .into());
            }
            vec![path]
        }
        None => cache_files(&dir)?,
    };
    for f in &files {
        for p in with_sidecars(f) {
            match std::fs::remove_file(&p) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(anyhow!("cannot delete {}: {e}", p.display())),
            }
        }
    }
    println!(
        "deleted {} cache{} from {}",
        files.len(),
        if files.len() == 1 { "" } else { "s" },
        dir.display()
    );
    Ok(())
}

/// The meta key where a pull keeps its place: `{"filter": …, "cursor": …, "done": n}`.
const PULL: &str = "pull";

/// Rows per page while pulling.
const PULL_PAGE: usize = 1000;

fn pull(remote: RemoteArgs, filter: Option<String>) -> anyhow::Result<()> {
    let resolved = crate::cli::tui::resolve(&TuiArgs {
        server: remote.server,
        token: remote.token,
        profile: remote.profile,
        filter,
        offline: false,
    })?;
    let (path, max) = resolved.cache.clone().ok_or_else(|| {
        anyhow!("there is no cache directory on this system: set `dir` under [cache]")
    })?;
    let store = LocalStore::open(&path, Durability::Cache)
        .map_err(|e| anyhow!("cannot open the offline cache {}: {e}", path.display()))?;
    let client = Client::new(&resolved.server, &resolved.token)?;
    let query = resolved.query;
    let filter = query.to_string();
    let rt = tokio::runtime::Runtime::new().context("cannot start the async runtime")?;
    rt.block_on(async move {
        // Resume where an interrupted pull of the same filter stopped.
        let saved: Option<serde_json::Value> = store
            .meta(PULL)?
            .and_then(|s| serde_json::from_str(&s).ok())
            .filter(|v: &serde_json::Value| v["filter"] == filter.as_str());
        let mut cursor = saved
            .as_ref()
            .and_then(|v| v["cursor"].as_str().map(str::to_string));
        let mut done = saved.as_ref().and_then(|v| v["done"].as_u64()).unwrap_or(0);
        if cursor.is_some() {
            eprintln!(
                "resuming the pull of `{filter}` after {} entries",
                thousands(done)
            );
        }
        let total = client.stats(&query, 1).await.map(|s| s.total).ok();
        let bar = std::io::stderr().is_terminal();
        let mut added = 0u64;
        loop {
            let page = client
                .events(&query, cursor.as_deref(), PULL_PAGE)
                .await
                .map_err(|e| {
                    anyhow!("{e}; {} (run the same command again to resume)", e.advice())
                })?;
            added += store.insert(&page.entries)? as u64;
            done += page.entries.len() as u64;
            cursor = page.next_cursor;
            // The place is saved only after the page is committed, so a pull killed anywhere
            // resumes without a gap.
            match &cursor {
                Some(c) => store.set_meta(
                    PULL,
                    Some(
                        &serde_json::json!({"filter": filter, "cursor": c, "done": done})
                            .to_string(),
                    ),
                )?,
                None => store.set_meta(PULL, None)?,
            }
            if bar {
                progress(done, total);
            }
            if cursor.is_none() {
                break;
            }
        }
        store.set_meta(SYNCED_AT, Some(&format_ts(&chrono::Utc::now())))?;
        let evicted = store.evict_to(max)?;
        store.analyze()?;
        if bar {
            eprintln!();
        }
        println!(
            "pulled {} entries matching `{filter}` ({} new) into {}",
            thousands(done),
            thousands(added),
            path.display()
        );
        if evicted > 0 {
            println!(
                "the cache is at its cap of {} MiB: the {} oldest entries were evicted",
                max / (1024 * 1024),
                thousands(evicted)
            );
        }
        Ok(())
    })
}

/// One line of progress on stderr, redrawn in place.
fn progress(done: u64, total: Option<u64>) {
    const W: usize = 30;
    let line = match total {
        Some(t) if t > 0 => {
            let frac = (done as f64 / t as f64).min(1.0);
            let fill = (frac * W as f64) as usize;
            format!(
                "\r[{}{}] {:>3}%  {} of {} entries",
                "#".repeat(fill),
                "-".repeat(W - fill),
                (frac * 100.0) as u32,
                thousands(done),
                thousands(t)
            )
        }
        _ => format!("\r{} entries", thousands(done)),
    };
    let mut err = std::io::stderr();
    let _ = err.write_all(line.as_bytes());
    let _ = err.flush();
}

/// How the loader tells the command that the TUI can start.
enum Ready {
    /// The first batch is in: there is a page to draw.
    First,
    /// The whole file was read before the first batch filled (small or broken files).
    Done {
        entries: u64,
        error: Option<LoadError>,
    },
    Failed(String),
}

/// Progress and growth are sent at most this often while a file loads.
const NOTIFY_EVERY: Duration = Duration::from_millis(300);

/// `trailscope open FILE`: the file is streamed into a temporary store (gone on quit) while
/// the TUI already shows what is in.
pub fn open(args: OpenArgs) -> anyhow::Result<()> {
    let query = match &args.filter {
        Some(f) => f
            .parse::<Query>()
            .map_err(|e| UsageError(format!("--filter: {e}")))?,
        None => Query::default(),
    };
    let path = args.file;
    let name = path.file_name().map_or_else(
        || path.display().to_string(),
        |n| n.to_string_lossy().into_owned(),
    );
    let mut head = Vec::with_capacity(4096);
    std::fs::File::open(&path)
        .and_then(|f| f.take(4096).read_to_end(&mut head))
        .map_err(|e| anyhow!("cannot read {}: {e}", path.display()))?;
    let format = load::detect(&head).map_err(|e| anyhow!("{}: {e}", path.display()))?;
    let size = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
    crate::cli::tui::init_file_logging();

    let dir = tempfile::Builder::new()
        .prefix("trailscope-open-")
        .tempdir()
        .context("cannot create a temporary directory for the file's store")?;
    let store = Arc::new(
        LocalStore::open(dir.path().join("review.db"), Durability::Scratch)
            .map_err(|e| anyhow!("cannot create the file's store: {e}"))?,
    );
    let (extra_tx, extra) = tokio::sync::mpsc::unbounded_channel::<Action>();
    let (ready_tx, ready) = std::sync::mpsc::channel::<Ready>();
    let loader = {
        let (store, path, name) = (store.clone(), path.clone(), name.clone());
        std::thread::spawn(move || {
            load_into(&store, &path, &name, format, size, &extra_tx, &ready_tx)
        })
    };
    let mut warning = None;
    match ready.recv() {
        Ok(Ready::First) => {}
        Ok(Ready::Done { entries, error }) => {
            if entries == 0 {
                return Err(match error {
                    Some(e) => anyhow!("{}: {e}", path.display()),
                    None => anyhow!("{} holds no entries", path.display()),
                });
            }
            warning = error.map(|e| file_warning(&name, &e, entries));
        }
        Ok(Ready::Failed(m)) => return Err(anyhow!("{}: {m}", path.display())),
        Err(_) => return Err(anyhow!("{}: the loader stopped", path.display())),
    }

    let (config, config_path) = load_config()?;
    let overrides = config
        .keys
        .iter()
        .map(|(k, v)| (k.clone(), v.to_vec()))
        .collect();
    let keymap = crate::tui::keymap::Keymap::with_overrides(&overrides)
        .map_err(|e| anyhow!("the config file: {e}"))?;
    // The header names the file's place; the status beside it says `file NAME`.
    let shown = std::fs::canonicalize(&path).unwrap_or_else(|_| path.clone());
    let app = App::new(Settings {
        source: shown.display().to_string(),
        query,
        keymap,
        theme: crate::tui::theme::Theme::new(crate::tui::theme::ColorDepth::detect()),
        views: config.views.into_iter().collect(),
        now: chrono::Utc::now(),
        size: (80, 24),
    })
    .with_link(crate::tui::link::Link::File {
        name: name.clone(),
        warning,
    });
    let rt = tokio::runtime::Runtime::new().context("cannot start the async runtime")?;
    let source = crate::tui::source::Source::file(store);
    let result = rt.block_on(crate::tui::event_loop::run(
        source,
        app,
        config_path,
        Some(extra),
    ));
    // Quitting while the file still loads is fine: the loader stops at its next batch.
    drop(rt);
    drop(loader);
    drop(dir);
    result
}

/// What the user is told when a file stops early.
fn file_warning(name: &str, e: &LoadError, entries: u64) -> String {
    format!(
        "{name} is malformed at {e}; showing the {} entries before it",
        thousands(entries)
    )
}

/// The loader thread: reads the file into the store, tells the command when the TUI can
/// start, and keeps the TUI told (progress, growth, a malformed record).
fn load_into(
    store: &LocalStore,
    path: &Path,
    name: &str,
    format: FileFormat,
    size: u64,
    tx: &tokio::sync::mpsc::UnboundedSender<Action>,
    ready: &std::sync::mpsc::Sender<Ready>,
) {
    let started = Instant::now();
    let mut first = true;
    let mut last = Instant::now();
    let mut loaded = 0u64;
    let mut failed: Option<String> = None;
    let result = load::read_file(path, format, &mut |batch, bytes| {
        loaded += batch.len() as u64;
        if let Err(e) = store.insert(&batch) {
            failed = Some(format!("the file's store failed: {e}"));
            return false;
        }
        if first {
            first = false;
            let _ = ready.send(Ready::First);
        } else if last.elapsed() >= NOTIFY_EVERY {
            last = Instant::now();
            let pct = (bytes.min(size) * 100).checked_div(size).unwrap_or(0) as u32;
            let _ = tx.send(Action::Grew);
            if tx
                .send(Action::Notice(format!(
                    "loading {name} ({}): {pct}%, {} entries",
                    format.as_str(),
                    thousands(loaded)
                )))
                .is_err()
            {
                // The TUI is gone: stop reading.
                return false;
            }
        }
        true
    });
    let (entries, error) = match result {
        Ok(l) => (l.entries, l.error),
        Err(e) => {
            failed.get_or_insert(format!("cannot read the file: {e}"));
            (loaded, None)
        }
    };
    if let Err(e) = store.analyze() {
        tracing::warn!("could not analyse the file's store: {e}");
    }
    tracing::info!(entries, took = ?started.elapsed(), "{name} loaded");
    if first {
        let _ = ready.send(match failed {
            Some(m) if entries == 0 => Ready::Failed(m),
            _ => Ready::Done { entries, error },
        });
        return;
    }
    let _ = tx.send(Action::Grew);
    let notice = match (&error, &failed) {
        (Some(e), _) => {
            let w = file_warning(name, e, entries);
            let _ = tx.send(Action::Link(crate::tui::link::Link::File {
                name: name.to_string(),
                warning: Some(w.clone()),
            }));
            w
        }
        (None, Some(m)) => format!(
            "{name}: {m}; showing the {} entries read",
            thousands(entries)
        ),
        (None, None) => format!(
            "{name}: {} entries ({}) loaded",
            thousands(entries),
            format.as_str()
        ),
    };
    let _ = tx.send(Action::Notice(notice));
}
