//! Soak test (issue 14; figures in BENCHMARKS.md): the SQLite server under 16 producers, 8
//! readers paging with filters, 50 live followers and 2 exports at once, then verified.
//!
//! `cargo run --release --example soak -- [SECONDS]` (default 300). The server runs as a child
//! process (this program with `--server-child`), so its resident memory is its own; it is
//! sampled every 5 s. At the end: every acknowledged entry is in the log (0 lost), no request
//! got a 5xx, every follower received every entry matching its filter exactly once and in seq
//! order, the chain verifies, and the server's RSS in the last minute is compared with the
//! first. Exits non-zero when any of that fails.

#[path = "common/child.rs"]
mod server_child;

use serde_json::{Value, json};
use std::collections::{BTreeSet, HashSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};
use trailscope::client::sse::SseParser;
use trailscope::store::Role;
use trailscope::store::sqlite::TokenAdmin;

const PRODUCERS: usize = 16;
const READERS: usize = 8;
const FOLLOWERS: usize = 50;
const EXPORTS: usize = 2;
const CHANNELS: [&str; 4] = ["auth", "admin", "rules", "writeback"];

#[derive(Default)]
struct Counters {
    acked: AtomicU64,
    server_errors: AtomicU64,
    pages: AtomicU64,
    exports: AtomicU64,
    export_rows: AtomicU64,
    reconnects: AtomicU64,
}

fn event(producer: usize, n: u64) -> Value {
    let channel = CHANNELS[(n as usize + producer) % 4];
    json!({
        "action": format!("{channel}.{}", ["created", "updated", "deleted", "read"][n as usize % 4]),
        "channel": channel,
        "outcome": if n.is_multiple_of(7) { "failure" } else { "success" },
        "description": format!("producer {producer} event {n}"),
        "actor": {"type": "user", "id": format!("u_{}", n % 40), "email": format!("user{}@example.com", n % 40)},
        "target": {"type": "ticket", "id": (n % 500).to_string()},
        "details": {"n": n, "pad": "x".repeat(200)},
    })
}

/// The filter each follower holds: a channel, or (every fifth) nothing.
fn follower_filter(i: usize) -> Option<&'static str> {
    (!i.is_multiple_of(5)).then(|| CHANNELS[i % 4])
}

async fn producer(
    url: String,
    token: String,
    i: usize,
    stop: Arc<AtomicBool>,
    c: Arc<Counters>,
) -> Vec<u64> {
    let http = reqwest::Client::new();
    let mut acked = Vec::new();
    let mut n = 0u64;
    let mut tick = tokio::time::interval(Duration::from_millis(300));
    while !stop.load(Ordering::Relaxed) {
        tick.tick().await;
        let batch: Vec<Value> = (0..10).map(|k| event(i, n + k)).collect();
        n += 10;
        match http
            .post(format!("{url}/v1/events"))
            .bearer_auth(&token)
            .json(&batch)
            .send()
            .await
        {
            Ok(r) if r.status().as_u16() == 201 => {
                let body: Value = r.json().await.unwrap();
                for e in body["entries"].as_array().unwrap() {
                    acked.push(e["seq"].as_u64().unwrap());
                }
                c.acked.fetch_add(10, Ordering::Relaxed);
            }
            Ok(r) if r.status().is_server_error() => {
                eprintln!("producer {i}: {}", r.status());
                c.server_errors.fetch_add(1, Ordering::Relaxed);
            }
            Ok(r) => panic!(
                "producer {i}: {} {}",
                r.status(),
                r.text().await.unwrap_or_default()
            ),
            Err(e) => panic!("producer {i}: {e}"),
        }
    }
    acked
}

async fn reader(url: String, token: String, i: usize, stop: Arc<AtomicBool>, c: Arc<Counters>) {
    let http = reqwest::Client::new();
    let filters = [
        "channel=auth",
        "action=admin.*",
        "outcome=failure&channel=rules",
        "q=event+1",
        "filter=actor:user3@example.com",
        "target=ticket/42",
        "kind=deleted&order=asc",
        "from=1h",
    ];
    let mut k = i;
    while !stop.load(Ordering::Relaxed) {
        let filter = filters[k % filters.len()];
        k += 1;
        let mut cursor: Option<String> = None;
        // At most 20 pages of 200, then the next filter.
        for _ in 0..20 {
            let mut q = format!("{url}/v1/events?limit=200&{filter}");
            if let Some(c) = &cursor {
                q.push_str(&format!("&cursor={c}"));
            }
            let r = http.get(q).bearer_auth(&token).send().await.unwrap();
            if r.status().is_server_error() {
                eprintln!("reader {i}: {}", r.status());
                c.server_errors.fetch_add(1, Ordering::Relaxed);
                break;
            }
            assert_eq!(r.status().as_u16(), 200, "reader {i} {filter}");
            let page: Value = r.json().await.unwrap();
            c.pages.fetch_add(1, Ordering::Relaxed);
            match page["next_cursor"].as_str() {
                Some(next) => cursor = Some(next.to_string()),
                None => break,
            }
        }
    }
}

