//! Issue 24's measurement (figures in BENCHMARKS.md): the SQLite server while 200 connections
//! sit idle, 50 clients send their headers a byte every 2 s (slowloris) and 5 SSE readers stop
//! reading while 4 producers write 64 KiB entries, and an honest client pages and posts.
//!
//! `cargo run --release --example hostile_load -- [SECONDS]` (default 60). The server runs as a
//! child process (this program with `--server-child`) so its resident memory is its own. Prints
//! the server's RSS before, at its highest and after, the honest client's latencies, and how many
//! of the hostile connections the server closed by itself. Exits non-zero when the honest client
//! got an error or a 5xx, or the server's RSS grew past 1 GiB.

#[path = "common/child.rs"]
mod server_child;

use serde_json::{Value, json};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use trailscope::store::Role;
use trailscope::store::sqlite::TokenAdmin;

const IDLE: usize = 200;
const SLOWLORIS: usize = 50;
const STUCK_READERS: usize = 5;
const PRODUCERS: usize = 4;
/// The writer's page cache (64 MiB), the readers' (8 MiB each), five streams' buffers (1 MiB
/// each), requests of 512 KiB in flight and what the allocator keeps: well under this.
const RSS_LIMIT_KIB: u64 = 1024 * 1024;

/// Holds a connection that sends nothing; counts it when the server closes it.
async fn idle(addr: String, closed: Arc<AtomicU64>, stop: Arc<AtomicBool>) {
    let Ok(mut c) = TcpStream::connect(&addr).await else {
        return;
    };
    let mut buf = [0u8; 256];
    while !stop.load(Ordering::Relaxed) {
        if let Ok(Ok(0) | Err(_)) =
            tokio::time::timeout(Duration::from_millis(500), c.read(&mut buf)).await
        {
            closed.fetch_add(1, Ordering::Relaxed);
            return;
        }
    }
}

/// Sends a request's head one byte every 2 s; counts it when the server closes it.
async fn slowloris(addr: String, closed: Arc<AtomicU64>, stop: Arc<AtomicBool>) {
    let Ok(mut c) = TcpStream::connect(&addr).await else {
        return;
    };
    let head = b"GET /v1/events HTTP/1.1\r\nHost: x\r\nX-Slow: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n";
    for b in head.iter().cycle() {
        if stop.load(Ordering::Relaxed) {
            return;
        }
        if c.write_all(&[*b]).await.is_err() {
            closed.fetch_add(1, Ordering::Relaxed);
            return;
        }
        tokio::time::sleep(Duration::from_secs(2)).await;
    }
}

