//! What pseudonymising an entry does, for every store: its person's name, email, ip and user
//! agent become one pseudonym, and the salts of its commitments are destroyed (the commitments
//! stay, so the chain still verifies, but the old values can no longer be confirmed by guessing).

use crate::model::Entry;
use crate::store::StoreError;
use crate::store::chain::Commitments;

/// A fresh random pseudonym: nothing stored can map it back (a keyed hash of the email would
/// let whoever holds the key confirm a guess).
pub fn fresh() -> Result<String, StoreError> {
    let mut raw = [0u8; 4];
    getrandom::fill(&mut raw)
        .map_err(|e| StoreError::Internal(format!("no randomness for a pseudonym: {e}")))?;
    Ok(format!("pseudonym-{}", hex::encode(raw)))
}

/// Puts `pseudonym` in place of every personal field `entry` shows and destroys the salts of
/// its `commitments`.
pub fn apply(entry: &mut Entry, commitments: &mut Commitments, pseudonym: &str) {
    let a = &mut entry.actor;
    for field in [&mut a.name, &mut a.email, &mut a.ip, &mut a.user_agent] {
        if field.is_some() {
            *field = Some(pseudonym.to_string());
        }
    }
    for c in commitments.values_mut() {
        c.s = None;
    }
}
