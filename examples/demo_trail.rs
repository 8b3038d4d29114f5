//! Generates the demo trail and says how long it took and what is in it:
//! `cargo run --release --example demo_trail [SEED] [--ndjson]`. With `--ndjson` the events go
//! to stdout, one JSON object per line (what `POST /v1/events` takes), and the summary to stderr.

use std::collections::BTreeMap;
use std::io::Write;
use std::time::Instant;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let ndjson = args.iter().any(|a| a == "--ndjson");
    let seed = args.iter().find_map(|a| a.parse().ok()).unwrap_or(1);
    let now = chrono::Utc::now();
    // Warm the allocator and caches once, then time a second run: what a demo start pays.
    let _ = trailscope::demo::trail(now, seed);
    let started = Instant::now();
    let trail = trailscope::demo::trail(now, seed);
    let took = started.elapsed();
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
        "{} events in {:.1} ms (seed {seed})\n",
        trail.len(),
        took.as_secs_f64() * 1e3
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
    if ndjson {
        eprint!("{summary}");
    } else {
        print!("{summary}");
    }
}
