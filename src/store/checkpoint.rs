//! The rule both stores follow before they sign a checkpoint: the newest stored one must verify
//! with this server's key, name this tenant's log, and be a prefix of the tree as it stands now.
//! A database changed behind the server's back is never blessed with a signature.

use crate::proof::{self, Hash, ProofError, SigningKey};
use crate::store::StoreError;

/// The newest checkpoint a signer remembers signing for a tenant, kept outside the database
/// (see [`crate::store::signer`]): a tree it signs must extend it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Remembered {
    pub size: u64,
    pub root: Hash,
}

/// Checks that the tree of `size` leaves and `root` extends `floor`, the checkpoint the signer
/// remembers; `prove(from)` makes the consistency proof from `from` leaves to `size` over the
/// stored tree. The refusal names what happened: entries cut, or entries rewritten.
pub fn check_floor(
    tenant: &str,
    floor: Option<Remembered>,
    size: u64,
    root: Hash,
    prove: impl FnOnce(u64) -> Result<Vec<Hash>, ProofError>,
) -> Result<(), StoreError> {
    let Some(f) = floor else { return Ok(()) };
    if f.size == 0 {
        return Ok(());
    }
    if f.size > size {
        return Err(refuse(
            tenant,
            format!(
                "this server signed checkpoint {} (it remembers it outside the database) but the tree now holds only {size} leaves: entries were cut from the log",
                f.size
            ),
        ));
    }
    if f.size == size {
        if f.root != root {
            return Err(refuse(
                tenant,
                format!(
                    "the tree of {size} leaves does not have the root of checkpoint {size}, which this server signed and remembers outside the database: entries were rewritten"
                ),
            ));
        }
        return Ok(());
    }
    prove(f.size)
        .and_then(|p| proof::check_consistency(&p, f.size, f.root, size, root))
        .map_err(|e| {
            refuse(
                tenant,
                format!(
                    "the tree of {size} leaves does not extend checkpoint {}, which this server signed and remembers outside the database ({e}): entries were rewritten",
                    f.size
                ),
            )
        })
}

/// What the newest stored checkpoint says about signing one at the tree's current size.
pub enum Latest {
    /// None stored yet, or only the empty tree's: sign.
    Nothing,
    /// It is of this very size and root: serve its note again.
    Same(String),
    /// It is of a smaller tree: sign once a consistency proof shows the tree extends it.
    Smaller { size: u64, root: Hash },
}

/// Judges the newest stored checkpoint `(size, note)` against the tree of `size` leaves and
/// `root`; an error is the refusal (logged, and named as tampering).
pub fn judge(
    key: &SigningKey,
    tenant: &str,
    latest: Option<(u64, String)>,
    size: u64,
    root: Hash,
) -> Result<Latest, StoreError> {
    let Some((last_size, note)) = latest else {
        return Ok(Latest::Nothing);
    };
    let last = key.verifier().open(&note).map_err(|e| {
        refuse(
            tenant,
            format!(
                "the newest stored checkpoint (size {last_size}) does not verify with this server's key: {e}"
            ),
        )
    })?;
    if last.size != last_size || last.origin != proof::checkpoint_origin(tenant) {
        return Err(refuse(
            tenant,
            format!("the stored checkpoint of size {last_size} says otherwise in its signed text"),
        ));
    }
    if last_size > size {
        return Err(refuse(
            tenant,
            format!("checkpoint {last_size} was signed but the tree now holds only {size} leaves"),
        ));
    }
    if last_size == size {
        if last.root != root {
            return Err(refuse(
                tenant,
                format!("the tree's root at size {size} no longer matches its checkpoint"),
            ));
        }
        return Ok(Latest::Same(note));
    }
    // The empty tree is a prefix of every tree.
    if last_size == 0 {
        return Ok(Latest::Nothing);
    }
    Ok(Latest::Smaller {
        size: last_size,
        root: last.root,
    })
}

/// The refusal when the tree at `size` does not extend checkpoint `last_size`.
pub fn not_extended(
    tenant: &str,
    size: u64,
    last_size: u64,
    why: impl std::fmt::Display,
) -> StoreError {
    refuse(
        tenant,
        format!("the tree at size {size} does not extend checkpoint {last_size} ({why})"),
    )
}

fn refuse(tenant: &str, why: String) -> StoreError {
    tracing::error!("refusing to sign a checkpoint for tenant {tenant}: {why}");
    StoreError::Tampered(format!(
        "no checkpoint was signed: {why}; run `trailscope verify`"
    ))
}
