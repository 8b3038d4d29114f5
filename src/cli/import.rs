//! `trailscope import --format k8s|cloudtrail|github FILE…`: another system's audit log posted
//! into the chain, in batches, each event keyed by the source's own id (`auditID`, `eventID`,
//! `_document_id`) so that running it again adds nothing. Records that cannot be mapped, and
//! events the server refuses, are named with their file and line in the summary; the rest of
//! the batch is still posted.

use super::context::{RemoteArgs, Threads, UsageError, runtime};
use super::output::outln;
use anyhow::anyhow;
use clap::Args;
use std::path::PathBuf;
use trailscope::client::{Client, ClientError};
use trailscope::import::{self, Record, SourceFormat};
use trailscope::model::{MAX_BATCH, validate_event_text};
use trailscope::tui::views::header::thousands;

/// `trailscope import`.
#[derive(Debug, Args)]
pub struct ImportArgs {
    /// The files' format.
    #[arg(long, value_parser = ["k8s", "cloudtrail", "github"])]
    pub format: String,
    /// The files (gzip too; `-` for standard input).
    #[arg(required = true)]
    pub files: Vec<PathBuf>,
    #[command(flatten)]
    pub remote: RemoteArgs,
}

/// Bytes per request, well under the server's 16 MiB limit.
const BATCH_BYTES: usize = 8 << 20;
/// Refusals named one by one in the summary; past this only counted.
const NAMED: usize = 20;

/// What an import did, for the summary.
#[derive(Default)]
struct Tally {
    imported: u64,
    present: u64,
    refused: Vec<String>,
}

/// One event waiting to be posted: where it came from, and its JSON line.
struct Pending {
    at: String,
    line: String,
}

pub fn run(args: ImportArgs) -> anyhow::Result<()> {
    let format = SourceFormat::parse(&args.format)
        .ok_or_else(|| UsageError(format!("--format {} is not a format", args.format)))?;
    let client = args.remote.client()?;
    let rt = runtime(Threads::One)?;
    let bar = progress_bar(&args.files);
    let mut poster = Poster {
        rt: &rt,
        client: &client,
        batch: Vec::new(),
        bytes: 0,
        tally: Tally::default(),
    };
    let mut done_bytes = 0u64;
    let mut stopped: Option<anyhow::Error> = None;
    for path in &args.files {
        stopped = import_file(path, format, &mut poster, &bar, &mut done_bytes)?;
        if stopped.is_some() {
            break;
        }
    }
    bar.finish_and_clear();
    summarise(&poster.tally, stopped)
}

/// A bar over the files' total size, when every one is a file whose size is known.
fn progress_bar(files: &[PathBuf]) -> indicatif::ProgressBar {
    let sizes: Option<u64> = files
        .iter()
        .map(|f| {
            std::fs::metadata(f)
                .ok()
                .filter(|m| m.is_file())
                .map(|m| m.len())
        })
        .sum();
    let bar = match sizes {
        Some(total) if total > 0 => indicatif::ProgressBar::new(total),
        _ => indicatif::ProgressBar::no_length(),
    };
    if let Ok(style) = indicatif::ProgressStyle::with_template("[{bar:30}] {percent:>3}%  {msg}") {
        bar.set_style(style.progress_chars("#>-"));
    }
    // Drawn only when stderr is a terminal, so a log or a pipe never gets escape codes.
    bar.set_draw_target(indicatif::ProgressDrawTarget::stderr_with_hz(5));
    bar
}

/// Imports one file. `Err` ends the import at once (the file cannot be opened, or is in
/// another format); `Ok(Some(e))` stops it after the summary (the server or the reading
/// failed part-way); `Ok(None)` goes on to the next file.
fn import_file(
    path: &std::path::Path,
    format: SourceFormat,
    poster: &mut Poster<'_>,
    bar: &indicatif::ProgressBar,
    done_bytes: &mut u64,
) -> anyhow::Result<Option<anyhow::Error>> {
    let name = path.display().to_string();
    let input = import::input::open(path).map_err(|e| anyhow!("cannot read {name}: {e}"))?;
    if let Ok(import::Detected::Source(found)) = import::detect(&input.head)
        && found != format
    {
        return Err(UsageError(format!(
            "{name} looks like a {} log, not {}; check --format",
            found.as_str(),
            format.as_str()
        ))
        .into());
    }
    let mut stopped: Option<anyhow::Error> = None;
    let now = chrono::Utc::now();
    let read = import::read_source(input.reader, format, &mut |rec: Record, bytes| {
        let Some(pending) = pending(rec, &name, now, &mut poster.tally) else {
            return true;
        };
        if let Err(e) = poster.add(pending) {
            stopped = Some(e);
            return false;
        }
        if input.size.is_some() && bytes != u64::MAX {
            bar.set_position(*done_bytes + bytes.min(input.size.unwrap_or(0)));
        }
        bar.set_message(format!(
            "{} imported, {} already present",
            thousands(poster.tally.imported),
            thousands(poster.tally.present)
        ));
        true
    });
    let read = match read {
        Ok(r) => r,
        Err(e) => return Ok(Some(stopped.unwrap_or(anyhow!("cannot read {name}: {e}")))),
    };
    if stopped.is_none()
        && let Err(e) = poster.flush()
    {
        stopped = Some(e);
    }
    if let Some(e) = read.error {
        poster.tally.refused.push(format!(
            "{name}: stopped reading at {e}; nothing after it was read"
        ));
    }
    if stopped.is_none() {
        *done_bytes += input.size.unwrap_or(0);
        bar.set_position(*done_bytes);
    }
    Ok(stopped)
}

