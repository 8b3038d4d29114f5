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
    assert_eq!(c1.verifier_key, key.verifier_for("acme").to_string());
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

/// The signer's memory (issue 23): a tree that does not extend the checkpoint it remembers is
/// never signed, and `verify` holds the tree to it; `verify` with a key on a log that has
/// entries but no checkpoint fails.
pub async fn the_signer_refuses_a_tree_that_does_not_extend_its_memory(db: &Database) {
    use trailscope::store::checkpoint::Remembered;
    use trailscope::store::signer::Signer;
    let s = db.store.as_ref();
    let b = base(Utc::now());
    append(s, "acme", events(0, 5, b)).await;
    let key = SigningKey::generate();
    let v = s.verify("acme", Some(key.verifier())).await.unwrap();
    assert!(!v.ok, "{v:?}");
    assert_eq!(v.reason.as_deref(), Some("unsigned"), "{v:?}");
    assert!(v.problems[0].contains("no checkpoint signed by"), "{v:?}");
    // Without a key nothing is claimed about signatures.
    assert!(s.verify("acme", None).await.unwrap().ok);

    let signer = Signer::ephemeral(key.clone());
    let c5 = signer.checkpoint(s, "acme").await.unwrap();
    assert_eq!(c5.size, 5);
    let r5 = signer.remembered("acme").unwrap();
    assert_eq!(
        (r5.size, trailscope::proof::encode_hash(&r5.root)),
        (5, c5.root.clone())
    );
    // A second replica with the same key, which saw checkpoint 5 only.
    let replica = Signer::ephemeral(key.clone());
    assert_eq!(replica.checkpoint(s, "acme").await.unwrap(), c5);
    append(s, "acme", events(5, 8, b)).await;
    let c8 = signer.checkpoint(s, "acme").await.unwrap();
    assert_eq!(signer.remembered("acme").unwrap().size, 8);
    assert!(signer.alarms().is_empty());
    // It takes the other replica's checkpoint 8 (stored, opens with the key, extends its 5).
    assert_eq!(replica.checkpoint(s, "acme").await.unwrap(), c8);
    assert_eq!(replica.remembered("acme").unwrap().size, 8);
    let root8 = decode_hash(&c8.root).unwrap();

    // What the store answers for memories the tree does not extend.
    let other = entry_leaf(&[9; 32]);
    for (floor, says) in [
        (
            Remembered {
                size: 20,
                root: root8,
            },
            "entries were cut",
        ),
        (
            Remembered {
                size: 8,
                root: other,
            },
            "entries were rewritten",
        ),
        (
            Remembered {
                size: 5,
                root: other,
            },
            "entries were rewritten",
        ),
    ] {
        match s.checkpoint_extending("acme", &key, Some(floor)).await {
            Err(StoreError::Tampered(why)) => assert!(why.contains(says), "{why}"),
            other => panic!("{floor:?} was not refused: {other:?}"),
        }
    }
    // And what it extends is fine.
    let again = s
        .checkpoint_extending("acme", &key, Some(r5))
        .await
        .unwrap();
    assert_eq!(again.checkpoint, c8.checkpoint);

    // verify holds the tree to the memory like to a stored checkpoint.
    let v = s
        .verify_remembered(
            "acme",
            Some(key.verifier()),
            Some(Remembered {
                size: 20,
                root: root8,
            }),
        )
        .await
        .unwrap();
    assert_eq!(v.reason.as_deref(), Some("missing_tail"), "{v:?}");
    assert_eq!(
        (v.first_bad_seq, v.first_bad_checkpoint),
        (Some(9), Some(20)),
        "{v:?}"
    );
    let v = s
        .verify_remembered(
            "acme",
            Some(key.verifier()),
            Some(Remembered {
                size: 8,
                root: other,
            }),
        )
        .await
        .unwrap();
    assert_eq!(v.reason.as_deref(), Some("checkpoint_mismatch"), "{v:?}");
    assert!(v.problems[0].contains("remembered by the signer"), "{v:?}");
    let v = s
        .verify_remembered("acme", Some(key.verifier()), signer.remembered("acme"))
        .await
        .unwrap();
    assert!(v.ok, "{v:?}");

    // A signer whose state file remembers more than the store holds raises the alarm.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("signer.state");
    let note = key.sign_checkpoint("trailscope/acme", 20, other).unwrap();
    let file = serde_json::json!({"version": 1, "verifier_key": key.verifier().to_string(),
        "logs": {"acme": {"size": 20, "root": trailscope::proof::encode_hash(&other), "checkpoint": note}}});
    std::fs::write(&path, file.to_string()).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
    }
    let remembering = Signer::open(key.clone(), &path).unwrap();
    let alarms = remembering.check_all(s).await;
    assert!(alarms["acme"].contains("entries were cut"), "{alarms:?}");
    assert!(matches!(
        remembering.checkpoint(s, "acme").await,
        Err(StoreError::Tampered(_))
    ));
    // The memory is not lowered to what the store shows.
    assert_eq!(remembering.remembered("acme").unwrap().size, 20);
}

