//! Export benchmark (issue 4): 1,000,000 entries as CSV through the server (`GET /v1/export`)
//! and through the CLI (`trailscope export`), side by side with `sqlite3 -csv` over the same
//! rows; and the peak RSS of the server and the CLI for 100,000 and for 1,000,000 rows.
//!
//! Run: `cargo build --release && cargo run --release --example bench_export [-- ROWS]`
//! (needs `sqlite3` and GNU `time` on PATH).

use std::process::{Command, Stdio};
use std::time::Instant;
use trailscope::model::{Actor, ActorType, NewEvent, Target, from_millis};
use trailscope::store::Role;
use trailscope::store::sqlite::SqliteDb;
use trailscope::store::sqlite::TokenAdmin;

fn event(i: usize, base_ms: i64) -> NewEvent {
    let h = (i as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    NewEvent {
        occurred_at: Some(from_millis(base_ms + i as i64 * 1000)),
        action: ["user.login", "rule_fired", "ticket.created", "role.updated"]
            [(h >> 20) as usize % 4]
            .into(),
        channel: Some(["auth", "rules", "writeback", "admin"][(h >> 24) as usize % 4].into()),
        description: Some(format!(
            "Routine work item {}, \"quoted\", with a comma",
            h % 1000
        )),
        actor: Some(Actor {
            kind: ActorType::User,
            id: Some(format!("u_{}", h % 500)),
            name: Some(format!("User {}", h % 500)),
            email: Some(format!("user{}@example.com", h % 500)),
            ip: Some("203.0.113.9".into()),
            user_agent: None,
        }),
        target: Some(Target {
            kind: "ticket".into(),
            id: (h % 20_000).to_string(),
            name: None,
        }),
        details: Some(
            serde_json::json!({"request": {"priority": h % 5}, "response": {"status": 201}}).into(),
        ),
        ..NewEvent::default()
    }
}

/// Runs a command under GNU time; returns (seconds, peak RSS in MB).
fn timed(cmd: &str) -> (f64, f64) {
    let t = Instant::now();
    let out = Command::new("/usr/bin/time")
        .args(["-f", "%M", "sh", "-c", cmd])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .output()
        .unwrap();
    let secs = t.elapsed().as_secs_f64();
    assert!(
        out.status.success(),
        "{cmd}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let kb: f64 = String::from_utf8_lossy(&out.stderr)
        .lines()
        .last()
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    (secs, kb / 1024.0)
}

fn vm_hwm_mb(pid: u32) -> f64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let line = status.lines().find(|l| l.starts_with("VmHWM:")).unwrap();
    line.split_whitespace()
        .nth(1)
        .unwrap()
        .parse::<f64>()
        .unwrap()
        / 1024.0
}

fn main() {
    let n: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(1_000_000);
    let bin = std::env::current_exe()
        .unwrap()
        .parent()
        .unwrap()
        .parent()
        .unwrap()
        .join("trailscope");
    assert!(
        bin.exists(),
        "build the binary first: cargo build --release"
    );
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("export.db");
    let token = TokenAdmin::open(&db)
        .unwrap()
        .create(Role::Auditor, "default", None)
        .unwrap()
        .1;
    let base_ms = chrono::Utc::now().timestamp_millis() - n as i64 * 1000 - 60_000;
    {
        let store = SqliteDb::open(&db).unwrap();
        let t = Instant::now();
        for b in 0..n.div_ceil(1000) {
            store
                .append(
                    "default",
                    (b * 1000..((b + 1) * 1000).min(n))
                        .map(|i| event(i, base_ms))
                        .collect(),
                )
                .unwrap();
        }
        eprintln!("seeded {n} entries in {:.1} s", t.elapsed().as_secs_f64());
    }
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let url = format!("http://127.0.0.1:{port}");
    let mut server = Command::new(&bin)
        .args([
            "serve",
            "--db",
            db.to_str().unwrap(),
            "--listen",
            &format!("127.0.0.1:{port}"),
        ])
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let tenth =
        trailscope::model::format_ts(&from_millis(base_ms + (n as i64 - n as i64 / 10) * 1000));
    println!("| what | rows | seconds | rows/s | peak RSS |\n|---|---|---|---|---|");
    for (label, rows, filter) in [
        ("100k", n / 10, format!("from:{tenth}")),
        ("all", n, String::new()),
    ] {
        let before = vm_hwm_mb(server.id());
        let (secs, _) = timed(&format!(
            "curl -sf -H 'Authorization: Bearer {token}' '{url}/v1/export?format=csv&filter={}' > /dev/null",
            filter.replace(':', "%3A")
        ));
        let server_rss = vm_hwm_mb(server.id());
        println!(
            "| server `GET /v1/export` CSV ({label}) | {rows} | {secs:.2} | {:.0} | server {server_rss:.0} MB (was {before:.0} MB) |",
            rows as f64 / secs
        );
        let filter_arg = if filter.is_empty() {
            String::new()
        } else {
            format!("--filter '{filter}'")
        };
        let (secs, cli_rss) = timed(&format!(
            "{} export --server {url} --token {token} --format csv {filter_arg} -o - > /dev/null",
            bin.display()
        ));
        println!(
            "| CLI `trailscope export` CSV ({label}) | {rows} | {secs:.2} | {:.0} | CLI {cli_rss:.0} MB |",
            rows as f64 / secs
        );
    }
    let columns = "id, seq, strftime('%Y-%m-%dT%H:%M:%fZ', occurred_at / 1000.0, 'unixepoch'), strftime('%Y-%m-%dT%H:%M:%fZ', received_at / 1000.0, 'unixepoch'), channel, action, kind, outcome, description, actor_type, actor_id, actor_name, actor_email, actor_ip, target_type, target_id, target_name, details, hash";
    let (secs, rss) = timed(&format!(
        "sqlite3 -csv -header '{}' \"SELECT {columns} FROM entries WHERE tenant = 'default' ORDER BY occurred_at, seq\" > /dev/null",
        db.display()
    ));
    println!(
        "| `sqlite3 -csv` over the same rows | {n} | {secs:.2} | {:.0} | sqlite3 {rss:.0} MB |",
        n as f64 / secs
    );
    let _ = server.kill();
    let _ = server.wait();
}