async fn exporter(url: String, token: String, i: usize, stop: Arc<AtomicBool>, c: Arc<Counters>) {
    let http = reqwest::Client::new();
    while !stop.load(Ordering::Relaxed) {
        let filter = if i == 0 {
            "channel=auth"
        } else {
            "outcome=failure"
        };
        let r = http
            .get(format!("{url}/v1/export?format=ndjson&{filter}"))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap();
        if r.status().is_server_error() {
            eprintln!("export {i}: {}", r.status());
            c.server_errors.fetch_add(1, Ordering::Relaxed);
            continue;
        }
        assert_eq!(r.status().as_u16(), 200);
        let body = r.bytes().await.unwrap();
        c.exports.fetch_add(1, Ordering::Relaxed);
        c.export_rows.fetch_add(
            body.iter().filter(|b| **b == b'\n').count() as u64,
            Ordering::Relaxed,
        );
    }
}

/// Follows the stream with its filter from the start, reconnecting after the last seq it got
/// (as every client should), until told the head to reach; returns the seqs in arrival order.
async fn follower(
    url: String,
    token: String,
    i: usize,
    until: tokio::sync::watch::Receiver<Option<u64>>,
    c: Arc<Counters>,
) -> Vec<u64> {
    let http = reqwest::Client::new();
    let mut got: Vec<u64> = Vec::new();
    let mut last = 0u64;
    let filter = follower_filter(i).map_or(String::new(), |ch| format!("?channel={ch}"));
    loop {
        let r = http
            .get(format!("{url}/v1/stream{filter}"))
            .bearer_auth(&token)
            .header("last-event-id", last.to_string())
            .send()
            .await;
        let mut r = match r {
            Ok(r) if r.status().as_u16() == 200 => r,
            Ok(r) if r.status().is_server_error() => {
                c.server_errors.fetch_add(1, Ordering::Relaxed);
                panic!("follower {i}: {}", r.status());
            }
            other => panic!("follower {i}: {other:?}"),
        };
        let mut parser = SseParser::default();
        let mut events = Vec::new();
        loop {
            // Once the writers stopped: the last seq matching this follower's filter.
            if until.borrow().is_some_and(|target| last >= target) {
                return got;
            }
            let chunk = match tokio::time::timeout(Duration::from_secs(1), r.chunk()).await {
                Err(_) => continue,
                Ok(Ok(Some(chunk))) => chunk,
                Ok(_) => break, // dropped: resume after `last`
            };
            parser.feed(&chunk, &mut events).unwrap();
            for e in events.drain(..) {
                if e.event == "entry" {
                    let seq: u64 = e.id.unwrap().parse().unwrap();
                    got.push(seq);
                    last = seq;
                }
            }
        }
        c.reconnects.fetch_add(1, Ordering::Relaxed);
    }
}

