//! Checking an evidence pack offline: every file against the manifest's hashes and counts
//! ([`verify_pack`]); then, with its proofs ([`verify_pack_proven`]), the JSON file's entries
//! and the pack's own record against the signed log, the manifest against that record, and the
//! CSV's rows against the proven entries: a change to any byte of any file fails.

use super::{VerifyError, check_bytes};
use crate::export::evidence::{
    MANIFEST_FILE, Manifest, PROOF_FILE, RECORD_FILE, RECORD_PROOF_FILE,
};
use crate::model::Entry;
use crate::proof::VerifierKey;
use sha2::{Digest, Sha256};
use std::io::{Read, Seek};

/// Why a file is no pack at all (a pack that is one but was changed has problems instead).
#[derive(Debug, thiserror::Error)]
pub enum NotAPack {
    #[error("cannot open the pack: {0}")]
    Unopened(std::io::Error),
    #[error("not a zip file: {0}")]
    NotZip(zip::result::ZipError),
    #[error("the pack has no manifest.json")]
    NoManifest,
    #[error("manifest.json is not a valid manifest: {0}")]
    BadManifest(serde_json::Error),
}

/// Checks a pack offline against its manifest; returns one sentence per problem found.
pub fn verify_pack<R: Read + Seek>(pack: R) -> Result<(Manifest, Vec<String>), NotAPack> {
    let mut zip = zip::ZipArchive::new(pack).map_err(NotAPack::NotZip)?;
    let manifest: Manifest = {
        let f = zip
            .by_name("manifest.json")
            .map_err(|_| NotAPack::NoManifest)?;
        serde_json::from_reader(f).map_err(NotAPack::BadManifest)?
    };
    let mut problems = Vec::new();
    for (name, record) in &manifest.files {
        let mut f = match zip.by_name(name) {
            Ok(f) => f,
            Err(_) => {
                problems.push(format!(
                    "{name} is listed in the manifest but missing from the pack"
                ));
                continue;
            }
        };
        let mut content = Vec::new();
        if let Err(e) = f.read_to_end(&mut content) {
            problems.push(format!("{name} cannot be read: {e}"));
            continue;
        }
        let sha = hex::encode(Sha256::digest(&content));
        if sha != record.sha256 {
            problems.push(format!(
                "{name} has SHA-256 {sha}, but the manifest says {}: the file was changed",
                record.sha256
            ));
        }
        if content.len() as u64 != record.bytes {
            problems.push(format!(
                "{name} is {} bytes, but the manifest says {}",
                content.len(),
                record.bytes
            ));
        }
        if name.ends_with(".pdf") {
            // A PDF's rows cannot be counted from its bytes; the SHA-256 above is what holds it.
            continue;
        }
        match count_rows(name, &content) {
            Ok(n) if n != record.rows => problems.push(format!(
                "{name} holds {n} rows, but the manifest says {}",
                record.rows
            )),
            Ok(_) => {}
            Err(e) => problems.push(format!("{name} cannot be parsed: {e}")),
        }
    }
    for i in 0..zip.len() {
        if let Ok(f) = zip.by_index(i)
            && let Ok(name) = f.name().map(|n| n.to_string())
            && ![MANIFEST_FILE, RECORD_FILE, RECORD_PROOF_FILE].contains(&name.as_str())
            && !manifest.files.contains_key(&name)
        {
            problems.push(format!("{name} is in the pack but not in the manifest"));
        }
    }
    Ok((manifest, problems))
}

/// Why a pack's file could not be counted.
#[derive(Debug, thiserror::Error)]
enum Uncounted {
    #[error("{0}")]
    Json(serde_json::Error),
    #[error("no proof.entries")]
    NoProofEntries,
    #[error("no entries array")]
    NoEntries,
    #[error("{0}")]
    Csv(csv::Error),
}

fn count_rows(name: &str, content: &[u8]) -> Result<u64, Uncounted> {
    if name == PROOF_FILE {
        let doc: serde_json::Value = serde_json::from_slice(content).map_err(Uncounted::Json)?;
        return doc["proof"]["entries"]
            .as_u64()
            .ok_or(Uncounted::NoProofEntries);
    }
    if name.ends_with(".json") {
        let doc: serde_json::Value = serde_json::from_slice(content).map_err(Uncounted::Json)?;
        return doc["entries"]
            .as_array()
            .map(|a| a.len() as u64)
            .ok_or(Uncounted::NoEntries);
    }
    let body = content
        .strip_prefix("\u{feff}".as_bytes())
        .unwrap_or(content);
    let mut reader = csv::Reader::from_reader(body);
    let mut n = 0;
    for record in reader.records() {
        record.map_err(Uncounted::Csv)?;
        n += 1;
    }
    Ok(n)
}

/// What [`verify_pack_proven`] found.
pub struct PackCheck {
    pub manifest: Manifest,
    /// One sentence per problem; none when the pack holds.
    pub problems: Vec<String>,
    /// verify-file's line for the pack's JSON file, when its proof held.
    pub proved: Option<String>,
}