/// Opens a stream and never reads it again.
async fn stuck_reader(addr: String, token: String, stop: Arc<AtomicBool>) {
    let Ok(mut c) = TcpStream::connect(&addr).await else {
        return;
    };
    let req =
        format!("GET /v1/stream HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {token}\r\n\r\n");
    let _ = c.write_all(req.as_bytes()).await;
    // Hold the socket without reading until the end.
    while !stop.load(Ordering::Relaxed) {
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

async fn producer(url: String, token: String, stop: Arc<AtomicBool>, errors: Arc<AtomicU64>) {
    let http = reqwest::Client::new();
    let blob = "x".repeat(64 * 1024);
    let mut n = 0u64;
    while !stop.load(Ordering::Relaxed) {
        let batch: Vec<Value> = (0..8)
            .map(|i| json!({"action": "bulk.write", "details": {"blob": blob, "n": n * 8 + i}}))
            .collect();
        n += 1;
        match http
            .post(format!("{url}/v1/events"))
            .bearer_auth(&token)
            .json(&batch)
            .send()
            .await
        {
            Ok(r) if r.status().as_u16() == 201 => {}
            _ => {
                errors.fetch_add(1, Ordering::Relaxed);
            }
        }
    }
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i]
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.get(1).map(String::as_str) == Some(server_child::FLAG) {
        server_child::serve(&args[2]);
        return;
    }
    let secs: u64 = args.get(1).and_then(|s| s.parse().ok()).unwrap_or(60);
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("hostile.db");
    let admin = TokenAdmin::open(&db).unwrap();
    let mint = |role| admin.create(role, "default", None).unwrap().1;
    let writer = mint(Role::Writer);
    let auditor = mint(Role::Auditor);
    // One token per stuck reader (a token holds at most 8 streams anyway).
    let readers: Vec<String> = (0..STUCK_READERS).map(|_| mint(Role::Auditor)).collect();
    let (mut child, url) = server_child::start(&db);
    let addr = url.trim_start_matches("http://").to_string();
    let pid = child.id();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let ok = rt.block_on(async move {
        let rss_before = server_child::rss_kib(pid);
        let stop = Arc::new(AtomicBool::new(false));
        let closed_idle = Arc::new(AtomicU64::new(0));
        let closed_slow = Arc::new(AtomicU64::new(0));
        let producer_errors = Arc::new(AtomicU64::new(0));
        let mut tasks = Vec::new();
        for _ in 0..IDLE {
            tasks.push(tokio::spawn(idle(addr.clone(), closed_idle.clone(), stop.clone())));
        }
        for _ in 0..SLOWLORIS {
            tasks.push(tokio::spawn(slowloris(addr.clone(), closed_slow.clone(), stop.clone())));
        }
        for t in &readers {
            tasks.push(tokio::spawn(stuck_reader(addr.clone(), t.clone(), stop.clone())));
        }
        for _ in 0..PRODUCERS {
            tasks.push(tokio::spawn(producer(
                url.clone(),
                writer.clone(),
                stop.clone(),
                producer_errors.clone(),
            )));
        }
        // The honest client: a page and a post, one after the other, for the whole run.
        let http = reqwest::Client::new();
        let (mut reads, mut writes) = (Vec::new(), Vec::new());
        let mut honest_errors = 0u64;
        let mut rss_max = rss_before;
        let started = Instant::now();
        let end = started + Duration::from_secs(secs);
        // RSS every tenth of the run: bounded memory is a plateau, not a small number.
        let mut samples: Vec<u64> = Vec::new();
        while Instant::now() < end {
            let t = Instant::now();
            match http
                .get(format!("{url}/v1/events?limit=50&action=honest.check"))
                .bearer_auth(&auditor)
                .send()
                .await
            {
                Ok(r) if r.status().is_success() => reads.push(t.elapsed().as_secs_f64() * 1e3),
                _ => honest_errors += 1,
            }
            let t = Instant::now();
            match http
                .post(format!("{url}/v1/events"))
                .bearer_auth(&writer)
                .json(&json!({"action": "honest.check"}))
                .send()
                .await
            {
                Ok(r) if r.status().as_u16() == 201 => {
                    writes.push(t.elapsed().as_secs_f64() * 1e3)
                }
                _ => honest_errors += 1,
            }
            let rss = server_child::rss_kib(pid);
            rss_max = rss_max.max(rss);
            let tenth = (started.elapsed().as_secs_f64() / secs as f64 * 10.0) as usize;
            if tenth >= samples.len() && samples.len() < 10 {
                samples.push(rss);
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        stop.store(true, Ordering::Relaxed);
        for t in tasks {
            let _ = t.await;
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
        let rss_after = server_child::rss_kib(pid);
        reads.sort_by(f64::total_cmp);
        writes.sort_by(f64::total_cmp);
        println!("hostile_load: {secs} s, {IDLE} idle, {SLOWLORIS} slowloris, {STUCK_READERS} stuck SSE readers, {PRODUCERS} producers of 8 x 64 KiB batches");
        println!(
            "honest reads:  {} ok, p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
            reads.len(),
            percentile(&reads, 0.5),
            percentile(&reads, 0.99),
            reads.last().copied().unwrap_or(0.0)
        );
        println!(
            "honest writes: {} ok, p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
            writes.len(),
            percentile(&writes, 0.5),
            percentile(&writes, 0.99),
            writes.last().copied().unwrap_or(0.0)
        );
        println!("honest errors: {honest_errors}; producer errors: {}", producer_errors.load(Ordering::Relaxed));
        println!(
            "closed by the server: {}/{IDLE} idle, {}/{SLOWLORIS} slowloris",
            closed_idle.load(Ordering::Relaxed),
            closed_slow.load(Ordering::Relaxed)
        );
        println!(
            "server RSS: {:.1} MiB before, {:.1} MiB at most, {:.1} MiB after",
            rss_before as f64 / 1024.0,
            rss_max as f64 / 1024.0,
            rss_after as f64 / 1024.0
        );
        println!(
            "server RSS each tenth of the run (MiB): {}",
            samples
                .iter()
                .map(|k| format!("{:.0}", *k as f64 / 1024.0))
                .collect::<Vec<_>>()
                .join(", ")
        );
        honest_errors == 0 && rss_max < RSS_LIMIT_KIB
    });
    let _ = std::process::Command::new("kill")
        .arg(pid.to_string())
        .status();
    let _ = child.wait();
    if !ok {
        eprintln!(
            "hostile_load: FAILED (honest errors, or RSS past {} MiB)",
            RSS_LIMIT_KIB / 1024
        );
        std::process::exit(1);
    }
}
