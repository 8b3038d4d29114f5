//! The chain and the append-only guarantees, against the real server and the real SQLite file.

use crate::common;
use common::TestServer;
use rusqlite::Connection;
use serde_json::{Value, json};

async fn seeded(n: usize) -> TestServer {
    let s = TestServer::start().await;
    let batch: Vec<Value> = (0..n)
        .map(|i| json!({"action": "user.login", "description": format!("entry {i}"),
                        "actor": {"type": "user", "id": format!("u_{i}"), "email": format!("p{i}@example.com"), "ip": "203.0.113.9"}}))
        .collect();
    assert_eq!(s.post(&s.writer, Value::Array(batch)).await.0, 201);
    s
}

/// What a database admin could do: drop the triggers, then change history.
/// Runs `sql` on the server's database behind its back, its append-only triggers off.
pub fn tamper(s: &TestServer, sql: &str) {
    if let Some(url) = &s.pg_url {
        let cluster = common::pg::cluster().unwrap();
        cluster.psql(
            common::pg::db_name(url),
            &format!(
                "ALTER TABLE entries DISABLE TRIGGER entries_append_only; {sql}; \
                 ALTER TABLE entries ENABLE TRIGGER entries_append_only;"
            ),
        );
        return;
    }
    let c = Connection::open(&s.db).unwrap();
    c.execute_batch("DROP TRIGGER entries_no_update; DROP TRIGGER entries_no_delete;")
        .unwrap();
    c.execute_batch(sql).unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn clean_chain_verifies() {
    let s = seeded(50).await;
    s.post(&s.writer, json!({"action": "one.more"})).await;
    let (st, v) = s.get(&s.auditor, "/v1/verify").await;
    assert_eq!(st, 200);
    assert_eq!(v["ok"], true, "{v}");
    assert_eq!(v["checked"], 51);
    assert_eq!(v["head"]["seq"], 51);
    let (_, page) = s.get(&s.auditor, "/v1/events?limit=1").await;
    assert_eq!(v["head"]["hash"], page["entries"][0]["hash"]);
    assert_eq!(page["entries"][0]["prev_hash"].as_str().unwrap().len(), 64);
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn the_database_refuses_update_and_delete() {
    let s = seeded(3).await;
    if s.sqlite_only(
        "edits the SQLite file with rusqlite (tests/postgres/tamper.rs is the PostgreSQL case)",
    ) {
        return;
    }
    let c = Connection::open(&s.db).unwrap();
    let e = c
        .execute("UPDATE entries SET description = 'x' WHERE seq = 2", [])
        .unwrap_err();
    assert!(e.to_string().contains("append-only"), "{e}");
    let e = c
        .execute("DELETE FROM entries WHERE seq = 2", [])
        .unwrap_err();
    assert!(e.to_string().contains("append-only"), "{e}");
    // The indexer's flag goes one way only (pending to indexed), and never with anything else.
    for sql in [
        "UPDATE entries SET indexed = NULL WHERE seq = 2",
        "UPDATE entries SET indexed = 2 WHERE seq = 2",
        "UPDATE entries SET indexed = 1, description = 'x' WHERE seq = 2",
    ] {
        let e = c.execute(sql, []).unwrap_err();
        assert!(e.to_string().contains("append-only"), "{sql}: {e}");
    }
    // And over HTTP there is no way to change an entry.
    let (_, page) = s.get(&s.auditor, "/v1/events?limit=1").await;
    let id = page["entries"][0]["id"].as_str().unwrap();
    for method in [
        reqwest::Method::PUT,
        reqwest::Method::PATCH,
        reqwest::Method::DELETE,
    ] {
        let r = s
            .http
            .request(method.clone(), format!("{}/v1/events/{id}", s.url))
            .bearer_auth(&s.admin)
            .json(&json!({"action": "x"}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 405, "{method}");
        let body: Value = r.json().await.unwrap();
        assert!(
            body["error"]["message"]
                .as_str()
                .unwrap()
                .contains("append-only")
        );
    }
    assert_eq!(s.get(&s.auditor, "/v1/verify").await.1["ok"], true);
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn verify_names_the_first_bad_seq() {
    let cases = [
        (
            "UPDATE entries SET description = 'nothing to see' WHERE seq = 17",
            17,
            "hash_mismatch",
        ),
        (
            "UPDATE entries SET actor_email = 'someone@else.com' WHERE seq = 23",
            23,
            "hash_mismatch",
        ),
        (
            "UPDATE entries SET occurred_at = occurred_at + 1 WHERE seq = 5",
            5,
            "hash_mismatch",
        ),
        (
            "UPDATE entries SET details = '{\"x\":1}' WHERE seq = 9",
            9,
            "hash_mismatch",
        ),
        ("DELETE FROM entries WHERE seq = 30", 30, "gap"),
        ("DELETE FROM entries WHERE seq = 40", 40, "gap"),
        // Swap two rows' contents by swapping their seqs.
        (
            "UPDATE entries SET seq = -1 WHERE seq = 11; UPDATE entries SET seq = 11 WHERE seq = 12; UPDATE entries SET seq = 12 WHERE seq = -1",
            11,
            "hash_mismatch",
        ),
    ];
    for (sql, bad_seq, reason) in cases {
        let s = seeded(40).await;
        tamper(&s, sql);
        let (st, v) = s.get(&s.auditor, "/v1/verify").await;
        assert_eq!(st, 200);
        assert_eq!(v["ok"], false, "{sql}: {v}");
        assert_eq!(v["first_bad_seq"], bad_seq, "{sql}: {v}");
        assert_eq!(v["reason"], reason, "{sql}: {v}");
        assert_eq!(v["checked"], bad_seq - 1, "{sql}: {v}");
        s.stop().await;
    }
}

/// A row damaged under an evidence pack's proof (an entry's hash no longer 64 hex digits) is
/// named as tampering, a 409 `integrity` error, on every store: never a 500, never a pack.
#[tokio::test(flavor = "multi_thread")]
async fn a_damaged_row_under_a_packs_proof_is_an_integrity_error() {
    let s = seeded(5).await;
    tamper(&s, "UPDATE entries SET hash = 'not a hash' WHERE seq = 3");
    let r = s
        .http
        .post(format!("{}/v1/evidence-packs", s.url))
        .bearer_auth(&s.auditor)
        .json(&json!({"kind": "custom", "title": "damaged", "filter": "action:user.login"}))
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    let body: Value = r.json().await.unwrap();
    assert_eq!(status, 409, "{body}");
    assert_eq!(body["error"]["code"], "integrity", "{body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("not whole at seq 3"),
        "{body}"
    );
    s.stop().await;
}
