//! The Merkle tree: leaves, the stored hashes each append adds, roots and proofs.

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use std::collections::BTreeMap;
use tlog_tiles::{Hash, HashReader};

/// Why a tree computation or a proof failed. Sentences a person can act on.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProofError {
    /// A size or index outside the tree, said in the caller's terms.
    #[error("{0}")]
    OutOfRange(String),
    /// The proof does not lead to the root it should.
    #[error("the proof does not match the tree's root")]
    Invalid,
    /// A stored hash is missing or unreadable.
    #[error("the tree's stored hashes cannot be read: {0}")]
    Storage(String),
    #[error("`{0}` is not a base64 SHA-256 hash")]
    BadHash(String),
}

fn from_tlog(e: tlog_tiles::Error) -> ProofError {
    match e {
        tlog_tiles::Error::InvalidProof => ProofError::Invalid,
        tlog_tiles::Error::InvalidInput(why) => ProofError::OutOfRange(why),
        other => ProofError::Storage(other.to_string()),
    }
}

/// The RFC 6962 leaf hash of an entry: `SHA-256(0x00 || hash)` over the entry's 32-byte `hash`.
pub fn entry_leaf(entry_hash: &[u8; 32]) -> Hash {
    tlog_tiles::record_hash(entry_hash)
}

/// Base64 (standard, padded), as in checkpoints and the proof routes.
pub fn encode_hash(h: &Hash) -> String {
    BASE64.encode(h.0)
}

/// The inverse of [`encode_hash`].
pub fn decode_hash(s: &str) -> Result<Hash, ProofError> {
    let bytes = BASE64
        .decode(s)
        .map_err(|_| ProofError::BadHash(s.chars().take(60).collect()))?;
    let arr: [u8; 32] = bytes
        .try_into()
        .map_err(|_| ProofError::BadHash(s.chars().take(60).collect()))?;
    Ok(Hash(arr))
}

/// Where a stored hash lives: the row of the leaf whose append wrote it, and its level (its
/// place in that row). Node (level `l`, index `k`) is completed by leaf `((k + 1) << l) - 1`.
pub fn locate(index: u64) -> (u64, u8) {
    let (level, k) = tlog_tiles::split_stored_hash_index(index);
    (((k + 1) << level) - 1, level)
}

/// Reads whole rows (every hash a leaf's append wrote, level 0 first) by leaf number: what a
/// store implements to serve roots and proofs. Rows are asked for in increasing order.
pub trait RowReader {
    fn read_rows(&self, leaves: &[u64]) -> Result<Vec<Vec<Hash>>, ProofError>;
}

/// Adapts a [`RowReader`] to the stored-hash-index reads the tlog algorithms make.
struct Rows<'a, R: RowReader + ?Sized>(&'a R);

impl<R: RowReader + ?Sized> HashReader for Rows<'_, R> {
    fn read_hashes(&self, indexes: &[u64]) -> Result<Vec<Hash>, tlog_tiles::Error> {
        let places: Vec<(u64, u8)> = indexes.iter().map(|i| locate(*i)).collect();
        let mut leaves: Vec<u64> = places.iter().map(|p| p.0).collect();
        leaves.sort_unstable();
        leaves.dedup();
        let rows = self
            .0
            .read_rows(&leaves)
            .map_err(|_| tlog_tiles::Error::IndexesNotInTree)?;
        if rows.len() != leaves.len() {
            return Err(tlog_tiles::Error::IndexesNotInTree);
        }
        places
            .iter()
            .map(|(leaf, level)| {
                let at = leaves
                    .binary_search(leaf)
                    .expect("every leaf was asked for");
                rows[at]
                    .get(usize::from(*level))
                    .copied()
                    .ok_or(tlog_tiles::Error::IndexesNotInTree)
            })
            .collect()
    }
}