/// Every seq under `query`, oldest first, walking the pages.
async fn all_seqs(http: &reqwest::Client, url: &str, token: &str, query: &str) -> Vec<u64> {
    let mut out = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let mut q = format!("{url}/v1/events?limit=1000&order=asc{query}");
        if let Some(c) = &cursor {
            q.push_str(&format!("&cursor={c}"));
        }
        let page: Value = http
            .get(q)
            .bearer_auth(token)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        out.extend(
            page["entries"]
                .as_array()
                .unwrap()
                .iter()
                .map(|e| e["seq"].as_u64().unwrap()),
        );
        match page["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_string()),
            None => break,
        }
    }
    out.sort_unstable();
    out
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.get(1).map(String::as_str) == Some(server_child::FLAG) {
        server_child::serve(&args[2]);
        return;
    }
    let secs: u64 = args.get(1).and_then(|s| s.parse().ok()).unwrap_or(300);
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("soak.db");
    let admin = TokenAdmin::open(&db).unwrap();
    let mint = |role| admin.create(role, "default", None).unwrap().1;
    let writer = mint(Role::Writer);
    let auditor = mint(Role::Auditor);
    // A token holds at most 8 streams: one token per follower, as separate clients would have.
    let follower_tokens: Vec<String> = (0..FOLLOWERS).map(|_| mint(Role::Auditor)).collect();
    let (mut child, url) = server_child::start(&db);
    let pid = child.id();
    println!(
        "soak: {secs} s against {url} (server pid {pid}); {PRODUCERS} producers, {READERS} readers, {FOLLOWERS} followers, {EXPORTS} exports"
    );
    let rt = tokio::runtime::Runtime::new().unwrap();
    let ok = rt.block_on(async move {
        let c = Arc::new(Counters::default());
        let stop = Arc::new(AtomicBool::new(false));
        let mut targets = Vec::new();
        let followers: Vec<_> = follower_tokens
            .iter()
            .enumerate()
            .map(|(i, t)| {
                let (target, until) = tokio::sync::watch::channel(None);
                targets.push(target);
                tokio::spawn(follower(url.clone(), t.clone(), i, until, c.clone()))
            })
            .collect();
        let producers: Vec<_> = (0..PRODUCERS)
            .map(|i| tokio::spawn(producer(url.clone(), writer.clone(), i, stop.clone(), c.clone())))
            .collect();
        let others: Vec<_> = (0..READERS)
            .map(|i| tokio::spawn(reader(url.clone(), auditor.clone(), i, stop.clone(), c.clone())))
            .chain((0..EXPORTS).map(|i| tokio::spawn(exporter(url.clone(), auditor.clone(), i, stop.clone(), c.clone()))))
            .collect();
        let started = Instant::now();
        let mut rss: Vec<(u64, u64)> = Vec::new();
        while started.elapsed() < Duration::from_secs(secs) {
            tokio::time::sleep(Duration::from_secs(5)).await;
            let kib = server_child::rss_kib(pid);
            rss.push((started.elapsed().as_secs(), kib));
            println!(
                "t={:>3}s rss={:>6} KiB acked={} pages={} exports={} 5xx={} reconnects={}",
                started.elapsed().as_secs(),
                kib,
                c.acked.load(Ordering::Relaxed),
                c.pages.load(Ordering::Relaxed),
                c.exports.load(Ordering::Relaxed),
                c.server_errors.load(Ordering::Relaxed),
                c.reconnects.load(Ordering::Relaxed),
            );
        }
        stop.store(true, Ordering::Relaxed);
        let mut acked: Vec<u64> = Vec::new();
        for p in producers {
            acked.extend(p.await.unwrap());
        }
        for o in others {
            o.await.unwrap();
        }
        let http = reqwest::Client::new();
        let stored = all_seqs(&http, &url, &auditor, "").await;
        let mut per_filter = std::collections::HashMap::new();
        for ch in CHANNELS {
            per_filter.insert(Some(ch), all_seqs(&http, &url, &auditor, &format!("&channel={ch}")).await);
        }
        per_filter.insert(None, stored.clone());
        let mut wrong_followers = 0;
        for (i, f) in followers.into_iter().enumerate() {
            let expected = &per_filter[&follower_filter(i)];
            targets[i].send(Some(expected.last().copied().unwrap_or(0))).unwrap();
            let got = tokio::time::timeout(Duration::from_secs(120), f)
                .await
                .expect("a follower never caught up")
                .unwrap();
            let unique: BTreeSet<u64> = got.iter().copied().collect();
            let in_order = got.windows(2).all(|w| w[0] < w[1]);
            let matches = unique.iter().copied().collect::<Vec<_>>() == *expected;
            if !(in_order && unique.len() == got.len() && matches) {
                wrong_followers += 1;
                eprintln!(
                    "follower {i}: got {} ({} unique, in order {in_order}), expected {}",
                    got.len(),
                    unique.len(),
                    expected.len()
                );
            }
        }
        let stored_set: HashSet<u64> = stored.iter().copied().collect();
        let lost = acked.iter().filter(|s| !stored_set.contains(s)).count();
        let verify: Value = http
            .get(format!("{url}/v1/verify"))
            .bearer_auth(&auditor)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let first: Vec<u64> = rss.iter().filter(|(t, _)| *t <= 60).map(|(_, k)| *k).collect();
        let last: Vec<u64> = rss.iter().filter(|(t, _)| *t + 60 >= secs).map(|(_, k)| *k).collect();
        let avg = |v: &[u64]| v.iter().sum::<u64>() as f64 / v.len().max(1) as f64 / 1024.0;
        let max = rss.iter().map(|(_, k)| *k).max().unwrap_or(0) as f64 / 1024.0;
        let errors = c.server_errors.load(Ordering::Relaxed);
        println!(
            "soak result: {} acknowledged, {lost} lost, {} 5xx, {} pages read, {} exports ({} rows), {} follower reconnects, {wrong_followers} of {FOLLOWERS} followers wrong, verify ok={}",
            acked.len(),
            errors,
            c.pages.load(Ordering::Relaxed),
            c.exports.load(Ordering::Relaxed),
            c.export_rows.load(Ordering::Relaxed),
            c.reconnects.load(Ordering::Relaxed),
            verify["ok"],
        );
        println!(
            "server RSS: first minute avg {:.1} MiB, last minute avg {:.1} MiB, max {max:.1} MiB",
            avg(&first),
            avg(&last)
        );
        lost == 0 && errors == 0 && wrong_followers == 0 && verify["ok"] == true
    });
    let _ = std::process::Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status();
    let _ = child.wait();
    if !ok {
        std::process::exit(1);
    }
}
