//! Evidence packs: a period's entries of one kind as JSON and CSV plus a manifest of hashes and
//! counts, zipped, with the log's own record of the pack (`record.ndjson`, naming the SHA-256 of
//! the manifest and of every file) and its proof, so that no file can change unnoticed. The same
//! data and period always give byte-identical files, the record (another entry each time) aside.

use super::report::{self, ReportHead, ReportRows};
use super::{Exporter, Format};
use crate::model::{ChainHead, Query, TimeBound, format_ts};
use crate::store::union::scan_any;
use crate::store::{Store, StoreError};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::json;
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::io::{self, Read, Seek, Write};

pub use super::verify::pack::{NotAPack, verify_pack, verify_pack_proven};

/// The kinds of pack, each a union of filters. Configurable under `[evidence]` in the server
/// config; the defaults follow API.md.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PackKinds {
    /// Sign-ins, MFA, sessions and role changes.
    #[serde(default = "default_access_review")]
    pub access_review: Vec<String>,
    /// Admin, integration and rule changes.
    #[serde(default = "default_change_management")]
    pub change_management: Vec<String>,
    /// Sign-in failures, lockouts and rate limits.
    #[serde(default = "default_incident_response")]
    pub incident_response: Vec<String>,
}

fn default_access_review() -> Vec<String> {
    [
        "channel:auth",
        "action:role.*",
        "action:role_*",
        "action:user.role*",
    ]
    .map(String::from)
    .to_vec()
}
fn default_change_management() -> Vec<String> {
    [
        "channel:admin",
        "action:integration*",
        "action:rule.* kind:created kind:updated kind:deleted",
        "action:branding*",
    ]
    .map(String::from)
    .to_vec()
}
fn default_incident_response() -> Vec<String> {
    [
        "channel:auth outcome:failure",
        "channel:security",
        "action:rate_limit.*",
        "action:rate_limit_*",
    ]
    .map(String::from)
    .to_vec()
}

impl Default for PackKinds {
    fn default() -> Self {
        PackKinds {
            access_review: default_access_review(),
            change_management: default_change_management(),
            incident_response: default_incident_response(),
        }
    }
}

impl PackKinds {
    /// The filters of a kind, parsed; `None` for a kind that does not exist.
    pub fn filters(&self, kind: &str) -> Option<Result<Vec<Query>, BadEvidenceFilter>> {
        let lines = match kind {
            "access_review" => &self.access_review,
            "change_management" => &self.change_management,
            "incident_response" => &self.incident_response,
            _ => return None,
        };
        Some(
            lines
                .iter()
                .map(|l| {
                    l.parse::<Query>().map_err(|error| BadEvidenceFilter {
                        line: l.clone(),
                        error,
                    })
                })
                .collect(),
        )
    }

    /// Checks every configured filter parses (at start-up, not on the first request).
    pub fn check(&self) -> Result<(), BadEvidenceFilter> {
        for kind in KINDS {
            self.filters(kind).expect("every listed kind exists")?;
        }
        Ok(())
    }
}

/// A configured evidence filter that does not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("evidence filter `{line}`: {error}")]
pub struct BadEvidenceFilter {
    pub line: String,
    pub error: crate::model::QueryParseError,
}

/// The pack kinds, by wire name.
pub const KINDS: [&str; 3] = ["access_review", "change_management", "incident_response"];

/// The kind of a pack made from any filter (`{"kind": "custom", "title", "filter"}`).
pub const CUSTOM: &str = "custom";

/// The report's name in the pack.
pub const REPORT: &str = "report.pdf";

/// One file of a pack as its manifest records it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileRecord {
    pub sha256: String,
    /// The entries the file holds (the report's table has one row per entry).
    pub rows: u64,
    pub bytes: u64,
}

/// `manifest.json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    pub kind: String,
    /// What the report is headed with: the kind in words, or a custom pack's own title.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    pub tenant: String,
    pub from: String,
    pub to: String,
    pub filters: Vec<String>,
    pub rows: u64,
    pub files: BTreeMap<String, FileRecord>,
    /// The chain's head when the last of the pack's rows was received: what the rows chain up to.
    pub chain_head: Option<ChainHead>,
}

/// What a pack holds: its kind and title, the filters it is the union of, and its period.
#[derive(Debug, Clone)]
pub struct PackSpec {
    /// One of [`KINDS`], or [`CUSTOM`].
    pub kind: String,
    pub title: String,
    /// The filters as written (the manifest records these) and parsed.
    pub filter_lines: Vec<String>,
    pub filters: Vec<Query>,
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
}