/// The leaf rows a tree of `size` leaves needs for its root: one per perfect subtree on its right
/// edge (at most 64). Loading exactly these restores a [`Frontier`].
pub fn frontier_rows(size: u64) -> Vec<u64> {
    let mut rows: Vec<u64> = tlog_tiles::sub_tree_index(0, size, Vec::new())
        .into_iter()
        .map(|i| locate(i).0)
        .collect();
    rows.dedup();
    rows
}

/// The root of the first `size` leaves.
pub fn tree_root<R: RowReader + ?Sized>(size: u64, rows: &R) -> Result<Hash, ProofError> {
    tlog_tiles::tree_hash(size, &Rows(rows)).map_err(from_tlog)
}

/// The audit path showing that leaf `leaf` (0-based) is in the tree of `size` leaves.
pub fn inclusion_proof<R: RowReader + ?Sized>(
    size: u64,
    leaf: u64,
    rows: &R,
) -> Result<Vec<Hash>, ProofError> {
    if leaf >= size {
        return Err(ProofError::OutOfRange(format!(
            "leaf {leaf} is not in a tree of {size} leaves"
        )));
    }
    tlog_tiles::prove_record(size, leaf, &Rows(rows)).map_err(from_tlog)
}

/// The proof that the tree of `from` leaves is a prefix of the tree of `to` leaves.
pub fn consistency_proof<R: RowReader + ?Sized>(
    from: u64,
    to: u64,
    rows: &R,
) -> Result<Vec<Hash>, ProofError> {
    if from == 0 || from > to {
        return Err(ProofError::OutOfRange(format!(
            "a consistency proof needs 1 <= from <= to; got from {from}, to {to}"
        )));
    }
    tlog_tiles::prove_tree(to, from, &Rows(rows)).map_err(from_tlog)
}

/// Checks an inclusion proof: leaf `leaf` with leaf hash `leaf_hash` is in the tree of `size`
/// leaves whose root is `root`.
pub fn check_inclusion(
    proof: &[Hash],
    size: u64,
    root: Hash,
    leaf: u64,
    leaf_hash: Hash,
) -> Result<(), ProofError> {
    if leaf >= size {
        return Err(ProofError::OutOfRange(format!(
            "leaf {leaf} is not in a tree of {size} leaves"
        )));
    }
    tlog_tiles::check_record(&proof.to_vec(), size, root, leaf, leaf_hash).map_err(from_tlog)
}

/// Checks a consistency proof: the tree of `from` leaves with root `from_root` is a prefix of
/// the tree of `to` leaves with root `to_root`.
pub fn check_consistency(
    proof: &[Hash],
    from: u64,
    from_root: Hash,
    to: u64,
    to_root: Hash,
) -> Result<(), ProofError> {
    if from == 0 || from > to {
        return Err(ProofError::OutOfRange(format!(
            "a consistency proof needs 1 <= from <= to; got from {from}, to {to}"
        )));
    }
    tlog_tiles::check_tree(&proof.to_vec(), to, to_root, from, from_root).map_err(from_tlog)
}

/// The right edge of a growing tree: the roots of its perfect subtrees, by stored hash index.
/// Enough to append a leaf (the hashes to store) and to compute the root, without reading the
/// store: the writer keeps one per tenant, and `verify` walks a whole log with one.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Frontier {
    size: u64,
    nodes: BTreeMap<u64, Hash>,
}

impl HashReader for Frontier {
    fn read_hashes(&self, indexes: &[u64]) -> Result<Vec<Hash>, tlog_tiles::Error> {
        indexes
            .iter()
            .map(|i| {
                self.nodes
                    .get(i)
                    .copied()
                    .ok_or(tlog_tiles::Error::IndexesNotInTree)
            })
            .collect()
    }
}

