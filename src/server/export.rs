//! `GET /v1/export`: the filtered log as CSV, JSON or NDJSON, streamed in constant memory,
//! and recorded in the log itself — fail closed.
//!
//! The contract (the one issue 15's export history, `GET /v1/exports`, reads):
//! - Before the first byte the export appends `audit_log.exported` (channel `audit`, kind
//!   `other`, the caller's token as actor, `details` = `{"format", "filters", "role",
//!   "status": "started", "name"?}`, the name from issue 15's `name` parameter). If that append fails the export is refused with 503 `unavailable`
//!   (JSON, `Retry-After`) and no body: pulling the log is never served unrecorded.
//! - After the last byte, or when the client leaves or the read fails, it appends
//!   `audit_log.export_finished` (same channel, kind and actor) with `details` =
//!   `{"export_seq": <seq of the started entry>, "format", "rows", "status": "completed" |
//!   "incomplete" | "failed", "reason"?}`. Best effort: if even that cannot be written it is
//!   logged, and the started entry still proves the export happened.
//! - The rows are the log as it stood when the export was recorded (entries before its own
//!   `audit_log.exported`), so a long export does not chase the entries written meanwhile.

use super::auth::Caller;
use super::error::Failure;
use super::{AppState, params};
use crate::export::{ChunkSender, Exporter, Format, filters_json};
use crate::model::{
    ApiError, Cursor, Entry, ExportStatus, Kind, NewEvent, Order, ProofFile, Query, names,
};
use crate::store::{PageRequest, SCAN_PAGE, Store};
use axum::body::{Body, Bytes};
use axum::extract::{RawQuery, State};
use axum::http::header::{CONTENT_DISPOSITION, CONTENT_TYPE};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use serde_json::json;
use std::io;
use std::sync::Arc;
use tokio::sync::{mpsc, oneshot};

/// Streams the export and records it.
pub async fn export(
    State(state): State<AppState>,
    caller: Caller,
    RawQuery(raw): RawQuery,
) -> Result<Response, Failure> {
    caller.require_reader("export the log")?;
    let (query, rest) = params::filter(raw.as_deref(), &["format", "order", "name", "proof"])?;
    let Options {
        name,
        trailer,
        format,
        order,
    } = options(&rest)?;
    let now = Utc::now();
    let filters = filters_json(&query, now);
    // The record comes first: if the log cannot take it, nothing is served.
    let started = started_event(&caller.0, format, &filters, name.as_deref());
    let tenant = caller.tenant().to_string();
    let export_seq = state
        .store
        .append(&tenant, vec![started])
        .await
        .map_err(Failure::from)
        .map_err(|e| Failure::unrecorded("this export", e))?
        .first()
        .map(|a| a.seq)
        .ok_or_else(|| Failure::unrecorded("this export", ApiError::internal("no entry").into()))?;
    let job = Job {
        caller: caller.0.clone(),
        query,
        filters,
        format,
        order,
        now,
        export_seq,
        trailer,
        signer: state.signer.clone(),
    };
    let first = first_page(state.store.as_ref(), &job).await?;
    let (tx, rx) = mpsc::channel::<io::Result<Bytes>>(4);
    tokio::spawn(run(state.store.clone(), job, first, tx));
    let body = Body::from_stream(futures_util::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|item| (item, rx))
    }));
    let disposition = format!("attachment; filename=\"{}\"", format.file_name(&now));
    Ok((
        [
            (CONTENT_TYPE, format.content_type().to_string()),
            (CONTENT_DISPOSITION, disposition),
        ],
        body,
    )
        .into_response())
}

/// An export's parameters besides its filter.
struct Options {
    name: Option<String>,
    trailer: bool,
    format: Format,
    order: Order,
}

