//! Range proofs: that a contiguous run of leaves `[lo, hi)` is in the tree of `size` leaves.
//!
//! The proof is the hashes of the RFC 6962 subtrees that lie wholly outside the range, in the
//! order a left-to-right walk of the tree meets them: at most two per level, so `O(log n)`
//! hashes however long the range. The checker rebuilds the root from the range's leaves and
//! these hashes; nothing else is trusted.

use super::tree::{ProofError, RowReader};
use tlog_tiles::Hash;

/// The largest power of two strictly below `n` (`n >= 2`): RFC 6962's split point.
fn split(n: u64) -> u64 {
    let mut k = 1u64;
    while k << 1 < n {
        k <<= 1;
    }
    k
}

/// The hash of the RFC 6962 node covering leaves `[lo, hi)` of a tree, from its stored rows:
/// a perfect subtree is one stored hash; a subtree on the tree's right edge is split.
fn node<R: RowReader + ?Sized>(lo: u64, hi: u64, rows: &R) -> Result<Hash, ProofError> {
    let n = hi - lo;
    if n.is_power_of_two() && lo.is_multiple_of(n) {
        let level = u8::try_from(n.trailing_zeros()).map_err(|_| ProofError::Invalid)?;
        let index = tlog_tiles::stored_hash_index(level, lo >> level);
        let (row, at) = super::tree::locate(index);
        let got = rows.read_rows(&[row])?;
        return got
            .first()
            .and_then(|r| r.get(usize::from(at)))
            .copied()
            .ok_or_else(|| ProofError::Storage(format!("leaf {row}'s row is short")));
    }
    let k = split(n);
    Ok(tlog_tiles::node_hash(
        node(lo, lo + k, rows)?,
        node(lo + k, hi, rows)?,
    ))
}

fn walk<R: RowReader + ?Sized>(
    lo: u64,
    hi: u64,
    range: (u64, u64),
    rows: &R,
    out: &mut Vec<Hash>,
) -> Result<(), ProofError> {
    let (a, b) = range;
    if hi <= a || lo >= b {
        out.push(node(lo, hi, rows)?);
    } else if !(a <= lo && hi <= b) {
        let k = split(hi - lo);
        walk(lo, lo + k, range, rows, out)?;
        walk(lo + k, hi, range, rows, out)?;
    }
    Ok(())
}

/// The proof that leaves `[lo, hi)` are in the tree of `size` leaves.
pub fn range_proof<R: RowReader + ?Sized>(
    size: u64,
    lo: u64,
    hi: u64,
    rows: &R,
) -> Result<Vec<Hash>, ProofError> {
    if lo >= hi || hi > size {
        return Err(ProofError::OutOfRange(format!(
            "leaves {lo} to {hi} are not a non-empty range of a tree of {size} leaves"
        )));
    }
    let mut out = Vec::new();
    walk(0, size, (lo, hi), rows, &mut out)?;
    Ok(out)
}

/// The root of a tree of `size` leaves rebuilt from the leaf hashes `leaves` (leaves `lo`,
/// `lo + 1`, …) and a [`range_proof`]. Compare it with a signed root.
pub fn range_root(size: u64, lo: u64, leaves: &[Hash], proof: &[Hash]) -> Result<Hash, ProofError> {
    let hi = lo
        .checked_add(leaves.len() as u64)
        .filter(|hi| lo < *hi && *hi <= size)
        .ok_or_else(|| {
            ProofError::OutOfRange(format!(
                "{} leaves from leaf {lo} do not fit a tree of {size} leaves",
                leaves.len()
            ))
        })?;
    let mut next = proof.iter();
    let root = rebuild(0, size, (lo, hi), leaves, &mut next)?;
    if next.next().is_some() {
        return Err(ProofError::Invalid);
    }
    Ok(root)
}

fn rebuild(
    lo: u64,
    hi: u64,
    range: (u64, u64),
    leaves: &[Hash],
    proof: &mut std::slice::Iter<'_, Hash>,
) -> Result<Hash, ProofError> {
    let (a, b) = range;
    if hi <= a || lo >= b {
        return proof.next().copied().ok_or(ProofError::Invalid);
    }
    if hi - lo == 1 {
        return usize::try_from(lo - a)
            .ok()
            .and_then(|i| leaves.get(i))
            .copied()
            .ok_or(ProofError::Invalid);
    }
    let k = split(hi - lo);
    let left = rebuild(lo, lo + k, range, leaves, proof)?;
    let right = rebuild(lo + k, hi, range, leaves, proof)?;
    Ok(tlog_tiles::node_hash(left, right))
}

#[cfg(test)]
// Trees of a few dozen leaves: their sizes index slices without loss.
#[allow(clippy::cast_possible_truncation)]
mod tests {
    use super::*;
    use crate::proof::{Frontier, entry_leaf};
    use sha2::{Digest, Sha256};

    use crate::proof::tree::tests::Store;

    #[test]
    fn every_range_of_every_size_proves_and_an_edited_leaf_does_not() {
        let mut f = Frontier::default();
        let mut rows = Vec::new();
        let mut roots = vec![];
        let mut leaves = vec![];
        for i in 0..40u64 {
            let h: [u8; 32] = Sha256::digest(i.to_be_bytes()).into();
            leaves.push(entry_leaf(&h));
            rows.push(f.push(&h));
            roots.push(f.root());
        }
        let store = Store(rows);
        for size in 1..=40u64 {
            let root = roots[size as usize - 1];
            for lo in 0..size {
                for hi in lo + 1..=size {
                    let p = range_proof(size, lo, hi, &store).unwrap();
                    assert!(p.len() <= 2 * 64, "{size} {lo} {hi}");
                    let got = &leaves[lo as usize..hi as usize];
                    assert_eq!(range_root(size, lo, got, &p).unwrap(), root);
                    let mut bad = got.to_vec();
                    bad[0] = entry_leaf(&[9; 32]);
                    assert_ne!(range_root(size, lo, &bad, &p).ok(), Some(root));
                }
            }
        }
        assert!(range_proof(5, 3, 3, &store).is_err());
        assert!(range_root(5, 4, &leaves[..2], &[]).is_err());
    }
}
