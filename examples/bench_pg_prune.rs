//! PostgreSQL retention benchmark (issue 13): a prune that drops a month's partition whole
//! against the same prune deleting the rows one by one (the month also holds one row of a tenant
//! that is kept, so it cannot be dropped), on the same cluster (fsync on), same rows.
//!
//! ```sh
//! cargo run --release --example bench_pg_prune -- [ENTRIES]
//! ```
//!
//! ENTRIES (default 200,000) are appended through the store in batches of 1,000; all but the last
//! batch are then moved 400 days back (as the superuser, triggers off) into their month's
//! partition, and the prune's cutoff is 100 days ago. Only the prune is timed.

#[path = "../tests/common/pg.rs"]
mod pg;

use chrono::{Duration, Utc};
use std::time::Instant;
use trailscope::model::NewEvent;
use trailscope::store::postgres::PostgresStore;

fn batch(from: usize) -> Vec<NewEvent> {
    (from..from + 1000)
        .map(|k| {
            let action = ["user.login", "ticket.created", "rule.fired", "admin.role_changed"][k % 4];
            let channel = ["auth", "web", "automation"][k % 3];
            serde_json::from_value(serde_json::json!({
                "action": action,
                "channel": channel,
                "description": format!("event {k} for customer {}", k % 97),
                "actor": {"type": "user", "id": format!("u_{}", k % 500), "email": format!("user{}@example.com", k % 500), "ip": format!("10.0.{}.{}", k % 7, k % 250)},
                "target": {"type": "ticket", "id": format!("{}", k % 1000)}
            }))
            .unwrap()
        })
        .collect()
}

/// What one prune did and cost.
struct Outcome {
    removed: u64,
    prune_secs: f64,
    /// The VACUUM that reclaims deleted rows afterwards (the deferred part of a row-by-row prune).
    vacuum_secs: f64,
    dropped: bool,
    /// The database's size before the prune and after the VACUUM.
    bytes_before: u64,
    bytes_after: u64,
}

fn database_bytes(cluster: &pg::PgCluster, db: &str) -> u64 {
    cluster
        .psql(db, "SELECT pg_database_size(current_database())")
        .trim()
        .parse()
        .unwrap()
}

/// Fills a fresh database, ages the rows, and times one prune and the VACUUM after it.
async fn run(cluster: &pg::PgCluster, entries: usize, shared: bool) -> Outcome {
    let url = cluster.fresh_database();
    let db = pg::db_name(&url).to_string();
    let store = PostgresStore::open(&url, 4).await.unwrap();
    for from in (0..entries).step_by(1000) {
        store.append("acme", batch(from)).await.unwrap();
    }
    if shared {
        store.append("keep", batch(0)).await.unwrap();
    }
    let days = 400;
    let then = Utc::now() - Duration::days(days);
    let shift = Duration::days(days).num_milliseconds();
    let aged = entries - 1000;
    cluster.psql(
        &db,
        &format!(
            "SET session_replication_role = replica; \
             SELECT trailscope_ensure_partitions({}); \
             UPDATE entries SET received_at = received_at - {shift} WHERE tenant = 'acme' AND seq <= {aged}; \
             UPDATE entries SET received_at = received_at - {shift} WHERE tenant = 'keep' AND seq = 1;",
            then.timestamp_millis()
        ),
    );
    cluster.psql(&db, "VACUUM ANALYZE entries");
    let month = format!("entries_{}", then.format("%Ym%m"));
    let bytes_before = database_bytes(cluster, &db);
    let started = Instant::now();
    let report = store
        .prune("acme", Utc::now() - Duration::days(100), None)
        .await
        .unwrap();
    let prune_secs = started.elapsed().as_secs_f64();
    let started = Instant::now();
    cluster.psql(&db, "VACUUM entries");
    let vacuum_secs = started.elapsed().as_secs_f64();
    let dropped = cluster
        .psql(&db, &format!("SELECT to_regclass('{month}') IS NULL"))
        .trim()
        == "t";
    store.close().await;
    Outcome {
        removed: report.removed,
        prune_secs,
        vacuum_secs,
        dropped,
        bytes_before,
        bytes_after: database_bytes(cluster, &db),
    }
}

fn show(how: &str, o: &Outcome) {
    let mb = |b: u64| b as f64 / 1e6;
    println!(
        "{how:<16} {} entries: prune {:.3} s, VACUUM after it {:.3} s, database {:.1} MB -> {:.1} MB",
        o.removed,
        o.prune_secs,
        o.vacuum_secs,
        mb(o.bytes_before),
        mb(o.bytes_after)
    );
}

#[tokio::main]
async fn main() {
    let entries: usize = std::env::args()
        .nth(1)
        .map_or(200_000, |a| a.parse().expect("ENTRIES is a number"));
    let cluster =
        pg::start_cluster(true).expect("PostgreSQL's binaries (apt-get install postgresql)");
    let drop = run(&cluster, entries, false).await;
    assert!(drop.dropped, "the month was not dropped");
    show("drop the month:", &drop);
    let rows = run(&cluster, entries, true).await;
    assert!(!rows.dropped, "the shared month was dropped");
    show("row by row:", &rows);
    println!(
        "ratio (prune + VACUUM): the drop takes {:.3}x the row-by-row time",
        (drop.prune_secs + drop.vacuum_secs) / (rows.prune_secs + rows.vacuum_secs)
    );
}