/// `name`, `proof`, `format` and `order`, checked.
fn options(rest: &[(String, String)]) -> Result<Options, ApiError> {
    let name = export_name(params::text(rest, "name"))?;
    // `proof=trailer`: CSV and NDJSON end with their proof (the CLI and the TUI split it off
    // into `<file>.proof.json`); JSON always embeds it.
    let trailer = match params::text(rest, "proof") {
        None => false,
        Some("trailer") => true,
        Some(other) => {
            return Err(ApiError::invalid_query(format!(
                "proof=`{}` is not `trailer`",
                other.chars().take(32).collect::<String>()
            ))
            .with_field("proof"));
        }
    };
    let format = match params::text(rest, "format") {
        None => Format::Csv,
        Some(f) => Format::parse(f).ok_or_else(|| {
            ApiError::invalid_query(format!(
                "format=`{}` is not csv, json, ndjson or ocsf",
                f.chars().take(32).collect::<String>()
            ))
            .with_field("format")
        })?,
    };
    // Oldest first: an export is read as a trail, and a SIEM ingests it in order.
    let order = params::text(rest, "order")
        .map(Order::parse)
        .transpose()?
        .unwrap_or(Order::Asc);
    Ok(Options {
        name,
        trailer,
        format,
        order,
    })
}

/// The first page, read before the status line: a query the store cannot run is an error
/// status the client sees, never a 200 that then sends nothing (and the record says failed).
async fn first_page(store: &dyn Store, job: &Job) -> Result<crate::model::Page, Failure> {
    let first_req = PageRequest {
        limit: SCAN_PAGE,
        order: job.order,
        cursor: None,
    };
    let tenant = job.caller.tenant.as_str();
    match store.page(tenant, &job.query, &first_req, job.now).await {
        Ok(page) => Ok(page),
        Err(e) => {
            let ending = Ending::Failed(e.to_string());
            let event = finished_event(&job.caller, job.format, job.export_seq, 0, &ending);
            if let Err(err) = store.append(tenant, vec![event]).await {
                tracing::error!(
                    export_seq = job.export_seq,
                    "could not record the end of an export: {err}"
                );
            }
            Err(Failure::from(e))
        }
    }
}

/// What the export history calls an export: at most 200 characters, not blank.
fn export_name(name: Option<&str>) -> Result<Option<String>, ApiError> {
    let Some(n) = name.map(str::trim) else {
        return Ok(None);
    };
    if n.is_empty() || n.chars().count() > 200 {
        return Err(
            ApiError::invalid_query("name must be 1 to 200 characters (or left out)")
                .with_field("name"),
        );
    }
    Ok(Some(n.to_string()))
}

/// The record an export writes before its first byte. Issue 15's export history reads these
/// `details`; see [`finished_event`] for the other half.
fn started_event(
    caller: &crate::store::TokenRecord,
    format: Format,
    filters: &serde_json::Value,
    name: Option<&str>,
) -> NewEvent {
    let mut details = json!({
        "format": format.as_str(),
        "filters": filters,
        "role": caller.role.as_str(),
        "status": names::export_status::STARTED,
    });
    if let Some(name) = name {
        // Issue 15: what the export history calls it.
        details["name"] = json!(name);
    }
    NewEvent {
        action: names::action::EXPORTED.into(),
        kind: Some(Kind::Other),
        channel: Some(names::channel::AUDIT.into()),
        description: Some(format!("export as {} started", format.as_str())),
        actor: Some(super::auth::token_actor(caller)),
        details: Some(details.into()),
        ..NewEvent::default()
    }
}

/// How an export ended.
#[derive(Clone)]
enum Ending {
    Completed,
    /// The client left before the last byte.
    Incomplete(String),
    /// Reading the store or writing the format failed.
    Failed(String),
}

/// The completion record, written after the last byte (or when the client left or the read
/// failed): `export_seq` points at the started entry, `status` is `completed`, `incomplete` or
/// `failed`, and `reason` says why it is not `completed`.
fn finished_event(
    caller: &crate::store::TokenRecord,
    format: Format,
    export_seq: u64,
    rows: u64,
    ending: &Ending,
) -> NewEvent {
    let (status, reason) = match ending {
        Ending::Completed => (ExportStatus::Completed, None),
        Ending::Incomplete(why) => (ExportStatus::Incomplete, Some(why.as_str())),
        Ending::Failed(why) => (ExportStatus::Failed, Some(why.as_str())),
    };
    let status = status.as_str();
    let mut details = json!({
        "export_seq": export_seq,
        "format": format.as_str(),
        "rows": rows,
        "status": status,
    });
    if let Some(why) = reason {
        details["reason"] = json!(why);
    }
    NewEvent {
        action: names::action::EXPORT_FINISHED.into(),
        kind: Some(Kind::Other),
        channel: Some(names::channel::AUDIT.into()),
        description: Some(format!(
            "export #{export_seq}: {rows} entries as {}, {status}",
            format.as_str()
        )),
        actor: Some(super::auth::token_actor(caller)),
        details: Some(details.into()),
        ..NewEvent::default()
    }
}