/// The heading of a configured kind's report: "Access review".
pub fn kind_title(kind: &str) -> String {
    let words = kind.replace('_', " ");
    let mut chars = words.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// The name a pack is served and saved under by default:
/// `evidence-<kind or custom-title>-<from day>-<to day>.zip`, in characters any file system takes.
pub fn pack_file_name(manifest: &Manifest) -> String {
    let label = match (&manifest.title, manifest.kind.as_str()) {
        (Some(title), CUSTOM) => {
            let slug: String = title
                .chars()
                .map(|c| {
                    if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                        c
                    } else {
                        '-'
                    }
                })
                .take(48)
                .collect();
            let slug = slug.trim_matches('-');
            if slug.is_empty() {
                CUSTOM.to_string()
            } else {
                format!("{CUSTOM}-{slug}")
            }
        }
        _ => manifest.kind.clone(),
    };
    let day = |ts: &str| ts.get(..10).unwrap_or(ts).to_string();
    format!(
        "evidence-{label}-{}-{}.zip",
        day(&manifest.from),
        day(&manifest.to)
    )
}

/// Why a pack could not be made.
#[derive(Debug, thiserror::Error)]
pub enum PackError {
    #[error("{0}")]
    Store(#[from] StoreError),
    #[error("could not write the pack: {0}")]
    Io(#[from] io::Error),
    #[error("could not write the zip: {0}")]
    Zip(#[from] zip::result::ZipError),
    /// The log could not take the pack's record: the pack is not sent.
    #[error("{0}")]
    Unrecorded(StoreError),
}

/// The pack's record in the log (`record.ndjson`): the `evidence_pack.exported` entry, whose
/// `details` name every other file's SHA-256 and the manifest's (`manifest_sha256`).
pub const RECORD_FILE: &str = "record.ndjson";

/// The proof of [`RECORD_FILE`] against a checkpoint signed after the record was appended.
pub const RECORD_PROOF_FILE: &str = "record.ndjson.proof.json";

/// Makes the log's record of a pack from its manifest and the SHA-256 (hex) of
/// `manifest.json`'s bytes; the record must carry both (see [`RECORD_FILE`]).
pub type Recorder = Box<dyn FnOnce(&Manifest, &str) -> crate::model::NewEvent + Send>;

/// The pack's proof of its JSON file (see [`crate::model::ProofFile`]).
pub const PROOF_FILE: &str = "proof.json";

/// Writes the pack for `spec` to `out` and returns its manifest: the entries as JSON and CSV,
/// `report.pdf`, and `manifest.json`. The data files and the report's rows are staged in
/// temporary files, so no row is held in memory. With a signing key the pack holds
/// `proof.json`, the proof of its JSON file (the CSV holds the same rows).
///
/// The entries, the head and the proof are awaited from the store; the zip and the PDF, which
/// are CPU work, are made on a blocking thread.
pub async fn build<W: Write + Seek + Send + 'static>(
    store: &dyn Store,
    tenant: &str,
    spec: &PackSpec,
    key: Option<&crate::proof::SigningKey>,
    record: Option<Recorder>,
    out: W,
) -> Result<(W, Manifest), PackError> {
    let staged = stage(store, tenant, spec, key).await?;
    let (spec, owned_tenant) = (spec.clone(), tenant.to_string());
    let (mut zip, manifest, manifest_sha) =
        tokio::task::spawn_blocking(move || assemble(out, &owned_tenant, &spec, staged))
            .await
            .map_err(lost)??;
    if let Some(make) = record {
        zip = add_record(store, tenant, key, zip, make(&manifest, &manifest_sha)).await?;
    }
    Ok((zip.finish()?, manifest))
}

/// Reads the pack's entries from the store into the staged data files and the report's rows;
/// with the chain head as the last of them arrived, and their proof when there is a key.
async fn stage(
    store: &dyn Store,
    tenant: &str,
    spec: &PackSpec,
    key: Option<&crate::proof::SigningKey>,
) -> Result<Staged, PackError> {
    let (kind, from, to) = (spec.kind.as_str(), spec.from, spec.to);
    let period: Vec<Query> = spec
        .filters
        .iter()
        .map(|q| Query {
            from: Some(TimeBound::Instant(from)),
            to: Some(TimeBound::Instant(to)),
            ..q.clone()
        })
        .collect();
    let described = json!({"kind": kind, "filters": spec.filter_lines, "from": format_ts(&from), "to": format_ts(&to)});
    // exported_at is the period's end, not the wall clock: that is what makes packs reproducible.
    let mut json_out = Exporter::begin(
        Format::Json,
        io::BufWriter::new(tempfile::tempfile()?),
        &to,
        &described,
    )?;
    let mut csv_out = Exporter::begin(
        Format::Csv,
        io::BufWriter::new(tempfile::tempfile()?),
        &to,
        &described,
    )?;
    let mut report_rows = ReportRows::new()?;
    let mut write_err: Option<io::Error> = None;
    let mut last_received = None;
    let mut seqs = Vec::new();
    let rows = scan_any(store, tenant, &period, to, &mut |e| {
        last_received = last_received.max(Some(e.received_at));
        seqs.push(e.seq);
        if let Err(err) = json_out
            .entry(&e)
            .and_then(|()| csv_out.entry(&e))
            .and_then(|()| report_rows.add(&e))
        {
            write_err.get_or_insert(err);
        }
        Ok(())
    })
    .await?;
    if let Some(e) = write_err {
        return Err(e.into());
    }
    // The head as the last of these rows arrived: the same data always names the same head,
    // whatever was appended since (this pack's own audit entry included).
    let chain_head = store
        .head_at(tenant, Some(last_received.unwrap_or(to)))
        .await?;
    let proof = match key {
        Some(key) => {
            let mut proof = store.export_proof(tenant, &seqs, true, key).await?;
            proof.proof.format = Format::Json.as_str().to_string();
            Some(proof)
        }
        None => None,
    };
    Ok(Staged {
        json_out,
        csv_out,
        report_rows,
        rows,
        chain_head,
        proof,
    })
}

/// Appends the pack's record (`event`) to the log and, with a key, adds it and its proof to
/// the pack. The record names every file's SHA-256 and the manifest's; proven against a
/// checkpoint signed after it, it is what makes a change to any file of the pack fail
/// verify-pack.
async fn add_record<W: Write + Seek + Send + 'static>(
    store: &dyn Store,
    tenant: &str,
    key: Option<&crate::proof::SigningKey>,
    zip: zip::ZipWriter<W>,
    event: crate::model::NewEvent,
) -> Result<zip::ZipWriter<W>, PackError> {
    let appended = store
        .append(tenant, vec![event])
        .await
        .map_err(PackError::Unrecorded)?;
    let seq = appended.first().map(|a| a.seq).ok_or_else(|| {
        PackError::Unrecorded(StoreError::Internal("the record got no seq".into()))
    })?;
    let Some(key) = key else {
        return Ok(zip);
    };
    let entry = store.get_seq(tenant, seq).await?.ok_or_else(|| {
        StoreError::Internal(format!("the pack's record (seq {seq}) cannot be read back"))
    })?;
    let mut proof = store.export_proof(tenant, &[seq], true, key).await?;
    proof.proof.format = Format::Ndjson.as_str().to_string();
    tokio::task::spawn_blocking(move || zip_record(zip, &entry, &proof))
        .await
        .map_err(lost)?
}

/// A blocking task that did not finish (it panicked or was cancelled).
fn lost(e: tokio::task::JoinError) -> PackError {
    PackError::Io(io::Error::other(format!("the pack could not be made: {e}")))
}

/// Writes the record and its proof into the pack.
fn zip_record<W: Write + Seek>(
    mut zip: zip::ZipWriter<W>,
    entry: &crate::model::Entry,
    proof: &crate::model::ProofFile,
) -> Result<zip::ZipWriter<W>, PackError> {
    let options = zip_options();
    zip.start_file(RECORD_FILE, options)?;
    serde_json::to_writer(&mut zip, entry).map_err(io::Error::from)?;
    zip.write_all(b"\n")?;
    zip.start_file(RECORD_PROOF_FILE, options)?;
    serde_json::to_writer_pretty(&mut zip, proof).map_err(io::Error::from)?;
    Ok(zip)
}

/// Deflated, with a fixed time and mode: the same data gives the same bytes.
fn zip_options() -> zip::write::SimpleFileOptions {
    zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated)
        .last_modified_time(zip::DateTime::default())
        .unix_permissions(0o644)
}

