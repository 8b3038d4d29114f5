//! Checking an export against its proof with no network (API.md "Exports prove themselves
//! offline"): what `trailscope verify-file` and `verify-pack` run, and what a library user can.
//!
//! It detects the format, reads the proof (a JSON export's `checkpoint` and `proof` members, or
//! `<FILE>.proof.json` beside a CSV or NDJSON file), checks the checkpoint's signature (with the
//! pinned `--key`, else the key the proof names, and says which), recomputes every entry's hash
//! from what the file shows plus the proof's salts or commitments, and rebuilds the signed root
//! from the range's hashes and the range proof. The first entry that does not match is named
//! by its line (CSV, NDJSON) or its place in the document (JSON), and its seq.

pub mod pack;
mod shown;

use crate::export::{Format, proof_sidecar};
use crate::model::{Entry, ExportProof, ProofFile, SignedCheckpoint};
use crate::proof::{OpenedCheckpoint, VerifierKey, checkpoint_origin, entry_leaf, range_root};
use crate::store::chain::{Commitment, Commitments, commit, entry_hash};
use base64::Engine;
use shown::{Shown, read_export};
use std::collections::BTreeSet;
use std::path::Path;
/// Why an export does not check out.
#[derive(Debug, thiserror::Error)]
pub enum VerifyError {
    /// The caller's mistake, not the file's: it cannot be read, or `--key` is not a key.
    #[error("{0}")]
    Usage(String),
    /// The file does not prove itself; the sentence names what does not hold.
    #[error("{0}")]
    Fails(String),
}

/// `VerifyError::Fails` with a formatted sentence.
macro_rules! fails {
    ($($t:tt)*) => { VerifyError::Fails(format!($($t)*)) };
}
pub(crate) use fails;

/// What verify-file found, as one line for a person.
pub struct Verified {
    pub line: String,
}

/// The `--key` given: a verifier key, or a file holding one; a usage error when it is neither.
pub fn pinned_key(key: Option<&str>) -> Result<Option<VerifierKey>, VerifyError> {
    let Some(text) = key else { return Ok(None) };
    // A key or a file holding one.
    let from_file = Path::new(text)
        .is_file()
        .then(|| std::fs::read_to_string(text).ok())
        .flatten();
    let text = from_file.as_deref().unwrap_or(text);
    VerifierKey::parse(text).map(Some).map_err(|_| {
        VerifyError::Usage(format!(
            "--key `{}` is not a verifier key (<name>+<8 hex key id>+<base64 key>); `trailscope key show` prints it",
            crate::text::inert(&text.trim().chars().take(80).collect::<String>())
        ))
    })
}

/// Checks `file`; `Ok` with the line to print, or the sentence saying what does not hold.
pub fn check(file: &Path, key: Option<&str>) -> Result<Verified, VerifyError> {
    let pinned = pinned_key(key)?;
    let name = file.display().to_string();
    let bytes =
        std::fs::read(file).map_err(|e| VerifyError::Usage(format!("cannot read {name}: {e}")))?;
    check_bytes(&name, &bytes, pinned.as_ref(), |format| {
        if format == Format::Json {
            return Err(fails!(
                "the file has no proof: its `checkpoint` and `proof` members are missing"
            ));
        }
        let side = proof_sidecar(file);
        let side_name = side.display().to_string();
        match std::fs::read(&side) {
            Ok(t) => Ok((side_name, t)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                Err(fails!("{name} has no proof: {side_name} is missing"))
            }
            Err(e) => Err(fails!("cannot read {side_name}: {e}")),
        }
    })
}