/// One export's settings, for the task that runs it.
struct Job {
    caller: crate::store::TokenRecord,
    query: Query,
    filters: serde_json::Value,
    format: Format,
    order: Order,
    now: DateTime<Utc>,
    /// The seq of its `audit_log.exported` entry.
    export_seq: u64,
    /// CSV and NDJSON end with their proof (`proof=trailer`).
    trailer: bool,
    /// Signs the checkpoint the proof is made against; without it there is no proof.
    signer: Option<crate::store::signer::Signer>,
}

/// Writes the export, then its completion record. The export is the log as it stood when the
/// export was recorded: entries from its own record on (that record included) are left out, so
/// the same export gives the same rows however long it takes to stream.
///
/// Pages are awaited from the store and handed to a blocking thread that formats them (the
/// CPU work) into the body's channel; the proof is awaited once the last row is written.
async fn run(
    store: Arc<dyn Store>,
    job: Job,
    first: crate::model::Page,
    tx: mpsc::Sender<io::Result<Bytes>>,
) {
    // Held to the end: the body ends only after the completion record is written, so a client
    // that has the whole file also finds the export finished in the log.
    let errors = tx.clone();
    let (pages, pages_rx) = mpsc::channel::<Vec<Entry>>(2);
    let (written_tx, written) = oneshot::channel::<Written>();
    let (proof_tx, proof_rx) = oneshot::channel::<Option<ProofFile>>();
    let file = FileJob {
        format: job.format,
        now: job.now,
        filters: job.filters.clone(),
        export_seq: job.export_seq,
        trailer: job.trailer,
    };
    let writer =
        tokio::task::spawn_blocking(move || write_file(file, tx, pages_rx, written_tx, proof_rx));
    let tenant = job.caller.tenant.as_str();
    let read_failed = feed(store.as_ref(), &job, first, pages).await;
    let Written { rows, seqs, ending } = written.await.unwrap_or(Written {
        rows: 0,
        seqs: Vec::new(),
        ending: Ending::Failed("the export's writer stopped".into()),
    });
    let mut ending = match (ending, read_failed) {
        (Ending::Completed, Some(why)) => Ending::Failed(why),
        (ending, _) => ending,
    };
    let proof = if matches!(ending, Ending::Completed) {
        match prove(store.as_ref(), &job, &seqs).await {
            Ok(proof) => Some(proof),
            Err(failed) => {
                ending = failed;
                None
            }
        }
    } else {
        None
    };
    match proof {
        Some(proof) => {
            let _ = proof_tx.send(proof);
        }
        // The writer waits for the proof or for this sender to go: keeping it while awaiting
        // the writer is how a failed read once left an export open and silent for good.
        None => drop(proof_tx),
    }
    // Without a proof sent (the export failed), the writer ends without finishing the file.
    let finished = writer
        .await
        .unwrap_or_else(|e| Ending::Failed(format!("the export's writer failed: {e}")));
    if matches!(ending, Ending::Completed) {
        ending = finished;
    }
    // Recorded before the body ends, whichever way it ends: a client that saw the end of its
    // transfer finds the export's ending in the log.
    let event = finished_event(&job.caller, job.format, job.export_seq, rows, &ending);
    if let Err(e) = store.append(tenant, vec![event]).await {
        // The started entry already proves the export happened; only its ending is missing.
        tracing::error!(
            export_seq = job.export_seq,
            rows,
            "could not record the end of an export in the log: {e}"
        );
    }
    if let Ending::Failed(why) | Ending::Incomplete(why) = &ending {
        tracing::warn!(rows, "export stopped: {why}");
        // Ending the body with an error aborts the response, so the client sees a truncated
        // transfer rather than a file that looks complete.
        let _ = errors.send(Err(io::Error::other(why.clone()))).await;
    }
}