/// What the store gave for a pack, staged for [`assemble`].
struct Staged {
    json_out: Exporter<io::BufWriter<std::fs::File>>,
    csv_out: Exporter<io::BufWriter<std::fs::File>>,
    report_rows: ReportRows,
    rows: u64,
    chain_head: Option<ChainHead>,
    proof: Option<crate::model::ProofFile>,
}

/// The zip so far: the data files, the proof, `report.pdf` and the manifest; with the
/// manifest and the SHA-256 of its bytes.
fn assemble<W: Write + Seek>(
    out: W,
    tenant: &str,
    spec: &PackSpec,
    staged: Staged,
) -> Result<(zip::ZipWriter<W>, Manifest, String), PackError> {
    let Staged {
        json_out,
        csv_out,
        report_rows,
        rows,
        chain_head,
        proof,
    } = staged;
    let (kind, from, to) = (spec.kind.as_str(), spec.from, spec.to);
    let mut zip = zip::ZipWriter::new(out);
    let options = zip_options();
    let data_files = [format!("{kind}.json"), format!("{kind}.csv")];
    let mut files = zip_data(&mut zip, &data_files, [json_out, csv_out])?;
    if let Some(proof) = &proof {
        let body = serde_json::to_vec_pretty(proof).map_err(io::Error::from)?;
        zip.start_file(PROOF_FILE, options)?;
        zip.write_all(&body)?;
        files.insert(
            PROOF_FILE.to_string(),
            FileRecord {
                sha256: hex::encode(Sha256::digest(&body)),
                rows: proof.proof.entries,
                bytes: body.len() as u64,
            },
        );
    }
    let mut manifest = Manifest {
        kind: kind.to_string(),
        title: Some(spec.title.clone()),
        tenant: tenant.to_string(),
        from: format_ts(&from),
        to: format_ts(&to),
        filters: spec.filter_lines.clone(),
        rows,
        files,
        chain_head,
    };
    let head = ReportHead {
        title: spec.title.clone(),
        kind: kind.to_string(),
        tenant: tenant.to_string(),
        from: manifest.from.clone(),
        to: manifest.to.clone(),
        filter_lines: spec.filter_lines.clone(),
        filters: spec.filters.clone(),
        chain_head: manifest.chain_head.clone(),
        checkpoint: proof.as_ref().map(|p| p.checkpoint.clone()),
        pack_file: pack_file_name(&manifest),
        data_files: data_files.to_vec(),
    };
    let pdf = report::render(&head, report_rows)?;
    zip.start_file(REPORT, options)?;
    let (sha256, bytes) = copy_hashing(&mut pdf.as_slice(), &mut zip)?;
    manifest.files.insert(
        REPORT.to_string(),
        FileRecord {
            sha256,
            rows,
            bytes,
        },
    );
    let body = serde_json::to_vec_pretty(&manifest).map_err(io::Error::from)?;
    zip.start_file(MANIFEST_FILE, options)?;
    zip.write_all(&body)?;
    Ok((zip, manifest, hex::encode(Sha256::digest(&body))))
}

