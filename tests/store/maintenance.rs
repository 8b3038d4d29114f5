//! Maintenance and administration: retention, prune with an archive, pseudonymisation, tokens,
//! error classes, metrics.

use crate::backend::Database;
use crate::fixtures::{append, base, by_seq, clock_past, events};
use chrono::Utc;
use std::sync::Arc;
use trailscope::model::{Actor, NewEvent, Query};
use trailscope::proof::{SigningKey, check_consistency, decode_hash};
use trailscope::store::archive::verify_archive;
use trailscope::store::{
    ArchiveSink, DirArchive, Identity, NewToken, Role, StoreError, hash_secret,
};

/// A tenant's retention window: none until set, then what was set, per tenant.
pub async fn a_repeat_of_a_pruned_entry_is_stored_anew(db: &Database) {
    let s = db.store.as_ref();
    let b = base(Utc::now());
    let keyed = |k: &str| NewEvent {
        idempotency_key: Some(k.into()),
        ..events(0, 1, b).remove(0)
    };
    let first = append(s, "acme", vec![keyed("k-old")]).await;
    let old_received = s.get_seq("acme", 1).await.unwrap().unwrap().received_at;
    clock_past(old_received).await;
    let kept = append(s, "acme", vec![keyed("k-kept")]).await;
    // Before the prune a repeat is answered with the original, said to be one already there.
    let repeat = |mut a: Vec<trailscope::model::Appended>| {
        assert!(a.iter().all(|x| x.existing), "{a:?}");
        a.iter_mut().for_each(|x| x.existing = false);
        a
    };
    assert_eq!(repeat(append(s, "acme", vec![keyed("k-old")]).await), first);
    let cutoff = s.get_seq("acme", 2).await.unwrap().unwrap().received_at;
    assert_eq!(s.prune("acme", cutoff, None).await.unwrap().removed, 1);
    // The pruned entry's key is free again; the kept one's still answers with its original.
    let again = append(s, "acme", vec![keyed("k-old")]).await;
    assert!(again[0].seq > 2 && again[0].id != first[0].id, "{again:?}");
    assert!(!again[0].existing);
    assert_eq!(repeat(append(s, "acme", vec![keyed("k-kept")]).await), kept);
    assert!(s.verify("acme", None).await.unwrap().ok);
}

pub async fn retention_days_round_trip(db: &Database) {
    let s = db.store.as_ref();
    assert_eq!(s.retention_days("acme").await.unwrap(), None);
    s.set_retention_days("acme", 400).await.unwrap();
    s.set_retention_days("acme", 90).await.unwrap();
    assert_eq!(s.retention_days("acme").await.unwrap(), Some(90));
    assert_eq!(s.retention_days("globex").await.unwrap(), None);
    assert_eq!(s.last_prune("acme").await.unwrap(), None, "never pruned");
}