impl Frontier {
    /// The frontier of the tree of `size` leaves, read from its stored rows.
    pub fn load<R: RowReader + ?Sized>(size: u64, rows: &R) -> Result<Frontier, ProofError> {
        let indexes = tlog_tiles::sub_tree_index(0, size, Vec::new());
        let hashes = Rows(rows).read_hashes(&indexes).map_err(|_| {
            ProofError::Storage(format!(
                "the stored hashes of a tree of {size} leaves are incomplete"
            ))
        })?;
        Ok(Frontier {
            size,
            nodes: indexes.into_iter().zip(hashes).collect(),
        })
    }

    /// Leaves so far.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// Appends the leaf of an entry whose hash is `entry_hash`; returns what its row holds: the
    /// leaf hash, then the root of each perfect subtree it completes.
    pub fn push(&mut self, entry_hash: &[u8; 32]) -> Vec<Hash> {
        self.push_leaf(entry_leaf(entry_hash))
    }

    /// Appends a leaf by its leaf hash (a leaf kept after its entry was pruned).
    pub fn push_leaf(&mut self, leaf: Hash) -> Vec<Hash> {
        let n = self.size;
        let row = tlog_tiles::stored_hashes_for_record_hash(n, leaf, self)
            .expect("a frontier holds every hash an append reads");
        let base = tlog_tiles::stored_hash_index(0, n);
        for (level, h) in row.iter().enumerate() {
            self.nodes.insert(base + level as u64, *h);
        }
        self.size += 1;
        let keep = tlog_tiles::sub_tree_index(0, self.size, Vec::new());
        self.nodes.retain(|i, _| keep.binary_search(i).is_ok());
        row
    }

    /// The tree's root now.
    pub fn root(&self) -> Hash {
        tlog_tiles::tree_hash(self.size, self).expect("a frontier holds every hash its root reads")
    }
}

#[cfg(test)]
// Trees of a few dozen leaves: their sizes index slices without loss.
#[allow(clippy::cast_possible_truncation)]
pub(crate) mod tests {
    use super::*;
    use sha2::{Digest, Sha256};

    /// Every row a tree of `n` leaves stores, as the store would keep them (the range proofs'
    /// tests read it too).
    pub(crate) struct Store(pub(crate) Vec<Vec<Hash>>);

    impl RowReader for Store {
        fn read_rows(&self, leaves: &[u64]) -> Result<Vec<Vec<Hash>>, ProofError> {
            leaves
                .iter()
                .map(|l| {
                    self.0
                        .get(*l as usize)
                        .cloned()
                        .ok_or_else(|| ProofError::Storage(format!("no row {l}")))
                })
                .collect()
        }
    }

    fn entry_hash(i: u64) -> [u8; 32] {
        Sha256::digest(i.to_be_bytes()).into()
    }

    fn build(n: u64) -> (Store, Vec<Hash>) {
        let mut f = Frontier::default();
        let mut rows = Vec::new();
        let mut roots = vec![tlog_tiles::EMPTY_HASH];
        for i in 0..n {
            rows.push(f.push(&entry_hash(i)));
            roots.push(f.root());
        }
        (Store(rows), roots)
    }

    /// RFC 6962's MTH, written the slow recursive way, to check the crate's answers against.
    fn mth(leaves: &[Hash]) -> Hash {
        match leaves.len() {
            0 => tlog_tiles::EMPTY_HASH,
            1 => leaves[0],
            n => {
                // The largest power of two below n.
                let mut k = (n - 1).next_power_of_two();
                if k >= n {
                    k /= 2;
                }
                tlog_tiles::node_hash(mth(&leaves[..k]), mth(&leaves[k..]))
            }
        }
    }

    #[test]
    fn roots_match_rfc_6962_at_every_size() {
        let (store, roots) = build(70);
        let leaves: Vec<Hash> = (0..70).map(|i| entry_leaf(&entry_hash(i))).collect();
        for size in 0..=70u64 {
            assert_eq!(
                roots[size as usize],
                mth(&leaves[..size as usize]),
                "size {size}"
            );
            assert_eq!(tree_root(size, &store).unwrap(), roots[size as usize]);
        }
    }

