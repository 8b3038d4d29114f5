//! The TUI's downloads on a tokio task: streamed into a staged file, progress as actions.

use super::action::{Action, DownloadEvent, DownloadJob, DownloadKind};
use crate::client::DownloadError;
use crate::client::save::{Download, SaveError, save};
use crate::client::source::Source;
use crate::model::PackRequest;
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
    let what = match job.what {
        DownloadKind::Export {
            query,
            format,
            name,
        } => Download::Export {
            query,
            format,
            name,
        },
        DownloadKind::Pack(request) => Download::Pack(request),
        DownloadKind::Evidence { kind, from, to } => Download::Pack(PackRequest {
            kind,
            from: Some(from),
            to: Some(to),
            ..PackRequest::default()
        }),
    };
    let mut last = Instant::now();
    let mut progress = |bytes, rows| {
        if last.elapsed() >= PROGRESS_EVERY {
            last = Instant::now();
            let _ = tx.send(Action::Download(DownloadEvent::Progress { bytes, rows }));
        }
    };
    match save(client, &what, &job.path, job.overwrite, &mut progress).await {
        Ok(saved) => DownloadEvent::Done {
            path: saved.path,
            bytes: saved.bytes,
            rows: saved.rows,
        },
        Err(SaveError::Exists(p)) => DownloadEvent::Exists(p),
        Err(SaveError::Download(DownloadError::Client(c))) => {
            DownloadEvent::Failed(format!("{c}; {}", c.advice()))
        }
        Err(e) => DownloadEvent::Failed(e.to_string()),
    }
}
