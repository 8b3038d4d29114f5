//! Evidence-pack benchmark (issue 15): a custom pack of 100,000 entries — JSON, CSV and the
//! PDF report, zipped — built straight from a SQLite store as the server builds it: wall time
//! and the process's peak RSS while building (the peak is reset after seeding, through
//! `/proc/self/clear_refs`, so the figure is the pack's alone, plus the store's page cache).
//!
//! Run: `cargo run --release --example bench_pack [-- ROWS]` (Linux: reads `/proc/self/status`).

use std::time::Instant;
use trailscope::export::evidence::{self, CUSTOM, PackSpec};
use trailscope::model::{Actor, ActorType, NewEvent, Query, Target, from_millis};
use trailscope::store::SqliteStore;

fn event(i: usize, base_ms: i64) -> NewEvent {
    let h = (i as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    NewEvent {
        occurred_at: Some(from_millis(base_ms + i as i64 * 1000)),
        action: [
            "user.login",
            "incident.updated",
            "user.login_failed",
            "role.updated",
        ][(h >> 20) as usize % 4]
            .into(),
        channel: Some(["auth", "security", "auth", "admin"][(h >> 24) as usize % 4].into()),
        outcome: Some(if h.is_multiple_of(7) {
            trailscope::model::Outcome::Failure
        } else {
            trailscope::model::Outcome::Success
        }),
        description: Some(format!(
            "Work on the incident by user {}, step {}, \"quoted\", with a comma",
            h % 500,
            i
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
            kind: "incident".into(),
            id: "INC-1".into(),
            name: None,
        }),
        details: Some(serde_json::json!({"step": i, "severity": h % 5}).into()),
        ..NewEvent::default()
    }
}

/// A field of `/proc/self/status` in MB.
fn status_mb(field: &str) -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let kb: f64 = status
        .lines()
        .find(|l| l.starts_with(field))
        .and_then(|l| l.split_whitespace().nth(1))
        .unwrap()
        .parse()
        .unwrap();
    kb / 1024.0
}

fn main() {
    let rows: usize = std::env::args()
        .nth(1)
        .map(|a| a.parse().expect("ROWS is a number"))
        .unwrap_or(100_000);
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(dir.path().join("audit.db")).unwrap();
    let base = chrono::Utc::now().timestamp_millis() - rows as i64 * 1000 - 60_000;
    let t = Instant::now();
    for chunk in 0..rows.div_ceil(1000) {
        let batch = (chunk * 1000..((chunk + 1) * 1000).min(rows))
            .map(|i| event(i, base))
            .collect();
        store.db().append("default", batch).unwrap();
    }
    eprintln!(
        "seeded {rows} entries in {:.1} s",
        t.elapsed().as_secs_f64()
    );
    // Reset the peak so what follows is measured on its own.
    std::fs::write("/proc/self/clear_refs", "5").unwrap();
    let before = status_mb("VmRSS:");
    let query: Query = "target:incident/INC-1".parse().unwrap();
    let spec = PackSpec {
        kind: CUSTOM.into(),
        title: "INC-1".into(),
        filter_lines: vec![query.to_string()],
        filters: vec![query],
        from: from_millis(base),
        to: from_millis(base + rows as i64 * 1000),
    };
    let t = Instant::now();
    let out = tempfile::tempfile().unwrap();
    // No signing key: the figure is the PDF and the data files; proof.json is measured by bench_proof.
    let rt = tokio::runtime::Runtime::new().unwrap();
    let (file, manifest) = rt
        .block_on(evidence::build(&store, "default", &spec, None, None, out))
        .unwrap();
    let secs = t.elapsed().as_secs_f64();
    let peak = status_mb("VmHWM:");
    let size = file.metadata().unwrap().len();
    assert_eq!(manifest.rows, rows as u64);
    let pdf = &manifest.files[evidence::REPORT];
    println!(
        "custom pack of {rows} entries: {secs:.1} s, zip {:.1} MB (report.pdf {:.1} MB), RSS {before:.0} MB before, peak {peak:.0} MB while building",
        size as f64 / 1e6,
        pdf.bytes as f64 / 1e6,
    );
    store.db().close();
}
