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
    let sizes: Option<u64> = args
        .files
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

    let mut tally = Tally::default();
    let mut done_bytes = 0u64;
    let mut stopped: Option<anyhow::Error> = None;
    for path in &args.files {
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
        let mut batch: Vec<Pending> = Vec::new();
        let mut bytes_in_batch = 0usize;
        let now = chrono::Utc::now();
        let read = import::read_source(input.reader, format, &mut |rec: Record, bytes| {
            let at = format!("{name}:{}", rec.line);
            let event = match rec.event {
                Ok(ev) => ev,
                Err(u) => {
                    tally.refused.push(format!("{at}: {}", u.reason));
                    return true;
                }
            };
            let line = match serde_json::to_string(&event) {
                Ok(l) => l,
                Err(e) => {
                    tally.refused.push(format!("{at}: {e}"));
                    return true;
                }
            };
            // The server's own rules, checked here so one bad record is named and skipped
            // rather than refusing its whole batch.
            if let Err(e) = validate_event_text(&line, now) {
                tally.refused.push(format!("{at}: {}", e.message));
                return true;
            }
            if bytes_in_batch + line.len() > BATCH_BYTES {
                if let Err(e) = post(&rt, &client, &mut batch, &mut tally) {
                    stopped = Some(e);
                    return false;
                }
                bytes_in_batch = 0;
            }
            bytes_in_batch += line.len() + 1;
            batch.push(Pending { at, line });
            if batch.len() >= MAX_BATCH {
                if let Err(e) = post(&rt, &client, &mut batch, &mut tally) {
                    stopped = Some(e);
                    return false;
                }
                bytes_in_batch = 0;
            }
            if input.size.is_some() && bytes != u64::MAX {
                bar.set_position(done_bytes + bytes.min(input.size.unwrap_or(0)));
            }
            bar.set_message(format!(
                "{} imported, {} already present",
                thousands(tally.imported),
                thousands(tally.present)
            ));
            true
        });
        let read = match read {
            Ok(r) => r,
            Err(e) => {
                stopped.get_or_insert(anyhow!("cannot read {name}: {e}"));
                break;
            }
        };
        if stopped.is_none()
            && let Err(e) = post(&rt, &client, &mut batch, &mut tally)
        {
            stopped = Some(e);
        }
        if let Some(e) = read.error {
            tally.refused.push(format!(
                "{name}: stopped reading at {e}; nothing after it was read"
            ));
        }
        if stopped.is_some() {
            break;
        }
        done_bytes += input.size.unwrap_or(0);
        bar.set_position(done_bytes);
    }
    bar.finish_and_clear();

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