/// A prune writes what it removes to the archive first (which then verifies on its own), removes
/// exactly the prefix received before the cutoff, keeps the last removed hash as the anchor,
/// records itself as `retention.pruned`, and leaves verify ok and old checkpoints provable.
pub async fn prune_archives_then_removes_a_prefix(db: &Database) {
    let s = db.store.as_ref();
    let b = base(Utc::now());
    let key = SigningKey::generate();
    let old = append(s, "acme", events(0, 25, b)).await;
    let c_old = s.checkpoint("acme", &key).await.unwrap();
    let old_received = s.get_seq("acme", 25).await.unwrap().unwrap().received_at;
    clock_past(old_received).await;
    let kept = append(s, "acme", events(25, 30, b)).await;
    append(s, "globex", events(0, 4, b)).await;
    let cutoff = s.get_seq("acme", 26).await.unwrap().unwrap().received_at;
    assert!(cutoff > old_received);
    let dir = tempfile::tempdir().unwrap();
    let archive: Arc<dyn ArchiveSink> = Arc::new(DirArchive::new(dir.path()));
    let report = s.prune("acme", cutoff, Some(archive)).await.unwrap();
    assert_eq!(report.removed, 25);
    let anchor = report.anchor.clone().expect("an anchor");
    assert_eq!(
        (anchor.seq, anchor.hash.as_str()),
        (25, old[24].hash.as_str())
    );
    // The archive: its own manifest, and the chain inside it, check out offline.
    let manifest =
        std::path::PathBuf::from(report.archive.clone().expect("the archive's manifest"));
    let (m, problems) = verify_archive(&manifest).unwrap();
    assert!(problems.is_empty(), "{problems:?}");
    assert_eq!((m.count, m.first_seq, m.last_seq), (25, 1, 25));
    assert_eq!(m.last_hash, anchor.hash);
    assert_eq!(m.first_prev_hash, trailscope::store::chain::GENESIS);
    // Only the prefix went; the rest and the other tenant are untouched.
    let left = by_seq(s, "acme").await;
    assert_eq!(left.first().map(|e| e.seq), Some(26));
    assert_eq!(
        left[..5].iter().map(|e| e.id.clone()).collect::<Vec<_>>(),
        kept.iter().map(|a| a.id.clone()).collect::<Vec<_>>()
    );
    let record = left.last().unwrap();
    assert_eq!(
        (record.seq, record.action.as_str()),
        (31, "retention.pruned")
    );
    let details = record.details.as_ref().unwrap().to_value();
    assert_eq!(details["removed"], 25);
    assert_eq!(
        s.last_prune("acme").await.unwrap().map(|r| r.removed),
        Some(25)
    );
    assert_eq!(by_seq(s, "globex").await.len(), 4);
    let v = s.verify("acme", Some(key.verifier())).await.unwrap();
    assert!(v.ok, "{v:?}");
    assert_eq!(v.from_seq, Some(26));
    // A checkpoint from before the prune is still a prefix of the tree after it.
    let c_new = s.checkpoint("acme", &key).await.unwrap();
    assert_eq!(c_new.size, 31, "pruned leaves stay in the tree");
    let cons = s
        .consistency_proof("acme", c_old.size, c_new.size)
        .await
        .unwrap();
    let path: Vec<_> = cons.proof.iter().map(|h| decode_hash(h).unwrap()).collect();
    check_consistency(
        &path,
        c_old.size,
        decode_hash(&c_old.root).unwrap(),
        c_new.size,
        decode_hash(&c_new.root).unwrap(),
    )
    .expect("the old checkpoint is still provable");
    // Nothing older than the cutoff is left: pruning again removes nothing.
    let again = s.prune("acme", cutoff, None).await.unwrap();
    assert_eq!(again.removed, 0);
}

/// Pseudonymising a person replaces their name, email, ip and user agent everywhere with one
/// pseudonym, keeps the entries (and verify ok), and records itself without the identity.
pub async fn pseudonymise_keeps_verify_ok(db: &Database) {
    let s = db.store.as_ref();
    let now = Utc::now();
    append(s, "acme", events(0, 60, base(now))).await;
    let key = SigningKey::generate();
    s.checkpoint("acme", &key).await.unwrap();
    let theirs: Query = "actor:u_2".parse().unwrap();
    let before = crate::fixtures::all(s, "acme", &theirs, now).await;
    assert!(before.len() > 5);
    let by = Actor {
        id: Some("dpo".into()),
        ..Actor::system()
    };
    let report = s
        .pseudonymise("acme", &Identity::Email("PERSON2@example.com".into()), &by)
        .await
        .unwrap();
    let pseudonym = report.pseudonym.clone().expect("a pseudonym");
    assert!(pseudonym.starts_with("pseudonym-"), "{pseudonym}");
    assert_eq!(report.entries, before.len() as u64);
    let all = by_seq(s, "acme").await;
    assert_eq!(all.len(), 61, "every entry kept, plus the record");
    for e in &all[..60] {
        let text = serde_json::to_string(e).unwrap();
        assert!(
            !text.contains("Person2@Example.COM") && !text.contains("Alice Example 2\""),
            "seq {} still names the person",
            e.seq
        );
    }
    let changed: Vec<_> = before.iter().map(|e| &all[e.seq as usize - 1]).collect();
    for e in &changed {
        for field in [
            &e.actor.name,
            &e.actor.email,
            &e.actor.ip,
            &e.actor.user_agent,
        ] {
            assert_eq!(field.as_deref(), Some(pseudonym.as_str()), "seq {}", e.seq);
        }
        assert_eq!(
            e.actor.id.as_deref(),
            Some("u_2"),
            "the id is not personal data here"
        );
        assert_eq!(
            e.hash,
            before.iter().find(|b| b.seq == e.seq).unwrap().hash,
            "the hash stays"
        );
    }
    let record = &all[60];
    assert_eq!(record.action, "gdpr.pseudonymised");
    let text = serde_json::to_string(record).unwrap();
    assert!(
        !text.to_lowercase().contains("person2@example.com"),
        "{text}"
    );
    let v = s.verify("acme", Some(key.verifier())).await.unwrap();
    assert!(v.ok, "{v:?}");
    assert_eq!(v.checked, 61);
    let again = s
        .pseudonymise("acme", &Identity::ActorId("nobody".into()), &by)
        .await
        .unwrap();
    assert_eq!((again.pseudonym, again.entries), (None, 0));
}

