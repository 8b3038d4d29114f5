//! `trailscope open FILE`: an export file, or another system's audit log (Kubernetes,
//! CloudTrail, GitHub; see docs/formats.md), streamed into a temporary store while the TUI
//! already shows what is in. `-` reads standard input; gzip is read as such.

use super::context::{Profiled, Threads, log_to_file, parse_filter, runtime};
use anyhow::{Context, anyhow};
use clap::Args;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};
use trailscope::export::read::{FileFormat, LoadError};
use trailscope::import::{self, Detected, SourceFormat};
use trailscope::store::sqlite::{Durability, LocalStore};
use trailscope::tui::views::header::thousands;
use trailscope::tui::{Action, App, Settings};

/// `trailscope open`.
#[derive(Debug, Args)]
pub struct OpenArgs {
    /// A CSV, JSON or NDJSON export written by trailscope, a Kubernetes audit log, a CloudTrail
    /// file or a GitHub audit-log export (JSON or CSV); gzip too; `-` for standard input. The
    /// format is detected.
    pub file: PathBuf,
    /// The format, when detection cannot tell (or to insist on one).
    #[arg(long, value_name = "FORMAT", value_parser = ["k8s", "cloudtrail", "github", "csv", "json", "ndjson"])]
    pub format: Option<String>,
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
        unmapped: u64,
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
    let name = if path.as_os_str() == "-" {
        "standard input".to_string()
    } else {
        path.file_name().map_or_else(
            || path.display().to_string(),
            |n| n.to_string_lossy().into_owned(),
        )
    };
    let input =
        import::input::open(&path).map_err(|e| anyhow!("cannot read {}: {e}", path.display()))?;
    let format = match args.format.as_deref() {
        Some(f) => named_format(f)?,
        None => import::detect(&input.head).map_err(|e| anyhow!("{}: {e}", path.display()))?,
    };
    let size = input.size.unwrap_or(0);
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
        let (store, name) = (store.clone(), name.clone());
        let reader = input.reader;
        std::thread::spawn(move || {
            load_into(&store, reader, &name, format, size, &extra_tx, &ready_tx)
        })
    };
    let warning = wait_ready(&ready, &path, &name)?;

    let profiled = Profiled::no_profile()?;
    let keymap = profiled.keymap()?;
    // The header names the file's place; the status beside it says `file NAME`.
    let shown = if path.as_os_str() == "-" {
        PathBuf::from("(standard input)")
    } else {
        std::fs::canonicalize(&path).unwrap_or_else(|_| path.clone())
    };
    let app = App::new(Settings {
        source: shown.display().to_string().into(),
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

/// The format `--format` names.
fn named_format(f: &str) -> anyhow::Result<Detected> {
    Ok(match f {
        "csv" => Detected::Export(FileFormat::Csv),
        "json" => Detected::Export(FileFormat::Json),
        "ndjson" => Detected::Export(FileFormat::Ndjson),
        f => Detected::Source(
            SourceFormat::parse(f).ok_or_else(|| anyhow!("--format {f} is not a format"))?,
        ),
    })
}

/// Waits until the TUI can start: the first batch is in, or the whole file was read (then the
/// warning to show, if any); an error when the file holds no entries or could not be read.
fn wait_ready(
    ready: &std::sync::mpsc::Receiver<Ready>,
    path: &std::path::Path,
    name: &str,
) -> anyhow::Result<Option<String>> {
    match ready.recv() {
        Ok(Ready::First) => Ok(None),
        Ok(Ready::Done {
            entries,
            error,
            unmapped,
        }) => {
            if entries == 0 {
                return Err(match error {
                    Some(e) => anyhow!("{}: {e}", path.display()),
                    None => anyhow!("{} holds no entries", path.display()),
                });
            }
            Ok(file_warning(name, error.as_ref(), unmapped, entries))
        }
        Ok(Ready::Failed(m)) => Err(anyhow!("{}: {m}", path.display())),
        Err(_) => Err(anyhow!("{}: the loader stopped", path.display())),
    }
}

/// What the user is told when a file stops early, or holds records that could not be mapped.
fn file_warning(name: &str, e: Option<&LoadError>, unmapped: u64, entries: u64) -> Option<String> {
    let unmapped = (unmapped > 0).then(|| {
        format!(
            "{} of {} records could not be mapped (shown as import.unmapped)",
            thousands(unmapped),
            thousands(entries)
        )
    });
    match (e, unmapped) {
        (None, None) => None,
        (Some(e), None) => Some(format!(
            "{name} is malformed at {e}; showing the {} entries before it",
            thousands(entries)
        )),
        (None, Some(u)) => Some(format!("{name}: {u}")),
        (Some(e), Some(u)) => Some(format!(
            "{name} is malformed at {e}; showing the {} entries before it; {u}",
            thousands(entries)
        )),
    }
}

/// The loader thread: reads the file into the store, tells the command when the TUI can
/// start, and keeps the TUI told (progress, growth, a malformed record).
fn load_into(
    store: &LocalStore,
    reader: Box<dyn std::io::BufRead + Send>,
    name: &str,
    format: Detected,
    size: u64,
    tx: &tokio::sync::mpsc::UnboundedSender<Action>,
    ready: &std::sync::mpsc::Sender<Ready>,
) {
    let started = Instant::now();
    let mut first = true;
    let mut last = Instant::now();
    let mut loaded = 0u64;
    let mut failed: Option<String> = None;
    let mut repeated = 0u64;
    let result = import::read_entries(reader, format, &mut |batch, bytes| {
        loaded += batch.len() as u64;
        match store.insert(&batch) {
            Ok(added) => repeated += (batch.len() - added) as u64,
            Err(e) => {
                failed = Some(format!("the file's store failed: {e}"));
                return false;
            }
        }
        if first {
            first = false;
            let _ = ready.send(Ready::First);
        } else if last.elapsed() >= NOTIFY_EVERY {
            last = Instant::now();
            let pct = (bytes.min(size) * 100)
                .checked_div(size)
                .map(|p| format!("{p}%, "))
                .unwrap_or_default();
            let _ = tx.send(Action::Grew);
            let told = tx.send(Action::Notice(format!(
                "loading {name} ({}): {pct}{} entries",
                format.as_str(),
                thousands(loaded)
            )));
            // The TUI is gone: stop reading.
            return told.is_ok();
        }
        true
    });
    let (entries, error, unmapped) = match result {
        Ok(l) => (l.entries, l.error, l.unmapped),
        Err(e) => {
            failed.get_or_insert(format!("cannot read the file: {e}"));
            (loaded, None, 0)
        }
    };
    if repeated > 0 {
        // The same source id twice (a file concatenated with itself): one row shows both.
        tracing::info!(
            repeated,
            "{name}: records that repeat an earlier one's id are shown once"
        );
    }
    if let Err(e) = store.analyze() {
        tracing::warn!("could not analyse the file's store: {e}");
    }
    tracing::info!(entries, took = ?started.elapsed(), "{name} loaded");
    if first {
        let _ = ready.send(match failed {
            Some(m) if entries == 0 => Ready::Failed(m),
            _ => Ready::Done {
                entries,
                error,
                unmapped,
            },
        });
        return;
    }
    let _ = tx.send(Action::Grew);
    let _ = tx.send(Action::Notice(loaded_notice(
        tx,
        name,
        format,
        (entries, error.as_ref(), unmapped),
        failed.as_deref(),
    )));
}

/// What the TUI is told once the whole file is in: a warning (also in its link), why the load
/// stopped, or how many entries were read.
fn loaded_notice(
    tx: &tokio::sync::mpsc::UnboundedSender<Action>,
    name: &str,
    format: Detected,
    (entries, error, unmapped): (u64, Option<&LoadError>, u64),
    failed: Option<&str>,
) -> String {
    let warning = file_warning(name, error, unmapped, entries);
    match (warning, failed) {
        (Some(w), _) => {
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
    }
}
