//! A download saved to a file, once for the CLI (`trailscope export`, `trailscope evidence`) and
//! the TUI: streamed into a staged file, an export's proof split off its end into
//! `<file>.proof.json` beside it, both committed only when complete, and its rows counted.

use super::source::Source;
use super::{DownloadError, Sink};
use crate::export::evidence::{Manifest, NotAPack};
use crate::export::{
    Format, RowCounter, StageError, StagedFile, count_json_entries, proof_sidecar,
};
use crate::model::{PackRequest, ProofFile, Query};
use std::path::{Path, PathBuf};

/// What to download.
#[derive(Debug, Clone, PartialEq)]
// One value per download: the size of the filter it carries costs nothing worth a box.
#[allow(clippy::large_enum_variant)]
pub enum Download {
    /// An export of the entries matching `query`, under `name` in the export history.
    Export {
        query: Query,
        format: Format,
        name: Option<String>,
    },
    /// An evidence pack (a named kind, a custom one, a re-run).
    Pack(PackRequest),
}

/// A file saved whole.
#[derive(Debug, Clone, PartialEq)]
pub struct Saved {
    pub path: PathBuf,
    /// Bytes received, the proof trailer included.
    pub bytes: u64,
    /// Entries in the file: the proof's count, the counter's, or (JSON, packs) read back.
    pub rows: u64,
    /// The proof beside an export, when the source proves exports and the format does not
    /// embed it (every format but JSON).
    pub sidecar: Option<PathBuf>,
    /// A pack's own manifest, checked against the pack's files: always there for a pack.
    pub manifest: Option<Manifest>,
}

/// Why nothing (or, for a pack that does not match its manifest, nothing trustworthy) was saved.
#[derive(Debug, thiserror::Error)]
pub enum SaveError {
    /// The file (or its proof's file) exists and overwriting was not asked for.
    #[error("{0} exists")]
    Exists(PathBuf),
    /// A staged file could not be started or finished.
    #[error("{0}")]
    Stage(StageError),
    /// The server said no, the transfer broke off, or the staged file refused a chunk.
    #[error("{0}")]
    Download(#[from] DownloadError),
    /// The export arrived without its proof at the end.
    #[error("{0}; nothing was written")]
    NoProof(std::io::Error),
    #[error("the server's proof is malformed; nothing was written")]
    MalformedProof,
    /// The proof's file refused its bytes.
    #[error("{0}")]
    Sidecar(std::io::Error),
    /// A JSON export saved but not readable back to count its entries.
    #[error("the JSON export could not be read back: {0}")]
    ReadBack(String),
    /// A pack saved but not readable as a pack.
    #[error("{0}")]
    Pack(#[from] crate::export::evidence::NotAPack),
    /// A pack saved whose files are not what its manifest lists.
    #[error("the pack arrived but does not match its own manifest: {}", .0.join("; "))]
    PackMismatch(Vec<String>),
}

impl From<StageError> for SaveError {
    fn from(e: StageError) -> SaveError {
        match e {
            StageError::Exists(p) => SaveError::Exists(p),
            other => SaveError::Stage(other),
        }
    }
}

/// Called as chunks arrive: bytes so far, and entries so far when the format lets them be
/// counted. The caller decides how often to show it.
pub type OnProgress<'a> = dyn FnMut(u64, Option<u64>) + Send + 'a;

/// Downloads `what` from `source` to `target` (refusing to replace a file unless `overwrite`).
/// An export from a server gets its proof beside it; dropped or failed, nothing is left behind.
pub async fn save(
    source: &Source,
    what: &Download,
    target: &Path,
    overwrite: bool,
    progress: &mut OnProgress<'_>,
) -> Result<Saved, SaveError> {
    let mut staged = StagedFile::create(target, overwrite)?;
    let format = match what {
        Download::Export { format, .. } => Some(*format),
        Download::Pack(_) => None,
    };
    // JSON embeds its proof; every other format ends with it when asked, and a local copy has
    // none to give.
    let trailer = source.proves_exports() && format.is_some_and(|f| f != Format::Json);
    let mut counter = format.map(RowCounter::new);
    let mut received = 0u64;
    let sink: &mut Sink<'_> = &mut |chunk: &[u8]| {
        received += chunk.len() as u64;
        if let Some(c) = &mut counter {
            c.feed(chunk);
        }
        progress(received, counter.as_ref().and_then(RowCounter::rows));
        staged.write_all(chunk)
    };
    let bytes = match what {
        Download::Export {
            query,
            format,
            name,
        } => {
            source
                .export_named(query, *format, name.as_deref(), trailer, sink)
                .await?
        }
        Download::Pack(request) => source.pack(request, sink).await?,
    };
    let proof = if trailer {
        Some(split_proof(&mut staged, target, overwrite)?)
    } else {
        None
    };
    let path = staged.commit()?;
    let (sidecar, proved_rows) = match proof {
        Some((side, rows)) => (Some(side.commit()?), Some(rows)),
        None => (None, None),
    };
    let (rows, manifest) = match (format, proved_rows.or(counter.and_then(|c| c.rows()))) {
        (_, Some(rows)) => (rows, None),
        (Some(_), None) => (count_json(&path)?, None),
        (None, None) => {
            let manifest = check_pack(&path)?;
            (manifest.rows, Some(manifest))
        }
    };
    Ok(Saved {
        path,
        bytes,
        rows,
        sidecar,
        manifest,
    })
}

/// Takes the proof off the end of the staged export into its own staged file beside `target`;
/// returns that file and the number of entries the proof covers.
fn split_proof(
    staged: &mut StagedFile,
    target: &Path,
    overwrite: bool,
) -> Result<(StagedFile, u64), SaveError> {
    let proof = staged.split_proof().map_err(SaveError::NoProof)?;
    let parsed: ProofFile =
        serde_json::from_slice(&proof).map_err(|_| SaveError::MalformedProof)?;
    let mut side = StagedFile::create(&proof_sidecar(target), overwrite)?;
    side.write_all(&proof).map_err(SaveError::Sidecar)?;
    Ok((side, parsed.proof.entries))
}

fn count_json(path: &Path) -> Result<u64, SaveError> {
    let file = std::fs::File::open(path).map_err(|e| SaveError::ReadBack(e.to_string()))?;
    count_json_entries(file).map_err(|e| SaveError::ReadBack(e.to_string()))
}

/// A saved pack's manifest, once its files are checked against it.
fn check_pack(path: &Path) -> Result<Manifest, SaveError> {
    let file = std::fs::File::open(path).map_err(|e| SaveError::Pack(NotAPack::Unopened(e)))?;
    let (manifest, problems) = crate::export::evidence::verify_pack(file)?;
    if problems.is_empty() {
        Ok(manifest)
    } else {
        Err(SaveError::PackMismatch(problems))
    }
}
