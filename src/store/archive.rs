//! Checking a prune's archive offline: the file against its manifest, and the chain inside it.

use super::chain;
use super::{ArchiveManifest, ArchivedEntry};
use sha2::{Digest, Sha256};
use std::io::{BufRead, BufReader};
use std::path::Path;

/// Why there is no archive to check (an archive that is one but was changed has problems).
#[derive(Debug, thiserror::Error)]
pub enum NotAnArchive {
    #[error("cannot read {}: {source}", .path.display())]
    Unread {
        path: std::path::PathBuf,
        source: std::io::Error,
    },
    #[error("{} is not an archive manifest: {source}", .path.display())]
    NotAManifest {
        path: std::path::PathBuf,
        source: serde_json::Error,
    },
}

/// Checks the archive a manifest describes; returns the manifest and one sentence per problem.
pub fn verify_archive(
    manifest_path: &Path,
) -> Result<(ArchiveManifest, Vec<String>), NotAnArchive> {
    let unread = |path: &Path| {
        let path = path.to_path_buf();
        move |source| NotAnArchive::Unread { path, source }
    };
    let text = std::fs::read(manifest_path).map_err(unread(manifest_path))?;
    let manifest: ArchiveManifest =
        serde_json::from_slice(&text).map_err(|source| NotAnArchive::NotAManifest {
            path: manifest_path.to_path_buf(),
            source,
        })?;
    let data_path = manifest_path.with_file_name(&manifest.file);
    let bytes = std::fs::read(&data_path).map_err(unread(&data_path))?;
    let mut problems = Vec::new();
    let sha = hex::encode(Sha256::digest(&bytes));
    if sha != manifest.sha256 {
        problems.push(format!(
            "{} has SHA-256 {sha}, but the manifest says {}",
            manifest.file, manifest.sha256
        ));
    }
    let reader = BufReader::new(flate2::read::GzDecoder::new(&bytes[..]));
    let mut prev = manifest.first_prev_hash.clone();
    let mut count = 0u64;
    for (n, line) in reader.lines().enumerate() {
        let line = match line {
            Ok(l) => l,
            Err(e) => {
                problems.push(format!("line {} cannot be read: {e}", n + 1));
                break;
            }
        };
        let archived: ArchivedEntry = match serde_json::from_str(&line) {
            Ok(a) => a,
            Err(e) => {
                problems.push(format!("line {} is not an archived entry: {e}", n + 1));
                break;
            }
        };
        let e = &archived.entry;
        let expect_seq = manifest.first_seq + count;
        if e.seq != expect_seq {
            problems.push(format!(
                "line {} holds seq {}, expected {expect_seq}",
                n + 1,
                e.seq
            ));
            break;
        }
        if e.prev_hash != prev
            || !chain::commitments_match(e, &archived.commitments)
            || chain::entry_hash(e, &archived.commitments) != e.hash
        {
            problems.push(format!(
                "seq {} does not verify: its hash or link to the previous entry is wrong",
                e.seq
            ));
            break;
        }
        prev = e.hash.clone();
        count += 1;
    }
    if problems.is_empty() {
        if count != manifest.count {
            problems.push(format!(
                "the archive holds {count} entries, but the manifest says {}",
                manifest.count
            ));
        }
        if prev != manifest.last_hash {
            problems.push("the last entry's hash is not the manifest's last_hash".to_string());
        }
    }
    Ok((manifest, problems))
}
