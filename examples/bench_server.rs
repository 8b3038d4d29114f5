//! Server benchmark (issue 2): durable ingest of 1,000,000 events over HTTP in batches of 1,000,
//! side by side with the `sqlite3` shell inserting the same rows into the same schema in one
//! transaction; then `GET /v1/events` latency (first page, 50 rows) per filter at page 1 and 1,000.
//!
//! Run: `cargo run --release --example bench_server [-- EVENTS]` (needs `sqlite3` on PATH).
//!
//! Integrity (issue 12): `cargo run --release --example bench_server -- integrity EVENTS ROUNDS
//! NEW_BIN [OLD_BIN]`: durable ingest of EVENTS over HTTP into `NEW_BIN serve` (this build:
//! Merkle tree kept in the same transaction) and, alternating in the same run, into `OLD_BIN
//! serve` (a build from before the tree), ROUNDS times each; then, over 1,000,000 entries
//! appended through the store, `GET /v1/checkpoint` and proof latency, `verify` time, and how
//! long a database from before the tree takes to build its tree on open
//! (`BENCH_INGEST_ONLY=1` stops after the ingest rounds).
//!
//! Two builds side by side (issue 13's async store, issue 26's shared filter compiler):
//! `bench_server async EVENTS ROUNDS NEW_BIN OLD_BIN`: for each round, each binary in turn (the
//! order alternates between rounds) serves a fresh database, takes EVENTS over HTTP (4
//! producers, batches of 1,000) and then answers first pages (`limit=50`) for a set of filters,
//! and stats and facets for some, 200 samples each; ingest rate and p50/p99 per binary.

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
    if std::env::args().nth(1).as_deref() == Some("integrity") {
        return integrity::run().await;
    }
    if std::env::args().nth(1).as_deref() == Some("async") {
        return async_store::run().await;
    }
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

mod integrity {
    use super::{BATCH, PRODUCERS, event, percentile};
    use serde_json::Value;
    use std::path::Path;
    use std::process::{Child, Command, Stdio};
    use std::sync::Arc;
    use std::time::{Duration, Instant};
    use trailscope::proof::SigningKey;
    use trailscope::server::{ServerOptions, serve};
    use trailscope::store::sqlite::TokenAdmin;
    use trailscope::store::{Role, SqliteStore, Store};

    const SAMPLES: usize = 1000;
    const TREE: usize = 1_000_000;

    fn uptime() -> String {
        Command::new("uptime")
            .output()
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
            .unwrap_or_default()
    }

    struct Served(Child);
    impl Drop for Served {
        fn drop(&mut self) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }

