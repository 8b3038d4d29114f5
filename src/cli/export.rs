//! `trailscope export`: streams the log (or a filtered part of it) from the server to a file,
//! with a progress line, never overwriting without --force, never leaving half a file behind.

use super::context::{Progress, RemoteArgs, Threads, parse_filter, refused, runtime};
use super::output::errln;
use anyhow::anyhow;
use clap::Args;
use std::io::Write;
use std::path::{Path, PathBuf};
use trailscope::client::save::{Download, SaveError, save};
use trailscope::client::source::Source;
use trailscope::client::{Client, DownloadError};
use trailscope::export::{Format, RowCounter};
use trailscope::model::Query;
use trailscope::text::human_bytes;

/// `trailscope export`.
#[derive(Debug, Args)]
pub struct ExportArgs {
    #[command(flatten)]
    pub remote: RemoteArgs,
    /// csv, json, ndjson, or ocsf (NDJSON of OCSF 1.x events, for SIEMs).
    #[arg(long, value_enum, default_value_t = ExportFormat::Csv)]
    pub format: ExportFormat,
    /// Only entries matching this filter, in the query language (e.g. "channel:auth since:30d").
    #[arg(long)]
    pub filter: Option<String>,
    /// The file to write, or - for standard output [default: ./audit-log-<timestamp>.<ext>].
    #[arg(short, long)]
    pub output: Option<PathBuf>,
    /// Overwrite the file if it exists.
    #[arg(long)]
    pub force: bool,
    /// What the export history (`trailscope exports`) calls this export.
    #[arg(long)]
    pub name: Option<String>,
}

/// `--format`: the export formats, as the command line names them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ExportFormat {
    Csv,
    Json,
    Ndjson,
    Ocsf,
}

impl From<ExportFormat> for Format {
    fn from(f: ExportFormat) -> Format {
        match f {
            ExportFormat::Csv => Format::Csv,
            ExportFormat::Json => Format::Json,
            ExportFormat::Ndjson => Format::Ndjson,
            ExportFormat::Ocsf => Format::Ocsf,
        }
    }
}

/// A failed save as the CLI says it: "exists" with its advice, a refusal with what to do.
pub(super) fn save_failure(e: SaveError) -> anyhow::Error {
    match e {
        SaveError::Exists(p) => anyhow!("{} exists; pass --force to overwrite it", p.display()),
        SaveError::Download(e) => download_failure(e),
        other => anyhow!(other),
    }
}

/// `trailscope export`.
pub fn run(args: ExportArgs) -> anyhow::Result<()> {
    let format = Format::from(args.format);
    let query = parse_filter(args.filter.as_deref())?.unwrap_or_default();
    let client = args.remote.client()?;
    if args.output.as_deref() == Some(Path::new("-")) {
        return to_stdout(&client, &query, format, args.name.as_deref());
    }
    let target = args
        .output
        .clone()
        .unwrap_or_else(|| PathBuf::from(format.file_name(&chrono::Utc::now())));
    let what = Download::Export {
        query,
        format,
        name: args.name.clone(),
    };
    let progress = Progress::download();
    let result = runtime(Threads::One)?.block_on(save(
        &Source::from(client),
        &what,
        &target,
        args.force,
        &mut |bytes, rows| progress.bytes(bytes, rows),
    ));
    progress.clear();
    let saved = result.map_err(save_failure)?;
    errln!(
        "wrote {} entries ({}) to {}",
        saved.rows,
        human_bytes(saved.bytes),
        target.display()
    );
    Ok(())
}

/// `--output -`: the rows alone, streamed as they come (no file to put a proof beside).
fn to_stdout(
    client: &Client,
    query: &Query,
    format: Format,
    name: Option<&str>,
) -> anyhow::Result<()> {
    // Not locked: the sink must be Send; each chunk is large, so the lock per write is noise.
    let mut stdout = std::io::stdout();
    let mut counter = RowCounter::new(format);
    let progress = Progress::download();
    let mut received = 0u64;
    let result = runtime(Threads::One)?.block_on(client.export_named(
        query,
        format,
        name,
        false,
        &mut |chunk| {
            counter.feed(chunk);
            received += chunk.len() as u64;
            progress.bytes(received, counter.rows());
            stdout.write_all(chunk)
        },
    ));
    progress.clear();
    result.map_err(download_failure)?;
    stdout.flush().map_err(Into::into)
}

pub(super) fn download_failure(e: DownloadError) -> anyhow::Error {
    match e {
        DownloadError::Client(c) => refused(&c),
        other => anyhow!("{other}; nothing was written"),
    }
}