/// Reads the pages from `first` on into the writer's channel, until the last page or until
/// the writer stops taking them; `Some(why)` when a read failed.
async fn feed(
    store: &dyn Store,
    job: &Job,
    first: crate::model::Page,
    pages: mpsc::Sender<Vec<Entry>>,
) -> Option<String> {
    let tenant = job.caller.tenant.as_str();
    let mut req = PageRequest {
        limit: SCAN_PAGE,
        order: job.order,
        cursor: None,
    };
    let mut prefetched = Some(first);
    loop {
        let read = match prefetched.take() {
            Some(page) => Ok(page),
            None => store.page(tenant, &job.query, &req, job.now).await,
        };
        let page = match read {
            Ok(p) => p,
            Err(e) => return Some(e.to_string()),
        };
        let next = page
            .next_cursor
            .is_some()
            .then(|| page.entries.last())
            .flatten()
            .map(|e| Cursor {
                occurred_at_ms: e.occurred_at.timestamp_millis(),
                seq: e.seq,
                order: job.order,
            });
        // A send fails when the writer stopped (the client left or a write failed).
        if pages.send(page.entries).await.is_err() {
            return None;
        }
        match next {
            Some(c) => req.cursor = Some(c),
            None => return None,
        }
    }
}

/// The proof of the rows written (`seqs`), against a checkpoint the signer signs now; none
/// without a signer. Fails closed: an export that should prove itself and cannot is not
/// finished as if it could.
async fn prove(store: &dyn Store, job: &Job, seqs: &[u64]) -> Result<Option<ProofFile>, Ending> {
    let Some(signer) = &job.signer else {
        return Ok(None);
    };
    let tenant = job.caller.tenant.as_str();
    let shows_all = job.format != Format::Csv;
    // Through the signer first: no proof is made of a log it refuses to sign.
    let made = match signer.checkpoint(store, tenant).await {
        Ok(_) => {
            store
                .export_proof(tenant, seqs, shows_all, signer.key())
                .await
        }
        Err(e) => Err(e),
    };
    match made {
        Ok(mut p) => {
            p.proof.format = job.format.as_str().to_string();
            Ok(Some(p))
        }
        Err(e) => Err(Ending::Failed(format!("its proof could not be made: {e}"))),
    }
}

/// What the file writer needs to know.
struct FileJob {
    format: Format,
    now: DateTime<Utc>,
    filters: serde_json::Value,
    export_seq: u64,
    trailer: bool,
}

/// What the writer wrote once the pages ended.
struct Written {
    rows: u64,
    /// The seqs written, for the proof built after the last row (8 bytes an entry).
    seqs: Vec<u64>,
    ending: Ending,
}

/// Formats the pages into the body, reports what it wrote, and finishes the file with the
/// proof when one is sent (none is sent when the export failed: the file stays unfinished).
fn write_file(
    job: FileJob,
    tx: mpsc::Sender<io::Result<Bytes>>,
    mut pages: mpsc::Receiver<Vec<Entry>>,
    written: oneshot::Sender<Written>,
    proof: oneshot::Receiver<Option<ProofFile>>,
) -> Ending {
    // A write fails when the client has gone (the body's receiver is dropped); the format's
    // writers wrap that error, so the channel is asked rather than the error's kind.
    let gone = tx.clone();
    let left = |e: io::Error| {
        if gone.is_closed() {
            Ending::Incomplete("the client went away before the end".into())
        } else {
            Ending::Failed(e.to_string())
        }
    };
    let sink = ChunkSender::new(tx, |chunk| Ok(Bytes::from(chunk)));
    let mut exporter = match Exporter::begin(job.format, sink, &job.now, &job.filters) {
        Ok(x) => x,
        Err(e) => {
            let ending = left(e);
            let _ = written.send(Written {
                rows: 0,
                seqs: Vec::new(),
                ending: ending.clone(),
            });
            return ending;
        }
    };
    let mut ending = Ending::Completed;
    let mut seqs: Vec<u64> = Vec::new();
    'pages: while let Some(page) = pages.blocking_recv() {
        for e in page {
            if e.seq >= job.export_seq {
                continue;
            }
            if let Err(err) = exporter.entry(&e) {
                ending = left(err);
                break 'pages;
            }
            seqs.push(e.seq);
        }
    }
    drop(pages);
    let _ = written.send(Written {
        rows: exporter.rows(),
        seqs,
        ending: ending.clone(),
    });
    if !matches!(ending, Ending::Completed) {
        return ending;
    }
    let Ok(proof) = proof.blocking_recv() else {
        return ending;
    };
    match exporter.finish_with_proof(proof.as_ref(), job.trailer) {
        Ok(_) => Ending::Completed,
        Err(e) => left(e),
    }
}