/// Tokens: created with a hash (never the secret), listed newest first, found by the hash
/// until revoked, revoked once; a bad tenant name is the caller's mistake.
pub async fn tokens_create_list_authenticate_revoke(db: &Database) {
    let s = db.store.as_ref();
    let (w, w_secret) = NewToken::generate(Role::Writer, "acme", Some("producer"));
    let writer = s.create_token(w).await.unwrap();
    assert!(writer.id.starts_with("tok_"));
    assert_eq!(
        (writer.role, writer.tenant.as_str(), writer.name.as_deref()),
        (Role::Writer, "acme", Some("producer"))
    );
    let (a, a_secret) = NewToken::generate(Role::Auditor, "globex", None);
    let auditor = s.create_token(a).await.unwrap();
    let found = s.authenticate(&hash_secret(&w_secret)).await.unwrap();
    assert_eq!(found.as_ref(), Some(&writer));
    assert_eq!(
        s.authenticate(&hash_secret("ts_not-a-token"))
            .await
            .unwrap(),
        None
    );
    let listed = s.list_tokens().await.unwrap();
    assert_eq!(listed.len(), 2);
    assert!(listed.iter().any(|t| t.id == writer.id) && listed.iter().any(|t| t.id == auditor.id));
    assert!(s.revoke_token(&writer.id).await.unwrap());
    assert!(!s.revoke_token(&writer.id).await.unwrap(), "revoked once");
    assert!(!s.revoke_token("tok_000000000000").await.unwrap());
    assert_eq!(
        s.authenticate(&hash_secret(&w_secret)).await.unwrap(),
        None,
        "a revoked token is not found"
    );
    assert!(
        s.authenticate(&hash_secret(&a_secret))
            .await
            .unwrap()
            .is_some()
    );
    let listed = s.list_tokens().await.unwrap();
    let revoked = listed.iter().find(|t| t.id == writer.id).unwrap();
    assert!(revoked.revoked_at.is_some());
    let (bad, _) = NewToken::generate(Role::Admin, "not a tenant!", None);
    let e = s.create_token(bad).await.unwrap_err();
    assert!(matches!(e, StoreError::Invalid(_)), "{e:?}");
}

/// The caller's mistakes are told apart from failures inside: a missing seq or a proof out of
/// range is NotFound/BadRequest/Invalid, never Internal; a closed store says Closed.
pub async fn errors_say_whose_fault_it_is(db: &Database) {
    let s = db.store.as_ref();
    append(s, "acme", events(0, 5, base(Utc::now()))).await;
    assert_eq!(s.get_seq("acme", 99).await.unwrap(), None);
    assert_eq!(
        s.get("acme", "01J0000000000000000000000Z").await.unwrap(),
        None
    );
    let e = s.inclusion_proof("acme", 9, 5).await.unwrap_err();
    assert!(
        !matches!(e, StoreError::Internal(_) | StoreError::Unavailable { .. }),
        "{e:?}"
    );
    assert!(!e.is_unavailable());
    let e = s.consistency_proof("acme", 0, 5).await.unwrap_err();
    assert!(!matches!(e, StoreError::Internal(_)), "{e:?}");
    // An event that occurred more than an hour after now is bad input, refused whole.
    let mut batch = events(5, 7, base(Utc::now()));
    batch[1].occurred_at = Some(Utc::now() + chrono::Duration::minutes(61));
    let e = s.append("acme", batch).await.unwrap_err();
    assert!(
        matches!(&e, StoreError::Invalid(m) if m.contains("more than an hour after")),
        "{e:?}"
    );
    assert_eq!(s.get_seq("acme", 6).await.unwrap(), None);
    let other = db.open_another().await;
    other.close().await;
    let e = other
        .append("acme", events(5, 6, base(Utc::now())))
        .await
        .unwrap_err();
    assert!(matches!(e, StoreError::Closed), "{e:?}");
    // The first store is untouched by the other's closing.
    assert_eq!(
        append(
            s,
            "acme",
            vec![NewEvent {
                action: "still.open".into(),
                ..NewEvent::default()
            }]
        )
        .await[0]
            .seq,
        6
    );
}

/// The metrics snapshot counts entries and commits, and its histogram adds up.
pub async fn metrics_count_appends(db: &Database) {
    let s = db.store.as_ref();
    let before = s.metrics();
    append(s, "acme", events(0, 10, base(Utc::now()))).await;
    append(s, "acme", events(10, 11, base(Utc::now()))).await;
    let after = s.metrics();
    assert_eq!(after.entries - before.entries, 11);
    assert!(after.commits - before.commits >= 1 && after.commits - before.commits <= 2);
    assert_eq!(after.commit_size_buckets.iter().sum::<u64>(), after.commits);
    assert_eq!(after.commit_size_sum, after.entries);
}