/// Checks an export's bytes; `proof` gives the proof file (its name and bytes) when the
/// export does not embed one.
pub fn check_bytes(
    name: &str,
    bytes: &[u8],
    pinned: Option<&VerifierKey>,
    proof: impl FnOnce(Format) -> Result<(String, Vec<u8>), VerifyError>,
) -> Result<Verified, VerifyError> {
    // A download asked for with `proof=trailer` carries its proof after the rows.
    let (bytes, trailer) = split_trailer(bytes);
    let (format, shown, embedded) = read_export(bytes)
        .ok_or_else(|| fails!("{name} is not a trailscope export (CSV, JSON, NDJSON or OCSF)"))?;
    let proof_file = match (embedded, trailer) {
        (Some(p), _) => p?,
        (None, Some(text)) => strict::<ProofFile>(text).map_err(|_| {
            fails!(
                "the proof at the end of {name} is not a whole proof: it is truncated or malformed"
            )
        })?,
        (None, None) => {
            let (side_name, text) = proof(format)?;
            strict::<ProofFile>(&text).map_err(|_| {
                fails!("{side_name} is not a whole proof: it is truncated or malformed")
            })?
        }
    };
    let ProofFile { checkpoint, proof } = proof_file;
    if proof.version != 1 {
        return Err(fails!(
            "the proof is of version {}, which this trailscope does not know",
            proof.version
        ));
    }
    if proof.format != format.as_str() {
        return Err(fails!(
            "the proof is for another file: it was made for a {} export and {name} is {}",
            crate::text::inert(&proof.format.chars().take(16).collect::<String>()),
            format.as_str()
        ));
    }
    let (key, how, opened) = open_checkpoint(&checkpoint, &proof, pinned)?;
    check_entries(name, format, &shown, &proof, opened.size, opened.root)?;
    let range = match (proof.first_seq, proof.last_seq) {
        (Some(a), Some(b)) => format!(" (seqs {a} to {b})"),
        _ => String::new(),
    };
    Ok(Verified {
        line: format!(
            "ok: {} entries{range} of tenant {} are in checkpoint {} signed by {} ({how})",
            shown.len(),
            crate::text::inert(&proof.tenant),
            opened.size,
            crate::text::inert(key.as_str())
        ),
    })
}

/// Opens the proof's checkpoint with the pinned key, or else the key it names (`how` says
/// which), and holds every other word of the proof about it to the signed note.
fn open_checkpoint(
    checkpoint: &SignedCheckpoint,
    proof: &ExportProof,
    pinned: Option<&VerifierKey>,
) -> Result<(VerifierKey, &'static str, OpenedCheckpoint), VerifyError> {
    // The signature first: nothing the proof says counts before it.
    let (key, how) = match pinned {
        Some(k) => (k.clone(), "the pinned key"),
        None => (
            VerifierKey::parse(&checkpoint.verifier_key)
                .map_err(|_| fails!("the proof's verifier key is malformed"))?,
            "the key named in the proof, not pinned: pass --key VKEY to hold against the operator",
        ),
    };
    let opened = key
        .open(&checkpoint.checkpoint)
        .map_err(|e| match (&pinned, e) {
            (Some(k), crate::proof::CheckpointError::NotSignedBy(_)) => fails!(
                "the checkpoint is not signed by the pinned key {}",
                crate::text::inert(k.as_str())
            ),
            (_, e) => fails!("the proof's {}", crate::text::inert(&e.to_string())),
        })?;
    // The proof's other words about its checkpoint must be the note's: nothing in the file
    // goes unchecked.
    let named_signs = VerifierKey::parse(&checkpoint.verifier_key)
        .is_ok_and(|k| k.open(&checkpoint.checkpoint).is_ok());
    if !named_signs {
        return Err(fails!(
            "the proof's verifier key is not the key that signed its checkpoint"
        ));
    }
    if checkpoint.size != opened.size
        || crate::proof::decode_hash(&checkpoint.root).ok() != Some(opened.root)
    {
        return Err(fails!(
            "the proof's checkpoint size or root is not what its signed note says"
        ));
    }
    if opened.origin != checkpoint_origin(&proof.tenant) {
        return Err(fails!(
            "the proof is for another log: its checkpoint is of {} but it names tenant {}",
            crate::text::inert(&opened.origin),
            crate::text::inert(&proof.tenant)
        ));
    }
    Ok((key, how, opened))
}

/// Reads a proof's JSON, refusing members it does not know (a renamed member would otherwise
/// fall back to its default unnoticed).
pub(crate) fn strict<T: serde::de::DeserializeOwned + serde::Serialize>(
    text: &[u8],
) -> Result<T, ()> {
    let parsed: T = serde_json::from_slice(text).map_err(|_| ())?;
    let whole: serde_json::Value = serde_json::from_slice(text).map_err(|_| ())?;
    if serde_json::to_value(&parsed).map_err(|_| ())? != whole {
        return Err(());
    }
    Ok(parsed)
}

