//! The Merkle tree's part of verify: the tree recomputed from the entries' hashes, compared with
//! the stored rows and with every signed checkpoint along the way.

use super::*;

/// Recomputes the tree from the entries' hashes (and, for pruned entries, the kept leaves),
/// compares every stored row and every checkpoint's root. O(log n) memory.
pub(super) fn walk_tree(
    src: &mut dyn VerifySource,
    first: u64,
    anchor_seq: u64,
    checkpoints: &[Stored],
    findings: &mut Vec<Finding>,
    progress: &mut Progress,
) -> Result<(), StoreError> {
    let last_entry = src.last_seq()?.unwrap_or(anchor_seq);
    let mut rows: Chunked<Vec<u8>> = Chunked::new(None);
    let mut entries: Chunked<String> = Chunked::new(Some(first.saturating_sub(1)));
    let mut read_row =
        |src: &mut dyn VerifySource| rows.next(|after| src.tree_rows_after(after, CHUNK));
    let mut read_entry = |src: &mut dyn VerifySource| {
        entries.next(|after| src.hashes_after(after.unwrap_or(0), CHUNK))
    };
    let mut next_entry: Option<(u64, String)> = read_entry(src)?;
    let mut next_row: Option<(u64, Vec<u8>)> = read_row(src)?;
    let mut frontier = Frontier::default();
    let mut cps = checkpoints.iter().peekable();
    let want = checkpoints
        .last()
        .map_or(0, |c| c.size)
        .max((last_entry + 1).saturating_sub(first));
    let mut seen = Reported::default();
    let mut leaf = 0u64;
    // The size of the newest checkpoint that still holds: a root that no longer matches puts
    // the change after it.
    let mut holds = 0u64;
    while leaf < want || next_row.is_some() {
        if leaf.is_multiple_of(CHUNK as u64) {
            progress.tree(leaf)?;
        }
        let seq = first + leaf;
        let stored: Option<Vec<Hash>> = match &next_row {
            Some((l, blob)) if *l == leaf => split_row(blob),
            _ => None,
        };
        if matches!(&next_row, Some((l, _)) if *l == leaf) {
            next_row = read_row(src)?;
        }
        let entry_hash = match &next_entry {
            Some((s, h)) if *s == seq => {
                let h = hash_bytes(h);
                next_entry = read_entry(src)?;
                h
            }
            _ => None,
        };
        let computed = match (entry_hash, &stored) {
            (Some(bytes), _) => frontier.push(&bytes),
            // A pruned entry: its kept leaf stands for it.
            (None, Some(row)) if seq <= anchor_seq => frontier.push_leaf(row[0]),
            (None, Some(row)) => {
                if !seen.missing {
                    seen.missing = true;
                    findings.push(entry_gone(seq, last_entry));
                }
                frontier.push_leaf(row[0])
            }
            (None, None) => {
                // Neither an entry nor a leaf: whatever a checkpoint covers from here is lost.
                if let Some(c) = checkpoints.iter().find(|c| c.size > leaf) {
                    findings.push(lost(c, first, seq));
                }
                break;
            }
        };
        compare_row(stored.as_deref(), &computed, seq, &mut seen, findings);
        leaf += 1;
        while let Some(c) = cps.next_if(|c| c.size <= leaf) {
            if c.size == leaf {
                check_root(c, &frontier, first, &mut holds, findings);
            }
        }
    }
    Ok(())
}

/// Seq `seq` has a leaf but no entry (`last_entry` is the last seq still in the log).
fn entry_gone(seq: u64, last_entry: u64) -> Finding {
    let reason = if seq > last_entry {
        "missing_tail"
    } else {
        "gap"
    };
    Finding {
        bound: false,
        seq: Some(seq),
        checkpoint: None,
        reason,
        sentence: format!("seq {seq} is in the Merkle tree but its entry is gone from the log"),
    }
}

/// Checkpoint `c` covers seq `seq`, where both the log and its tree end.
fn lost(c: &Stored, first: u64, seq: u64) -> Finding {
    Finding {
        bound: false,
        seq: Some(seq),
        checkpoint: Some(c.size),
        reason: "missing_tail",
        sentence: format!(
            "checkpoint {}{} covers seq {} to {}, but the log and its tree end before seq {seq}",
            c.size,
            said_by(c),
            first,
            first + c.size - 1
        ),
    }
}

/// Which kinds of finding the walk has made: only the first of each is reported, the earliest
/// being what names the place.
#[derive(Default)]
struct Reported {
    leaf_bad: bool,
    tree_bad: bool,
    missing: bool,
}

/// Compares leaf `seq`'s stored row (`None`: missing or malformed) with the one recomputed.
fn compare_row(
    stored: Option<&[Hash]>,
    computed: &[Hash],
    seq: u64,
    seen: &mut Reported,
    findings: &mut Vec<Finding>,
) {
    match stored {
        None if !seen.tree_bad => {
            seen.tree_bad = true;
            findings.push(Finding {
                bound: false,
                seq: Some(seq),
                checkpoint: None,
                reason: "tree_mismatch",
                sentence: format!("seq {seq} has no leaf in the Merkle tree"),
            });
        }
        Some(row) if row[0] != computed[0] && !seen.leaf_bad => {
            seen.leaf_bad = true;
            findings.push(Finding {
                bound: false,
                seq: Some(seq),
                checkpoint: None,
                reason: "leaf_mismatch",
                sentence: format!(
                    "seq {seq}'s hash is not the one the Merkle tree recorded for it"
                ),
            });
        }
        Some(row) if row != computed && row[0] == computed[0] && !seen.tree_bad => {
            seen.tree_bad = true;
            findings.push(Finding {
                bound: false,
                seq: Some(seq),
                checkpoint: None,
                reason: "tree_mismatch",
                sentence: format!(
                    "the Merkle tree's stored nodes at seq {seq} do not follow from its leaves"
                ),
            });
        }
        _ => {}
    }
}

/// Holds checkpoint `c` to the recomputed tree of its size; `holds` is the size of the newest
/// checkpoint that still holds.
fn check_root(
    c: &Stored,
    frontier: &Frontier,
    first: u64,
    holds: &mut u64,
    findings: &mut Vec<Finding>,
) {
    if frontier.root() == c.root {
        *holds = c.size;
        return;
    }
    findings.push(Finding {
        // Somewhere after the newest checkpoint that holds; a leaf or chain finding, when there
        // is one, says exactly where.
        seq: Some(first + *holds),
        bound: true,
        checkpoint: Some(c.size),
        reason: "checkpoint_mismatch",
        sentence: format!(
            "the log no longer has the root signed in checkpoint {}{}: something from seq {} on was changed",
            c.size,
            said_by(c),
            first + *holds
        ),
    });
}

/// Where a checkpoint is known from, when it is not a stored row.
fn said_by(c: &Stored) -> &'static str {
    if c.remembered {
        " (remembered by the signer outside the database)"
    } else {
        ""
    }
}
