//! The proof routes' bodies (API.md "Proofs that hold against the operator").

use serde::{Deserialize, Serialize};

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
