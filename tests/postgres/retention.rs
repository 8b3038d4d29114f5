//! Retention on PostgreSQL drops a month's partition whole when every row in it is due, and
//! falls back to deleting rows one by one where it cannot (another tenant's rows still kept, or
//! a reader holding the table). Old months are made by moving the first entries' `received_at`
//! back in time as the superuser with the triggers off (`session_replication_role = replica`),
//! into the partition of that month.

use crate::common::pg::{self, PgCluster};
use chrono::{Duration, Utc};
use trailscope::model::NewEvent;
use trailscope::store::Store;
use trailscope::store::postgres::{PartitionUnit, PostgresStore};

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

/// Moves `tenant`'s entries up to `upto` back by `days`; returns the name of the partition they
/// are now in (their month's, or day's).
fn age(pg: &PgCluster, db: &str, tenant: &str, upto: u64, days: i64) -> String {
    let shift = Duration::days(days).num_milliseconds();
    let then = Utc::now() - Duration::days(days);
    pg.psql(
        db,
        &format!(
            "SET session_replication_role = replica; \
             SELECT trailscope_ensure_partitions({}); \
             UPDATE entries SET received_at = received_at - {shift} WHERE tenant = '{tenant}' AND seq <= {upto};",
            then.timestamp_millis()
        ),
    );
    let rel = pg
        .psql(
            db,
            &format!(
                "SELECT tableoid::regclass FROM entries WHERE tenant = '{tenant}' AND seq = 1"
            ),
        )
        .trim()
        .to_string();
    assert_ne!(rel, "entries_default", "no partition for the aged rows");
    rel
}

fn exists(pg: &PgCluster, db: &str, table: &str) -> bool {
    pg.psql(db, &format!("SELECT to_regclass('{table}') IS NOT NULL"))
        .trim()
        == "t"
}

fn rows_in(pg: &PgCluster, db: &str, table: &str, tenant: &str) -> u64 {
    pg.psql(
        db,
        &format!("SELECT count(*) FROM {table} WHERE tenant = '{tenant}'"),
    )
    .trim()
    .parse()
    .unwrap()
}

async fn seeded(pg: &PgCluster, tenants: &[&str]) -> (String, PostgresStore) {
    seeded_by(pg, tenants, None).await
}

async fn seeded_by(
    pg: &PgCluster,
    tenants: &[&str],
    unit: Option<PartitionUnit>,
) -> (String, PostgresStore) {
    let url = pg.fresh_database();
    let store = PostgresStore::open_with(&url, 4, unit).await.unwrap();
    for t in tenants {
        store.append(t, events(30)).await.unwrap();
    }
    (url, store)
}

async fn verified(store: &PostgresStore, tenant: &str) {
    let report = store.verify(tenant, None).await.unwrap();
    assert!(report.ok, "{tenant}: {report:?}");
}

#[tokio::test]
async fn a_month_holding_only_due_rows_is_dropped_whole() {
    let Some(pg) = pg::cluster() else { return };
    let (url, store) = seeded(pg, &["acme"]).await;
    let db = pg::db_name(&url);
    let old = age(pg, db, "acme", 20, 400);
    assert_eq!(rows_in(pg, db, &old, "acme"), 20);

    let report = store
        .prune("acme", Utc::now() - Duration::days(100), None)
        .await
        .unwrap();
    assert_eq!(report.removed, 20);
    assert_eq!(report.anchor.as_ref().map(|a| a.seq), Some(20));
    assert!(!exists(pg, db, &old), "{old} should have been dropped");
    // The rest is intact and still proves itself from the new anchor.
    assert_eq!(
        pg.psql(
            db,
            "SELECT min(seq), count(*) FROM entries WHERE tenant = 'acme'"
        )
        .trim(),
        "21|11"
    );
    verified(&store, "acme").await;
    assert!(store.schema_tampering().await.unwrap().is_empty());
    let pruned = pg.psql(
        db,
        "SELECT details FROM entries WHERE tenant = 'acme' AND action = 'retention.pruned'",
    );
    assert!(pruned.contains("\"removed\":20"), "{pruned}");
    store.close().await;
}

