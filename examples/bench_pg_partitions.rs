//! PostgreSQL partition length benchmark (issue 13): first pages over 400 days of entries kept in
//! monthly partitions (14) against daily ones (401), the same rows, with and without a time bound.
//!
//! ```sh
//! cargo run --release --example bench_pg_partitions -- [ENTRIES]
//! ```
//!
//! ENTRIES (default 200,000) are appended through the store, then spread evenly over the last
//! 400 days (`received_at` and `occurred_at` moved back together, as the superuser with the
//! triggers off) into the partitions of their day or month; then `VACUUM ANALYZE`, and 100 first
//! pages per filter through `PostgresStore::page`.

#[path = "../tests/common/pg.rs"]
mod pg;

use chrono::{Duration, Utc};
use std::time::Instant;
use trailscope::model::{NewEvent, Query};
use trailscope::store::PageRequest;
use trailscope::store::postgres::{PartitionUnit, PostgresStore};

const DAYS: i64 = 400;

fn batch(from: usize) -> Vec<NewEvent> {
    (from..from + 1000)
        .map(|k| {
            let action = [
                "user.login",
                "ticket.created",
                "rule.fired",
                "admin.role_changed",
            ][k % 4];
            serde_json::from_value(serde_json::json!({
                "action": action,
                "description": format!("event {k} for customer {}", k % 97),
                "actor": {"type": "user", "id": format!("u_{}", k % 500)},
                "target": {"type": "ticket", "id": format!("{}", k % 1000)}
            }))
            .unwrap()
        })
        .collect()
}

async fn run(cluster: &pg::PgCluster, entries: usize, unit: PartitionUnit) {
    let url = cluster.fresh_database();
    let db = pg::db_name(&url).to_string();
    let store = PostgresStore::open_with(&url, 4, Some(unit)).await.unwrap();
    for from in (0..entries).step_by(1000) {
        store.append("acme", batch(from)).await.unwrap();
    }
    let now = Utc::now().timestamp_millis();
    let span = Duration::days(DAYS).num_milliseconds();
    // Row k of n moves back by span·(n−k)/n: evenly over the days, order kept.
    cluster.psql(
        &db,
        &format!(
            "SET session_replication_role = replica; \
             SELECT trailscope_ensure_partitions({now} - d::bigint * 86400000) FROM generate_series(0, {DAYS}) d; \
             UPDATE entries SET received_at = received_at - {span} * ({entries} - seq) / {entries}, \
                                occurred_at = occurred_at - {span} * ({entries} - seq) / {entries};"
        ),
    );
    cluster.psql(&db, "VACUUM ANALYZE entries");
    let parts = cluster
        .psql(&db, "SELECT count(*) FROM trailscope_partition_bounds()")
        .trim()
        .to_string();
    println!("{unit:?}: {parts} partitions, {entries} entries over {DAYS} days");
    for filter in [
        "",
        "since:7d",
        "action:user.login",
        "action:user.login since:7d",
        "customer 42",
        "customer 42 since:7d",
    ] {
        let query: Query = filter.parse().unwrap();
        let mut ms = Vec::new();
        for _ in 0..100 {
            let t = Instant::now();
            let page = store
                .page("acme", &query, &PageRequest::default(), Utc::now())
                .await
                .unwrap();
            ms.push(t.elapsed().as_secs_f64() * 1000.0);
            assert!(!page.entries.is_empty(), "{filter}");
        }
        ms.sort_by(|a, b| a.total_cmp(b));
        println!(
            "  first page `{filter}`: p50 {:.1} ms, p99 {:.1} ms",
            ms[50], ms[98]
        );
    }
    // A live stream's catch-up after each commit: the entries after a recent seq.
    let head = entries as u64 - 10;
    let mut ms = Vec::new();
    for _ in 0..100 {
        let t = Instant::now();
        let after = store
            .after_seq("acme", &Query::default(), head, 500, Utc::now())
            .await
            .unwrap();
        ms.push(t.elapsed().as_secs_f64() * 1000.0);
        assert_eq!(after.len(), 10);
    }
    ms.sort_by(|a, b| a.total_cmp(b));
    println!(
        "  stream catch-up after seq {head}: p50 {:.1} ms, p99 {:.1} ms",
        ms[50], ms[98]
    );
    // An entry by its id (the TUI's and the API's `GET /v1/events/{id}`).
    let ids: Vec<String> = cluster
        .psql(
            &db,
            "SELECT id FROM entries WHERE tenant = 'acme' ORDER BY seq DESC LIMIT 100",
        )
        .lines()
        .map(str::to_string)
        .collect();
    let mut ms = Vec::new();
    for id in &ids {
        let t = Instant::now();
        assert!(store.get("acme", id).await.unwrap().is_some());
        ms.push(t.elapsed().as_secs_f64() * 1000.0);
    }
    ms.sort_by(|a, b| a.total_cmp(b));
    println!(
        "  an entry by id: p50 {:.1} ms, p99 {:.1} ms",
        ms[50], ms[98]
    );
    // Appends whose events carry idempotency keys: each commit looks the keys up first.
    let mut ms = Vec::new();
    for round in 0..50 {
        let mut events = batch(1_000_000 + round * 1000);
        for (k, e) in events.iter_mut().enumerate().take(100) {
            e.idempotency_key = Some(format!("key-{round}-{k}"));
        }
        events.truncate(100);
        let t = Instant::now();
        store.append("acme", events).await.unwrap();
        ms.push(t.elapsed().as_secs_f64() * 1000.0);
    }
    ms.sort_by(|a, b| a.total_cmp(b));
    println!(
        "  append of 100 events with idempotency keys: p50 {:.1} ms, p99 {:.1} ms",
        ms[25], ms[49]
    );
    store.close().await;
}

#[tokio::main]
async fn main() {
    let entries: usize = std::env::args()
        .nth(1)
        .map_or(200_000, |a| a.parse().expect("ENTRIES is a number"));
    let cluster =
        pg::start_cluster(true).expect("PostgreSQL's binaries (apt-get install postgresql)");
    run(&cluster, entries, PartitionUnit::Month).await;
    run(&cluster, entries, PartitionUnit::Day).await;
}
