//! Integrity: verify, signed checkpoints, inclusion and consistency proofs, export proofs.

use crate::backend::Database;
use crate::fixtures::{append, base, by_seq, events};
use chrono::Utc;
use trailscope::export::{Exporter, Format};
use trailscope::proof::{SigningKey, check_consistency, check_inclusion, decode_hash, entry_leaf};
use trailscope::store::StoreError;

/// A clean store verifies: every entry checked, the head named, no bad seq, no problem; with a
/// checkpoint signed, verify checks its signature with the key given, and a wrong key is caught.
pub async fn verify_finds_nothing_on_a_clean_store(db: &Database) {
    let s = db.store.as_ref();
    let b = base(Utc::now());
    append(s, "acme", events(0, 50, b)).await;
    append(s, "globex", events(0, 3, b)).await;
    let v = s.verify("acme", None).await.unwrap();
    assert!(v.ok, "{v:?}");
    assert_eq!(v.checked, 50);
    assert_eq!(v.tree_size, 50);
    assert_eq!((v.first_bad_seq, v.reason.as_deref()), (None, None));
    assert!(v.problems.is_empty(), "{:?}", v.problems);
    let head = s.head_at("acme", None).await.unwrap().unwrap();
    assert_eq!(v.head.as_ref(), Some(&head));
    let key = SigningKey::generate();
    s.checkpoint("acme", &key).await.unwrap();
    let v = s.verify("acme", Some(key.verifier())).await.unwrap();
    assert!(v.ok && v.checkpoints == 1, "{v:?}");
    let stranger = SigningKey::generate();
    let v = s.verify("acme", Some(stranger.verifier())).await.unwrap();
    assert!(
        !v.ok,
        "a checkpoint not signed by the given key must not verify"
    );
    assert_eq!(v.reason.as_deref(), Some("bad_signature"), "{v:?}");
    assert!(
        s.schema_tampering().await.unwrap().is_empty(),
        "the store's guards are in place"
    );
}

fn hash_of(hex_hash: &str) -> trailscope::proof::Hash {
    let bytes: [u8; 32] = hex::decode(hex_hash).unwrap().try_into().unwrap();
    entry_leaf(&bytes)
}

/// Checkpoints are signed notes over the tree; asking again without growth gives the same note;
/// inclusion and consistency proofs verify against their roots; out-of-range asks are refused.
pub async fn checkpoints_and_their_proofs_verify(db: &Database) {
    let s = db.store.as_ref();
    let b = base(Utc::now());
    let key = SigningKey::generate();
    append(s, "acme", events(0, 20, b)).await;
    let c1 = s.checkpoint("acme", &key).await.unwrap();
    let opened = key
        .verifier()
        .open(&c1.checkpoint)
        .expect("the note opens with the key");
    assert_eq!(
        (opened.size, trailscope::proof::encode_hash(&opened.root)),
        (20, c1.root.clone())
    );
    assert_eq!(opened.origin, trailscope::proof::checkpoint_origin("acme"));
    assert_eq!(c1.verifier_key, key.verifier().to_string());
    let again = s.checkpoint("acme", &key).await.unwrap();
    assert_eq!(again, c1, "no growth, no new signature");
    append(s, "acme", events(20, 33, b)).await;
    let c2 = s.checkpoint("acme", &key).await.unwrap();
    assert_eq!(c2.size, 33);
    let (r1, r2) = (
        decode_hash(&c1.root).unwrap(),
        decode_hash(&c2.root).unwrap(),
    );
    let cons = s.consistency_proof("acme", 20, 33).await.unwrap();
    assert_eq!((cons.from, cons.to), (20, 33));
    let path: Vec<_> = cons.proof.iter().map(|h| decode_hash(h).unwrap()).collect();
    check_consistency(&path, 20, r1, 33, r2).expect("tree 20 is a prefix of tree 33");
    assert!(
        check_consistency(&path, 20, r2, 33, r2).is_err(),
        "the proof holds only for the real old root"
    );
    let entries = by_seq(s, "acme").await;
    for seq in [1u64, 20, 25, 33] {
        let p = s.inclusion_proof("acme", seq, 33).await.unwrap();
        assert_eq!((p.seq, p.size, p.leaf_index), (seq, 33, seq - 1));
        let path: Vec<_> = p.proof.iter().map(|h| decode_hash(h).unwrap()).collect();
        let leaf = hash_of(&entries[seq as usize - 1].hash);
        check_inclusion(&path, 33, r2, p.leaf_index, leaf).expect("the entry is in the tree");
        assert!(check_inclusion(&path, 33, r1, p.leaf_index, leaf).is_err());
    }
    for (what, r) in [
        (
            "a seq past the size",
            s.inclusion_proof("acme", 34, 33).await.err(),
        ),
        (
            "a size past the tree",
            s.inclusion_proof("acme", 3, 40).await.err(),
        ),
    ] {
        let e = r.unwrap_or_else(|| panic!("{what} is refused"));
        assert!(
            matches!(e, StoreError::BadRequest(_) | StoreError::NotFound(_)),
            "{what}: the caller's mistake, not a failure: {e:?}"
        );
    }
    let e = s.consistency_proof("acme", 20, 50).await.unwrap_err();
    assert!(
        matches!(e, StoreError::BadRequest(_) | StoreError::NotFound(_)),
        "{e:?}"
    );
}