    /// Durable ingest of `n` events over HTTP into `bin serve` on a fresh database.
    async fn ingest(bin: &str, n: usize, dir: &Path) -> f64 {
        let db = dir.join(format!("{}.db", ulid::Ulid::new()));
        let token = TokenAdmin::open(&db)
            .unwrap()
            .create(Role::Admin, "bench", None)
            .unwrap()
            .1;
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let _server = Served(
            Command::new(bin)
                .args([
                    "serve",
                    "--db",
                    db.to_str().unwrap(),
                    "--listen",
                    &format!("127.0.0.1:{port}"),
                ])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("the binary starts"),
        );
        let deadline = Instant::now() + Duration::from_secs(60);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "{bin} did not start");
            std::thread::sleep(Duration::from_millis(20));
        }
        let url = format!("http://127.0.0.1:{port}");
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
        let queue = Arc::new(std::sync::Mutex::new(bodies));
        let http = reqwest::Client::new();
        let started = Instant::now();
        let mut producers = Vec::new();
        for _ in 0..PRODUCERS {
            let (http, url, token, queue) =
                (http.clone(), url.clone(), token.clone(), queue.clone());
            producers.push(tokio::spawn(async move {
                loop {
                    let Some(body) = queue.lock().unwrap().pop() else {
                        break;
                    };
                    let r = http
                        .post(format!("{url}/v1/events"))
                        .bearer_auth(&token)
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
        let rate = n as f64 / started.elapsed().as_secs_f64();
        let _ = std::fs::remove_file(&db);
        rate
    }

    /// `TREE` entries appended through the store (no HTTP: this part measures reads).
    fn fill(db: &Path) {
        let store = SqliteStore::open(db).unwrap();
        let now = chrono::Utc::now();
        let base_ms = now.timestamp_millis() - (TREE as i64) * 2_000 - 60_000;
        let t = Instant::now();
        for b in 0..TREE.div_ceil(BATCH) {
            let events = (b * BATCH..((b + 1) * BATCH).min(TREE))
                .map(|i| trailscope::model::validate_event(event(i, base_ms), now).unwrap())
                .collect();
            store.db().append("bench", events).unwrap();
        }
        println!(
            "filled {TREE} entries through the store in {:.1} s",
            t.elapsed().as_secs_f64()
        );
        store.db().close();
    }

    async fn latency(http: &reqwest::Client, token: &str, urls: Vec<String>) -> (f64, f64) {
        let mut samples = Vec::with_capacity(urls.len());
        for u in urls {
            let t = Instant::now();
            let r = http.get(&u).bearer_auth(token).send().await.unwrap();
            assert_eq!(r.status(), 200, "{u}");
            let _: Value = r.json().await.unwrap();
            samples.push(t.elapsed());
        }
        samples.sort();
        (percentile(&samples, 0.5), percentile(&samples, 0.99))
    }

    pub async fn run() {
        let arg = |i: usize| std::env::args().nth(i);
        let n: usize = arg(2).and_then(|a| a.parse().ok()).unwrap_or(200_000);
        let rounds: usize = arg(3).and_then(|a| a.parse().ok()).unwrap_or(2);
        let new_bin = arg(4).expect("NEW_BIN: this build's trailscope binary");
        let old_bin = arg(5);
        let dir = tempfile::tempdir().unwrap();
        println!("machine: {}", uptime());
        for round in 1..=rounds {
            if let Some(old) = &old_bin {
                let r = ingest(old, n, dir.path()).await;
                println!(
                    "round {round}: before the tree: {n} events, {r:.0} events/s ({})",
                    uptime()
                );
            }
            let r = ingest(&new_bin, n, dir.path()).await;
            println!(
                "round {round}: with the tree:   {n} events, {r:.0} events/s ({})",
                uptime()
            );
        }

        if std::env::var_os("BENCH_INGEST_ONLY").is_some() {
            return;
        }
        let db = dir.path().join("tree.db");
        let token = TokenAdmin::open(&db)
            .unwrap()
            .create(Role::Admin, "bench", None)
            .unwrap()
            .1;
        fill(&db);
        let key = SigningKey::generate();
        let store: Arc<dyn Store> = Arc::new(SqliteStore::open(&db).unwrap());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let options = ServerOptions {
            signing_key: Some(key.clone()),
            ..ServerOptions::default()
        };
        let server = tokio::spawn(serve(store.clone(), options, listener, async {
            let _ = stopped.await;
        }));
        let http = reqwest::Client::new();
        let t = Instant::now();
        let r = http
            .get(format!("{url}/v1/checkpoint"))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        println!(
            "\nfirst GET /v1/checkpoint at {TREE} (signs one): {:.2} ms ({})",
            t.elapsed().as_secs_f64() * 1000.0,
            uptime()
        );
        let (p50, p99) =
            latency(&http, &token, vec![format!("{url}/v1/checkpoint"); SAMPLES]).await;
        println!(
            "GET /v1/checkpoint (already signed), {SAMPLES} samples: p50 {p50:.2} ms, p99 {p99:.2} ms"
        );
        let mut h = 0x9E37_79B9_7F4A_7C15u64;
        let mut next = move || {
            h ^= h << 13;
            h ^= h >> 7;
            h ^= h << 17;
            h
        };
        let urls = (0..SAMPLES)
            .map(|_| {
                format!(
                    "{url}/v1/proof/inclusion?seq={}&size={TREE}",
                    1 + next() % TREE as u64
                )
            })
            .collect();
        let (p50, p99) = latency(&http, &token, urls).await;
        println!(
            "GET /v1/proof/inclusion at size {TREE}, random seq: p50 {p50:.2} ms, p99 {p99:.2} ms"
        );
        let urls = (0..SAMPLES)
            .map(|_| {
                format!(
                    "{url}/v1/proof/consistency?from={}&to={TREE}",
                    1 + next() % TREE as u64
                )
            })
            .collect();
        let (p50, p99) = latency(&http, &token, urls).await;
        println!(
            "GET /v1/proof/consistency to {TREE}, random from: p50 {p50:.2} ms, p99 {p99:.2} ms"
        );
        let t = Instant::now();
        let r: Value = http
            .get(format!("{url}/v1/verify"))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(r["ok"], true, "{r}");
        println!(
            "GET /v1/verify at {TREE} (chain + tree + {} checkpoint): {:.1} s ({})",
            r["checkpoints"],
            t.elapsed().as_secs_f64(),
            uptime()
        );
        let _ = stop.send(());
        server.await.unwrap().unwrap();
        drop(store);

        // A database from before the tree: drop it and time the rebuild on open.
        let c = rusqlite::Connection::open(&db).unwrap();
        c.execute_batch("DROP TABLE tree_rows; DROP TABLE trees; DROP TABLE checkpoints; PRAGMA user_version = 2;")
            .unwrap();
        drop(c);
        let t = Instant::now();
        let store = SqliteStore::open(&db).unwrap();
        // The checkpoint waits in the writer's queue behind the build.
        let signed = store.db().checkpoint("bench", &key, None).unwrap();
        assert_eq!(signed.size, TREE as u64);
        println!(
            "opening a database of {TREE} entries from before the tree: tree built in {:.1} s ({})",
            t.elapsed().as_secs_f64(),
            uptime()
        );
    }
}

mod async_store {
    use super::{BATCH, PRODUCERS, event, percentile};
    use serde_json::Value;
    use std::path::Path;
    use std::process::{Child, Command, Stdio};
    use std::sync::Arc;
    use std::time::{Duration, Instant};
    use trailscope::store::Role;
    use trailscope::store::sqlite::TokenAdmin;

    const SAMPLES: usize = 200;

    struct Served(Child);
    impl Drop for Served {
        fn drop(&mut self) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }

    fn uptime() -> String {
        Command::new("uptime")
            .output()
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
            .unwrap_or_default()
    }

    /// `bin serve` on a fresh database in `dir`, with an admin token; waits for its port.
    fn start(bin: &str, dir: &Path) -> (Served, String, String) {
        let db = dir.join(format!("{}.db", ulid::Ulid::new()));
        let token = TokenAdmin::open(&db)
            .unwrap()
            .create(Role::Admin, "bench", None)
            .unwrap()
            .1;
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let served = Served(
            Command::new(bin)
                .args(["serve", "--db", db.to_str().unwrap()])
                .args(["--listen", &format!("127.0.0.1:{port}")])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("the binary starts"),
        );
        let deadline = Instant::now() + Duration::from_secs(60);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "{bin} did not start");
            std::thread::sleep(Duration::from_millis(20));
        }
        (served, format!("http://127.0.0.1:{port}"), token)
    }

    /// Events per second for `n` events posted by 4 producers in batches of 1,000.
    async fn ingest(http: &reqwest::Client, url: &str, token: &str, n: usize, base_ms: i64) -> f64 {
        let bodies: Vec<Vec<u8>> = (0..n.div_ceil(BATCH))
            .map(|b| {
                let batch: Vec<Value> = (b * BATCH..((b + 1) * BATCH).min(n))
                    .map(|i| event(i, base_ms))
                    .collect();
                serde_json::to_vec(&batch).unwrap()
            })
            .collect();
        let queue = Arc::new(std::sync::Mutex::new(bodies));
        let started = Instant::now();
        let mut producers = Vec::new();
        for _ in 0..PRODUCERS {
            let (http, url, token, queue) = (
                http.clone(),
                url.to_string(),
                token.to_string(),
                queue.clone(),
            );
            producers.push(tokio::spawn(async move {
                loop {
                    let Some(body) = queue.lock().unwrap().pop() else {
                        break;
                    };
                    let r = http
                        .post(format!("{url}/v1/events"))
                        .bearer_auth(&token)
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
        n as f64 / started.elapsed().as_secs_f64()
    }

    /// Latency (p50, p99) in ms of `GET {url}{path_and_query}`.
    async fn first_page(http: &reqwest::Client, url: &str, token: &str, query: &str) -> (f64, f64) {
        let u = if query.starts_with('/') {
            format!("{url}{query}")
        } else {
            format!("{url}/v1/events?limit=50&{query}")
        };
        let mut samples = Vec::with_capacity(SAMPLES);
        for _ in 0..SAMPLES {
            let t = Instant::now();
            let r = http.get(&u).bearer_auth(token).send().await.unwrap();
            assert_eq!(r.status(), 200, "{u}");
            let _ = r.bytes().await.unwrap();
            samples.push(t.elapsed());
        }
        samples.sort();
        (percentile(&samples, 0.5), percentile(&samples, 0.99))
    }

    pub async fn run() {
        let arg = |i: usize| std::env::args().nth(i);
        let n: usize = arg(2).and_then(|a| a.parse().ok()).unwrap_or(100_000);
        let rounds: usize = arg(3).and_then(|a| a.parse().ok()).unwrap_or(2);
        let new_bin = arg(4).expect("NEW_BIN: this build's trailscope binary");
        let old_bin = arg(5).expect("OLD_BIN: the trailscope binary to compare with");
        let filters = [
            ("none", ""),
            ("action", "action=rule_fired"),
            ("actor id", "actor=u_0"),
            ("channel+outcome", "channel=auth&outcome=failure"),
            ("q (10% match)", "q=printer"),
            ("q (no match) + last 1 day", "q=zebra&from=1d"),
            ("not_channel", "not_channel=auth"),
            ("filter= language", "filter=action:user.*+outcome:failure"),
            ("kind, two values", "kind=created&kind=deleted"),
            ("stats: none", "/v1/stats"),
            (
                "stats: channel+outcome",
                "/v1/stats?channel=auth&outcome=failure",
            ),
            ("stats: q", "/v1/stats?q=printer"),
            ("facets action: channel", "/v1/facets/action?channel=auth"),
            ("facets actor: none", "/v1/facets/actor"),
        ];
        let dir = tempfile::tempdir().unwrap();
        let http = reqwest::Client::new();
        println!("machine: {}", uptime());
        // rates[binary] and latencies[binary][filter]: every sample of every round.
        let mut rates: [Vec<f64>; 2] = [Vec::new(), Vec::new()];
        let mut pages: [Vec<Vec<(f64, f64)>>; 2] = [
            vec![Vec::new(); filters.len()],
            vec![Vec::new(); filters.len()],
        ];
        for round in 1..=rounds {
            let order = if round % 2 == 1 { [1, 0] } else { [0, 1] };
            for which in order {
                let bin = if which == 0 { &new_bin } else { &old_bin };
                let (served, url, token) = start(bin, dir.path());
                let base_ms = chrono::Utc::now().timestamp_millis() - (n as i64) * 2_000 - 60_000;
                let rate = ingest(&http, &url, &token, n, base_ms).await;
                rates[which].push(rate);
                for (i, (_, q)) in filters.iter().enumerate() {
                    pages[which][i].push(first_page(&http, &url, &token, q).await);
                }
                drop(served);
                println!(
                    "round {round}: {}: {n} events at {rate:.0} events/s ({})",
                    ["NEW_BIN", "OLD_BIN"][which],
                    uptime()
                );
            }
        }
        let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len() as f64;
        println!(
            "\ningest, mean of {rounds} rounds: new {:.0} events/s, old {:.0} events/s (new/old = {:.2})",
            mean(&rates[0]),
            mean(&rates[1]),
            mean(&rates[0]) / mean(&rates[1])
        );
        println!(
            "\n| filter (first page of 50 rows, or the route named) | new p50 | new p99 | old p50 | old p99 |\n|---|---|---|---|---|"
        );
        for (i, (name, _)) in filters.iter().enumerate() {
            let p50 = |w: usize| mean(&pages[w][i].iter().map(|p| p.0).collect::<Vec<_>>());
            let p99 = |w: usize| mean(&pages[w][i].iter().map(|p| p.1).collect::<Vec<_>>());
            println!(
                "| {name} | {:.2} ms | {:.2} ms | {:.2} ms | {:.2} ms |",
                p50(0),
                p99(0),
                p50(1),
                p99(1)
            );
        }
    }
}
