//! Appends: seqs, the hash chain, the Merkle tree, idempotency keys, tenants.

use crate::backend::Database;
use crate::fixtures::{append, base, by_seq, event, events};
use chrono::Utc;
use std::collections::BTreeSet;
use trailscope::model::{FacetField, NewEvent, Query};
use trailscope::proof::{SigningKey, check_inclusion, decode_hash, entry_leaf};
use trailscope::store::chain::GENESIS;

/// Batches get consecutive seqs from 1, each entry's `prev_hash` is the hash before it (the
/// first's is the genesis), the acknowledgements are what is stored, and the tree holds a leaf
/// per entry: a checkpoint covers them all and proves any one of them.
pub async fn appends_chain_seqs_and_tree(db: &Database) {
    let s = db.store.as_ref();
    let b = base(Utc::now());
    let mut acked = Vec::new();
    for (from, to) in [(0, 1), (1, 40), (40, 41), (41, 75)] {
        let a = append(s, "acme", events(from, to, b)).await;
        assert_eq!(a.len(), to - from, "one acknowledgement per event");
        acked.extend(a);
    }
    let seqs: Vec<u64> = acked.iter().map(|a| a.seq).collect();
    assert_eq!(
        seqs,
        (1..=75).collect::<Vec<u64>>(),
        "gapless from 1, in input order"
    );
    let stored = by_seq(s, "acme").await;
    assert_eq!(stored.len(), 75);
    let mut prev = GENESIS.to_string();
    for (e, a) in stored.iter().zip(&acked) {
        assert_eq!(
            (e.id.as_str(), e.seq, e.hash.as_str()),
            (a.id.as_str(), a.seq, a.hash.as_str())
        );
        assert_eq!(
            e.prev_hash, prev,
            "seq {} links to the hash before it",
            e.seq
        );
        assert_eq!(e.hash.len(), 64);
        prev = e.hash.clone();
    }
    // What was sent is what is stored.
    let sent = event(7, b);
    let e = &stored[7];
    assert_eq!(e.action, sent.action);
    assert_eq!(e.description, sent.description);
    assert_eq!(e.actor, sent.actor.clone().unwrap());
    assert_eq!(e.target, sent.target);
    assert_eq!(Some(e.occurred_at), sent.occurred_at);
    let head = s.head_at("acme", None).await.unwrap().expect("a head");
    assert_eq!((head.seq, head.hash.as_str()), (75, prev.as_str()));
    // The tree: one leaf per entry, each provable against a signed root.
    let key = SigningKey::generate();
    let cp = s.checkpoint("acme", &key).await.unwrap();
    assert_eq!(cp.size, 75);
    let root = decode_hash(&cp.root).unwrap();
    for e in [&stored[0], &stored[37], &stored[74]] {
        let p = s.inclusion_proof("acme", e.seq, cp.size).await.unwrap();
        let path: Vec<_> = p.proof.iter().map(|h| decode_hash(h).unwrap()).collect();
        let bytes: [u8; 32] = hex::decode(&e.hash).unwrap().try_into().unwrap();
        check_inclusion(&path, cp.size, root, p.leaf_index, entry_leaf(&bytes))
            .unwrap_or_else(|err| panic!("seq {} is not proved in the tree: {err}", e.seq));
    }
}

/// An idempotency key seen before (in an earlier batch or the same one) returns the first
/// append's id, seq and hash, and stores nothing new.
pub async fn idempotency_keys_return_the_first_append(db: &Database) {
    let s = db.store.as_ref();
    let b = base(Utc::now());
    let keyed = |i: usize, key: &str| NewEvent {
        idempotency_key: Some(key.into()),
        ..event(i, b)
    };
    let first = append(s, "acme", vec![keyed(0, "k-1"), keyed(1, "k-2")]).await;
    let again = append(
        s,
        "acme",
        vec![keyed(2, "k-3"), keyed(0, "k-1"), keyed(3, "k-3")],
    )
    .await;
    let existing = |a: &trailscope::model::Appended| trailscope::model::Appended {
        existing: true,
        ..a.clone()
    };
    assert!(!first[0].existing && !again[0].existing, "new entries");
    assert_eq!(
        again[1],
        existing(&first[0]),
        "an earlier batch's key returns its entry, marked as existing"
    );
    assert_eq!(
        again[2],
        existing(&again[0]),
        "a key twice in one batch is stored once"
    );
    assert_eq!(again[0].seq, 3);
    let stored = by_seq(s, "acme").await;
    assert_eq!(stored.len(), 3, "three distinct keys, three entries");
    assert_eq!(
        stored
            .iter()
            .map(|e| e.idempotency_key.clone().unwrap())
            .collect::<Vec<_>>(),
        ["k-1", "k-2", "k-3"]
    );
    // Keys are per tenant: another tenant's "k-1" is its own entry.
    let other = append(s, "globex", vec![keyed(0, "k-1")]).await;
    assert_eq!(other[0].seq, 1);
    assert_ne!(other[0].id, first[0].id);
}

/// Nothing of tenant A can be read through tenant B: pages, lookups by id and seq, streams,
/// facets, stats, heads, proofs; each tenant has its own chain from seq 1.
pub async fn tenants_are_isolated(db: &Database) {
    let s = db.store.as_ref();
    let now = Utc::now();
    let b = base(now);
    let a = append(s, "acme", events(0, 30, b)).await;
    let g = append(s, "globex", events(30, 35, b)).await;
    assert_eq!(g[0].seq, 1, "each tenant's chain starts at 1");
    let q = Query::default();
    let globex = crate::fixtures::all(s, "globex", &q, now).await;
    assert_eq!(globex.len(), 5);
    assert!(globex.iter().all(|e| e.tenant == "globex"));
    let acme_ids: BTreeSet<_> = a.iter().map(|x| x.id.clone()).collect();
    assert!(globex.iter().all(|e| !acme_ids.contains(&e.id)));
    assert_eq!(
        s.get("globex", &a[0].id).await.unwrap(),
        None,
        "another tenant's id is not found"
    );
    assert!(s.get("acme", &a[0].id).await.unwrap().is_some());
    assert_eq!(
        s.get_seq("globex", 20).await.unwrap(),
        None,
        "seq 20 exists only in acme"
    );
    let after = s.after_seq("globex", &q, 0, 100, now).await.unwrap();
    assert_eq!(after.len(), 5);
    let stats = s.stats("globex", &q, 10, now).await.unwrap();
    assert_eq!(stats.total, 5);
    let facets = s
        .facets("globex", FacetField::Action, &q, 50, now)
        .await
        .unwrap();
    assert_eq!(facets.values.iter().map(|v| v.count).sum::<u64>(), 5);
    assert_eq!(s.head_at("globex", None).await.unwrap().unwrap().seq, 5);
    assert_eq!(
        s.head_at("initech", None).await.unwrap(),
        None,
        "a tenant without entries has no head"
    );
    assert!(
        s.inclusion_proof("globex", 20, 30).await.is_err(),
        "no proof of acme's size in globex's tree"
    );
    let mut tenants = s.tenants().await.unwrap();
    tenants.sort();
    assert_eq!(tenants, ["acme", "globex"]);
    let v = s.verify("globex", None).await.unwrap();
    assert!(v.ok, "{v:?}");
    assert_eq!(v.checked, 5);
}
