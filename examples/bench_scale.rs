//! Scale benchmark (issue 27): EVENTS entries (default 10,000,000) posted over HTTP into a fresh
//! SQLite server (or, with `BENCH_STORE=postgres`, 3 `serve` replicas on one fresh PostgreSQL
//! database of a cluster of its own, fsync on, the batches round-robin; `BENCH_REPLICAS`
//! changes how many) by 4 producers in batches of 1,000, the load generated as it is sent (a batch
//! is made from its index, so memory stays flat whatever EVENTS is); the ingest rate over each
//! tenth of the run, and the last tenth's against the first; then, on the full log, p50/p99 of
//! the first page, page 1,000, the count and histogram (`/v1/stats`) and the action facet for
//! each filter of the table, and the server's resident memory; then verify, pseudonymising one
//! actor, and a prune of the first tenth.
//!
//! The events look like a backfill or an import: times spread evenly over the 30 days before
//! now, 5,000 actors, 100,000 targets, a failure in 20, `firewall` in the text of 1 in 100.
//!
//! Run: `cargo run --release --example bench_scale -- [EVENTS]`; the database goes in
//! `BENCH_DIR` (default: a temporary directory; 10M entries take ~20 GB with their indexes).
//! With `BENCH_DB=path` the database is that file and is kept: when it already holds entries,
//! the ingest is skipped and only the reads are measured (the same 10M log, read by a later
//! build). The server runs as a child process (this program with `--server-child DB`).

#[path = "../tests/common/pg.rs"]
mod pg;
#[path = "common/replicas.rs"]
mod replicas;
#[path = "common/child.rs"]
mod server_child;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};
use trailscope::store::Role;
use trailscope::store::sqlite::TokenAdmin;

const BATCH: u64 = 1000;
const PRODUCERS: usize = 4;
const ACTORS: u64 = 5_000;
const TARGETS: u64 = 100_000;
const SPAN_MS: i64 = 30 * 86_400_000;
const SAMPLES: usize = 50;

/// The filters the explorer redraws counts, facets and pages for (issue 27's table).
const FILTERS: [(&str, &str); 8] = [
    ("none", ""),
    (
        "outcome:failure channel:admin",
        "outcome:failure channel:admin",
    ),
    ("q:firewall", "q:firewall"),
    ("actor:u_17", "actor:u_17"),
    ("action:user.login", "action:user.login"),
    ("target:ticket/42", "target:ticket/42"),
    ("-channel:auth", "-channel:auth"),
    ("since:1d", "since:1d"),
];

/// A well-mixed 64-bit value from `x` (splitmix64): the same event for the same index, always.
fn mix(x: u64) -> u64 {
    let mut z = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// Event `i` of `n`, as JSON text.
fn event(i: u64, n: u64, base_ms: i64) -> String {
    const ACTIONS: [(&str, &str, &str); 8] = [
        ("user.login", "auth", "other"),
        ("user.logout", "auth", "other"),
        ("role.updated", "admin", "updated"),
        ("integration_credentials_updated", "admin", "updated"),
        ("rule_fired", "rules", "other"),
        ("ticket.created", "writeback", "created"),
        ("ticket.updated", "writeback", "updated"),
        ("report.read", "data", "read"),
    ];
    let h = mix(i);
    let (action, channel, kind) = ACTIONS[(h % 8) as usize];
    let outcome = if (h >> 8).is_multiple_of(20) {
        "failure"
    } else {
        "success"
    };
    let actor = (h >> 16) % ACTORS;
    let target = (h >> 32) % TARGETS;
    let word = if (h >> 48).is_multiple_of(100) {
        "firewall"
    } else {
        "printer"
    };
    let at = base_ms + (i as i64) * SPAN_MS / (n.max(1) as i64);
    let at = trailscope::model::format_ts(&trailscope::model::from_millis(at));
    format!(
        r#"{{"occurred_at":"{at}","action":"{action}","kind":"{kind}","channel":"{channel}","outcome":"{outcome}","actor":{{"type":"user","id":"u_{actor}","name":"User {actor}","email":"u{actor}@example.com","ip":"10.{}.{}.{}"}},"target":{{"type":"ticket","id":"{target}"}},"description":"{action} on ticket {target} ({word} queue)"}}"#,
        actor % 250,
        (actor / 250) % 250,
        target % 250
    )
}

/// Batch `b` as a request body: a JSON array of its events.
fn batch(b: u64, n: u64, base_ms: i64) -> String {
    let first = b * BATCH;
    let events: Vec<String> = (first..(first + BATCH).min(n))
        .map(|i| event(i, n, base_ms))
        .collect();
    format!("[{}]", events.join(","))
}

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i].as_secs_f64() * 1000.0
}

