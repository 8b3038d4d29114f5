//! Live-follow benchmark (issue 6; figures in BENCHMARKS.md).
//!
//! `cargo run --release --example bench_stream` measures, against a real server on a loopback
//! port over a real SQLite file:
//! 1. latency from a producer's 201 to the entry arriving at a stream client, at 1,000 events/s,
//!    with 1 client and with 100 clients;
//! 2. what clients that never read cost a producer: the same posts with and without them;
//! 3. the TUI in follow mode while 5,000 events/s stream in: key press to frame, and its CPU.
//!    The TUI runs in a child process (its CPU is its own) through the real event loop
//!    (`event_loop::drive`), the real client and follower, drawing into a 120×32 `TestBackend`.

use chrono::Utc;
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use serde_json::{Value, json};
use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use trailscope::client::{Client, StreamItem};
use trailscope::model::Query;
use trailscope::server::{Allowlist, serve};
use trailscope::store::sqlite::TokenAdmin;
use trailscope::store::{Role, SqliteStore, Store};
use trailscope::tui::keymap::Keymap;
use trailscope::tui::theme::{ColorDepth, Theme};
use trailscope::tui::{Action, App, Settings, default_query};

fn event(i: usize) -> Value {
    let action = ["user.login", "ticket.created", "rule_fired", "role.updated"][i % 4];
    let channel = ["auth", "writeback", "rules", "admin"][i % 4];
    json!({
        "action": action,
        "channel": channel,
        "outcome": if i.is_multiple_of(10) { "failure" } else { "success" },
        "description": format!("live event {i}"),
        "actor": {"type": "user", "id": format!("u_{}", i % 50), "name": format!("User {}", i % 50)},
        "target": {"type": "ticket", "id": (i % 1000).to_string()},
    })
}

fn pct(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

type Acks = Arc<Mutex<HashMap<u64, Instant>>>;

/// Posts `rate` events a second in batches of `batch` for `secs`, recording when each seq's 201
/// arrived. Returns how many were posted.
async fn produce(
    url: &str,
    writer: &str,
    rate: usize,
    batch: usize,
    secs: u64,
    acks: Acks,
) -> usize {
    let http = reqwest::Client::new();
    let per_sec = rate / batch;
    let mut tick = tokio::time::interval(Duration::from_micros(1_000_000 / per_sec as u64));
    // A late tick is made up for (tokio's default), so the rate holds on average.
    let mut sent = 0;
    let mut inflight = tokio::task::JoinSet::new();
    for _ in 0..per_sec * secs as usize {
        tick.tick().await;
        let body: Vec<Value> = (sent..sent + batch).map(event).collect();
        sent += batch;
        let (http, url, writer, acks) = (
            http.clone(),
            url.to_string(),
            writer.to_string(),
            acks.clone(),
        );
        inflight.spawn(async move {
            let r = http
                .post(format!("{url}/v1/events"))
                .bearer_auth(&writer)
                .json(&body)
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), 201);
            let v: Value = r.json().await.unwrap();
            let at = Instant::now();
            let mut acks = acks.lock().unwrap();
            for e in v["entries"].as_array().unwrap() {
                acks.insert(e["seq"].as_u64().unwrap(), at);
            }
        });
        // Keep at most a few posts in flight, as a real producer would.
        while inflight.len() > 8 {
            inflight.join_next().await;
        }
    }
    while inflight.join_next().await.is_some() {}
    sent
}

/// One stream client recording when each seq arrived, until `want` entries came. With
/// `light`, it reads the SSE framing and the `id:` only, as a relay would, so that a hundred
/// clients in this process measure the server's fan-out rather than their own JSON parsing.
async fn listen(
    client: Client,
    url: String,
    token: String,
    want: usize,
    light: bool,
) -> Vec<(u64, Instant)> {
    let mut got = Vec::with_capacity(want);
    if light {
        let mut r = reqwest::Client::new()
            .get(format!("{url}/v1/stream"))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap();
        let mut parser = trailscope::client::sse::SseParser::default();
        let mut events = Vec::new();
        while got.len() < want {
            let chunk = tokio::time::timeout(Duration::from_secs(30), r.chunk())
                .await
                .expect("the stream went silent")
                .unwrap()
                .expect("the stream ended early");
            let at = Instant::now();
            parser.feed(&chunk, &mut events).unwrap();
            for e in events.drain(..) {
                if e.event == "entry" {
                    got.push((e.id.unwrap().parse().unwrap(), at));
                }
            }
        }
        return got;
    }
    let mut stream = client.open_stream(&Query::default(), None).await.unwrap();
    while got.len() < want {
        match tokio::time::timeout(Duration::from_secs(30), stream.next()).await {
            Ok(Ok(Some(StreamItem::Entry(e)))) => got.push((e.seq, Instant::now())),
            Ok(Ok(Some(StreamItem::Ready(_)))) => {}
            other => panic!("the stream ended early: {other:?}"),
        }
    }
    got
}