#[tokio::test]
async fn with_daily_partitions_the_prune_drops_a_whole_day() {
    let Some(pg) = pg::cluster() else { return };
    let (url, store) = seeded_by(pg, &["acme"], Some(PartitionUnit::Day)).await;
    let db = pg::db_name(&url);
    let day = age(pg, db, "acme", 20, 400);
    // The partition of the moved rows' own day.
    let own_day = pg.psql(
        db,
        "SELECT to_char(to_timestamp(received_at / 1000.0) AT TIME ZONE 'UTC', '\"entries_\"YYYY\"m\"MM\"d\"DD') \
         FROM entries WHERE tenant = 'acme' AND seq = 1",
    );
    assert_eq!(day, own_day.trim());
    let report = store
        .prune("acme", Utc::now() - Duration::days(100), None)
        .await
        .unwrap();
    assert_eq!(report.removed, 20);
    assert!(!exists(pg, db, &day), "{day} should have been dropped");
    verified(&store, "acme").await;
    store.close().await;
}

#[tokio::test]
async fn a_month_shared_with_a_tenant_still_kept_is_pruned_row_by_row_then_dropped_by_the_last() {
    let Some(pg) = pg::cluster() else { return };
    let (url, store) = seeded(pg, &["acme", "beta"]).await;
    let db = pg::db_name(&url);
    let old = age(pg, db, "acme", 20, 400);
    assert_eq!(age(pg, db, "beta", 10, 400), old);

    // acme alone: beta's rows keep the month, so acme's go one by one.
    let cutoff = Utc::now() - Duration::days(100);
    let report = store.prune("acme", cutoff, None).await.unwrap();
    assert_eq!(report.removed, 20);
    assert!(exists(pg, db, &old));
    assert_eq!(rows_in(pg, db, &old, "acme"), 0);
    assert_eq!(rows_in(pg, db, &old, "beta"), 10);
    // Then beta, the last tenant in it: the month goes.
    let report = store.prune("beta", cutoff, None).await.unwrap();
    assert_eq!(report.removed, 10);
    assert!(!exists(pg, db, &old));
    verified(&store, "acme").await;
    verified(&store, "beta").await;
    store.close().await;
}

#[tokio::test]
async fn the_daily_prune_drops_a_month_every_tenant_in_it_has_passed_and_keeps_the_rest() {
    let Some(pg) = pg::cluster() else { return };
    let (url, store) = seeded(pg, &["acme", "beta", "gamma", "delta"]).await;
    let db = pg::db_name(&url);
    let shared = age(pg, db, "acme", 20, 400);
    assert_eq!(age(pg, db, "beta", 10, 400), shared);
    // gamma's old rows share their month with delta's, which the daily prune was not asked to
    // remove (delta is not in the plan), so that month cannot go. (delta's moved rows no longer
    // match their hashes, which hold `received_at`; delta is not verified here.)
    let kept = age(pg, db, "gamma", 5, 200);
    assert_eq!(age(pg, db, "delta", 3, 200), kept);
    let now = Utc::now();
    let plan = vec![
        ("gamma".to_string(), now - Duration::days(100)),
        ("beta".to_string(), now - Duration::days(100)),
        ("acme".to_string(), now - Duration::days(300)),
    ];
    let results = Store::prune_tenants(&store, &plan, None).await;
    let removed: Vec<(String, u64)> = results
        .into_iter()
        .map(|(t, r)| (t, r.unwrap().removed))
        .collect();
    assert_eq!(
        removed,
        vec![
            ("acme".to_string(), 20),
            ("beta".to_string(), 10),
            ("gamma".to_string(), 5)
        ]
    );
    assert!(
        !exists(pg, db, &shared),
        "{shared} should have been dropped"
    );
    assert!(exists(pg, db, &kept));
    assert_eq!(rows_in(pg, db, &kept, "gamma"), 0);
    assert_eq!(rows_in(pg, db, &kept, "delta"), 3);
    for t in ["acme", "beta", "gamma"] {
        verified(&store, t).await;
    }
    store.close().await;
}

