//! Proof benchmark (issue 12, "Exports prove themselves offline"): the size of the proof of an
//! export of 100,000 entries (all of them as JSON and NDJSON; a filtered CSV whose range spans
//! them all), and how long `trailscope verify-file` takes to check each, offline.
//!
//! Run: `cargo build && cargo run --example bench_proof [-- ROWS]` (or with `--release` for
//! both); the binary beside the example's directory is the one measured.

use std::process::{Command, Stdio};
use std::time::Instant;
use trailscope::model::{Actor, ActorType, NewEvent, from_millis};
use trailscope::proof::SigningKey;
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
        description: Some(format!("Routine work item {}", h % 1000)),
        actor: Some(Actor {
            kind: ActorType::User,
            id: Some(format!("u_{}", h % 500)),
            name: Some(format!("User {}", h % 500)),
            email: Some(format!("user{}@example.com", h % 500)),
            ip: Some("203.0.113.9".into()),
            user_agent: None,
        }),
        details: Some(serde_json::json!({"status": 201, "n": h % 5}).into()),
        ..NewEvent::default()
    }
}

fn run(bin: &std::path::Path, args: &[&str]) -> (f64, String) {
    let t = Instant::now();
    let out = Command::new(bin)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let secs = t.elapsed().as_secs_f64();
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    (secs, String::from_utf8_lossy(&out.stdout).into_owned())
}

fn main() {
    let n: usize = std::env::args()
        .nth(1)
        .map(|a| a.parse().expect("ROWS is a number"))
        .unwrap_or(100_000);
    let exe = std::env::current_exe().unwrap();
    let bin = exe
        .parent()
        .and_then(|p| p.parent())
        .unwrap()
        .join("trailscope");
    assert!(bin.exists(), "build the binary first: cargo build");
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("proof.db");
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
    let out = |name: &str| dir.path().join(name).to_str().unwrap().to_string();
    let cases = [
        ("json", None, "all.json"),
        ("ndjson", None, "all.ndjson"),
        ("csv", Some("channel:auth"), "auth.csv"),
    ];
    let mut exported = Vec::new();
    for (format, filter, name) in cases {
        let path = out(name);
        let mut args = vec![
            "export", "--server", &url, "--token", &token, "--format", format, "-o", &path,
        ];
        if let Some(f) = filter {
            args.extend(["--filter", f]);
        }
        let (secs, _) = run(&bin, &args);
        exported.push((format, filter, path, secs));
    }
    let _ = server.kill();
    let _ = server.wait();
    let key = SigningKey::parse(&std::fs::read_to_string(format!("{}.key", db.display())).unwrap())
        .unwrap()
        .verifier()
        .to_string();
    println!(
        "| export | entries | seqs in range | file | proof | proof bytes per seq of the range | export s | verify-file s (server stopped) |"
    );
    println!("|---|---|---|---|---|---|---|---|");
    for (format, filter, path, export_secs) in exported {
        let file_bytes = std::fs::metadata(&path).unwrap().len();
        let proof_doc: serde_json::Value = if format == "json" {
            let doc: serde_json::Value =
                serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
            serde_json::json!({"checkpoint": doc["checkpoint"], "proof": doc["proof"]})
        } else {
            serde_json::from_slice(&std::fs::read(format!("{path}.proof.json")).unwrap()).unwrap()
        };
        let proof_bytes = serde_json::to_vec(&proof_doc).unwrap().len();
        let p = &proof_doc["proof"];
        let entries = p["entries"].as_u64().unwrap();
        let range = p["last_seq"].as_u64().unwrap() - p["first_seq"].as_u64().unwrap() + 1;
        let (verify_secs, line) = run(&bin, &["verify-file", &path, "--key", &key]);
        assert!(line.starts_with("ok: "), "{line}");
        println!(
            "| {format}{} | {entries} | {range} | {:.1} MB | {:.2} MB ({} range-proof hashes) | {:.0} | {export_secs:.2} | {verify_secs:.2} |",
            filter.map(|f| format!(" `{f}`")).unwrap_or_default(),
            file_bytes as f64 / 1e6,
            proof_bytes as f64 / 1e6,
            p["range_proof"].as_array().unwrap().len(),
            proof_bytes as f64 / range as f64,
        );
    }
}