/// The file and its proof, when `bytes` ends with a [`crate::export::PROOF_TRAILER`] footer
/// (`<proof JSON>\n` + the tag + 16 hex digits of the proof's length + `\n`).
pub fn split_trailer(bytes: &[u8]) -> (&[u8], Option<&[u8]>) {
    use crate::export::{PROOF_FOOTER_LEN, trailer_len};
    let Some(body_end) = bytes.len().checked_sub(PROOF_FOOTER_LEN) else {
        return (bytes, None);
    };
    let proof_len = trailer_len(&bytes[body_end..]).and_then(|n| usize::try_from(n).ok());
    // The proof is one compact JSON object: it starts with `{`, so its stated length cannot
    // take a byte of the file along with it.
    match proof_len.and_then(|n| body_end.checked_sub(n)) {
        Some(start) if bytes.get(start) == Some(&b'{') => {
            (&bytes[..start], Some(&bytes[start..body_end]))
        }
        _ => (bytes, None),
    }
}

/// Compares the file's entries with the proof's list, recomputes each one's hash and rebuilds
/// the signed root.
fn check_entries(
    name: &str,
    format: Format,
    shown: &[Shown],
    proof: &ExportProof,
    size: u64,
    root: crate::proof::Hash,
) -> Result<(), VerifyError> {
    check_same_entries(name, shown, proof)?;
    let (Some(first), Some(last)) = (proof.first_seq, proof.last_seq) else {
        return Ok(());
    };
    let hashes = base64::engine::general_purpose::STANDARD
        .decode(&proof.hashes)
        .map_err(|_| fails!("the proof is malformed: its hashes are not base64"))?;
    let count = last
        .checked_sub(first)
        .and_then(|d| d.checked_add(1))
        .and_then(|c| c.checked_mul(32));
    if count != Some(hashes.len() as u64) {
        return Err(fails!(
            "the proof is malformed: it does not hold one hash per seq from {first} to {last}"
        ));
    }
    let hash_at = |seq: u64| -> Option<String> {
        let i = usize::try_from(seq.checked_sub(first)?).ok()?;
        hashes
            .get(i * 32..i * 32 + 32)
            .map(crate::store::chain::to_hex)
    };
    let items: std::collections::BTreeMap<u64, &crate::model::EntryProof> =
        proof.items.iter().map(|i| (i.seq, i)).collect();
    for s in shown {
        let seq = s.seq.unwrap_or_default();
        let item = items[&seq];
        let prev = if seq == first {
            proof.prev_hash.clone()
        } else {
            hash_at(seq - 1).unwrap_or_default()
        };
        let want = hash_at(seq).unwrap_or_default();
        let fail = |why: &str| fails!("{} (seq {seq}) does not match its proof: {why}", s.place);
        let entry = s.entry.as_ref().map_err(|why| fail(why))?;
        entry_matches(entry, format, item, proof, &prev, &want)
            .map_err(|why| fail(&why.to_string()))?;
    }
    check_root(proof, &hashes, size, root)
}

/// The file's entries are the proof's, each once: none added, none removed (a file with
/// none of them is another file).
fn check_same_entries(name: &str, shown: &[Shown], proof: &ExportProof) -> Result<(), VerifyError> {
    let another = || {
        let range = match (proof.first_seq, proof.last_seq) {
            (Some(a), Some(b)) => format!(" of seqs {a} to {b}"),
            _ => String::new(),
        };
        fails!(
            "the proof is for another file: it proves {} entries{range}, and {name} holds {}",
            proof.entries,
            shown.len()
        )
    };
    if proof.items.len() as u64 != proof.entries {
        return Err(fails!(
            "the proof is malformed: it lists {} entries but says {}",
            proof.items.len(),
            proof.entries
        ));
    }
    let proved: BTreeSet<u64> = proof.items.iter().map(|i| i.seq).collect();
    let mut seen = BTreeSet::new();
    for s in shown {
        let Some(seq) = s.seq else {
            return Err(fails!(
                "{} does not match its proof: it is not a valid entry",
                s.place
            ));
        };
        if !seen.insert(seq) {
            return Err(fails!(
                "{} (seq {seq}) repeats an entry of the file",
                s.place
            ));
        }
    }
    let added = shown
        .iter()
        .find(|s| s.seq.is_some_and(|q| !proved.contains(&q)));
    let missing = proved.difference(&seen).next();
    if (seen.is_disjoint(&proved) && !(seen.is_empty() && proved.is_empty()))
        || (added.is_some() && missing.is_some())
    {
        return Err(another());
    }
    if let Some(s) = added {
        return Err(fails!(
            "{} (seq {}) is not in the proof: the entry was added to the file",
            s.place,
            s.seq.unwrap_or_default()
        ));
    }
    if let Some(missing) = missing {
        return Err(fails!(
            "entry seq {missing}, which the proof lists, is missing from {name}: a row was removed"
        ));
    }
    Ok(())
}

