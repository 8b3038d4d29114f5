//! The proof routes' bodies (API.md "Proofs that hold against the operator"), and the lines of
//! a verify streamed as NDJSON.

use super::{ApiError, VerifyReport};
use serde::{Deserialize, Serialize};

/// How far a verify has got: `checked` of `total` rows walked, where every entry still in the
/// log is one row of the hash chain and every leaf one row of the Merkle tree (so `total` is
/// about twice the entries). `total` is 0 until the walk has read it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct VerifyProgress {
    pub checked: u64,
    pub total: u64,
}

/// One line of `GET /v1/verify` with `Accept: application/x-ndjson`: progress about once a
/// second, then exactly one report or error, which ends the stream.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum VerifyLine {
    Progress(VerifyProgress),
    Report(VerifyReport),
    /// What a JSON answer would have carried as its `{"error": ...}` body.
    Error(ApiError),
}

/// The body of `GET /v1/checkpoint`: the newest signed checkpoint of the caller's tenant.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignedCheckpoint {
    /// Leaves in the tree (entries ever appended, pruned ones included).
    pub size: u64,
    /// The tree's root, base64.
    pub root: String,
    /// The C2SP signed note: origin, size, root, a blank line, the signature line.
    pub checkpoint: String,
    /// The key that signed it, in the signed-note verifier key form.
    pub verifier_key: String,
}

/// The body of `GET /v1/proof/inclusion`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InclusionProof {
    pub seq: u64,
    pub size: u64,
    /// The leaf's index in the tree (`seq - 1` unless the tree began after a prune).
    pub leaf_index: u64,
    /// The RFC 6962 audit path, base64 hashes, leaf to root.
    pub proof: Vec<String>,
}

/// The body of `GET /v1/proof/consistency`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConsistencyProof {
    pub from: u64,
    pub to: u64,
    /// The RFC 6962 consistency proof, base64 hashes.
    pub proof: Vec<String>,
}

/// What an export carries to prove itself offline (API.md "Exports prove themselves offline"):
/// the JSON export's `checkpoint` and `proof` members, and the whole of a `<file>.proof.json`
/// sidecar or an evidence pack's `proof.json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProofFile {
    /// The signed checkpoint the entries are proved against.
    pub checkpoint: SignedCheckpoint,
    pub proof: ExportProof,
}

/// The proof of an export's entries.
///
/// For the contiguous seq range `first_seq..=last_seq` that the exported entries span (a
/// filtered export skips seqs; those are only hashes here), `hashes` holds every entry's 32-byte
/// `hash`, so each exported entry's `prev_hash` is the hash before it and its own hash can be
/// recomputed from what the file shows plus `entries[]`. `range_proof` holds the roots of the
/// subtrees of the checkpoint's tree that lie wholly left or right of the range (at most two a
/// level), so the verifier rebuilds the signed root from the range's leaves. Size: 32 bytes per
/// seq of the range (as base64), the per-entry salts or commitments, plus `O(log n)`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExportProof {
    /// 1.
    pub version: u32,
    /// The format of the file it was made for (`json`, `ndjson`, `ocsf` or `csv`): what the file
    /// shows.
    pub format: String,
    /// The tenant; the checkpoint's origin is `trailscope/<tenant>`.
    pub tenant: String,
    /// How many entries the file holds.
    pub entries: u64,
    /// The first seq of the range (absent for an empty export).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_seq: Option<u64>,
    /// The last seq of the range.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_seq: Option<u64>,
    /// The tree's leaf index of `first_seq`.
    #[serde(default)]
    pub first_leaf: u64,
    /// Hex hash of the entry before `first_seq` (zeros at the start of the chain).
    #[serde(default)]
    pub prev_hash: String,
    /// Base64 of the 32-byte `hash` of every seq `first_seq..=last_seq`, concatenated.
    #[serde(default)]
    pub hashes: String,
    /// Base64 subtree hashes, left to right (see the type's documentation).
    #[serde(default)]
    pub range_proof: Vec<String>,
    /// For each exported entry, in seq order: what its hash needs beyond what the file shows.
    #[serde(default)]
    pub items: Vec<EntryProof>,
}

/// What one exported entry's hash needs beyond the file's own text.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct EntryProof {
    pub seq: u64,
    /// Per personal field: `{"s": salt}` where the file shows the text and the salt still
    /// exists, else `{"c": commitment}` (salt destroyed by pseudonymisation, or a field the
    /// format does not show, such as a CSV's user agent).
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub personal: std::collections::BTreeMap<String, FieldProof>,
    /// The idempotency key, when the format does not show it (CSV).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub idempotency_key: Option<String>,
}

/// A salt or a commitment, never both.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FieldProof {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub s: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub c: Option<String>,
}
