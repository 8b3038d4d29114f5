//! Server benchmark (issue 2): durable ingest of 1,000,000 events over HTTP in batches of 1,000,
//! side by side with the `sqlite3` shell inserting the same rows into the same schema in one
//! transaction; then `GET /v1/events` latency (first page, 50 rows) per filter at page 1 and 1,000.
//!
//! Run: `cargo run --release --example bench_server [-- EVENTS]` (needs `sqlite3` on PATH).

use serde_json::{Value, json};
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};
use trailscope::server::{Allowlist, serve};
use trailscope::store::sqlite::TokenAdmin;
use trailscope::store::{Role, SqliteStore, Store};

const BATCH: usize = 1000;
const PRODUCERS: usize = 4;
const SAMPLES: usize = 200;

/// A varied, skewed event: one actor, one target, `printer` in the text and failures each cover
/// about a tenth of the log, so every filter has at least 1,000 pages of matches.
fn event(i: usize, base_ms: i64) -> Value {
    const ACTIONS: [&str; 10] = [
        "user.login",
        "user.login_failed",
        "role.updated",
        "integration_credentials_updated",
        "rule_fired",
        "ticket.created",
        "ticket_status.updated",
        "alert.acknowledged",
        "pii.read",
        "user.deleted",
    ];
    const CHANNELS: [&str; 5] = ["auth", "admin", "rules", "writeback", "pii-read"];
    let h = (i as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    let actor = if h.is_multiple_of(10) {
        0
    } else {
        1 + (h >> 8) % 500
    };
    let target = if (h >> 16).is_multiple_of(16) {
        1
    } else {
        2 + (h >> 20) % 20_000
    };
    json!({
        "occurred_at": trailscope::model::format_ts(&trailscope::model::from_millis(base_ms + (i as i64) * 2_000)),
        "action": ACTIONS[(h >> 24) as usize % ACTIONS.len()],
        "channel": CHANNELS[(h >> 32) as usize % CHANNELS.len()],
        "outcome": if (h >> 40).is_multiple_of(10) { "failure" } else { "success" },
        "description": if (h >> 44).is_multiple_of(10) { format!("Printer on fire at site {}", h % 97) } else { format!("Routine work item {}", h % 1000) },
        "actor": {"type": "user", "id": format!("u_{actor}"), "name": format!("User {actor}"),
                  "email": format!("user{actor}@example.com"), "ip": format!("203.0.113.{}", actor % 250)},
        "target": {"type": "ticket", "id": target.to_string(), "name": format!("Ticket {target}")},
        "details": {"request": {"status": "open", "priority": (h >> 48) % 5}, "response": {"status": 201}},
    })
}

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i].as_secs_f64() * 1000.0
}

