//! `trailscope open FILE`: an export file streamed into a temporary store while the TUI
//! already shows what is in.

use super::context::{Profiled, Threads, log_to_file, parse_filter, runtime};
use anyhow::{Context, anyhow};
use clap::Args;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};
use trailscope::export::read::{self, FileFormat, LoadError};
use trailscope::store::sqlite::{Durability, LocalStore};
use trailscope::tui::views::header::thousands;
use trailscope::tui::{Action, App, Settings};

/// `trailscope open`.
#[derive(Debug, Args)]
pub struct OpenArgs {
    /// A CSV, JSON or NDJSON export written by trailscope (the format is detected).
    pub file: PathBuf,
    /// The filter to open with, in the query language [default: none, the whole file].
    #[arg(long)]
    pub filter: Option<String>,
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
pub fn run(args: OpenArgs) -> anyhow::Result<()> {
    let query = parse_filter(args.filter.as_deref())?.unwrap_or_default();
    let path = args.file;
    let name = path.file_name().map_or_else(
        || path.display().to_string(),
        |n| n.to_string_lossy().into_owned(),
    );
    let mut head = Vec::with_capacity(4096);
    std::fs::File::open(&path)
        .and_then(|f| f.take(4096).read_to_end(&mut head))
        .map_err(|e| anyhow!("cannot read {}: {e}", path.display()))?;
    let format = read::detect(&head).map_err(|e| anyhow!("{}: {e}", path.display()))?;
    let size = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
    log_to_file();

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

    let profiled = Profiled::no_profile()?;
    let keymap = profiled.keymap()?;
    // The header names the file's place; the status beside it says `file NAME`.
    let shown = std::fs::canonicalize(&path).unwrap_or_else(|_| path.clone());
    let app = App::new(Settings {
        source: shown.display().to_string(),
        query,
        keymap,
        theme: trailscope::tui::theme::Theme::new(trailscope::tui::theme::ColorDepth::detect()),
        views: profiled.config.views.into_iter().collect(),
        now: chrono::Utc::now(),
        size: (80, 24),
    })
    .with_link(trailscope::tui::link::Link::File {
        name: name.clone(),
        warning,
    });
    let rt = runtime(Threads::PerCore)?;
    let source = trailscope::client::source::Source::file(store);
    let result = rt.block_on(trailscope::tui::event_loop::run(
        source,
        app,
        profiled.config_path,
        Some(extra),
    ));
    // Quitting while the file still loads is fine: the loader stops at its next batch.
    drop(rt);
    drop(loader);
    drop(dir);
    Ok(result?)
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
    let result = read::read_file(path, format, &mut |batch, bytes| {
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
            let pct = (bytes.min(size) * 100).checked_div(size).unwrap_or(0);
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
            let _ = tx.send(Action::Link(trailscope::tui::link::Link::File {
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
