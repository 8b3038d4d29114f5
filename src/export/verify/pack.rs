//! Checking an evidence pack offline: every file against the manifest's hashes and counts.

use crate::export::evidence::{Manifest, PROOF_FILE};
use sha2::{Digest, Sha256};
use std::io::{Read, Seek};

/// Checks a pack offline against its manifest; returns one sentence per problem found.
pub fn verify_pack<R: Read + Seek>(pack: R) -> Result<(Manifest, Vec<String>), String> {
    let mut zip = zip::ZipArchive::new(pack).map_err(|e| format!("not a zip file: {e}"))?;
    let manifest: Manifest = {
        let f = zip
            .by_name("manifest.json")
            .map_err(|_| "the pack has no manifest.json".to_string())?;
        serde_json::from_reader(f)
            .map_err(|e| format!("manifest.json is not a valid manifest: {e}"))?
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
            && name != "manifest.json"
            && !manifest.files.contains_key(&name)
        {
            problems.push(format!("{name} is in the pack but not in the manifest"));
        }
    }
    Ok((manifest, problems))
}

fn count_rows(name: &str, content: &[u8]) -> Result<u64, String> {
    if name == PROOF_FILE {
        let doc: serde_json::Value = serde_json::from_slice(content).map_err(|e| e.to_string())?;
        return doc["proof"]["entries"]
            .as_u64()
            .ok_or_else(|| "no proof.entries".to_string());
    }
    if name.ends_with(".json") {
        let doc: serde_json::Value = serde_json::from_slice(content).map_err(|e| e.to_string())?;
        return doc["entries"]
            .as_array()
            .map(|a| a.len() as u64)
            .ok_or_else(|| "no entries array".to_string());
    }
    let body = content
        .strip_prefix("\u{feff}".as_bytes())
        .unwrap_or(content);
    let mut reader = csv::Reader::from_reader(body);
    let mut n = 0;
    for record in reader.records() {
        record.map_err(|e| e.to_string())?;
        n += 1;
    }
    Ok(n)
}