/// Checks a pack file against its manifest and its proofs (`verify-pack`): the manifest's
/// hashes and counts; `proof.json` over the JSON file; `record.ndjson`, the log's own record of
/// the pack, over its proof, naming the manifest's SHA-256 and every file's; and the CSV's rows
/// against the proven entries. `Err` when the file is no pack at all.
pub fn verify_pack_proven(
    path: &std::path::Path,
    pinned: Option<&VerifierKey>,
) -> Result<PackCheck, NotAPack> {
    let open = || std::fs::File::open(path).map_err(NotAPack::Unopened);
    let (manifest, mut problems) = verify_pack(open()?)?;
    let mut zip = zip::ZipArchive::new(open()?).map_err(NotAPack::NotZip)?;
    let mut read = |name: &str| -> Option<Vec<u8>> {
        let mut f = zip.by_name(name).ok()?;
        let mut out = Vec::new();
        f.read_to_end(&mut out).ok().map(|_| out)
    };
    let json_name = format!("{}.json", manifest.kind);
    let csv_name = format!("{}.csv", manifest.kind);
    let (json, csv, proof) = (read(&json_name), read(&csv_name), read(PROOF_FILE));
    let (manifest_bytes, record, record_proof) = (
        read(MANIFEST_FILE),
        read(RECORD_FILE),
        read(RECORD_PROOF_FILE),
    );
    let sentence = |e: VerifyError| e.to_string();
    let mut proved = None;
    match (&json, proof) {
        (Some(json), Some(proof)) => {
            match check_bytes(&json_name, json, pinned, |_| Ok((PROOF_FILE.into(), proof))) {
                Ok(v) => proved = Some(v.line),
                Err(e) => problems.push(format!("{PROOF_FILE}: {}", sentence(e))),
            }
        }
        (None, _) => problems.push(format!("the pack holds no {json_name}")),
        (_, None) => problems.push(format!(
            "the pack holds no {PROOF_FILE}, so its entries cannot be checked against the signed log"
        )),
    }
    match (record, record_proof) {
        (Some(record), Some(record_proof)) => {
            match check_bytes(RECORD_FILE, &record, pinned, |_| {
                Ok((RECORD_PROOF_FILE.into(), record_proof))
            }) {
                Ok(_) => problems.extend(record_problems(
                    &record,
                    manifest_bytes.as_deref().unwrap_or_default(),
                    &manifest,
                )),
                Err(e) => problems.push(format!("{RECORD_FILE}: {}", sentence(e))),
            }
        }
        _ => problems.push(format!(
            "the pack holds no {RECORD_FILE} with its proof, so its manifest is not covered by the signed log"
        )),
    }
    if let (Some(json), Some(csv)) = (&json, &csv) {
        problems.extend(csv_problems(&csv_name, csv, json));
    }
    Ok(PackCheck {
        manifest,
        problems,
        proved,
    })
}

/// The record must be this pack's: `evidence_pack.exported` of the manifest's tenant, naming
/// the manifest's SHA-256 and the same files.
fn record_problems(record: &[u8], manifest_bytes: &[u8], manifest: &Manifest) -> Vec<String> {
    let Some(entry) = std::str::from_utf8(record)
        .ok()
        .and_then(|t| serde_json::from_str::<Entry>(t.trim_end()).ok())
    else {
        return vec![format!("{RECORD_FILE} is not an entry")];
    };
    let mut problems = Vec::new();
    if entry.action != crate::model::names::action::PACK_EXPORTED || entry.tenant != manifest.tenant
    {
        problems.push(format!(
            "{RECORD_FILE} is not the record of a pack of tenant {}",
            manifest.tenant
        ));
    }
    let details = entry.details.map(|d| d.to_value()).unwrap_or_default();
    let sha = hex::encode(Sha256::digest(manifest_bytes));
    if details["manifest_sha256"].as_str() != Some(sha.as_str()) {
        problems.push(format!(
            "{MANIFEST_FILE} has SHA-256 {sha}, but the pack's record in the log says {}: the manifest was changed",
            crate::text::inert(&details["manifest_sha256"].to_string())
        ));
    }
    let files = serde_json::to_value(&manifest.files).unwrap_or_default();
    if details["files"] != files {
        problems.push(
            "the manifest's files are not those the pack's record in the log names".to_string(),
        );
    }
    problems
}

/// Every CSV row must show the proven JSON file's entry at the same place.
fn csv_problems(csv_name: &str, csv: &[u8], json: &[u8]) -> Vec<String> {
    #[derive(serde::Deserialize)]
    struct Doc {
        entries: Vec<Entry>,
    }
    let Ok(doc) = serde_json::from_slice::<Doc>(json) else {
        return Vec::new(); // the JSON file's own problem is already named
    };
    let body = csv.strip_prefix("\u{feff}".as_bytes()).unwrap_or(csv);
    let mut reader = csv::ReaderBuilder::new().flexible(true).from_reader(body);
    let mut rows = 0usize;
    for (i, rec) in reader.records().enumerate() {
        rows += 1;
        let place = format!("{csv_name} line {}", i + 2);
        let Ok(rec) = rec else {
            return vec![format!("{place} is not a valid CSV row")];
        };
        let Some(want) = doc.entries.get(i) else {
            return vec![format!("{place} is a row the proven entries do not have")];
        };
        let shown = crate::export::entry_from_row(&rec).map(|mut e| {
            // What a CSV does not show comes from the proven entry.
            e.tenant.clone_from(&want.tenant);
            e.prev_hash.clone_from(&want.prev_hash);
            e.idempotency_key.clone_from(&want.idempotency_key);
            e.actor.user_agent.clone_from(&want.actor.user_agent);
            e
        });
        match shown {
            Ok(e) if &e == want => {}
            Ok(_) => {
                return vec![format!(
                    "{place} (seq {}) is not the proven entry: the row was changed",
                    want.seq
                )];
            }
            Err(why) => return vec![format!("{place}: {why}")],
        }
    }
    if rows != doc.entries.len() {
        return vec![format!(
            "{csv_name} holds {rows} rows, but the proven entries are {}",
            doc.entries.len()
        )];
    }
    Vec::new()
}
