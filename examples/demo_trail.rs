//! Generates the demo trail and says how long it took and what is in it:
//! `cargo run --release --example demo_trail [SEED] [--ndjson] [--insert]`. With `--ndjson` the
//! events go to stdout, one JSON object per line (what `POST /v1/events` takes), and the summary
//! to stderr. With `--insert` it also times appending the trail to a fresh SQLite store in
//! batches of 1000, as `trailscope demo` will.

use std::collections::BTreeMap;
use std::io::Write;
use std::time::Instant;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let ndjson = args.iter().any(|a| a == "--ndjson");
    let insert = args.iter().any(|a| a == "--insert");
    let seed = args.iter().find_map(|a| a.parse().ok()).unwrap_or(1);
    let now = chrono::Utc::now();
    // One cold run in a fresh process: what `trailscope demo` pays at start. (A warm-up run
    // would leave the allocator with millions of freed chunks to consolidate, and cost more.)
    let (started, cpu_before) = (Instant::now(), cpu_seconds());
    let trail = trailscope::demo::trail(now, seed);
    let took = started.elapsed();
    let cpu = cpu_before.zip(cpu_seconds()).map(|(a, b)| b - a);
    if ndjson {
        let mut out = std::io::BufWriter::new(std::io::stdout().lock());
        for e in &trail {
            serde_json::to_writer(&mut out, e).expect("an event serialises");
            out.write_all(b"\n").expect("stdout is writable");
        }
    }
    let mut channels: BTreeMap<&str, usize> = BTreeMap::new();
    for e in &trail {
        *channels
            .entry(e.channel.as_deref().unwrap_or("default"))
            .or_default() += 1;
    }
    let mut summary = format!(
        "{} events in {:.1} ms (seed {seed}){}\n",
        trail.len(),
        took.as_secs_f64() * 1e3,
        cpu.map(|c| format!(", {:.0} ms of CPU", c * 1e3))
            .unwrap_or_default()
    );
    for (channel, n) in channels {
        summary.push_str(&format!("  {channel:<12} {n:>6}\n"));
    }
    summary.push_str(&format!(
        "incident: failed sign-ins from {} against {} from {}\n",
        trailscope::demo::INCIDENT_IP,
        trailscope::demo::INCIDENT_USER_EMAIL,
        trailscope::model::format_ts(&trailscope::demo::incident_start(now))
    ));
    if insert {
        use trailscope::store::sqlite::SqliteDb;
        let dir = tempfile::tempdir().expect("a temporary directory");
        let store = SqliteDb::open(dir.path().join("demo.db")).expect("a fresh store");
        let started = Instant::now();
        for batch in trail.chunks(trailscope::model::MAX_BATCH) {
            store
                .append("demo", batch.to_vec())
                .expect("the demo trail appends");
        }
        store.close();
        summary.push_str(&format!(
            "inserted into SQLite in {:.1} ms\n",
            started.elapsed().as_secs_f64() * 1e3
        ));
    }
    if ndjson {
        eprint!("{summary}");
    } else {
        print!("{summary}");
    }
}

/// CPU time this process has used (Linux), which a busy shared machine does not inflate the
/// way it inflates wall time.
fn cpu_seconds() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // Fields after the parenthesised command name; utime and stime are the 12th and 13th.
    let rest = stat.rsplit_once(')')?.1;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks: f64 = fields.get(11)?.parse::<f64>().ok()? + fields.get(12)?.parse::<f64>().ok()?;
    // The kernel reports in USER_HZ, 100 on every Linux platform Rust supports.
    Some(ticks / 100.0)
}
