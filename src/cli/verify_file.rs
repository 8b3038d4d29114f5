//! `trailscope verify-file FILE [--key VKEY]`: checks an export against its proof with no
//! network (API.md "Exports prove themselves offline").
//!
//! It detects the format, reads the proof (a JSON export's `checkpoint` and `proof` members, or
//! `<FILE>.proof.json` beside a CSV or NDJSON file), checks the checkpoint's signature (with the
//! pinned `--key`, else the key the proof names, and says which), recomputes every entry's hash
//! from what the file shows plus the proof's salts or commitments, and rebuilds the signed root
//! from the range's hashes and the range proof. The first entry that does not match is named
//! by its line (CSV, NDJSON) or its place in the document (JSON), and its seq.

use crate::cli::tui::UsageError;
use crate::export::{CSV_COLUMNS, Format};
use crate::model::{
    Actor, ActorType, Details, Entry, ExportProof, Kind, Outcome, ProofFile, SignedCheckpoint,
    Target, format_ts, parse_ts,
};
use crate::proof::{VerifierKey, checkpoint_origin, entry_leaf, range_root};
use crate::store::chain::{Commitment, Commitments, commit, entry_hash};
use anyhow::anyhow;
use base64::Engine;
use std::collections::BTreeSet;
use std::path::Path;

/// One entry as the file shows it, with where it is.
struct Shown {
    /// `line 7` or `entry 3`.
    place: String,
    /// The entry, or why it could not be read as one.
    entry: Result<Entry, String>,
    /// The seq the file gives, even when the rest could not be read.
    seq: Option<u64>,
    /// For a CSV row with cells read as guarded against formulas (a leading `'` removed), the
    /// row read literally instead: text that itself began with `'` reads the same.
    literal: Option<Result<Entry, String>>,
}

/// What verify-file found, as one line for a person.
pub struct Verified {
    pub line: String,
}

/// `trailscope verify-file`.
pub fn verify_file(file: &Path, key: Option<&str>) -> anyhow::Result<()> {
    let v = check(file, key)?;
    println!("{}", v.line);
    Ok(())
}

/// The `--key` given: a verifier key, or a file holding one; a usage error when it is neither.
pub fn pinned_key(key: Option<&str>) -> anyhow::Result<Option<VerifierKey>> {
    let Some(text) = key else { return Ok(None) };
    // A key or a file holding one.
    let from_file = Path::new(text)
        .is_file()
        .then(|| std::fs::read_to_string(text).ok())
        .flatten();
    let text = from_file.as_deref().unwrap_or(text);
    VerifierKey::parse(text).map(Some).map_err(|_| {
        UsageError(format!(
            "--key `{}` is not a verifier key (<name>+<8 hex key id>+<base64 key>); `trailscope key show` prints it",
            crate::text::inert(&text.trim().chars().take(80).collect::<String>())
        ))
        .into()
    })
}

/// Checks `file`; `Ok` with the line to print, or the sentence saying what does not hold.
pub fn check(file: &Path, key: Option<&str>) -> anyhow::Result<Verified> {
    let pinned = pinned_key(key)?;
    let name = file.display().to_string();
    let bytes = std::fs::read(file).map_err(|e| UsageError(format!("cannot read {name}: {e}")))?;
    check_bytes(&name, &bytes, pinned.as_ref(), |format| {
        if format == Format::Json {
            return Err(anyhow!(
                "the file has no proof: its `checkpoint` and `proof` members are missing"
            ));
        }
        let side = crate::cli::export::proof_sidecar(file);
        let side_name = side.display().to_string();
        match std::fs::read(&side) {
            Ok(t) => Ok((side_name, t)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                Err(anyhow!("{name} has no proof: {side_name} is missing"))
            }
            Err(e) => Err(anyhow!("cannot read {side_name}: {e}")),
        }
    })
}

