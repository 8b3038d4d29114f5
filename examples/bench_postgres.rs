//! PostgreSQL store benchmark (issue 13): durable ingest through 1 and 3 `serve` replicas
//! (batches of 1,000, 4 producers), next to `psql`'s `COPY` of the same rows into the same table;
//! first-page latency per filter; live-stream delivery latency across replicas.
//!
//! Starts its own cluster (fsync on) like the tests' harness, and the `serve` binary beside
//! this example (build it first):
//!
//! ```sh
//! cargo build --release && cargo run --release --example bench_postgres -- [SECONDS]
//! ```

#[path = "../tests/common/pg.rs"]
mod pg;
#[path = "common/replicas.rs"]
mod replicas;

use replicas::{serve, token};
use serde_json::{Value, json};
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

fn batch(p: usize, n: usize) -> Vec<Value> {
    (0..1000)
        .map(|i| {
            let k = n + i;
            let action = ["user.login", "ticket.created", "rule.fired", "admin.role_changed"][k % 4];
            let channel = ["auth", "web", "automation"][k % 3];
            json!({
                "action": action,
                "channel": channel,
                "outcome": if k.is_multiple_of(17) { "failure" } else { "success" },
                "description": format!("producer {p} event {k} for customer {}", k % 97),
                "actor": {"type": "user", "id": format!("u_{}", k % 500), "email": format!("user{}@example.com", k % 500), "ip": format!("10.0.{}.{}", k % 7, k % 250)},
                "target": {"type": "ticket", "id": format!("{}", k % 1000)}
            })
        })
        .collect()
}