/// Writes the staged data files into the zip under `names`; their records for the manifest.
fn zip_data<W: Write + Seek>(
    zip: &mut zip::ZipWriter<W>,
    names: &[String; 2],
    exporters: [Exporter<io::BufWriter<std::fs::File>>; 2],
) -> Result<BTreeMap<String, FileRecord>, PackError> {
    let mut files = BTreeMap::new();
    for (name, exporter) in names.iter().zip(exporters) {
        let (buffered, n) = exporter.finish()?;
        let mut file = buffered.into_inner().map_err(|e| e.into_error())?;
        file.rewind()?;
        zip.start_file(name.as_str(), zip_options())?;
        let (sha256, bytes) = copy_hashing(&mut file, zip)?;
        files.insert(
            name.clone(),
            FileRecord {
                sha256,
                rows: n,
                bytes,
            },
        );
    }
    Ok(files)
}

/// The pack's manifest.
pub const MANIFEST_FILE: &str = "manifest.json";

/// Copies `from` into `to`, returning the SHA-256 (hex) and length of what passed.
fn copy_hashing(from: &mut impl Read, to: &mut impl Write) -> io::Result<(String, u64)> {
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 64 * 1024];
    let mut total = 0u64;
    loop {
        let n = from.read(&mut buf)?;
        if n == 0 {
            return Ok((hex::encode(hasher.finalize()), total));
        }
        hasher.update(&buf[..n]);
        to.write_all(&buf[..n])?;
        total += n as u64;
    }
}