#[tokio::test]
async fn a_reader_holding_the_table_makes_the_prune_delete_rows_and_the_next_prune_drops_the_empty_month()
 {
    let Some(pg) = pg::cluster() else { return };
    let (url, store) = seeded(pg, &["acme"]).await;
    let db = pg::db_name(&url);
    let old = age(pg, db, "acme", 20, 400);

    // A long read (an export, say) holds a lock on `entries` that a DROP would have to wait for.
    let (reader, connection) = tokio_postgres::connect(&pg.url(db), tokio_postgres::NoTls)
        .await
        .unwrap();
    let connection = tokio::spawn(connection);
    reader
        .batch_execute("BEGIN; SELECT count(*) FROM entries")
        .await
        .unwrap();
    let cutoff = Utc::now() - Duration::days(100);
    let report = store.prune("acme", cutoff, None).await.unwrap();
    assert_eq!(report.removed, 20);
    assert!(exists(pg, db, &old), "the drop should have given way");
    assert_eq!(rows_in(pg, db, &old, "acme"), 0);
    verified(&store, "acme").await;
    reader.batch_execute("COMMIT").await.unwrap();
    drop(reader);
    connection.await.unwrap().unwrap();

    // Nothing left to remove, and the empty month of the past goes.
    let report = store.prune("acme", cutoff, None).await.unwrap();
    assert_eq!(report.removed, 0);
    assert!(!exists(pg, db, &old));
    verified(&store, "acme").await;
    store.close().await;
}

#[tokio::test]
async fn the_application_role_cannot_drop_a_month_holding_rows_above_the_given_upto() {
    let Some(pg) = pg::cluster() else { return };
    let (url, store) = seeded(pg, &["acme"]).await;
    let db = pg::db_name(&url);
    let old = age(pg, db, "acme", 20, 400);
    // Asking for less than the month holds removes only that much, row by row.
    let hash = pg.psql(
        db,
        "SELECT hash FROM entries WHERE tenant = 'acme' AND seq = 5",
    );
    let out = pg.psql(
        db,
        &format!(
            "SET ROLE trailscope_app; \
             SELECT trailscope_prune_many(ARRAY['acme'], ARRAY[5::bigint], \
                 ARRAY[(extract(epoch FROM now()) * 1000)::bigint], ARRAY['{}'], ARRAY['{{}}'])",
            hash.trim()
        ),
    );
    assert_eq!(out.trim(), "{5}");
    assert!(exists(pg, db, &old));
    assert_eq!(rows_in(pg, db, &old, "acme"), 15);
    // The helpers are not the application's to call.
    let (ok, err) = pg.try_psql(
        db,
        &format!("SET ROLE trailscope_app; SELECT trailscope_partition_tenants('{old}')"),
    );
    assert!(!ok && err.contains("permission denied"), "{err}");
    // And a DROP of its own is refused.
    let (ok, err) = pg.try_psql(db, &format!("SET ROLE trailscope_app; DROP TABLE {old}"));
    assert!(!ok && err.contains("must be owner"), "{err}");
    // A prune behind trailscope's back, with no `retention.pruned` entry, is what verify names.
    let report = store.verify("acme", None).await.unwrap();
    assert!(!report.ok);
    assert!(
        report.problems[0].contains("seq 1 to 5 were removed without a retention.pruned entry"),
        "{report:?}"
    );
    store.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_month_is_dropped_while_another_tenant_keeps_appending_and_no_append_is_lost() {
    let Some(pg) = pg::cluster() else { return };
    let (url, store) = seeded(pg, &["acme"]).await;
    let db = pg::db_name(&url);
    let old = age(pg, db, "acme", 20, 400);
    let store = std::sync::Arc::new(store);
    // A busy tenant commits batch after batch through the same store (and so the same writer)
    // while the prune needs its moment of exclusive access to `entries`.
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let busy = {
        let (store, stop) = (store.clone(), stop.clone());
        tokio::spawn(async move {
            let mut acked = 0u64;
            while !stop.load(std::sync::atomic::Ordering::SeqCst) {
                acked += store.append("busy", events(10)).await.unwrap().len() as u64;
            }
            acked
        })
    };
    // The busy tenant is committing before the prune starts.
    while store.head_at("busy", None).await.unwrap().is_none() {
        tokio::task::yield_now().await;
    }
    let report = store
        .prune("acme", Utc::now() - Duration::days(100), None)
        .await
        .unwrap();
    stop.store(true, std::sync::atomic::Ordering::SeqCst);
    let acked = busy.await.unwrap();
    assert_eq!(report.removed, 20);
    assert!(!exists(pg, db, &old), "the drop gave way to the appends");
    let head = store.head_at("busy", None).await.unwrap().unwrap();
    assert_eq!(head.seq, acked, "every acknowledged append is there");
    verified(&store, "acme").await;
    verified(&store, "busy").await;
}
