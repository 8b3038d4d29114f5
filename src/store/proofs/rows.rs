//! The tree's rows as every store keeps them (one blob of 32-byte hashes per leaf, level 0
//! first), and the tree algorithms' reads over a store's raw rows.
//!
//! A row that is missing below the stored size, or not a whole number of hashes, was changed
//! behind the store's back: that is [`StoreError::Tampered`] on every store. A read that failed
//! (a lost connection, a full disk) stays the store's own error.

use crate::proof::{Hash, ProofError, RowReader};
use crate::store::StoreError;
use std::cell::RefCell;
use std::collections::HashMap;

/// A row's hashes as stored: 32 bytes each, level 0 first.
pub fn row_blob(hashes: &[Hash]) -> Vec<u8> {
    hashes.iter().flat_map(|h| h.0).collect()
}

/// The inverse of [`row_blob`]; `None` when the blob is not a whole number of hashes.
pub fn split_row(blob: &[u8]) -> Option<Vec<Hash>> {
    if blob.is_empty() || !blob.len().is_multiple_of(32) {
        return None;
    }
    Some(
        blob.chunks_exact(32)
            .map(|c| Hash(c.try_into().expect("chunks of 32")))
            .collect(),
    )
}

/// An entry's hex `hash` as the 32 bytes the tree's leaf is made of; `None` when it is not 64
/// hex digits.
pub fn hash_bytes(hex_hash: &str) -> Option<[u8; 32]> {
    hex::decode(hex_hash).ok()?.try_into().ok()
}

/// What a store reads its tree rows with.
pub trait TreeRows {
    /// The stored blobs of those of `leaves` that exist (asked for in increasing order), as
    /// (leaf, blob) in any order.
    fn tree_rows(&self, leaves: &[u64]) -> Result<Vec<(u64, Vec<u8>)>, StoreError>;
}

/// A store's raw rows as the tree algorithms ([`crate::proof`]) read them. They speak
/// [`ProofError`]; [`Rows::error`] turns one back into the store's error.
pub struct Rows<'a, S: TreeRows + ?Sized> {
    src: &'a S,
    /// The store's error behind the last failed read, to be returned as it was.
    failure: RefCell<Option<StoreError>>,
}

impl<'a, S: TreeRows + ?Sized> Rows<'a, S> {
    pub fn new(src: &'a S) -> Rows<'a, S> {
        Rows {
            src,
            failure: RefCell::new(None),
        }
    }

    /// A tree computation's error as the store's: the store's own error when a read failed,
    /// [`StoreError::Tampered`] when a row is missing or malformed, [`StoreError::BadRequest`]
    /// for a size or leaf outside the tree.
    pub fn error(&self, e: ProofError) -> StoreError {
        if let Some(failure) = self.failure.borrow_mut().take() {
            return failure;
        }
        match e {
            ProofError::OutOfRange(why) => StoreError::BadRequest(why),
            ProofError::Storage(why) => damaged(&why),
            other => StoreError::Internal(other.to_string()),
        }
    }

    /// The store's error behind a failed read, if one failed (rather than found damage).
    pub fn failure(&self) -> Option<StoreError> {
        self.failure.borrow_mut().take()
    }
}

/// The refusal for tree rows that were changed behind the store's back.
pub fn damaged(why: &str) -> StoreError {
    StoreError::Tampered(format!(
        "the Merkle tree's stored rows are damaged ({why}); run verify"
    ))
}

impl<S: TreeRows + ?Sized> RowReader for Rows<'_, S> {
    fn read_rows(&self, leaves: &[u64]) -> Result<Vec<Vec<Hash>>, ProofError> {
        let found = self.src.tree_rows(leaves).map_err(|e| {
            *self.failure.borrow_mut() = Some(e);
            ProofError::Storage("the tree's rows could not be read".into())
        })?;
        let mut found: HashMap<u64, Vec<u8>> = found.into_iter().collect();
        leaves
            .iter()
            .map(|leaf| {
                let blob = found.remove(leaf).ok_or_else(|| {
                    ProofError::Storage(format!("leaf {leaf} has no stored hashes"))
                })?;
                split_row(&blob)
                    .ok_or_else(|| ProofError::Storage(format!("leaf {leaf}'s row is malformed")))
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Fixed(Vec<(u64, Vec<u8>)>);

    impl TreeRows for Fixed {
        fn tree_rows(&self, leaves: &[u64]) -> Result<Vec<(u64, Vec<u8>)>, StoreError> {
            Ok(self
                .0
                .iter()
                .filter(|(l, _)| leaves.contains(l))
                .cloned()
                .collect())
        }
    }

    struct Failing;

    impl TreeRows for Failing {
        fn tree_rows(&self, _: &[u64]) -> Result<Vec<(u64, Vec<u8>)>, StoreError> {
            Err(StoreError::unavailable(
                crate::store::WriteBlocker::ConnectionLost,
                "the test's source failed",
            ))
        }
    }

    #[test]
    fn a_row_round_trips_and_a_partial_hash_is_refused() {
        let row = vec![Hash([1; 32]), Hash([2; 32])];
        assert_eq!(split_row(&row_blob(&row)), Some(row));
        assert_eq!(split_row(&[0; 33]), None);
        assert_eq!(split_row(&[]), None);
        assert_eq!(hash_bytes(&"ab".repeat(32)), Some([0xab; 32]));
        assert_eq!(hash_bytes("abc"), None);
    }

    #[test]
    fn missing_and_malformed_rows_are_tampering_and_a_failed_read_is_itself() {
        let rows = Fixed(vec![(0, row_blob(&[Hash([1; 32])])), (1, vec![0; 31])]);
        let r = Rows::new(&rows);
        assert_eq!(r.read_rows(&[0]).unwrap(), vec![vec![Hash([1; 32])]]);
        for leaves in [[0, 1], [0, 2]] {
            let e = r.read_rows(&leaves).unwrap_err();
            assert!(matches!(r.error(e), StoreError::Tampered(_)), "{leaves:?}");
        }
        let r = Rows::new(&Failing);
        let e = r.read_rows(&[0]).unwrap_err();
        assert!(matches!(r.error(e), StoreError::Unavailable { .. }));
    }
}