/// Checks an export's bytes; `proof` gives the proof file (its name and bytes) when the
/// export does not embed one.
pub fn check_bytes(
    name: &str,
    bytes: &[u8],
    pinned: Option<&VerifierKey>,
    proof: impl FnOnce(Format) -> anyhow::Result<(String, Vec<u8>)>,
) -> anyhow::Result<Verified> {
    let (format, shown, embedded) = read_export(bytes)
        .ok_or_else(|| anyhow!("{name} is not a trailscope export (CSV, JSON or NDJSON)"))?;
    let proof_file = match embedded {
        Some(p) => p?,
        None => {
            let (side_name, text) = proof(format)?;
            serde_json::from_slice::<ProofFile>(&text).map_err(|_| {
                anyhow!("{side_name} is not a whole proof: it is truncated or malformed")
            })?
        }
    };
    let ProofFile { checkpoint, proof } = proof_file;
    if proof.version != 1 {
        return Err(anyhow!(
            "the proof is of version {}, which this trailscope does not know",
            proof.version
        ));
    }
    if proof.format != format.as_str() {
        return Err(anyhow!(
            "the proof is for another file: it was made for a {} export and {name} is {}",
            crate::text::inert(&proof.format.chars().take(16).collect::<String>()),
            format.as_str()
        ));
    }
    // The signature first: nothing the proof says counts before it.
    let (key, how) = match pinned {
        Some(k) => (k.clone(), "the pinned key"),
        None => (
            VerifierKey::parse(&checkpoint.verifier_key)
                .map_err(|_| anyhow!("the proof's verifier key is malformed"))?,
            "the key named in the proof, not pinned: pass --key VKEY to hold against the operator",
        ),
    };
    let opened = key
        .open(&checkpoint.checkpoint)
        .map_err(|e| match (&pinned, e) {
            (Some(k), crate::proof::CheckpointError::NotSignedBy(_)) => anyhow!(
                "the checkpoint is not signed by the pinned key {}",
                crate::text::inert(k.as_str())
            ),
            (_, e) => anyhow!("the proof's {}", crate::text::inert(&e.to_string())),
        })?;
    if opened.origin != checkpoint_origin(&proof.tenant) {
        return Err(anyhow!(
            "the proof is for another log: its checkpoint is of {} but it names tenant {}",
            crate::text::inert(&opened.origin),
            crate::text::inert(&proof.tenant)
        ));
    }
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

type Embedded = Option<anyhow::Result<ProofFile>>;

/// Detects the format and reads the entries; `None` when the bytes are no export at all.
fn read_export(bytes: &[u8]) -> Option<(Format, Vec<Shown>, Embedded)> {
    let text = std::str::from_utf8(bytes).ok()?;
    let body = text.strip_prefix('\u{feff}').unwrap_or(text);
    if body.starts_with("id,seq,") {
        return read_csv(body).map(|s| (Format::Csv, s, None));
    }
    let trimmed = body.trim_start();
    if !trimmed.starts_with('{') {
        return None;
    }
    if let Some(r) = read_json(trimmed) {
        return Some(r);
    }
    read_ndjson(body).map(|s| (Format::Ndjson, s, None))
}

fn seq_of(raw: &serde_json::value::RawValue) -> Option<u64> {
    #[derive(serde::Deserialize)]
    struct SeqOnly {
        seq: u64,
    }
    serde_json::from_str::<SeqOnly>(raw.get())
        .ok()
        .map(|s| s.seq)
}

fn read_json(text: &str) -> Option<(Format, Vec<Shown>, Embedded)> {
    #[derive(serde::Deserialize)]
    struct Doc<'a> {
        #[serde(borrow)]
        entries: Vec<&'a serde_json::value::RawValue>,
        #[serde(default)]
        checkpoint: Option<&'a serde_json::value::RawValue>,
        #[serde(default)]
        proof: Option<&'a serde_json::value::RawValue>,
    }
    let doc: Doc = serde_json::from_str(text).ok()?;
    let shown = doc
        .entries
        .iter()
        .enumerate()
        .map(|(i, raw)| Shown {
            place: format!("entry {}", i + 1),
            entry: serde_json::from_str::<Entry>(raw.get())
                .map_err(|_| "it is not a valid entry".to_string()),
            seq: seq_of(raw),
            literal: None,
        })
        .collect();
    let embedded = match (doc.checkpoint, doc.proof) {
        (Some(c), Some(p)) => {
            let parsed = serde_json::from_str::<SignedCheckpoint>(c.get())
                .and_then(|checkpoint| {
                    serde_json::from_str::<ExportProof>(p.get())
                        .map(|proof| ProofFile { checkpoint, proof })
                })
                .map_err(|_| anyhow!("the file's proof is malformed"));
            Some(parsed)
        }
        (None, None) => None,
        _ => Some(Err(anyhow!(
            "the file's proof is incomplete: it needs both `checkpoint` and `proof`"
        ))),
    };
    Some((Format::Json, shown, embedded))
}

fn read_ndjson(text: &str) -> Option<Vec<Shown>> {
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let raw: &serde_json::value::RawValue = serde_json::from_str(line).ok()?;
        let seq = seq_of(raw);
        // A line that is not even an object with a seq is not an NDJSON export.
        if seq.is_none() && out.is_empty() {
            return None;
        }
        out.push(Shown {
            place: format!("line {}", i + 1),
            entry: serde_json::from_str::<Entry>(line)
                .map_err(|_| "it is not a valid entry".to_string()),
            seq,
            literal: None,
        });
    }
    Some(out)
}

