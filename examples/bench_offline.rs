//! Offline benchmark (issue 5; figures in BENCHMARKS.md):
//! 1. `trailscope open` of an N-line NDJSON export to the first page drawn, side by side with
//!    `lnav` opening the same file, both in tmux at 120×32 (needs `tmux` and `lnav` on PATH);
//! 2. filtered queries over N cached entries: the page the TUI asks for, and its count and
//!    histogram, p50/p99 over 200 samples each.
//!
//! `cargo build --release && cargo run --release --example bench_offline -- [N]` (default
//! 1,000,000). Uses the release `trailscope` binary beside this example's directory.

use chrono::{Duration, Utc};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;
use trailscope::export::{Exporter, Format};
use trailscope::model::{Actor, ActorType, Entry, Kind, Outcome, Query, Target};
use trailscope::store::PageRequest;
use trailscope::store::sqlite::{Durability, LocalStore};

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
const CHANNELS: [&str; 5] = ["auth", "admin", "api", "automation", "billing"];
const WORDS: [&str; 6] = ["printer", "firewall", "invoice", "backup", "vpn", "mailbox"];

/// A varied export of `n` entries over the last 30 days, oldest first (as the server exports).
fn write_export(path: &Path, n: usize) -> std::io::Result<()> {
    let now = Utc::now() - Duration::minutes(1);
    let span_ms = 30 * 24 * 3600 * 1000i64;
    let out = std::io::BufWriter::with_capacity(1 << 20, std::fs::File::create(path)?);
    let mut x = Exporter::begin(Format::Ndjson, out, &now, &serde_json::json!({}))?;
    for i in 0..n {
        let at = now - Duration::milliseconds(span_ms - span_ms * i as i64 / n as i64);
        let action = ACTIONS[i % ACTIONS.len()];
        let e = Entry {
            id: format!("01BENCH{i:019}"),
            seq: i as u64 + 1,
            tenant: "default".into(),
            occurred_at: at,
            received_at: at,
            action: action.into(),
            kind: Kind::infer(action),
            channel: CHANNELS[i % CHANNELS.len()].into(),
            outcome: if i % 13 == 0 {
                Outcome::Failure
            } else {
                Outcome::Success
            },
            description: Some(format!(
                "{} {} on ticket {}",
                WORDS[i % WORDS.len()],
                action,
                i % 9973
            )),
            actor: Actor {
                kind: ActorType::User,
                id: Some(format!("u_{}", i % 500)),
                name: Some(format!("User {}", i % 500)),
                email: Some(format!("user{}@example.com", i % 500)),
                ip: Some(format!("10.0.{}.{}", i % 250, i % 199)),
                user_agent: None,
            },
            target: Some(Target {
                kind: "ticket".into(),
                id: (i % 9973).to_string(),
                name: None,
            }),
            details: (i % 4 == 0).then(|| {
                serde_json::json!({"before": {"status": "open"}, "after": {"status": "closed"}})
                    .into()
            }),
            idempotency_key: None,
            prev_hash: format!("{:064x}", i),
            hash: format!("{:064x}", i + 1),
        };
        x.entry(&e)?;
    }
    x.finish()?;
    Ok(())
}

/// Starts `cmd` in a fresh tmux server at 120×32 and returns the seconds until `drawn` holds
/// for the pane's text (polled every 5 ms).
fn time_to_screen(label: &str, cmd: &str, drawn: impl Fn(&str) -> bool) -> f64 {
    let socket = format!("bench-offline-{}-{label}", std::process::id());
    let tmux = |args: &[&str]| {
        Command::new("tmux")
            .arg("-L")
            .arg(&socket)
            .args(args)
            .output()
            .expect("tmux runs")
    };
    let started = Instant::now();
    let out = tmux(&["new-session", "-d", "-s", "b", "-x", "120", "-y", "32", cmd]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let secs = loop {
        let screen =
            String::from_utf8_lossy(&tmux(&["capture-pane", "-p", "-t", "b"]).stdout).into_owned();
        if drawn(&screen) {
            break started.elapsed().as_secs_f64();
        }
        if started.elapsed().as_secs() > 300 {
            eprintln!("{label}: nothing after 300 s; the screen:\n{screen}");
            break f64::NAN;
        }
        std::thread::sleep(std::time::Duration::from_millis(5));
    };
    let _ = tmux(&["kill-server"]);
    secs
}

fn percentile(mut v: Vec<f64>, p: f64) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[((v.len() as f64 - 1.0) * p).round() as usize]
}