/// The entries' hashes, with the proof's range proof, rebuild the checkpoint's root.
fn check_root(
    proof: &ExportProof,
    hashes: &[u8],
    size: u64,
    root: crate::proof::Hash,
) -> Result<(), VerifyError> {
    let leaves: Vec<crate::proof::Hash> = hashes
        .chunks_exact(32)
        .map(|c| entry_leaf(c.try_into().expect("chunks of 32")))
        .collect();
    let range_proof = proof
        .range_proof
        .iter()
        .map(|h| crate::proof::decode_hash(h))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|_| fails!("the proof is malformed: its range proof is not base64 hashes"))?;
    let rebuilt = range_root(size, proof.first_leaf, &leaves, &range_proof)
        .map_err(|_| fails!("the proof's hashes do not lead to the checkpoint's root: the proof was altered or is for another log"))?;
    if rebuilt != root {
        return Err(fails!(
            "the proof's hashes do not lead to the checkpoint's root: the proof was altered or is for another log"
        ));
    }
    Ok(())
}

/// How an entry as the file shows it differs from what its proof says.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
enum Mismatch {
    #[error("its tenant was changed")]
    Tenant,
    #[error("its hash was changed")]
    Hash,
    #[error("its prev_hash was changed")]
    PrevHash,
    /// A personal field (`name`, `email`, `ip`, `user_agent`).
    #[error("its actor {0} was added or removed")]
    AddedOrRemoved(&'static str),
    #[error("its actor {0} has no salt in the proof and is not a pseudonym")]
    Unsalted(&'static str),
    #[error("the proof's salt is malformed")]
    BadSalt,
    #[error("the proof's salts are malformed")]
    BadSalts,
    #[error("its content was changed")]
    Content,
}

/// Recomputes the hash of `entry` as the file shows it, with what the proof adds.
fn entry_matches(
    entry: &Entry,
    format: Format,
    item: &crate::model::EntryProof,
    proof: &ExportProof,
    prev: &str,
    want: &str,
) -> Result<(), Mismatch> {
    let mut e = entry.clone();
    if format == Format::Csv {
        e.tenant = proof.tenant.clone();
        e.prev_hash = prev.to_string();
        e.idempotency_key = item.idempotency_key.clone();
        if item.personal.contains_key("user_agent") {
            // Not shown in a CSV: its commitment stands in for it; the text is never hashed.
            e.actor.user_agent = Some(String::new());
        }
    } else if e.tenant != proof.tenant {
        return Err(Mismatch::Tenant);
    }
    if e.hash != want {
        return Err(Mismatch::Hash);
    }
    if e.prev_hash != prev {
        return Err(Mismatch::PrevHash);
    }
    let mut commitments = Commitments::new();
    let a = &e.actor;
    for (field, text) in [
        ("name", &a.name),
        ("email", &a.email),
        ("ip", &a.ip),
        ("user_agent", &a.user_agent),
    ] {
        match (text, item.personal.get(field)) {
            (None, None) => {}
            (Some(_), None) | (None, Some(_)) => {
                return Err(Mismatch::AddedOrRemoved(field));
            }
            (Some(text), Some(fp)) => {
                let c = match (&fp.s, &fp.c) {
                    (Some(salt), None) => {
                        let salt = hex::decode(salt).map_err(|_| Mismatch::BadSalt)?;
                        commit(&salt, text)
                    }
                    (None, Some(c)) => {
                        // A shown field without its salt must hold a pseudonym: the salt was
                        // destroyed, so no other text can be slipped in.
                        let hidden = format == Format::Csv && field == "user_agent";
                        if !hidden && !crate::model::is_pseudonym(text) {
                            return Err(Mismatch::Unsalted(field));
                        }
                        c.clone()
                    }
                    _ => return Err(Mismatch::BadSalts),
                };
                commitments.insert(field.to_string(), Commitment { c, s: None });
            }
        }
    }
    if entry_hash(&e, &commitments) != want {
        return Err(Mismatch::Content);
    }
    Ok(())
}
