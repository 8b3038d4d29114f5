//! `trailscope verify-pack FILE`: an evidence pack against its manifest and its proof, offline.

use super::output::outln;
use anyhow::{Context, anyhow};
use trailscope::export::verify::{check_bytes, pinned_key};

/// `trailscope verify-pack FILE`: checks an evidence pack against its manifest, offline.
pub fn run(path: &std::path::Path, key: Option<&str>) -> anyhow::Result<()> {
    let pinned = pinned_key(key)?;
    let file =
        std::fs::File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
    let (manifest, mut problems) = trailscope::export::evidence::verify_pack(file)
        .map_err(|e| anyhow!("{}: {e}", path.display()))?;
    // The proof: the pack's JSON file is in the signed log, entry by entry.
    let proved = match trailscope::export::evidence::pack_proof_parts(path, &manifest.kind) {
        Err(e) => {
            problems.push(e);
            None
        }
        Ok((json_name, json, proof)) => {
            match check_bytes(&json_name, &json, pinned.as_ref(), |_| {
                Ok((trailscope::export::evidence::PROOF_FILE.to_string(), proof))
            }) {
                Ok(v) => Some(v.line),
                Err(e) => {
                    problems.push(format!("proof.json: {}", e));
                    None
                }
            }
        }
    };
    if problems.is_empty() {
        outln!(
            "ok: {} pack for {} to {}, {} entries; {} files match the manifest; {}",
            manifest.kind,
            manifest.from,
            manifest.to,
            manifest.rows,
            manifest.files.len(),
            proved
                .as_deref()
                .unwrap_or_default()
                .trim_start_matches("ok: ")
        );
        return Ok(());
    }
    for p in &problems {
        outln!("MISMATCH: {}", trailscope::text::inert(p));
    }
    Err(anyhow!(
        "{} does not match its manifest or its proof ({} problems)",
        path.display(),
        problems.len()
    ))
}