/// A verify given a watch channel tells how far it got (entries in the chain, then leaves in
/// the tree), never backwards, ending at its total; and stops, leaving nothing open, once nobody
/// holds a receiver: before it began, or half way.
pub async fn verify_tells_its_progress_and_stops_when_nobody_watches(db: &Database) {
    use tokio::sync::watch;
    use trailscope::model::VerifyProgress;
    let s = db.store.clone();
    let b = base(Utc::now() - chrono::Duration::days(5));
    for from in (0..6000).step_by(1000) {
        append(s.as_ref(), "acme", events(from, from + 1000, b)).await;
    }
    let (tx, mut rx) = watch::channel(VerifyProgress::default());
    let seen = tokio::spawn(async move {
        let mut seen = Vec::new();
        while rx.changed().await.is_ok() {
            seen.push(*rx.borrow_and_update());
        }
        seen.push(*rx.borrow());
        seen
    });
    let v = s
        .verify_watched("acme", None, None, Some(tx))
        .await
        .unwrap();
    assert!(v.ok && v.checked == 6000, "{v:?}");
    let seen = seen.await.unwrap();
    assert!(
        seen.windows(2).all(|w| w[0].checked <= w[1].checked),
        "{seen:?}"
    );
    assert!(seen.iter().all(|p| p.checked <= p.total), "{seen:?}");
    assert_eq!(
        seen.last(),
        Some(&VerifyProgress {
            checked: 12_000,
            total: 12_000
        }),
        "6,000 entries in the chain and 6,000 leaves in the tree"
    );

    // Nobody watching from the start: nothing is walked.
    for _ in 0..10 {
        let (tx, rx) = watch::channel(VerifyProgress::default());
        drop(rx);
        let r = s.verify_watched("acme", None, None, Some(tx)).await;
        assert!(matches!(r, Err(StoreError::Abandoned)), "{r:?}");
    }
    // The watcher leaves once the chain's walk has begun: the walk stops at its next chunk.
    for _ in 0..3 {
        let (tx, mut rx) = watch::channel(VerifyProgress::default());
        let store = s.clone();
        let walk =
            tokio::spawn(async move { store.verify_watched("acme", None, None, Some(tx)).await });
        rx.wait_for(|p| p.checked > 0).await.unwrap();
        drop(rx);
        let r = walk.await.unwrap();
        assert!(matches!(r, Err(StoreError::Abandoned)), "{r:?}");
    }
    // Every connection those walks held is back, outside any transaction: more writes than the
    // pool has connections succeed, and a verify after them is whole.
    for from in (6000..6016).step_by(2) {
        append(s.as_ref(), "acme", events(from, from + 2, b)).await;
    }
    let v = s.verify("acme", None).await.unwrap();
    assert!(v.ok && v.checked == 6016, "{v:?}");
}