/// Undoes the CSV export's guard against formulas: a leading `'` before `= + - @ \t \r`.
fn unguard(cell: &str) -> (String, bool) {
    let b = cell.as_bytes();
    if b.len() >= 2 && b[0] == b'\'' && matches!(b[1], b'=' | b'+' | b'-' | b'@' | b'\t' | b'\r') {
        (cell[1..].to_string(), true)
    } else {
        (cell.to_string(), false)
    }
}

fn read_csv(text: &str) -> Option<Vec<Shown>> {
    let mut r = csv::ReaderBuilder::new()
        .has_headers(true)
        .from_reader(text.as_bytes());
    let header = r.headers().ok()?.clone();
    if header.iter().ne(CSV_COLUMNS.iter().copied()) {
        return None;
    }
    let mut out = Vec::new();
    for rec in r.records() {
        let Ok(rec) = rec else {
            out.push(Shown {
                place: format!("line {}", out.len() + 2),
                entry: Err("it is not a valid CSV row".into()),
                seq: None,
                literal: None,
            });
            continue;
        };
        let line = rec.position().map_or(0, |p| p.line());
        let seq = rec.get(1).and_then(|s| s.parse().ok());
        let (entry, unguarded) = csv_entry(&rec, false);
        let literal = unguarded.then(|| csv_entry(&rec, true).0);
        out.push(Shown {
            place: format!("line {line}"),
            entry,
            seq,
            literal,
        });
    }
    Some(out)
}