#[tokio::main(flavor = "multi_thread")]
async fn main() {
    let n: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(1_000_000);
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("bench.db");
    let admin = TokenAdmin::open(&db)
        .unwrap()
        .create(Role::Admin, "bench", None)
        .unwrap()
        .1;
    let store: Arc<dyn Store> = Arc::new(SqliteStore::open(&db).unwrap());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(serve(store, Allowlist::default(), listener, async {
        let _ = stopped.await;
    }));

    // Bodies are built before the clock starts: what is measured is the server.
    let base_ms = chrono::Utc::now().timestamp_millis() - (n as i64) * 2_000 - 60_000;
    let bodies: Vec<Vec<u8>> = (0..n.div_ceil(BATCH))
        .map(|b| {
            serde_json::to_vec(
                &(b * BATCH..((b + 1) * BATCH).min(n))
                    .map(|i| event(i, base_ms))
                    .collect::<Vec<_>>(),
            )
            .unwrap()
        })
        .collect();
    let http = reqwest::Client::new();
    let queue = Arc::new(std::sync::Mutex::new(
        bodies.into_iter().enumerate().collect::<Vec<_>>(),
    ));
    let started = Instant::now();
    let mut producers = Vec::new();
    for _ in 0..PRODUCERS {
        let (http, url, admin, queue) = (http.clone(), url.clone(), admin.clone(), queue.clone());
        producers.push(tokio::spawn(async move {
            loop {
                let Some((_, body)) = queue.lock().unwrap().pop() else {
                    break;
                };
                let r = http
                    .post(format!("{url}/v1/events"))
                    .bearer_auth(&admin)
                    .header("content-type", "application/json")
                    .body(body)
                    .send()
                    .await
                    .unwrap();
                assert_eq!(r.status(), 201);
            }
        }));
    }
    for p in producers {
        p.await.unwrap();
    }
    let ingest = started.elapsed();
    let ours = n as f64 / ingest.as_secs_f64();
    println!(
        "ingest: {n} events in {:.2} s over HTTP, {PRODUCERS} producers, batches of {BATCH}: {ours:.0} events/s (durable, synchronous=FULL)",
        ingest.as_secs_f64()
    );

    // The same rows, the same schema, one transaction, through the sqlite3 shell.
    let dump = dir.path().join("rows.sql");
    let peer = dir.path().join("peer.db");
    let schema = Command::new("sqlite3")
        .arg(&db)
        .arg(".schema entries")
        .output()
        .expect("sqlite3 on PATH");
    let mut sql = String::from("PRAGMA journal_mode=WAL;\nPRAGMA synchronous=FULL;\n");
    sql.push_str(&String::from_utf8(schema.stdout).unwrap());
    // The search index too (Debian's sqlite3 predates contentless_delete, which changes
    // nothing about the cost of an insert).
    sql.push_str("\nCREATE VIRTUAL TABLE entries_fts USING fts5(text, content='', tokenize='trigram', detail='none');\n");
    std::fs::write(dir.path().join("schema.sql"), &sql).unwrap();
    let status = Command::new("sh")
        .arg("-c")
        .arg(format!(
            "{{ echo 'BEGIN;'; sqlite3 '{db}' '.mode insert entries' 'SELECT * FROM entries ORDER BY tenant, seq'; echo \"{fts}\"; echo 'COMMIT;'; }} > '{dump}'",
            db = db.display(),
            dump = dump.display(),
            fts = "INSERT INTO entries_fts (rowid, text) SELECT rowid, coalesce(description || char(10), '') || action \
                   || coalesce(char(10) || actor_name, '') || coalesce(char(10) || actor_email, '') || coalesce(char(10) || actor_id, '') \
                   || coalesce(char(10) || target_name, '') || coalesce(char(10) || target_id, '') FROM entries;"
        ))
        .status()
        .unwrap();
    assert!(status.success());
    let status = Command::new("sh")
        .arg("-c")
        .arg(format!(
            "sqlite3 '{}' < '{}'",
            peer.display(),
            dir.path().join("schema.sql").display()
        ))
        .status()
        .unwrap();
    assert!(status.success());
    let t = Instant::now();
    let status = Command::new("sh")
        .arg("-c")
        .arg(format!(
            "sqlite3 '{}' < '{}'",
            peer.display(),
            dump.display()
        ))
        .status()
        .unwrap();
    assert!(status.success());
    let peer_time = t.elapsed();
    let theirs = n as f64 / peer_time.as_secs_f64();
    println!(
        "sqlite3 shell: the same {n} rows into the same schema in one transaction: {:.2} s, {theirs:.0} rows/s",
        peer_time.as_secs_f64()
    );
    println!("ratio: trailscope / sqlite3 = {:.2}x", ours / theirs);

    // Query latency per filter, page 1 and page 1,000.
    let filters = [
        ("none", String::new()),
        ("action", "action=rule_fired".into()),
        ("action prefix", "action=ticket*".into()),
        ("actor id", "actor=u_0".into()),
        ("actor email", "actor=USER0@example.com".into()),
        ("target type/id", "target=ticket/1".into()),
        ("target_type", "target_type=ticket".into()),
        ("channel", "channel=auth".into()),
        ("kind", "kind=updated".into()),
        ("kind, two values", "kind=created&kind=deleted".into()),
        ("outcome", "outcome=failure".into()),
        ("q (10% match)", "q=printer".into()),
        ("q (no match: a full scan)", "q=zebra".into()),
        ("q (no match) + last 1 day", "q=zebra&from=1d".into()),
        (
            "from/to",
            format!(
                "from={}&to={}",
                trailscope::model::format_ts(&trailscope::model::from_millis(
                    base_ms + (n as i64) * 500
                )),
                trailscope::model::format_ts(&trailscope::model::from_millis(
                    base_ms + (n as i64) * 1_500
                ))
            ),
        ),
        ("channel+outcome", "channel=auth&outcome=failure".into()),
        (
            "filter= language",
            "filter=action:user.*+outcome:failure".into(),
        ),
        // Issue 17's additions.
        ("ip", "ip=203.0.113.0".into()),
        ("actor name (any case)", "actor=user%200".into()),
        ("not_channel", "not_channel=auth".into()),
        ("not_actor (the busiest)", "not_actor=u_0".into()),
        (
            "ip + not_outcome",
            "ip=203.0.113.0&not_outcome=success".into(),
        ),
        ("channel:a,b", "filter=channel:auth,admin".into()),
        (
            "around ±2h",
            format!(
                "around={}/2h",
                trailscope::model::format_ts(&trailscope::model::from_millis(
                    base_ms + (n as i64) * 1_000
                ))
            ),
        ),
    ];
    println!(
        "\n| filter | page 1 p50 | page 1 p99 | page 1,000 p50 | page 1,000 p99 |\n|---|---|---|---|---|"
    );
    for (name, q) in filters {
        let page_url = |cursor: &str| {
            format!(
                "{url}/v1/events?limit=50&{q}{}{cursor}",
                if cursor.is_empty() { "" } else { "&cursor=" }
            )
        };
        let time = |u: String| {
            let (http, admin) = (http.clone(), admin.clone());
            async move {
                let mut samples = Vec::with_capacity(SAMPLES);
                for _ in 0..SAMPLES {
                    let t = Instant::now();
                    let r = http.get(&u).bearer_auth(&admin).send().await.unwrap();
                    assert_eq!(r.status(), 200);
                    let _ = r.bytes().await.unwrap();
                    samples.push(t.elapsed());
                }
                samples.sort();
                (percentile(&samples, 0.5), percentile(&samples, 0.99))
            }
        };
        let first = time(page_url("")).await;
        let mut cursor = String::new();
        let mut pages = 1;
        while pages < 1000 {
            let v: Value = http
                .get(page_url(&cursor))
                .bearer_auth(&admin)
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            match v["next_cursor"].as_str() {
                Some(c) => cursor = c.to_string(),
                None => break,
            }
            pages += 1;
        }
        let thousandth = if pages == 1000 {
            let (p50, p99) = time(page_url(&cursor)).await;
            format!("{p50:.2} ms | {p99:.2} ms")
        } else {
            format!("n/a ({pages} pages) | n/a")
        };
        println!(
            "| {name} | {:.2} ms | {:.2} ms | {thousandth} |",
            first.0, first.1
        );
    }
    let _ = stop.send(());
    server.await.unwrap().unwrap();
}