/// A token holds at most 8 streams (issue 14): each client gets its own, minted by `mint`.
async fn latency_run(
    url: &str,
    mint: &impl Fn() -> String,
    writer: &str,
    clients: usize,
    secs: u64,
    light: bool,
) {
    let acks: Acks = Arc::default();
    let want = 1000 * secs as usize;
    let mut listeners = Vec::new();
    for _ in 0..clients {
        let auditor = mint();
        let c = Client::new(url, &auditor).unwrap();
        listeners.push(tokio::spawn(listen(
            c,
            url.to_string(),
            auditor,
            want,
            light,
        )));
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let sent = produce(url, writer, 1000, 10, secs, acks.clone()).await;
    assert_eq!(sent, want);
    let mut lat = Vec::new();
    let mut early = 0usize;
    for l in listeners {
        let got = l.await.unwrap();
        let acks = acks.lock().unwrap();
        for (seq, at) in got {
            let ack = acks[&seq];
            match at.checked_duration_since(ack) {
                Some(d) => lat.push(d.as_secs_f64() * 1000.0),
                None => {
                    early += 1;
                    lat.push(0.0);
                }
            }
        }
    }
    lat.sort_by(f64::total_cmp);
    println!(
        "201 -> stream client{}, 1,000 events/s, {clients} client(s), {} deliveries: p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms ({:.1}% arrived before the producer had its 201)",
        if light {
            " (framing only)"
        } else {
            " (trailscope's client)"
        },
        lat.len(),
        pct(&lat, 0.5),
        pct(&lat, 0.99),
        lat.last().copied().unwrap_or(f64::NAN),
        early as f64 * 100.0 / lat.len() as f64
    );
}

/// Posts `n` events as fast as one producer can (batches of 100); returns events/s.
async fn burst(url: &str, writer: &str, n: usize, offset: usize) -> f64 {
    let http = reqwest::Client::new();
    let t = Instant::now();
    for b in (0..n).step_by(100) {
        let body: Vec<Value> = (offset + b..offset + b + 100)
            .map(|i| {
                let mut e = event(i);
                e["details"] = json!({"blob": "x".repeat(4000)});
                e
            })
            .collect();
        let r = http
            .post(format!("{url}/v1/events"))
            .bearer_auth(writer)
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 201);
    }
    n as f64 / t.elapsed().as_secs_f64()
}

fn cpu_ticks() -> u64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // Fields after the command name (which may hold spaces): utime is 14th, stime 15th overall.
    let rest = stat.rsplit_once(')').map(|(_, r)| r).unwrap_or("");
    let f: Vec<&str> = rest.split_whitespace().collect();
    f.get(11).and_then(|s| s.parse::<u64>().ok()).unwrap_or(0)
        + f.get(12).and_then(|s| s.parse::<u64>().ok()).unwrap_or(0)
}

