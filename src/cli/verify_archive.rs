//! `trailscope verify-archive MANIFEST`: a prune's archive against its manifest and chain, and
//! (with a server) that the live log continues from it.

use super::context::{RemoteArgs, Threads, refused, runtime};
use super::output::outln;
use anyhow::anyhow;

/// `trailscope verify-archive MANIFEST [--server URL --token T]`.
pub fn run(manifest_path: &std::path::Path, remote: &RemoteArgs) -> anyhow::Result<()> {
    let (manifest, mut problems) =
        trailscope::store::archive::verify_archive(manifest_path).map_err(|e| anyhow!(e))?;
    let mut linked = String::new();
    if remote.server.is_some() || remote.profile.is_some() {
        let client = remote.client()?;
        let rt = runtime(Threads::One)?;
        let oldest = rt.block_on(client.oldest()).map_err(|e| refused(&e))?;
        match oldest {
            Some(e) if e.seq == manifest.last_seq + 1 && e.prev_hash == manifest.last_hash => {
                linked = format!("; the live log continues from it at seq {}", e.seq);
            }
            Some(e) if e.seq == manifest.last_seq + 1 => problems.push(format!(
                "the live log's seq {} does not link to this archive's last hash",
                e.seq
            )),
            Some(e) => {
                linked = format!(
                    "; the live log now starts at seq {} (a later prune removed what followed this archive)",
                    e.seq
                )
            }
            None => problems.push("the live log holds no entries to link this archive to".into()),
        }
    }
    if problems.is_empty() {
        outln!(
            "ok: {} entries, seq {} to {}, verify{linked}",
            manifest.count,
            manifest.first_seq,
            manifest.last_seq
        );
        return Ok(());
    }
    for p in &problems {
        outln!("MISMATCH: {}", trailscope::text::inert(p));
    }
    Err(anyhow!(
        "{} does not verify ({} problems)",
        manifest_path.display(),
        problems.len()
    ))
}