/// Entries per second acknowledged by `urls` (round-robin, 4 producers) for `secs`.
async fn ingest(urls: &[String], writer: &str, secs: u64) -> (u64, f64) {
    let stop = Arc::new(AtomicBool::new(false));
    let acked = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let tasks: Vec<_> = (0..4)
        .map(|p| {
            let (urls, writer, stop, acked) = (
                urls.to_vec(),
                writer.to_string(),
                stop.clone(),
                acked.clone(),
            );
            tokio::spawn(async move {
                let http = reqwest::Client::new();
                let mut n = 0;
                while !stop.load(Ordering::Relaxed) {
                    let body = batch(p, n);
                    let r = http
                        .post(format!("{}/v1/events", urls[(p + n / 1000) % urls.len()]))
                        .bearer_auth(&writer)
                        .json(&body)
                        .send()
                        .await
                        .unwrap();
                    assert_eq!(r.status().as_u16(), 201);
                    acked.fetch_add(1000, Ordering::Relaxed);
                    n += 1000;
                }
            })
        })
        .collect();
    tokio::time::sleep(Duration::from_secs(secs)).await;
    stop.store(true, Ordering::Relaxed);
    for t in tasks {
        t.await.unwrap();
    }
    let total = acked.load(Ordering::Relaxed);
    (total, total as f64 / started.elapsed().as_secs_f64())
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

#[tokio::main]
async fn main() {
    let secs: u64 = std::env::args()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(10);
    let cluster =
        pg::start_cluster(true).expect("PostgreSQL's binaries (apt-get install postgresql)");
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("signing.key");
    let config = dir.path().join("server.toml");
    std::fs::write(&config, "[server]\naudit_searches = false\n").unwrap();
    println!(
        "machine: {}",
        String::from_utf8_lossy(&Command::new("uptime").output().unwrap().stdout).trim()
    );

    // 1 and 3 replicas, each on a database of its own.
    let mut last_url = String::new();
    let mut last_urls = Vec::new();
    let mut keep = Vec::new();
    for replicas in [1, 3] {
        let url = cluster.fresh_database();
        let mut urls = Vec::new();
        for _ in 0..replicas {
            let (r, u) = serve(&url, &key, &config);
            keep.push(r);
            urls.push(u);
        }
        let writer = token(&url, "writer", "acme");
        let (total, rate) = ingest(&urls, &writer, secs).await;
        println!(
            "ingest, {replicas} replica(s), batches of 1000, 4 producers, {secs} s: {total} entries, {rate:.0} entries/s"
        );
        last_url = url;
        last_urls = urls;
    }

    // The peer: psql COPY of the same rows into the same table of a fresh, migrated database.
    let db = pg::db_name(&last_url).to_string();
    let csv = dir.path().join("rows.csv");
    let cols = "tenant, seq, id, occurred_at, received_at, action, kind, channel, outcome, description, actor_type, actor_id, actor_name, actor_email, actor_ip, actor_user_agent, target_type, target_id, target_name, details, idempotency_key, commitments, prev_hash, hash";
    cluster.psql(
        &db,
        &format!(
            "\\copy (SELECT {cols} FROM entries) TO '{}' CSV",
            csv.display()
        ),
    );
    let rows = cluster.psql(&db, "SELECT count(*) FROM entries");
    let peer = cluster.fresh_database();
    let peer_store = trailscope::store::postgres::PostgresStore::open(&peer, 2)
        .await
        .unwrap();
    trailscope::store::Store::close(&peer_store).await;
    let peer_db = pg::db_name(&peer).to_string();
    let t = Instant::now();
    cluster.psql(
        &peer_db,
        &format!("\\copy entries ({cols}) FROM '{}' CSV", csv.display()),
    );
    let copy_secs = t.elapsed().as_secs_f64();
    let rows: f64 = rows.trim().parse().unwrap();
    println!(
        "psql \\copy of the same {rows} rows into the same table (indexes, triggers, fsync on): {copy_secs:.2} s, {:.0} rows/s",
        rows / copy_secs
    );

    // First pages per filter on the 3-replica database.
    let auditor = token(&last_url, "auditor", "acme");
    let http = reqwest::Client::new();
    for filter in [
        "",
        "action=user.login",
        "actor=u_42",
        "target=ticket/77",
        "channel=auth&outcome=failure",
        "q=customer%2042",
        // A rare word: the newest-rows walk cannot fill the page, the trigram plan answers.
        "q=12345",
        "action=ticket.*",
        "ip=10.0.3.33",
        "kind=created&kind=deleted",
    ] {
        let mut ms = Vec::new();
        for i in 0..60 {
            let t = Instant::now();
            let r = http
                .get(format!(
                    "{}/v1/events?limit=50&{filter}",
                    last_urls[i % last_urls.len()]
                ))
                .bearer_auth(&auditor)
                .send()
                .await
                .unwrap();
            assert_eq!(r.status().as_u16(), 200);
            let _ = r.bytes().await.unwrap();
            ms.push(t.elapsed().as_secs_f64() * 1000.0);
        }
        ms.sort_by(|a, b| a.partial_cmp(b).unwrap());
        println!(
            "first page `{filter}` ({rows} entries): p50 {:.1} ms, p99 {:.1} ms",
            percentile(&ms, 0.5),
            percentile(&ms, 0.99)
        );
    }

    // Stream delivery across replicas: post on replica 1, follow on replica 2.
    let writer = token(&last_url, "writer", "acme");
    let mut r = http
        .get(format!("{}/v1/stream?action=bench.ping", last_urls[1]))
        .bearer_auth(&auditor)
        .send()
        .await
        .unwrap();
    let mut text = String::new();
    while !text.contains("event: ready") {
        text.push_str(&String::from_utf8_lossy(&r.chunk().await.unwrap().unwrap()));
    }
    let mut ms = Vec::new();
    for i in 0..50 {
        let t = Instant::now();
        let p = http
            .post(format!("{}/v1/events", last_urls[0]))
            .bearer_auth(&writer)
            .json(&json!({"action": "bench.ping", "description": format!("ping {i}")}))
            .send()
            .await
            .unwrap();
        assert_eq!(p.status().as_u16(), 201);
        let mut seen = String::new();
        while !seen.contains(&format!("ping {i}\"")) {
            seen.push_str(&String::from_utf8_lossy(&r.chunk().await.unwrap().unwrap()));
        }
        ms.push(t.elapsed().as_secs_f64() * 1000.0);
    }
    ms.sort_by(|a, b| a.partial_cmp(b).unwrap());
    println!(
        "stream delivery, posted on replica 1, received on replica 2 (POST sent → SSE event): p50 {:.1} ms, p99 {:.1} ms",
        percentile(&ms, 0.5),
        percentile(&ms, 0.99)
    );
    println!(
        "machine: {}",
        String::from_utf8_lossy(&Command::new("uptime").output().unwrap().stdout).trim()
    );
    drop(keep);
}