fn main() -> anyhow::Result<()> {
    let n: usize = std::env::args()
        .nth(1)
        .map(|s| s.parse())
        .transpose()?
        .unwrap_or(1_000_000);
    let dir = tempfile::Builder::new()
        .prefix("bench-offline-")
        .tempdir()?;
    let file = dir.path().join("bench.ndjson");
    let t = Instant::now();
    write_export(&file, n)?;
    let size = std::fs::metadata(&file)?.len();
    println!(
        "wrote {n} entries, {:.0} MiB of NDJSON, in {:.1} s",
        size as f64 / 1048576.0,
        t.elapsed().as_secs_f64()
    );

    // 1. First page drawn: trailscope open vs lnav, alternating, three runs each.
    let exe = std::env::current_exe()?;
    let bin: PathBuf = exe
        .parent()
        .and_then(Path::parent)
        .map(|d| d.join("trailscope"))
        .expect("target/release");
    let home = dir.path().join("home");
    std::fs::create_dir_all(&home)?;
    let env = format!(
        "env TRAILSCOPE_CONFIG={h}/config.toml XDG_STATE_HOME={h} XDG_CACHE_HOME={h} HOME={h} TERM=xterm-256color",
        h = home.display()
    );
    let (mut ours, mut theirs) = (Vec::new(), Vec::new());
    for _ in 0..3 {
        ours.push(time_to_screen(
            "trailscope",
            &format!("{env} {} open {}", bin.display(), file.display()),
            |s| s.contains("file bench.ndjson") && s.contains("│20") && s.contains(" entries"),
        ));
        theirs.push(time_to_screen(
            "lnav",
            &format!("{env} lnav {}", file.display()),
            |s| s.contains("01BENCH"),
        ));
    }
    println!("open to first page drawn (s), 3 runs each:");
    println!(
        "  trailscope open: {:?}",
        ours.iter().map(|s| format!("{s:.3}")).collect::<Vec<_>>()
    );
    println!(
        "  lnav:            {:?}",
        theirs.iter().map(|s| format!("{s:.3}")).collect::<Vec<_>>()
    );

    // 2. Filtered queries over n cached entries (the cache's store and engine).
    let cache_path = dir.path().join("cache.db");
    let cache = LocalStore::open(&cache_path, Durability::Cache)?;
    let t = Instant::now();
    let loaded = trailscope::export::read::read_file(
        &file,
        trailscope::export::read::FileFormat::Ndjson,
        &mut |batch, _| cache.insert(&batch).is_ok(),
    )?;
    println!(
        "cached {} entries in {:.1} s ({:.0}/s), {:.0} MiB",
        loaded.entries,
        t.elapsed().as_secs_f64(),
        loaded.entries as f64 / t.elapsed().as_secs_f64(),
        cache.used_bytes()? as f64 / 1048576.0
    );
    let t = Instant::now();
    cache.analyze()?;
    println!(
        "planner statistics (sampled ANALYZE): {:.0} ms",
        t.elapsed().as_secs_f64() * 1000.0
    );
    let store = cache.store();
    let filters = [
        "since:7d",
        "channel:auth since:7d",
        "action:user.login since:7d",
        "action:ticket.* since:7d",
        "actor:u_42",
        "outcome:failure channel:admin",
        "target:ticket/77",
        "q:firewall since:7d",
        "q:nothing-matches-this",
        "kind:deleted since:30d",
    ];
    println!(
        "| filter | page p50 | page p99 | count+histogram p50 | count+histogram p99 | matches |"
    );
    println!("|---|---|---|---|---|---|");
    let req = PageRequest {
        limit: 200,
        ..PageRequest::default()
    };
    for f in filters {
        let q: Query = f.parse()?;
        let (mut page, mut stats) = (Vec::new(), Vec::new());
        let mut total = 0;
        for _ in 0..200 {
            let t = Instant::now();
            store.page("default", &q, &req, Utc::now())?;
            page.push(t.elapsed().as_secs_f64() * 1000.0);
        }
        for _ in 0..50 {
            let t = Instant::now();
            total = store.stats("default", &q, 118, Utc::now())?.total;
            stats.push(t.elapsed().as_secs_f64() * 1000.0);
        }
        println!(
            "| `{f}` | {:.2} ms | {:.2} ms | {:.1} ms | {:.1} ms | {total} |",
            percentile(page.clone(), 0.5),
            percentile(page, 0.99),
            percentile(stats.clone(), 0.5),
            percentile(stats, 0.99),
        );
    }
    Ok(())
}