/// An export's proof, embedded in a JSON export of some of the entries, verifies offline with
/// the pinned key (as `trailscope verify-file` does); an edited entry does not.
pub async fn export_proof_verifies_offline(db: &Database) {
    let s = db.store.as_ref();
    let now = Utc::now();
    let b = base(now);
    let key = SigningKey::generate();
    append(s, "acme", events(0, 40, b)).await;
    let q: trailscope::model::Query = "channel:auth".parse().unwrap();
    let chosen = crate::fixtures::all(s, "acme", &q, now).await;
    let seqs: Vec<u64> = chosen.iter().map(|e| e.seq).collect();
    assert_eq!(seqs.len(), 14);
    let mut proof = s.export_proof("acme", &seqs, true, &key).await.unwrap();
    assert_eq!(proof.proof.entries, 14);
    assert_eq!(
        (proof.proof.first_seq, proof.proof.last_seq),
        (Some(1), Some(40))
    );
    proof.proof.format = Format::Json.as_str().to_string();
    let file = |entries: &[trailscope::model::Entry]| {
        let mut x =
            Exporter::begin(Format::Json, Vec::new(), &now, &serde_json::json!({})).unwrap();
        for e in entries {
            x.entry(e).unwrap();
        }
        x.finish_with_proof(Some(&proof), false).unwrap().0
    };
    let no_sidecar = |_| {
        Err(trailscope::export::verify::VerifyError::Usage(
            "the proof is embedded".into(),
        ))
    };
    let ok = trailscope::export::verify::check_bytes(
        "x.json",
        &file(&chosen),
        Some(key.verifier()),
        no_sidecar,
    )
    .expect("the export verifies");
    assert!(ok.line.starts_with("ok: 14 entries"), "{}", ok.line);
    let mut edited = chosen.clone();
    edited[3].description = Some("nothing happened".into());
    let bad = trailscope::export::verify::check_bytes(
        "x.json",
        &file(&edited),
        Some(key.verifier()),
        no_sidecar,
    );
    assert!(bad.is_err(), "an edited entry must not verify");
    // The same entries get the same proof while the checkpoint covering them stands.
    append(s, "acme", events(40, 45, b)).await;
    let mut later = s.export_proof("acme", &seqs, true, &key).await.unwrap();
    later.proof.format = proof.proof.format.clone();
    assert_eq!(later, proof, "the earliest covering checkpoint is reused");
}
