//! TUI benchmark (figures in BENCHMARKS.md): launch to first page drawn against a local server
//! holding N entries, key press to next frame with 100,000 rows loaded, and the TUI's RSS.
//!
//! `cargo run --release --example tui_bench -- [ENTRIES] [DAYS]` (default 1,000,000 over 30
//! days). The server runs in
//! this process; the TUI side runs in a child process so its RSS is the TUI's alone.
//! With `TUI_BENCH_DB=path` it opens that database instead of seeding one, as tenant
//! `TUI_BENCH_TENANT` (default `bench`: the log `bench_scale` leaves with `BENCH_DB`).

use chrono::{Duration, Utc};
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use std::sync::Arc;
use std::time::Instant;
use trailscope::client::Client;
use trailscope::model::{Actor, ActorType, NewEvent, Target};
use trailscope::server::{Allowlist, serve};
use trailscope::store::sqlite::SqliteDb;
use trailscope::store::sqlite::TokenAdmin;
use trailscope::store::{Role, SqliteStore, Store};
use trailscope::tui::keymap::Keymap;
use trailscope::tui::theme::{ColorDepth, Theme};
use trailscope::tui::{Action, App, Effect, Settings, default_query, render};

const ACTIONS: [&str; 8] = [
    "ticket.created",
    "ticket.updated",
    "user.login",
    "rule_fired",
    "report.viewed",
    "api_key_deleted",
    "integration_credentials_updated",
    "role.granted",
];

fn seed(store: &SqliteDb, n: usize, days: i64) {
    let now = Utc::now() - Duration::minutes(1);
    let span_ms = days * 24 * 3600 * 1000i64;
    let mut batch = Vec::with_capacity(1000);
    for i in 0..n {
        let at = now - Duration::milliseconds(span_ms - span_ms * i as i64 / n as i64);
        batch.push(NewEvent {
            occurred_at: Some(at),
            action: ACTIONS[i % ACTIONS.len()].to_string(),
            channel: Some(["admin", "auth", "rules", "writeback"][i % 4].to_string()),
            description: Some(format!("User {} did thing number {i} to ticket {}", i % 97, i % 5000)),
            actor: Some(Actor { kind: ActorType::User, id: Some(format!("u_{}", i % 97)), name: Some(format!("User {}", i % 97)), email: Some(format!("user{}@example.com", i % 97)), ..Actor::default() }),
            target: Some(Target { kind: "ticket".into(), id: (i % 5000).to_string(), name: None }),
            details: if i % 10 == 0 { Some(serde_json::json!({"before": {"status": "open"}, "after": {"status": "closed"}}).into()) } else { None },
            ..NewEvent::default()
        });
        if batch.len() == 1000 {
            store
                .append("default", std::mem::take(&mut batch))
                .expect("append");
        }
    }
    if !batch.is_empty() {
        store.append("default", batch).expect("append");
    }
}

fn new_app() -> App {
    App::new(Settings {
        source: "bench".into(),
        query: default_query(),
        keymap: Keymap::default(),
        theme: Theme::new(ColorDepth::TrueColor),
        views: vec![],
        now: Utc::now(),
        size: (120, 32),
    })
}

fn rss_kb() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        })
        .unwrap_or(0)
}

/// Runs effects the way the event loop does, but waits for each result, until `limit` rows.
async fn settle(client: &Client, app: &mut App, mut effects: Vec<Effect>, limit: usize) {
    while !effects.is_empty() && app.pager.rows.len() < limit {
        let mut next = Vec::new();
        for e in effects {
            let action = match e {
                Effect::FetchPage {
                    load,
                    query,
                    cursor,
                    limit,
                } => Action::Page {
                    load,
                    result: client.events(&query, cursor.as_deref(), limit).await,
                },
                Effect::FetchStats {
                    load,
                    query,
                    buckets,
                } => Action::Stats {
                    load,
                    result: client.stats(&query, buckets).await,
                },
                _ => continue,
            };
            next.extend(app.update(action));
        }
        effects = next;
    }
}

