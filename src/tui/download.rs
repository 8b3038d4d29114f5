//! The TUI's downloads on a tokio task: streamed into a staged file, progress as actions.

use super::action::{Action, DownloadEvent, DownloadJob, DownloadKind};
use crate::client::source::Source;
use crate::export::{Format, RowCounter, StageError, StagedFile, count_json_entries};
use std::time::{Duration, Instant};
use tokio::sync::mpsc::UnboundedSender;

/// Progress is sent at most this often: a fast download must not flood the loop.
const PROGRESS_EVERY: Duration = Duration::from_millis(100);

/// Starts `job`; aborting the returned task cancels it and removes the partial file.
pub fn start(
    client: impl Into<Source>,
    job: DownloadJob,
    tx: UnboundedSender<Action>,
) -> tokio::task::JoinHandle<()> {
    let client = client.into();
    tokio::spawn(async move {
        let event = run(&client, job, &tx).await;
        let _ = tx.send(Action::Download(event));
    })
}

async fn run(client: &Source, job: DownloadJob, tx: &UnboundedSender<Action>) -> DownloadEvent {
    let mut staged = match StagedFile::create(&job.path, job.overwrite) {
        Ok(s) => s,
        Err(StageError::Exists(p)) => return DownloadEvent::Exists(p),
        Err(e) => return DownloadEvent::Failed(e.to_string()),
    };
    let format = match &job.what {
        DownloadKind::Export { format, .. } => Some(*format),
        DownloadKind::Evidence { .. } | DownloadKind::Pack(_) => None,
    };
    let mut counter = format.map(RowCounter::new);
    let mut received = 0u64;
    let mut last = Instant::now();
    let mut sink = |chunk: &[u8]| {
        received += chunk.len() as u64;
        if let Some(c) = &mut counter {
            c.feed(chunk);
        }
        if last.elapsed() >= PROGRESS_EVERY {
            last = Instant::now();
            let rows = counter.as_ref().and_then(|c| c.rows());
            let _ = tx.send(Action::Download(DownloadEvent::Progress {
                bytes: received,
                rows,
            }));
        }
        staged.write_all(chunk)
    };
    // A CSV or NDJSON file from the server gets its proof beside it, `<file>.proof.json`.
    let trailer = client.proves_exports() && matches!(format, Some(Format::Csv | Format::Ndjson));
    let result = match &job.what {
        DownloadKind::Export {
            query,
            format,
            name,
        } => {
            client
                .export_named(query, *format, name.as_deref(), trailer, &mut sink)
                .await
        }
        DownloadKind::Pack(request) => client.pack(request, &mut sink).await,
        DownloadKind::Evidence { kind, from, to } => {
            client.evidence_pack(kind, from, to, &mut sink).await
        }
    };
    let bytes = match result {
        Ok(b) => b,
        Err(e) => return DownloadEvent::Failed(failure(e)),
    };
    let mut proved_rows = None;
    let sidecar = if trailer {
        let proof = match staged.split_proof() {
            Ok(p) => p,
            Err(e) => return DownloadEvent::Failed(format!("{e}; nothing was written")),
        };
        match serde_json::from_slice::<crate::model::ProofFile>(&proof) {
            Ok(p) => proved_rows = Some(p.proof.entries),
            Err(_) => {
                return DownloadEvent::Failed(
                    "the server's proof is malformed; nothing was written".into(),
                );
            }
        }
        let side = crate::export::proof_sidecar(&job.path);
        let mut side = match StagedFile::create(&side, job.overwrite) {
            Ok(s) => s,
            Err(StageError::Exists(p)) => return DownloadEvent::Exists(p),
            Err(e) => return DownloadEvent::Failed(e.to_string()),
        };
        if let Err(e) = side.write_all(&proof) {
            return DownloadEvent::Failed(e.to_string());
        }
        Some(side)
    } else {
        None
    };
    let path = match staged.commit() {
        Ok(p) => p,
        Err(e) => return DownloadEvent::Failed(e.to_string()),
    };
    if let Some(side) = sidecar
        && let Err(e) = side.commit()
    {
        return DownloadEvent::Failed(e.to_string());
    }
    let rows = match (format, proved_rows.or(counter.and_then(|c| c.rows()))) {
        (_, Some(rows)) => Ok(rows),
        (Some(Format::Json), None) => std::fs::File::open(&path)
            .map_err(|e| e.to_string())
            .and_then(|f| {
                count_json_entries(f)
                    .map_err(|e| format!("the JSON export could not be read back: {e}"))
            }),
        _ => std::fs::File::open(&path)
            .map_err(|e| e.to_string())
            .and_then(|f| crate::export::evidence::verify_pack(f).map_err(|e| e.to_string()))
            .and_then(|(manifest, problems)| {
                if problems.is_empty() {
                    Ok(manifest.rows)
                } else {
                    Err(format!(
                        "the pack arrived but does not match its own manifest: {}",
                        problems.join("; ")
                    ))
                }
            }),
    };
    match rows {
        Ok(rows) => DownloadEvent::Done { path, bytes, rows },
        Err(e) => DownloadEvent::Failed(e),
    }
}

fn failure(e: crate::client::DownloadError) -> String {
    match e {
        crate::client::DownloadError::Client(c) => format!("{c}; {}", c.advice()),
        other => other.to_string(),
    }
}
