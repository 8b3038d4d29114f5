//! Signed checkpoints and Merkle proofs over the real server and the real SQLite file.

use crate::common;
use common::TestServer;
use serde_json::{Value, json};
use trailscope::proof::{self, Hash, VerifierKey};

async fn post_n(s: &TestServer, n: usize, tag: &str) {
    let batch: Vec<Value> = (0..n)
        .map(|i| json!({"action": "doc.updated", "description": format!("{tag} {i}"),
                        "actor": {"type": "user", "id": format!("u_{i}"), "name": format!("Person {i}")}}))
        .collect();
    assert_eq!(s.post(&s.writer, Value::Array(batch)).await.0, 201);
}

fn hash(v: &Value) -> Hash {
    proof::decode_hash(v.as_str().unwrap()).unwrap()
}

fn hashes(v: &Value) -> Vec<Hash> {
    v.as_array().unwrap().iter().map(hash).collect()
}

/// An entry's leaf hash, from its hex `hash`.
fn leaf_of(entry: &Value) -> Hash {
    let bytes: [u8; 32] = hex::decode(entry["hash"].as_str().unwrap())
        .unwrap()
        .try_into()
        .unwrap();
    proof::entry_leaf(&bytes)
}

#[tokio::test(flavor = "multi_thread")]
async fn a_checkpoint_is_signed_kept_and_only_renewed_when_the_tree_grew() {
    let s = TestServer::start().await;
    post_n(&s, 10, "first").await;
    let (st, c1) = s.get(&s.auditor, "/v1/checkpoint").await;
    assert_eq!(st, 200, "{c1}");
    assert_eq!(c1["size"], 10);
    // Named by the log's origin (C2SP tlog-checkpoint), the same Ed25519 key.
    assert_eq!(c1["verifier_key"], s.key.verifier_for("acme").as_str());
    assert!(
        c1["checkpoint"]
            .as_str()
            .unwrap()
            .contains("\n— trailscope/acme ")
    );
    let vkey = VerifierKey::parse(c1["verifier_key"].as_str().unwrap()).unwrap();
    let opened = vkey.open(c1["checkpoint"].as_str().unwrap()).unwrap();
    assert_eq!(opened.origin, "trailscope/acme");
    assert_eq!(opened.size, 10);
    assert_eq!(opened.root, hash(&c1["root"]));
    // Nothing new: the same signed note, not a new one.
    let (_, again) = s.get(&s.auditor, "/v1/checkpoint").await;
    assert_eq!(again, c1);
    post_n(&s, 7, "second").await;
    let (_, c2) = s.get(&s.admin, "/v1/checkpoint").await;
    assert_eq!(c2["size"], 17);
    // Each is kept: the consistency proof between them checks against both signed roots.
    let (st, p) = s
        .get(&s.auditor, "/v1/proof/consistency?from=10&to=17")
        .await;
    assert_eq!(st, 200, "{p}");
    assert_eq!((p["from"].clone(), p["to"].clone()), (json!(10), json!(17)));
    proof::check_consistency(
        &hashes(&p["proof"]),
        10,
        hash(&c1["root"]),
        17,
        hash(&c2["root"]),
    )
    .unwrap();
    if !s.sqlite_only("counts and deletes checkpoints in the SQLite file") {
        let stored: i64 = rusqlite::Connection::open(&s.db)
            .unwrap()
            .query_row("SELECT count(*) FROM checkpoints", [], |r| r.get(0))
            .unwrap();
        assert_eq!(stored, 2);
        // The writer may not: the checkpoints are append-only in the database too.
        let e = rusqlite::Connection::open(&s.db)
            .unwrap()
            .execute("DELETE FROM checkpoints", [])
            .unwrap_err();
        assert!(e.to_string().contains("append-only"), "{e}");
    }
    let (_, v) = s.get(&s.auditor, "/v1/verify").await;
    assert_eq!(v["ok"], true, "{v}");
    assert_eq!(v["checkpoints"], 2);
    assert_eq!(v["tree_size"], 17);
    assert_eq!(v["verifier_key"], s.key.verifier_for("acme").as_str());
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn every_entry_has_an_inclusion_proof_against_the_signed_root() {
    let s = TestServer::start().await;
    post_n(&s, 37, "x").await;
    let (_, c) = s.get(&s.auditor, "/v1/checkpoint").await;
    let root = hash(&c["root"]);
    for seq in 1..=37u64 {
        let (st, e) = s.get(&s.auditor, &format!("/v1/events/{seq}")).await;
        assert_eq!(st, 200, "{e}");
        assert_eq!(e["seq"], seq);
        let (st, p) = s
            .get(
                &s.auditor,
                &format!("/v1/proof/inclusion?seq={seq}&size=37"),
            )
            .await;
        assert_eq!(st, 200, "{p}");
        assert_eq!(p["leaf_index"], seq - 1);
        proof::check_inclusion(&hashes(&p["proof"]), 37, root, seq - 1, leaf_of(&e)).unwrap();
        // Another entry's leaf does not pass with this proof.
        let (_, other) = s
            .get(&s.auditor, &format!("/v1/events/{}", seq % 37 + 1))
            .await;
        assert!(
            proof::check_inclusion(&hashes(&p["proof"]), 37, root, seq - 1, leaf_of(&other))
                .is_err()
        );
    }
    // A proof at an earlier size checks against the root a consistency proof ties to the newest.
    let (_, p) = s.get(&s.auditor, "/v1/proof/inclusion?seq=3&size=5").await;
    assert_eq!(p["size"], 5);
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_or_out_of_range_proof_requests_get_a_json_error() {
    let s = TestServer::start().await;
    post_n(&s, 5, "x").await;
    let cases = [
        ("/v1/proof/inclusion?seq=6&size=5", 422),
        ("/v1/proof/inclusion?seq=1&size=6", 404),
        ("/v1/proof/inclusion?seq=1&size=99999999999", 404),
        ("/v1/proof/inclusion?seq=0&size=5", 422),
        ("/v1/proof/inclusion?seq=1", 422),
        ("/v1/proof/inclusion?seq=x&size=5", 422),
        ("/v1/proof/inclusion?seq=1&size=18446744073709551616", 422),
        ("/v1/proof/inclusion?seq=1&size=5&extra=1", 422),
        ("/v1/proof/consistency?from=3&to=2", 422),
        ("/v1/proof/consistency?from=0&to=2", 422),
        ("/v1/proof/consistency?from=2&to=6", 404),
        ("/v1/proof/consistency?from=-1&to=2", 422),
        ("/v1/checkpoint?size=3", 422),
        ("/v1/events/99", 404),
        ("/v1/events/99999999999999999999999", 404),
        ("/v1/verify?key=not-a-key", 422),
        ("/v1/verify?other=1", 422),
    ];
    for (path, status) in cases {
        let (st, body) = s.get(&s.auditor, path).await;
        assert_eq!(st, status, "{path}: {body}");
        let msg = body["error"]["message"].as_str().unwrap_or_default();
        assert!(!msg.is_empty(), "{path}: {body}");
    }
    // The writer role reads no proofs.
    let (st, _) = s.get(&s.writer, "/v1/checkpoint").await;
    assert_eq!(st, 403);
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn verify_with_another_key_names_every_checkpoint_it_cannot_trust() {
    let s = TestServer::start().await;
    post_n(&s, 4, "x").await;
    s.get(&s.auditor, "/v1/checkpoint").await;
    let other = proof::SigningKey::generate();
    let path = format!("/v1/verify?key={}", urlencode(other.verifier().as_str()));
    let (st, v) = s.get(&s.auditor, &path).await;
    assert_eq!(st, 200, "{v}");
    assert_eq!(v["ok"], false, "{v}");
    assert_eq!(v["reason"], "bad_signature", "{v}");
    assert_eq!(v["first_bad_checkpoint"], 4, "{v}");
    // The right key, pinned by the caller: intact.
    let path = format!("/v1/verify?key={}", urlencode(s.key.verifier().as_str()));
    assert_eq!(s.get(&s.auditor, &path).await.1["ok"], true);
    s.stop().await;
}

fn urlencode(s: &str) -> String {
    form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn old_checkpoints_stay_provable_after_a_prune() {
    let s = TestServer::start().await;
    post_n(&s, 12, "old").await;
    let (_, c1) = s.get(&s.auditor, "/v1/checkpoint").await;
    let cutoff = s.boundary_after_newest().await;
    post_n(&s, 3, "new").await;
    let store = s.store.clone();
    let report = store.prune("acme", cutoff, None).await.unwrap();
    assert_eq!(report.removed, 12);
    let (_, c2) = s.get(&s.auditor, "/v1/checkpoint").await;
    assert_eq!(c2["size"], 16, "12 pruned + 3 new + the prune's own entry");
    let (_, p) = s
        .get(&s.auditor, "/v1/proof/consistency?from=12&to=16")
        .await;
    proof::check_consistency(
        &hashes(&p["proof"]),
        12,
        hash(&c1["root"]),
        16,
        hash(&c2["root"]),
    )
    .unwrap();
    // A pruned entry's leaf is still in the tree.
    let (st, _) = s.get(&s.auditor, "/v1/proof/inclusion?seq=3&size=16").await;
    assert_eq!(st, 200);
    let (_, v) = s.get(&s.auditor, "/v1/verify").await;
    assert_eq!(v["ok"], true, "{v}");
    assert_eq!(v["from_seq"], 13);
    assert_eq!(v["checkpoints"], 2);
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_database_from_before_the_tree_gets_one_on_open() {
    let mut s = TestServer::start().await;
    if s.sqlite_only("reopens a SQLite file from before the tree") {
        return;
    }
    post_n(&s, 30, "x").await;
    let (_, before) = s.get(&s.auditor, "/v1/checkpoint").await;
    let db = s.db.clone();
    let key = s.key.clone();
    // Keep the database when the server goes.
    let dir = std::mem::replace(&mut s.dir, tempfile::tempdir().unwrap());
    s.stop().await;
    // Make it look like a version 2 file: no tree, no checkpoints.
    {
        let c = rusqlite::Connection::open(&db).unwrap();
        c.execute_batch(
            "DROP TABLE tree_rows; DROP TABLE trees; DROP TABLE checkpoints; PRAGMA user_version = 2;",
        )
        .unwrap();
    }
    let store = trailscope::store::SqliteStore::open(&db).unwrap();
    use trailscope::store::Store;
    let signed = store.checkpoint("acme", &key).await.unwrap();
    assert_eq!(signed.size, 30);
    assert_eq!(
        signed.root,
        before["root"].as_str().unwrap(),
        "the same tree, rebuilt"
    );
    let v = store.verify("acme", Some(key.verifier())).await.unwrap();
    assert!(v.ok, "{v:?}");
    assert_eq!(v.tree_size, 30);
    drop(dir);
}
