//! `trailscope export`: streams the log (or a filtered part of it) from the server to a file,
//! with a progress line, never overwriting without --force, never leaving half a file behind.

use super::context::{Progress, RemoteArgs, Threads, parse_filter, refused, runtime};
use super::output::errln;
use anyhow::{Context, anyhow};
use clap::Args;
use std::io::Write;
use std::path::{Path, PathBuf};
use trailscope::client::DownloadError;
use trailscope::export::{
    Format, RowCounter, StageError, StagedFile, count_json_entries, proof_sidecar,
};
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

/// Starts a staged download, turning "exists" into the CLI's advice.
pub(super) fn stage(target: &Path, force: bool) -> anyhow::Result<StagedFile> {
    StagedFile::create(target, force).map_err(staging_failure)
}

/// "exists" (at the start, or because the file appeared while downloading) as the CLI's advice.
pub(super) fn staging_failure(e: StageError) -> anyhow::Error {
    match e {
        StageError::Exists(p) => anyhow!("{} exists; pass --force to overwrite it", p.display()),
        other => anyhow!(other),
    }
}

/// `trailscope export`.
pub fn run(args: ExportArgs) -> anyhow::Result<()> {
    let format = Format::from(args.format);
    let query = parse_filter(args.filter.as_deref())?.unwrap_or_default();
    let client = args.remote.client()?;
    let to_stdout = args.output.as_deref() == Some(Path::new("-"));
    let target = args
        .output
        .clone()
        .unwrap_or_else(|| PathBuf::from(format.file_name(&chrono::Utc::now())));
    let mut staged = if to_stdout {
        None
    } else {
        Some(stage(&target, args.force)?)
    };
    // Not locked: the sink must be Send; each chunk is large, so the lock per write is noise.
    let mut stdout = std::io::stdout();
    let mut counter = RowCounter::new(format);
    let progress = Progress::download();
    let mut received = 0u64;
    // A file gets its proof: JSON embeds it, CSV and NDJSON get `<file>.proof.json` beside.
    let trailer = !to_stdout && format != Format::Json;
    let result = runtime(Threads::One)?.block_on(client.export_named(
        &query,
        format,
        args.name.as_deref(),
        trailer,
        &mut |chunk| {
            counter.feed(chunk);
            received += chunk.len() as u64;
            progress.bytes(received, counter.rows());
            match &mut staged {
                Some(s) => s.write_all(chunk),
                None => stdout.write_all(chunk),
            }
        },
    ));
    progress.clear();
    match result {
        Err(e) => {
            drop(staged);
            Err(download_failure(e))
        }
        Ok(bytes) => {
            let Some(s) = staged else {
                return stdout.flush().map_err(Into::into);
            };
            let mut s = s;
            let mut proved_rows = None;
            let sidecar = if trailer {
                let proof = s
                    .split_proof()
                    .map_err(|e| anyhow!("{e}; nothing was written"))?;
                let parsed: trailscope::model::ProofFile = serde_json::from_slice(&proof)
                    .map_err(|_| anyhow!("the server's proof is malformed; nothing was written"))?;
                proved_rows = Some(parsed.proof.entries);
                let path = proof_sidecar(&target);
                let mut side = stage(&path, args.force)?;
                side.write_all(&proof)?;
                Some(side)
            } else {
                None
            };
            s.commit().map_err(staging_failure)?;
            if let Some(side) = sidecar {
                side.commit().map_err(staging_failure)?;
            }
            let rows = match counter.rows() {
                _ if proved_rows.is_some() => proved_rows.unwrap_or_default(),
                Some(r) => r,
                None => count_json_entries(std::fs::File::open(&target)?)
                    .context("the JSON export could not be read back")?,
            };
            errln!(
                "wrote {rows} entries ({}) to {}",
                human_bytes(bytes),
                target.display()
            );
            Ok(())
        }
    }
}

pub(super) fn download_failure(e: DownloadError) -> anyhow::Error {
    match e {
        DownloadError::Client(c) => refused(&c),
        other => anyhow!("{other}; nothing was written"),
    }
}