/// Posts every batch; returns when each tenth of the events was in (durably acknowledged).
async fn ingest(urls: &[String], token: &str, n: u64) -> Vec<Instant> {
    let base_ms = chrono::Utc::now().timestamp_millis() - SPAN_MS - 60_000;
    let next = Arc::new(AtomicU64::new(0));
    let done = Arc::new(AtomicU64::new(0));
    let tenths = Arc::new(std::sync::Mutex::new(Vec::with_capacity(10)));
    // How long each batch waited for its 201: an index step holds the one writer.
    let acks = Arc::new(std::sync::Mutex::new(Vec::new()));
    let http = reqwest::Client::new();
    let mut producers = Vec::new();
    for _ in 0..PRODUCERS {
        let (next, done, tenths, acks) = (next.clone(), done.clone(), tenths.clone(), acks.clone());
        let (http, urls, token) = (http.clone(), urls.to_vec(), token.to_string());
        producers.push(tokio::spawn(async move {
            loop {
                let b = next.fetch_add(1, Ordering::Relaxed);
                if b * BATCH >= n {
                    return;
                }
                let url = &urls[usize::try_from(b).unwrap() % urls.len()];
                let body = batch(b, n, base_ms);
                let posted = Instant::now();
                let r = http
                    .post(format!("{url}/v1/events"))
                    .bearer_auth(&token)
                    .header("content-type", "application/json")
                    .body(body)
                    .send()
                    .await
                    .unwrap();
                assert_eq!(r.status(), 201, "{}", r.text().await.unwrap_or_default());
                acks.lock().unwrap().push(posted.elapsed());
                let sent = (BATCH).min(n - b * BATCH);
                let before = done.fetch_add(sent, Ordering::Relaxed);
                let mut t = tenths.lock().unwrap();
                while (t.len() as u64 + 1) * n / 10 <= before + sent && t.len() < 10 {
                    t.push(Instant::now());
                }
            }
        }));
    }
    let finished = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let sampler = tokio::spawn(during_ingest(
        http.clone(),
        urls[0].clone(),
        token.to_string(),
        finished.clone(),
    ));
    for p in producers {
        p.await.unwrap();
    }
    finished.store(true, Ordering::Relaxed);
    sampler.await.unwrap();
    let mut acks = Arc::try_unwrap(acks).unwrap().into_inner().unwrap();
    acks.sort();
    println!(
        "acknowledgement of a batch of {BATCH}: {:.1} / {:.1} / {:.1} ms p50 / p99 / max ({} batches)",
        percentile(&acks, 0.5),
        percentile(&acks, 0.99),
        acks.last().map_or(0.0, |d| d.as_secs_f64() * 1000.0),
        acks.len()
    );
    Arc::try_unwrap(tenths).unwrap().into_inner().unwrap()
}

