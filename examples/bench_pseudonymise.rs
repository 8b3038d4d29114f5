//! What a GDPR request costs (figures in BENCHMARKS.md): pseudonymising one person who wrote
//! 1% of a log of N entries, including the rebuild of the search index and the WAL truncation.
//!
//! `cargo run --release --example bench_pseudonymise -- [ENTRIES]` (default 1,000,000).

use std::time::Instant;
use trailscope::model::{Actor, ActorType, NewEvent, Target};
use trailscope::store::Identity;
use trailscope::store::sqlite::SqliteDb;

fn main() {
    let n: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(1_000_000);
    let dir = tempfile::tempdir().expect("a temporary directory");
    let db = dir.path().join("bench.db");
    let store = SqliteDb::open(&db).expect("the store opens");
    let t0 = Instant::now();
    let mut batch = Vec::with_capacity(1000);
    for i in 0..n {
        // Every hundredth entry is the person the request is about.
        let who = if i % 100 == 0 { 9 } else { i % 400 };
        batch.push(NewEvent {
            action: "ticket.updated".into(),
            description: Some(format!("ticket {i} updated")),
            actor: Some(Actor {
                kind: ActorType::User,
                id: Some(format!("u_{who}")),
                name: Some(format!("Person {who}")),
                email: Some(format!("person{who}@example.com")),
                ip: Some(format!("10.0.{}.{}", who / 256, who % 256)),
                user_agent: Some("Mozilla/5.0".into()),
            }),
            target: Some(Target {
                kind: "ticket".into(),
                id: i.to_string(),
                name: None,
            }),
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
    println!("seeded {n} entries in {:.1} s", t0.elapsed().as_secs_f64());
    let requester = Actor {
        kind: ActorType::Service,
        id: Some("tok_bench".into()),
        ..Actor::default()
    };
    let t = Instant::now();
    let report = store
        .pseudonymise(
            "default",
            &Identity::Email("person9@example.com".into()),
            &requester,
        )
        .expect("pseudonymise");
    println!(
        "pseudonymised {} of {n} entries in {:.2} s (index rebuilt, WAL truncated)",
        report.entries,
        t.elapsed().as_secs_f64()
    );
    let t = Instant::now();
    let again = store
        .pseudonymise(
            "default",
            &Identity::Email("person9@example.com".into()),
            &requester,
        )
        .expect("pseudonymise again");
    println!(
        "a repeat ({} entries) took {:.3} s",
        again.entries,
        t.elapsed().as_secs_f64()
    );
    let t = Instant::now();
    let verdict = store.verify("default", None, None).expect("verify");
    println!(
        "verify after it: ok={} over {} entries in {:.1} s",
        verdict.ok,
        verdict.checked,
        t.elapsed().as_secs_f64()
    );
}
