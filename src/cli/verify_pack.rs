//! `trailscope verify-pack FILE`: an evidence pack against its manifest and its proofs, offline.

use super::output::outln;
use anyhow::anyhow;
use trailscope::export::verify::pinned_key;

/// `trailscope verify-pack FILE`: checks an evidence pack against its manifest and its proofs
/// (`export::evidence::verify_pack_proven`), offline.
pub fn run(path: &std::path::Path, key: Option<&str>) -> anyhow::Result<()> {
    let pinned = pinned_key(key)?;
    let check = trailscope::export::evidence::verify_pack_proven(path, pinned.as_ref())
        .map_err(|e| anyhow!("{}: {e}", path.display()))?;
    let manifest = &check.manifest;
    if check.problems.is_empty() {
        outln!(
            "ok: {} pack for {} to {}, {} entries; {} files match the manifest, which the log's record of the pack names; {}",
            manifest.kind,
            manifest.from,
            manifest.to,
            manifest.rows,
            manifest.files.len(),
            check
                .proved
                .as_deref()
                .unwrap_or_default()
                .trim_start_matches("ok: ")
        );
        return Ok(());
    }
    for p in &check.problems {
        outln!("MISMATCH: {}", trailscope::text::inert(p));
    }
    Err(anyhow!(
        "{} does not match its manifest or its proof ({} problems)",
        path.display(),
        check.problems.len()
    ))
}