/// An entry from a CSV row. With `literal`, cells are taken as they stand (the rare text that
/// itself began with `'` and a formula character); the hash decides which reading is true.
fn csv_entry(rec: &csv::StringRecord, literal: bool) -> (Result<Entry, String>, bool) {
    let mut unguarded = false;
    let mut cell = |i: usize| -> String {
        let raw = rec.get(i).unwrap_or("");
        if literal {
            return raw.to_string();
        }
        let (text, was) = unguard(raw);
        unguarded |= was;
        text
    };
    let cells: Vec<String> = (0..CSV_COLUMNS.len()).map(&mut cell).collect();
    let opt = |s: &String| (!s.is_empty()).then(|| s.clone());
    let bad = |what: &str| format!("its {what} cannot be read");
    let entry = (|| -> Result<Entry, String> {
        if rec.len() != CSV_COLUMNS.len() {
            return Err("it does not have the export's columns".into());
        }
        let ts = |s: &str, what: &str| {
            parse_ts(s)
                .filter(|t| format_ts(t) == s)
                .ok_or_else(|| bad(what))
        };
        let target = if cells[14].is_empty() && cells[15].is_empty() {
            None
        } else {
            Some(Target {
                kind: cells[14].clone(),
                id: cells[15].clone(),
                name: opt(&cells[16]),
            })
        };
        // The details cell is guarded whenever it starts like a formula; JSON never starts
        // with `'`, so a leading one is always the guard.
        let details_text = rec.get(17).unwrap_or("");
        let details_text = details_text.strip_prefix('\'').unwrap_or(details_text);
        let details = if details_text.is_empty() {
            None
        } else {
            Some(Details::parse(details_text).map_err(|_| bad("details"))?)
        };
        Ok(Entry {
            id: cells[0].clone(),
            seq: cells[1].parse().map_err(|_| bad("seq"))?,
            tenant: String::new(),
            occurred_at: ts(&cells[2], "occurred_at")?,
            received_at: ts(&cells[3], "received_at")?,
            channel: cells[4].clone(),
            action: cells[5].clone(),
            kind: Kind::parse(&cells[6]).ok_or_else(|| bad("kind"))?,
            outcome: Outcome::parse(&cells[7]).ok_or_else(|| bad("outcome"))?,
            description: opt(&cells[8]),
            actor: Actor {
                kind: ActorType::parse(&cells[9]).ok_or_else(|| bad("actor type"))?,
                id: opt(&cells[10]),
                name: opt(&cells[11]),
                email: opt(&cells[12]),
                ip: opt(&cells[13]),
                user_agent: None,
            },
            target,
            details,
            idempotency_key: None,
            prev_hash: String::new(),
            hash: rec.get(18).unwrap_or("").to_string(),
        })
    })();
    (entry, unguarded)
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
) -> anyhow::Result<()> {
    let another = || {
        let range = match (proof.first_seq, proof.last_seq) {
            (Some(a), Some(b)) => format!(" of seqs {a} to {b}"),
            _ => String::new(),
        };
        anyhow!(
            "the proof is for another file: it proves {} entries{range}, and {name} holds {}",
            proof.entries,
            shown.len()
        )
    };
    if proof.items.len() as u64 != proof.entries {
        return Err(anyhow!(
            "the proof is malformed: it lists {} entries but says {}",
            proof.items.len(),
            proof.entries
        ));
    }
    let proved: BTreeSet<u64> = proof.items.iter().map(|i| i.seq).collect();
    let mut seen = BTreeSet::new();
    for s in shown {
        let Some(seq) = s.seq else {
            return Err(anyhow!(
                "{} does not match its proof: it is not a valid entry",
                s.place
            ));
        };
        if !seen.insert(seq) {
            return Err(anyhow!(
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
        return Err(anyhow!(
            "{} (seq {}) is not in the proof: the entry was added to the file",
            s.place,
            s.seq.unwrap_or_default()
        ));
    }
    if let Some(missing) = missing {
        return Err(anyhow!(
            "entry seq {missing}, which the proof lists, is missing from {name}: a row was removed"
        ));
    }
    let (Some(first), Some(last)) = (proof.first_seq, proof.last_seq) else {
        return Ok(());
    };
    let hashes = base64::engine::general_purpose::STANDARD
        .decode(&proof.hashes)
        .map_err(|_| anyhow!("the proof is malformed: its hashes are not base64"))?;
    let count = last
        .checked_sub(first)
        .and_then(|d| d.checked_add(1))
        .and_then(|c| c.checked_mul(32));
    if count != Some(hashes.len() as u64) {
        return Err(anyhow!(
            "the proof is malformed: it does not hold one hash per seq from {first} to {last}"
        ));
    }
    let hash_at = |seq: u64| -> Option<String> {
        let i = seq.checked_sub(first)? as usize;
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
        let fail = |why: &str| anyhow!("{} (seq {seq}) does not match its proof: {why}", s.place);
        let entry = s.entry.as_ref().map_err(|why| fail(why))?;
        let mut ok = entry_matches(entry, format, item, proof, &prev, &want);
        if let (Err(_), Some(Ok(literal))) = (&ok, &s.literal) {
            // A cell that itself began with `'` and a formula character reads the same as a
            // guarded one; the other reading is tried before calling it changed.
            ok = ok.or_else(|e| {
                entry_matches(literal, format, item, proof, &prev, &want).map_err(|_| e)
            });
        }
        ok.map_err(|why| fail(&why))?;
    }
    let leaves: Vec<crate::proof::Hash> = hashes
        .chunks_exact(32)
        .map(|c| entry_leaf(c.try_into().expect("chunks of 32")))
        .collect();
    let range_proof = proof
        .range_proof
        .iter()
        .map(|h| crate::proof::decode_hash(h))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|_| anyhow!("the proof is malformed: its range proof is not base64 hashes"))?;
    let rebuilt = range_root(size, proof.first_leaf, &leaves, &range_proof)
        .map_err(|_| anyhow!("the proof's hashes do not lead to the checkpoint's root: the proof was altered or is for another log"))?;
    if rebuilt != root {
        return Err(anyhow!(
            "the proof's hashes do not lead to the checkpoint's root: the proof was altered or is for another log"
        ));
    }
    Ok(())
}

/// Recomputes the hash of `entry` as the file shows it, with what the proof adds.
fn entry_matches(
    entry: &Entry,
    format: Format,
    item: &crate::model::EntryProof,
    proof: &ExportProof,
    prev: &str,
    want: &str,
) -> Result<(), String> {
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
        return Err("its tenant was changed".into());
    }
    if e.hash != want {
        return Err("its hash was changed".into());
    }
    if e.prev_hash != prev {
        return Err("its prev_hash was changed".into());
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
                return Err(format!("its actor {field} was added or removed"));
            }
            (Some(text), Some(fp)) => {
                let c = match (&fp.s, &fp.c) {
                    (Some(salt), None) => {
                        let salt = hex::decode(salt)
                            .map_err(|_| "the proof's salt is malformed".to_string())?;
                        commit(&salt, text)
                    }
                    (None, Some(c)) => {
                        // A shown field without its salt must hold a pseudonym: the salt was
                        // destroyed, so no other text can be slipped in.
                        let hidden = format == Format::Csv && field == "user_agent";
                        if !hidden && !crate::model::is_pseudonym(text) {
                            return Err(format!(
                                "its actor {field} has no salt in the proof and is not a pseudonym"
                            ));
                        }
                        c.clone()
                    }
                    _ => return Err("the proof's salts are malformed".into()),
                };
                commitments.insert(field.to_string(), Commitment { c, s: None });
            }
        }
    }
    if entry_hash(&e, &commitments) != want {
        return Err("its content was changed".into());
    }
    Ok(())
}