/// While the producers run: the first page of a selective filter (one actor's entries, read
/// through a secondary index and, on SQLite, the pending rows beside it) every 200 ms; prints
/// its p50 and p99.
async fn during_ingest(
    http: reqwest::Client,
    url: String,
    token: String,
    finished: Arc<std::sync::atomic::AtomicBool>,
) {
    let page = format!("{url}/v1/events?limit=50&filter={}", encode("actor:u_17"));
    let mut took = Vec::new();
    while !finished.load(Ordering::Relaxed) {
        let t = Instant::now();
        let r = http.get(&page).bearer_auth(&token).send().await.unwrap();
        assert_eq!(r.status(), 200);
        let _ = r.bytes().await.unwrap();
        took.push(t.elapsed());
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    took.sort();
    if !took.is_empty() {
        println!(
            "during ingest: first page of actor:u_17 {:.1} / {:.1} ms p50 / p99 ({} samples)",
            percentile(&took, 0.5),
            percentile(&took, 0.99),
            took.len()
        );
    }
}

/// p50 and p99 (ms) of `samples` GETs of `url`.
async fn latency(http: &reqwest::Client, token: &str, url: &str, samples: usize) -> (f64, f64) {
    let mut took = Vec::with_capacity(samples);
    for _ in 0..samples {
        let t = Instant::now();
        let r = http.get(url).bearer_auth(token).send().await.unwrap();
        assert_eq!(r.status(), 200, "{url}");
        let _ = r.bytes().await.unwrap();
        took.push(t.elapsed());
    }
    took.sort();
    (percentile(&took, 0.5), percentile(&took, 0.99))
}

/// The cursor of page 1,000 of `filter` (50 rows a page), if the filter has that many pages.
async fn cursor_of_page_1000(http: &reqwest::Client, token: &str, base: &str) -> Option<String> {
    let mut cursor: Option<String> = None;
    for _ in 1..1000 {
        let url = match &cursor {
            Some(c) => format!("{base}&cursor={c}"),
            None => base.to_string(),
        };
        let page: serde_json::Value = http
            .get(&url)
            .bearer_auth(token)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        cursor = Some(page["next_cursor"].as_str()?.to_string());
    }
    cursor
}

fn encode(filter: &str) -> String {
    form_urlencoded::byte_serialize(filter.as_bytes()).collect()
}

async fn measure(url: &str, token: &str) {
    let http = reqwest::Client::new();
    println!(
        "\n| filter | first page p50 / p99 | page 1,000 p50 / p99 | stats p50 / p99 | facet action p50 / p99 |\n|---|---|---|---|---|"
    );
    let ms = |(a, b): (f64, f64)| format!("{a:.1} / {b:.1} ms");
    for (name, filter) in FILTERS {
        let f = encode(filter);
        let events = format!("{url}/v1/events?limit=50&filter={f}");
        let first = latency(&http, token, &events, SAMPLES).await;
        let deep = match cursor_of_page_1000(&http, token, &events).await {
            Some(c) => ms(latency(&http, token, &format!("{events}&cursor={c}"), SAMPLES).await),
            None => "fewer pages".to_string(),
        };
        let stats = latency(&http, token, &format!("{url}/v1/stats?filter={f}"), 10).await;
        let facet = latency(
            &http,
            token,
            &format!("{url}/v1/facets/action?filter={f}"),
            10,
        )
        .await;
        println!(
            "| `{name}` | {} | {deep} | {} | {} |",
            ms(first),
            ms(stats),
            ms(facet)
        );
    }
}

/// Posts the `n` events and prints the rate per tenth.
fn ingest_all(rt: &tokio::runtime::Runtime, urls: &[String], token: &str, n: u64, into: &str) {
    println!("{n} events into {into} ({PRODUCERS} producers, batches of {BATCH})");
    let started = Instant::now();
    let tenths = rt.block_on(ingest(urls, token, n));
    let mut last = started;
    let mut rates = Vec::new();
    for (k, t) in tenths.iter().enumerate() {
        let rate = (n / 10) as f64 / t.duration_since(last).as_secs_f64();
        println!("tenth {}: {rate:.0} events/s", k + 1);
        rates.push(rate);
        last = *t;
    }
    let total = started.elapsed().as_secs_f64();
    println!(
        "ingest: {n} events in {total:.1} s, {:.0} events/s; last tenth / first tenth = {:.2}",
        n as f64 / total,
        rates.last().unwrap() / rates.first().unwrap()
    );
    let acknowledged = Instant::now();
    rt.block_on(until_indexed(urls, token));
    let all = started.elapsed().as_secs_f64();
    println!(
        "indexed: every entry {:.1} s after the last acknowledgement; ingest with indexing {:.0} events/s",
        acknowledged.elapsed().as_secs_f64(),
        n as f64 / all
    );
}

/// Waits until no server has entries waiting for its deferred indexes (their
/// `trailscope_index_pending_entries` gauge is 0).
async fn until_indexed(urls: &[String], token: &str) {
    let http = reqwest::Client::new();
    for url in urls {
        loop {
            let text = http
                .get(format!("{url}/metrics"))
                .bearer_auth(token)
                .send()
                .await
                .unwrap()
                .text()
                .await
                .unwrap();
            let pending = text
                .lines()
                .find_map(|l| l.strip_prefix("trailscope_index_pending_entries "))
                .expect("the server reports its pending index entries");
            if pending.trim() == "0" {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.get(1).map(String::as_str) == Some(server_child::FLAG) {
        server_child::serve(&args[2]);
        return;
    }
    let n: u64 = args
        .get(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(10_000_000);
    let rt = tokio::runtime::Runtime::new().unwrap();
    if std::env::var("BENCH_STORE").is_ok_and(|s| s == "postgres") {
        postgres(&rt, n);
    } else {
        sqlite(&rt, n);
    }
}

/// The run on one SQLite server.
fn sqlite(rt: &tokio::runtime::Runtime, n: u64) {
    let tmp =
        tempfile::tempdir_in(std::env::var("BENCH_DIR").unwrap_or_else(|_| ".".into())).unwrap();
    let db = std::env::var("BENCH_DB")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|_| tmp.path().join("scale.db"));
    let reuse = db.exists();
    let token = TokenAdmin::open(&db)
        .unwrap()
        .create(Role::Admin, "bench", None)
        .unwrap()
        .1;
    let started = Instant::now();
    let (mut child, url) = server_child::start(&db);
    println!("server ready in {:.1} s", started.elapsed().as_secs_f64());
    if reuse {
        println!("reading the log already in {}", db.display());
    } else {
        ingest_all(
            rt,
            std::slice::from_ref(&url),
            &token,
            n,
            &db.display().to_string(),
        );
    }
    rt.block_on(measure(&url, &token));
    rt.block_on(maintain(&url, &token));
    println!(
        "\nserver RSS after: {} MiB; database with its WAL: {} MiB",
        server_child::rss_kib(child.id()) / 1024,
        ["", "-wal"]
            .iter()
            .filter_map(|end| std::fs::metadata(format!("{}{end}", db.display())).ok())
            .map(|m| m.len())
            .sum::<u64>()
            / (1 << 20)
    );
    let _ = child.kill();
    let _ = child.wait();
    // Last: it removes the first tenth of the kept database.
    let store = trailscope::store::SqliteStore::open(&db).unwrap();
    rt.block_on(prune_first_tenth(&store, n));
}

/// The run on `BENCH_REPLICAS` (3) replicas of one PostgreSQL database.
fn postgres(rt: &tokio::runtime::Runtime, n: u64) {
    let cluster =
        pg::start_cluster(true).expect("PostgreSQL's binaries (apt-get install postgresql)");
    let url = cluster.fresh_database();
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("signing.key");
    let config = dir.path().join("server.toml");
    std::fs::write(&config, "[server]\naudit_searches = false\n").unwrap();
    let count: usize = std::env::var("BENCH_REPLICAS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(3);
    let (replicas, urls): (Vec<_>, Vec<_>) = (0..count)
        .map(|_| replicas::serve(&url, &key, &config))
        .unzip();
    let token = replicas::token(&url, "admin", "bench");
    ingest_all(
        rt,
        &urls,
        &token,
        n,
        &format!("{count} replicas of {}", pg::db_name(&url)),
    );
    rt.block_on(measure(&urls[0], &token));
    rt.block_on(maintain(&urls[0], &token));
    let rss: Vec<String> = replicas
        .iter()
        .map(|r| format!("{} MiB", server_child::rss_kib(r.pid()) / 1024))
        .collect();
    println!(
        "\nreplicas' RSS after: {}; database: {}",
        rss.join(", "),
        cluster
            .psql(
                pg::db_name(&url),
                "SELECT pg_size_pretty(pg_database_size(current_database()))"
            )
            .trim()
    );
    drop(replicas);
    let store = rt
        .block_on(trailscope::store::postgres::PostgresStore::open(&url, 4))
        .unwrap();
    rt.block_on(prune_first_tenth(&store, n));
}

/// Times verify (the whole chain and tree) and pseudonymising one actor, over HTTP. Verify is
/// read as its NDJSON stream: at 10M the walk outlasts the 120 s a JSON answer may take to begin.
async fn maintain(url: &str, token: &str) {
    let http = reqwest::Client::new();
    let t = Instant::now();
    let mut r = http
        .get(format!("{url}/v1/verify"))
        .bearer_auth(token)
        .header("accept", "application/x-ndjson")
        .timeout(Duration::from_secs(24 * 3600))
        .send()
        .await
        .unwrap();
    let status = r.status();
    let begun = t.elapsed();
    let mut body = Vec::new();
    while let Some(chunk) = r.chunk().await.unwrap() {
        body.extend_from_slice(&chunk);
    }
    let lines: Vec<serde_json::Value> = String::from_utf8_lossy(&body)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let report = &lines.last().unwrap()["report"];
    println!(
        "\nverify: {status} begun after {:.3} s, done in {:.1} s ({} progress lines): ok {}, {} entries checked",
        begun.as_secs_f64(),
        t.elapsed().as_secs_f64(),
        lines.len() - 1,
        report["ok"],
        report["checked"]
    );
    let t = Instant::now();
    let r = http
        .post(format!("{url}/v1/pseudonymise"))
        .bearer_auth(token)
        .json(&serde_json::json!({"actor_id": "u_17"}))
        .timeout(Duration::from_secs(24 * 3600))
        .send()
        .await
        .unwrap();
    let status = r.status();
    let report: serde_json::Value = r.json().await.unwrap();
    println!(
        "pseudonymise actor u_17: {status} in {:.2} s: {}",
        t.elapsed().as_secs_f64(),
        report
    );
}

/// Times a prune of the first tenth of the entries (by when they were received), in process
/// on the database the servers left.
async fn prune_first_tenth(store: &dyn trailscope::store::Store, n: u64) {
    let cutoff = store
        .get_seq("bench", n / 10)
        .await
        .unwrap()
        .unwrap()
        .received_at;
    let t = Instant::now();
    let report = store.prune("bench", cutoff, None).await.unwrap();
    println!(
        "prune: {} entries removed in {:.1} s",
        report.removed,
        t.elapsed().as_secs_f64()
    );
}