/// A record as the line to post, or `None` with why in the tally: it could not be mapped,
/// or breaks the server's own rules (checked here so one bad record is named and skipped
/// rather than refusing its whole batch).
fn pending(
    rec: Record,
    name: &str,
    now: chrono::DateTime<chrono::Utc>,
    tally: &mut Tally,
) -> Option<Pending> {
    let at = format!("{name}:{}", rec.line);
    let event = match rec.event {
        Ok(ev) => ev,
        Err(u) => {
            tally.refused.push(format!("{at}: {}", u.reason));
            return None;
        }
    };
    let line = match serde_json::to_string(&event) {
        Ok(l) => l,
        Err(e) => {
            tally.refused.push(format!("{at}: {e}"));
            return None;
        }
    };
    if let Err(e) = validate_event_text(&line, now) {
        tally.refused.push(format!("{at}: {}", e.message));
        return None;
    }
    Some(Pending { at, line })
}

/// The batch being filled, and what the posts so far did.
struct Poster<'a> {
    rt: &'a tokio::runtime::Runtime,
    client: &'a Client,
    batch: Vec<Pending>,
    bytes: usize,
    tally: Tally,
}

impl Poster<'_> {
    /// Adds an event: the batch is posted first when the event would take it past
    /// `BATCH_BYTES`, and after when it then holds `MAX_BATCH`.
    fn add(&mut self, pending: Pending) -> anyhow::Result<()> {
        if self.bytes + pending.line.len() > BATCH_BYTES {
            self.flush()?;
        }
        self.bytes += pending.line.len() + 1;
        self.batch.push(pending);
        if self.batch.len() >= MAX_BATCH {
            self.flush()?;
        }
        Ok(())
    }

    /// Posts what the batch holds.
    fn flush(&mut self) -> anyhow::Result<()> {
        post(self.rt, self.client, &mut self.batch, &mut self.tally)?;
        self.bytes = 0;
        Ok(())
    }
}

/// The summary, with the refusals named (the first `NAMED`); an error when the import stopped
/// or refused anything.
fn summarise(tally: &Tally, stopped: Option<anyhow::Error>) -> anyhow::Result<()> {
    let summary = format!(
        "{} imported, {} already present, {} refused",
        thousands(tally.imported),
        thousands(tally.present),
        thousands(tally.refused.len() as u64)
    );
    outln!("{summary}");
    for r in tally.refused.iter().take(NAMED) {
        outln!("  refused {}", trailscope::text::inert(r));
    }
    if tally.refused.len() > NAMED {
        outln!("  … and {} more", tally.refused.len() - NAMED);
    }
    if let Some(e) = stopped {
        return Err(e.context(format!(
            "the import stopped ({summary} so far; running it again is safe)"
        )));
    }
    if !tally.refused.is_empty() {
        return Err(anyhow!("{} records were not imported", tally.refused.len()));
    }
    Ok(())
}

/// Posts the batch; an event the server refuses is named and left out, and the rest is posted
/// again. Anything else (unreachable, wrong token, server unavailable) stops the import.
fn post(
    rt: &tokio::runtime::Runtime,
    client: &Client,
    batch: &mut Vec<Pending>,
    tally: &mut Tally,
) -> anyhow::Result<()> {
    while !batch.is_empty() {
        let mut body = String::new();
        for p in batch.iter() {
            body.push_str(&p.line);
            body.push('\n');
        }
        match rt.block_on(client.append_ndjson(body)) {
            Ok(r) => {
                for a in &r.entries {
                    if a.existing {
                        tally.present += 1;
                    } else {
                        tally.imported += 1;
                    }
                }
                batch.clear();
                return Ok(());
            }
            Err(refused) => match (&refused.error, refused.index) {
                (ClientError::InvalidQuery(_), Some(i)) if i < batch.len() => {
                    let p = batch.remove(i);
                    let why = refused.message.unwrap_or_else(|| refused.error.to_string());
                    tally.refused.push(format!("{}: {why}", p.at));
                }
                _ => {
                    let why = refused.message.unwrap_or_else(|| {
                        format!("{}; {}", refused.error, refused.error.advice())
                    });
                    return Err(anyhow!("{why}"));
                }
            },
        }
    }
    Ok(())
}