async fn child(url: String, token: String) {
    let mut term = Terminal::new(TestBackend::new(120, 32)).unwrap();
    // Launch to first page drawn, as the event loop does it: the page and the stats are asked
    // for at once, and a frame is drawn as each arrives. The page is what the user waits for;
    // the count and histogram under the header follow.
    let mut firsts = Vec::new();
    let mut fulls = Vec::new();
    for _ in 0..7 {
        let t0 = Instant::now();
        let client = Client::new(&url, &token).unwrap();
        let mut app = new_app();
        let fx = app.start();
        let (load, query, limit, sq, buckets) = match (&fx[0], &fx[1]) {
            (
                Effect::FetchPage {
                    load, query, limit, ..
                },
                Effect::FetchStats {
                    query: sq, buckets, ..
                },
            ) => (*load, query.clone(), *limit, sq.clone(), *buckets),
            _ => unreachable!("start asks for a page and stats"),
        };
        let stats = {
            let client = client.clone();
            tokio::spawn(async move { client.stats(&sq, buckets).await })
        };
        let page = client.events(&query, None, limit).await;
        app.update(Action::Page { load, result: page });
        term.draw(|f| render(&app, f)).unwrap();
        assert!(!app.pager.rows.is_empty());
        firsts.push(t0.elapsed().as_secs_f64() * 1000.0);
        app.update(Action::Stats {
            load,
            result: stats.await.unwrap(),
        });
        term.draw(|f| render(&app, f)).unwrap();
        fulls.push(t0.elapsed().as_secs_f64() * 1000.0);
    }
    firsts.sort_by(f64::total_cmp);
    fulls.sort_by(f64::total_cmp);
    println!(
        "launch to first page drawn: median {:.1} ms, min {:.1} ms, max {:.1} ms (7 runs)",
        firsts[3], firsts[0], firsts[6]
    );
    println!(
        "launch to count and histogram drawn too: median {:.1} ms, min {:.1} ms, max {:.1} ms",
        fulls[3], fulls[0], fulls[6]
    );

    let rss0 = rss_kb();
    let client = Client::new(&url, &token).unwrap();
    let mut app = new_app();
    let effects = app.start();
    // Load 100,000 rows through the app's own paging: G twice loads to the end in 1000-row pages.
    let t0 = Instant::now();
    settle(&client, &mut app, effects, usize::MAX).await;
    let mut effects = app.update(Action::Key(KeyEvent::new(
        KeyCode::Char('G'),
        KeyModifiers::NONE,
    )));
    effects.extend(app.update(Action::Key(KeyEvent::new(
        KeyCode::Char('G'),
        KeyModifiers::NONE,
    ))));
    settle(&client, &mut app, effects, 100_000).await;
    // Stop loading to the end, as Esc does.
    app.update(Action::Key(KeyEvent::new(KeyCode::Esc, KeyModifiers::NONE)));
    let loaded = app.pager.rows.len();
    println!(
        "loaded {loaded} rows in {:.1} s",
        t0.elapsed().as_secs_f64()
    );
    term.draw(|f| render(&app, f)).unwrap();
    let rss = rss_kb();
    println!(
        "RSS with {loaded} rows loaded: {:.1} MB (before loading: {:.1} MB)",
        rss as f64 / 1024.0,
        rss0 as f64 / 1024.0
    );

    app.update(Action::Key(KeyEvent::new(
        KeyCode::Char('g'),
        KeyModifiers::NONE,
    )));
    let mut times = Vec::new();
    for i in 0..5000 {
        let code = match i % 50 {
            0 => KeyCode::PageDown,
            25 => KeyCode::Char('t'),
            _ => KeyCode::Char('j'),
        };
        let t = Instant::now();
        let _ = app.update(Action::Key(KeyEvent::new(code, KeyModifiers::NONE)));
        term.draw(|f| render(&app, f)).unwrap();
        times.push(t.elapsed().as_secs_f64() * 1000.0);
    }
    times.sort_by(f64::total_cmp);
    let mean = times.iter().sum::<f64>() / times.len() as f64;
    println!(
        "key press to next frame ({loaded} rows, 120x32, 5000 keys): mean {:.3} ms, p99 {:.3} ms, max {:.3} ms",
        mean,
        times[times.len() * 99 / 100],
        times[times.len() - 1]
    );
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let rt = tokio::runtime::Runtime::new().unwrap();
    if args.get(1).map(String::as_str) == Some("--child") {
        rt.block_on(child(args[2].clone(), args[3].clone()));
        return;
    }
    let n: usize = args
        .get(1)
        .and_then(|s| s.replace(['_', ','], "").parse().ok())
        .unwrap_or(1_000_000);
    // Over how many days the entries spread (default 30): `tui_bench 100000 7` puts all of
    // them in the TUI's default `since:7d`, so 100,000 entries are 100,000 rows to load.
    let days: i64 = args.get(2).and_then(|s| s.parse().ok()).unwrap_or(30);
    let dir = tempfile::tempdir().unwrap();
    let given = std::env::var("TUI_BENCH_DB").ok();
    let db = given
        .clone()
        .map_or_else(|| dir.path().join("bench.db"), std::path::PathBuf::from);
    let tenant = match &given {
        Some(_) => std::env::var("TUI_BENCH_TENANT").unwrap_or_else(|_| "bench".into()),
        None => "default".into(),
    };
    let token = TokenAdmin::open(&db)
        .unwrap()
        .create(Role::Auditor, &tenant, None)
        .unwrap()
        .1;
    let t0 = Instant::now();
    let sqlite = SqliteStore::open(&db).unwrap();
    if given.is_some() {
        println!(
            "opened {} in {:.1} s",
            db.display(),
            t0.elapsed().as_secs_f64()
        );
    } else {
        seed(sqlite.db(), n, days);
        println!("seeded {n} entries in {:.1} s", t0.elapsed().as_secs_f64());
    }
    let store: Arc<dyn Store> = Arc::new(sqlite);
    rt.block_on(async move {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let server = tokio::spawn(serve(store, Allowlist::default(), listener, async move {
            let _ = stopped.await;
        }));
        let me = std::env::current_exe().unwrap();
        let status = tokio::process::Command::new(me)
            .args(["--child", &url, &token])
            .status()
            .await
            .unwrap();
        assert!(status.success());
        let _ = stop.send(());
        let _ = server.await;
    });
}