/// The TUI side: follow on, keys every 50 ms, every frame into a TestBackend.
async fn tui_child(url: String, token: String, secs: u64) {
    let client = Client::new(&url, &token).unwrap();
    let app = App::new(Settings {
        source: "bench".into(),
        query: default_query(),
        keymap: Keymap::default(),
        theme: Theme::new(ColorDepth::TrueColor),
        views: vec![],
        now: Utc::now(),
        size: (120, 32),
    });
    let mut term = Terminal::new(TestBackend::new(120, 32)).unwrap();
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    let key = |c| Action::Key(KeyEvent::new(c, KeyModifiers::NONE));
    let pending: Arc<Mutex<VecDeque<Instant>>> = Arc::default();
    let ticks = tx.clone();
    tokio::spawn(async move {
        let mut i = tokio::time::interval(Duration::from_millis(250));
        while ticks.send(Action::Tick(Utc::now())).is_ok() {
            i.tick().await;
        }
    });
    let keys = tx.clone();
    let sent = pending.clone();
    let window: Arc<Mutex<(u64, Instant)>> = Arc::new(Mutex::new((0, Instant::now())));
    let w = window.clone();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(1500)).await;
        let _ = keys.send(key(KeyCode::Char('F')));
        tokio::time::sleep(Duration::from_millis(1500)).await;
        *w.lock().unwrap() = (cpu_ticks(), Instant::now());
        let end = Instant::now() + Duration::from_secs(secs);
        while Instant::now() < end {
            sent.lock().unwrap().push_back(Instant::now());
            let _ = keys.send(key(KeyCode::Char('t')));
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let _ = keys.send(key(KeyCode::Char('q')));
    });
    let mut lat = Vec::new();
    let mut last_mode = None;
    let mut frames = 0u64;
    let mut rows_at_start = 0;
    let source = trailscope::client::source::Source::from(client);
    let app = trailscope::tui::event_loop::drive(
        &mut term,
        &source,
        app,
        (tx, rx),
        Default::default(),
        |app| {
            frames += 1;
            if last_mode.is_some() && last_mode != Some(app.chrome.time_mode) {
                if let Some(t) = pending.lock().unwrap().pop_front() {
                    lat.push(t.elapsed().as_secs_f64() * 1000.0);
                }
            } else if last_mode.is_none() {
                rows_at_start = app.pager.rows.len();
            }
            last_mode = Some(app.chrome.time_mode);
        },
    )
    .await
    .unwrap();
    let (t0, w0) = *window.lock().unwrap();
    let wall = w0.elapsed().as_secs_f64();
    let cpu = (cpu_ticks() - t0) as f64 / 100.0;
    lat.sort_by(f64::total_cmp);
    println!(
        "TUI following: {} keys, key press to frame p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms; {} frames; {} rows arrived live; CPU {:.0}% of one core over {:.1} s",
        lat.len(),
        pct(&lat, 0.5),
        pct(&lat, 0.99),
        lat.last().copied().unwrap_or(f64::NAN),
        frames,
        app.pager.rows.len().saturating_sub(rows_at_start),
        cpu * 100.0 / wall,
        wall
    );
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let rt = tokio::runtime::Runtime::new().unwrap();
    if args.get(1).map(String::as_str) == Some("--tui-child") {
        rt.block_on(tui_child(
            args[2].clone(),
            args[3].clone(),
            args[4].parse().unwrap(),
        ));
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("bench.db");
    let admin = TokenAdmin::open(&db).unwrap();
    let auditor = admin.create(Role::Auditor, "default", None).unwrap().1;
    let writer = admin.create(Role::Writer, "default", None).unwrap().1;
    let store: Arc<dyn Store> = Arc::new(SqliteStore::open(&db).unwrap());
    rt.block_on(async move {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let server = tokio::spawn(serve(store, Allowlist::default(), listener, async move {
            let _ = stopped.await;
        }));
        let mint = || {
            TokenAdmin::open(&db)
                .unwrap()
                .create(Role::Auditor, "default", None)
                .unwrap()
                .1
        };
        latency_run(&url, &mint, &writer, 1, 15, false).await;
        latency_run(&url, &mint, &writer, 100, 10, false).await;
        latency_run(&url, &mint, &writer, 100, 10, true).await;

        // Clients that connect and never read, while one producer posts 4 KB events flat out.
        let base = burst(&url, &writer, 20_000, 1_000_000).await;
        let mut stalled = Vec::new();
        for _ in 0..10 {
            let c = Client::new(&url, &mint()).unwrap();
            stalled.push(c.open_stream(&Query::default(), Some(0)).await.unwrap());
        }
        let with = burst(&url, &writer, 20_000, 2_000_000).await;
        println!(
            "one producer, 20,000 events of 4 KB in batches of 100: {base:.0} events/s alone, {with:.0} events/s with 10 stream clients that never read ({:.2}x)",
            with / base
        );
        drop(stalled);

        // The TUI following while 5,000 events/s stream in.
        let secs = 10;
        let me = std::env::current_exe().unwrap();
        let child = tokio::process::Command::new(me)
            .args(["--tui-child", &url, &auditor, &secs.to_string()])
            .spawn()
            .unwrap();
        tokio::time::sleep(Duration::from_millis(2500)).await;
        let acks: Acks = Arc::default();
        let (posted, status) = tokio::join!(
            produce(&url, &writer, 5000, 50, secs + 1, acks),
            child.wait_with_output()
        );
        println!("producer posted {posted} events at 5,000/s");
        assert!(status.unwrap().status.success());
        let _ = stop.send(());
        let _ = server.await;
    });
}
