//! Verify and the proofs read one tenant through a REPEATABLE READ, READ ONLY snapshot on a
//! pooled connection, from a blocking thread. A call given up on half way (a client that went
//! away, a timeout) must not hand the pool back a connection still inside that transaction:
//! the next write that drew it would fail, read-only.

use crate::common::pg;
use std::time::{Duration, Instant};
use trailscope::model::NewEvent;
use trailscope::store::Store;
use trailscope::store::postgres::PostgresStore;

fn events(n: usize) -> Vec<NewEvent> {
    (0..n)
        .map(|k| {
            serde_json::from_value(serde_json::json!({
                "action": "user.login",
                "actor": {"type": "user", "id": format!("u{k}"), "email": format!("u{k}@example.com")}
            }))
            .unwrap()
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_verify_given_up_on_leaves_no_transaction_open_in_the_pool() {
    let Some(pg) = pg::cluster() else { return };
    let url = pg.fresh_database();
    let db = pg::db_name(&url).to_string();
    let store = PostgresStore::open(&url, 4).await.unwrap();
    for _ in 0..4 {
        store.append("acme", events(1000)).await.unwrap();
    }
    let started = Instant::now();
    assert!(store.verify("acme", None).await.unwrap().ok);
    let whole = started.elapsed();
    // Given up on at every point from its start to near its end: at BEGIN, inside the walk.
    let mut given_up = 0;
    for i in 1..=20u32 {
        if tokio::time::timeout(whole * i / 25, store.verify("acme", None))
            .await
            .is_err()
        {
            given_up += 1;
        }
    }
    assert!(
        given_up >= 10,
        "only {given_up} of 20 verifies were given up on half way: not a test of it"
    );
    // Each connection given up on is closed (its backend gone), none left idle in a
    // transaction for the pool to hand out.
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let stuck = pg.psql(
            &db,
            "SELECT count(*) FROM pg_stat_activity \
             WHERE datname = current_database() AND state LIKE 'idle in transaction%'",
        );
        if stuck.trim() == "0" {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "{} connections left inside a transaction",
            stuck.trim()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // The store writes and verifies on whatever connections the pool has now.
    for _ in 0..8 {
        store.append("acme", events(10)).await.unwrap();
    }
    let report = store.verify("acme", None).await.unwrap();
    assert!(report.ok, "{report:?}");
    assert_eq!(report.checked, 4080);
}