    #[test]
    fn a_leaf_row_holds_the_leaf_then_the_subtrees_it_completes() {
        let (store, _) = build(8);
        assert_eq!(store.0[0].len(), 1);
        assert_eq!(store.0[1].len(), 2);
        assert_eq!(store.0[3].len(), 3);
        assert_eq!(store.0[7].len(), 4);
        assert_eq!(
            store.0[7][3],
            mth(&(0..8)
                .map(|i| entry_leaf(&entry_hash(i)))
                .collect::<Vec<_>>())
        );
        for i in 0..30u64 {
            let (row, level) = locate(i);
            assert!(row < 20 && level < 5, "{i}");
        }
    }

    #[test]
    fn every_inclusion_proof_checks_and_a_wrong_leaf_does_not() {
        let (store, roots) = build(33);
        for size in 1..=33u64 {
            for leaf in 0..size {
                let p = inclusion_proof(size, leaf, &store).unwrap();
                let lh = entry_leaf(&entry_hash(leaf));
                check_inclusion(&p, size, roots[size as usize], leaf, lh).unwrap();
                let other = entry_leaf(&entry_hash(leaf + 1000));
                assert_eq!(
                    check_inclusion(&p, size, roots[size as usize], leaf, other),
                    Err(ProofError::Invalid)
                );
            }
        }
    }

    #[test]
    fn every_consistency_proof_checks_and_a_forked_root_does_not() {
        let (store, roots) = build(33);
        for to in 1..=33u64 {
            for from in 1..=to {
                let p = consistency_proof(from, to, &store).unwrap();
                check_consistency(&p, from, roots[from as usize], to, roots[to as usize]).unwrap();
                if from < to {
                    // A log that rewrote its history: same sizes, another old root.
                    let forked = roots[(from - 1) as usize];
                    assert!(check_consistency(&p, from, forked, to, roots[to as usize]).is_err());
                }
            }
        }
    }

    #[test]
    fn out_of_range_requests_are_errors_not_panics() {
        let (store, _) = build(5);
        assert!(matches!(
            inclusion_proof(5, 5, &store),
            Err(ProofError::OutOfRange(_))
        ));
        assert!(matches!(
            inclusion_proof(0, 0, &store),
            Err(ProofError::OutOfRange(_))
        ));
        assert!(matches!(
            consistency_proof(0, 3, &store),
            Err(ProofError::OutOfRange(_))
        ));
        assert!(matches!(
            consistency_proof(4, 3, &store),
            Err(ProofError::OutOfRange(_))
        ));
        // Beyond what is stored: the reader says so, the proof is an error.
        assert!(matches!(
            inclusion_proof(9, 2, &store),
            Err(ProofError::Storage(_))
        ));
        assert!(matches!(tree_root(9, &store), Err(ProofError::Storage(_))));
        assert!(matches!(
            check_consistency(&[], 3, Hash::default(), 2, Hash::default()),
            Err(ProofError::OutOfRange(_))
        ));
    }

    #[test]
    fn a_frontier_loaded_from_rows_carries_on_as_if_never_stopped() {
        let (store, roots) = build(41);
        let mut loaded = Frontier::load(23, &Store(store.0[..23].to_vec())).unwrap();
        assert_eq!(loaded.size(), 23);
        assert_eq!(loaded.root(), roots[23]);
        for i in 23..41 {
            assert_eq!(loaded.push(&entry_hash(i)), store.0[i as usize]);
        }
        assert_eq!(loaded.root(), roots[41]);
        assert!(frontier_rows(23).len() <= 5);
    }

    #[test]
    fn hashes_round_trip_through_base64_and_bad_text_is_refused() {
        let h = entry_leaf(&entry_hash(1));
        assert_eq!(decode_hash(&encode_hash(&h)).unwrap(), h);
        assert!(decode_hash("not base64!").is_err());
        assert!(decode_hash("AAAA").is_err());
    }
}
