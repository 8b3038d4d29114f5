//! Proofs that hold against whoever can write the database (API.md "Proofs that hold against
//! the operator"): an RFC 6962 Merkle tree over the entries' `hash` values, signed checkpoints
//! in the C2SP signed-note form, inclusion and consistency proofs.
//!
//! Pure: no file, network or database here. The store keeps the tree's hashes and hands them in
//! through a [`HashReader`]; the server and the command line keep the key.
//!
//! The algorithms are the Go checksum database's (`golang.org/x/mod/sumdb/tlog` and `note`), as
//! ported to Rust by Cloudflare in the `tlog_tiles` and `signed_note` crates: every node hash is
//! stored once at its "stored hash index", so a root or a proof at any size is `O(log n)` reads.
//!
//! Storage layout: the hashes written when leaf `n` is appended (the leaf hash, then the roots of
//! the perfect subtrees it completes, one per level) sit together in one row per leaf, so one
//! insert per entry keeps the whole tree; [`locate`] maps a stored hash index to (row, level).

mod note;
mod range;
mod tree;

pub use note::{
    CheckpointError, KeyError, OpenedCheckpoint, SigningKey, VerifierKey, checkpoint_origin,
    parse_checkpoint, same_verifier_key,
};
pub use range::{range_proof, range_root};
pub use tlog_tiles::{Hash, HashReader};
pub use tree::{
    Frontier, ProofError, RowReader, check_consistency, check_inclusion, consistency_proof,
    decode_hash, encode_hash, entry_leaf, frontier_rows, inclusion_proof, locate, tree_root,
};
