//! Profiling aid: appends N demo-trail events straight into a store (no HTTP), timing it.
//! Run: `cargo run --release --example profile_append -- [N]`.
use std::time::Instant;
use trailscope::store::sqlite::SqliteDb;
fn main() {
    let n: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(50_000);
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteDb::open(dir.path().join("p.db")).unwrap();
    let trail = trailscope::demo::trail(chrono::Utc::now(), 7);
    let events: Vec<_> = trail.into_iter().cycle().take(n).collect();
    let t = Instant::now();
    for chunk in events.chunks(1000) {
        store.append("default", chunk.to_vec()).unwrap();
    }
    let secs = t.elapsed().as_secs_f64();
    println!("{n} events in {secs:.2} s: {:.0} events/s", n as f64 / secs);
}
