//! Three `serve` replicas on one PostgreSQL database (issue 13, "Done means"): 4 producers post
//! round-robin across them, 8 followers stream from them; one replica is killed with `kill -9`
//! mid-run and the rest carry on. Every acknowledged entry is there exactly once, the tenant's
//! seqs are gapless, verify passes, and every follower saw every matching entry once, in seq
//! order (resuming on another replica with Last-Event-ID when its own was killed).
//!
//! Sized for CI: 8 s of traffic, the kill half-way. `TRAILSCOPE_REPLICAS_SECS=60 cargo test --test
//! postgres replicas` is the long run (figures in BENCHMARKS.md).

use crate::common::pg;
use crate::common::process::{Serve, serve_command};
use crate::token;
use serde_json::{Value, json};
use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};
use tokio::sync::Mutex;

/// How long the producers post: 8 s unless `TRAILSCOPE_REPLICAS_SECS` says otherwise.
fn traffic() -> Duration {
    let secs = std::env::var("TRAILSCOPE_REPLICAS_SECS")
        .ok()
        .and_then(|s| s.parse::<u64>().ok())
        .unwrap_or(8)
        .max(2);
    Duration::from_secs(secs)
}

/// Follows `/v1/stream` (filtered by `filter`) across replicas: on a dropped connection it
/// resumes on the next replica from the last seq it got. Returns the seqs received, in order.
async fn follow(
    urls: Arc<Vec<String>>,
    start: usize,
    token: String,
    filter: &'static str,
    until_seq: Arc<Mutex<Option<u64>>>,
) -> Vec<u64> {
    let http = reqwest::Client::new();
    let mut got: Vec<u64> = Vec::new();
    let mut at = start;
    let deadline = Instant::now() + traffic() + Duration::from_secs(60);
    loop {
        assert!(Instant::now() < deadline, "a follower never caught up");
        let last = got.last().copied().unwrap_or(0);
        let r = http
            .get(format!("{}/v1/stream?{filter}", urls[at]))
            .bearer_auth(&token)
            .header("last-event-id", last.to_string())
            .send()
            .await;
        let Ok(mut r) = r else {
            at = (at + 1) % urls.len();
            continue;
        };
        let mut text = String::new();
        loop {
            if let Some(end) = *until_seq.lock().await
                && got.last().is_some_and(|s| *s >= end)
            {
                return got;
            }
            let chunk = tokio::time::timeout(Duration::from_millis(500), r.chunk()).await;
            let chunk = match chunk {
                Err(_) => {
                    // Quiet: look at the end marker again (the expected last seq may be known now).
                    if let Some(end) = *until_seq.lock().await
                        && got.last().copied().unwrap_or(0) >= end
                    {
                        return got;
                    }
                    continue;
                }
                Ok(Ok(Some(c))) => c,
                // The replica went away: resume on the next one.
                Ok(_) => break,
            };
            text.push_str(&String::from_utf8_lossy(&chunk));
            while let Some(i) = text.find("\n\n") {
                let event: String = text.drain(..i + 2).collect();
                if !event.contains("event: entry") {
                    continue;
                }
                let seq = event
                    .lines()
                    .find_map(|l| l.strip_prefix("id: "))
                    .and_then(|s| s.trim().parse::<u64>().ok())
                    .expect("an entry event has its seq as id");
                got.push(seq);
            }
        }
        at = (at + 1) % urls.len();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn three_replicas_four_producers_eight_followers_and_a_kill_9() {
    let Some(pg) = pg::cluster() else { return };
    let url = pg.fresh_database();
    let dir = tempfile::tempdir().unwrap();
    let args = crate::serve_args(&url, dir.path(), &[]);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    // The first creates the key (and migrates); the others share both.
    let (a, port_a) = serve_command(&args);
    let writer = token(&url, "writer");
    let auditor = token(&url, "auditor");
    let (b, port_b) = serve_command(&args);
    let (c, port_c) = serve_command(&args);
    let (_a, _b) = (Serve(a), Serve(b));
    let mut c = Some(c);
    let urls: Arc<Vec<String>> = Arc::new(
        [port_a, port_b, port_c]
            .iter()
            .map(|p| format!("http://127.0.0.1:{p}"))
            .collect(),
    );

    // Where each follower may stop: its last matching seq, once the producers are done.
    let ends: Vec<Arc<Mutex<Option<u64>>>> = (0..8).map(|_| Arc::new(Mutex::new(None))).collect();
    let filters: [&'static str; 8] = [
        "",
        "action=user.login",
        "",
        "action=ticket.*",
        "q=p2-",
        "",
        "action=user.login",
        "",
    ];
    let followers: Vec<_> = filters
        .iter()
        .enumerate()
        .map(|(i, f)| {
            tokio::spawn(follow(
                urls.clone(),
                i % 3,
                auditor.clone(),
                f,
                ends[i].clone(),
            ))
        })
        .collect();

    let stop = Arc::new(AtomicBool::new(false));
    let producers: Vec<_> = (0..4)
        .map(|p| {
            let (urls, writer, stop) = (urls.clone(), writer.clone(), stop.clone());
            tokio::spawn(async move {
                let http = reqwest::Client::new();
                let mut acked: Vec<(String, u64, String)> = Vec::new();
                let (mut n, mut at) = (0usize, p % 3);
                while !stop.load(Ordering::Relaxed) {
                    let batch: Vec<Value> = (0..20)
                        .map(|i| {
                            let action = if (n + i) % 2 == 0 {
                                "user.login"
                            } else {
                                "ticket.created"
                            };
                            json!({"action": action, "description": format!("p{p}-{}", n + i)})
                        })
                        .collect();
                    let r = http
                        .post(format!("{}/v1/events", urls[at]))
                        .bearer_auth(&writer)
                        .json(&batch)
                        .send()
                        .await;
                    at = (at + 1) % urls.len();
                    let Ok(r) = r else { continue };
                    if r.status().as_u16() != 201 {
                        continue;
                    }
                    let body: Value = r.json().await.unwrap();
                    for (e, sent) in body["entries"].as_array().unwrap().iter().zip(&batch) {
                        acked.push((
                            e["id"].as_str().unwrap().to_string(),
                            e["seq"].as_u64().unwrap(),
                            sent["description"].as_str().unwrap().to_string(),
                        ));
                    }
                    n += 20;
                }
                acked
            })
        })
        .collect();

    tokio::time::sleep(traffic() / 2).await;
    // kill -9 mid-run: whatever it was committing either committed or did not; nothing it
    // acknowledged may be lost.
    let mut killed = c.take().unwrap();
    killed.kill().unwrap();
    killed.wait().unwrap();
    tokio::time::sleep(traffic() - traffic() / 2).await;
    stop.store(true, Ordering::Relaxed);
    let mut acked = Vec::new();
    for p in producers {
        acked.extend(p.await.unwrap());
    }
    assert!(
        acked.len() > 200,
        "only {} entries were acknowledged",
        acked.len()
    );

    // Everything in the log, read through a surviving replica.
    let http = reqwest::Client::new();
    let mut all: Vec<Value> = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let mut req = http
            .get(format!("{}/v1/events", urls[0]))
            .bearer_auth(&auditor)
            .query(&[("order", "asc"), ("limit", "1000")]);
        if let Some(c) = &cursor {
            req = req.query(&[("cursor", c)]);
        }
        let page: Value = req.send().await.unwrap().json().await.unwrap();
        all.extend(page["entries"].as_array().unwrap().iter().cloned());
        match page["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_string()),
            None => break,
        }
    }
    let mut seqs: Vec<u64> = all.iter().map(|e| e["seq"].as_u64().unwrap()).collect();
    seqs.sort_unstable();
    let n = seqs.len() as u64;
    assert_eq!(
        seqs,
        (1..=n).collect::<Vec<_>>(),
        "seqs are 1..{n}, gapless, each once"
    );
    let by_id: HashMap<&str, &Value> = all.iter().map(|e| (e["id"].as_str().unwrap(), e)).collect();
    assert_eq!(by_id.len(), all.len(), "every id once");
    for (id, seq, description) in &acked {
        let e = by_id
            .get(id.as_str())
            .unwrap_or_else(|| panic!("acknowledged {id} (seq {seq}) is missing"));
        assert_eq!(e["seq"].as_u64(), Some(*seq));
        assert_eq!(e["description"].as_str(), Some(description.as_str()));
    }
    let acked_ids: BTreeSet<&str> = acked.iter().map(|a| a.0.as_str()).collect();
    assert_eq!(
        acked_ids.len(),
        acked.len(),
        "no acknowledgement repeats an entry"
    );
    let (_, v) = {
        let r = http
            .get(format!("{}/v1/verify", urls[1]))
            .bearer_auth(&auditor)
            .send()
            .await
            .unwrap();
        (r.status(), r.json::<Value>().await.unwrap())
    };
    assert_eq!(v["ok"], true, "{v}");
    assert_eq!(v["checked"].as_u64(), Some(n));

    // Followers: every matching entry once, in seq order.
    let matching = |filter: &str| -> Vec<u64> {
        let mut m: Vec<u64> = all
            .iter()
            .filter(|e| match filter {
                "action=user.login" => e["action"] == "user.login",
                "action=ticket.*" => e["action"].as_str().unwrap().starts_with("ticket."),
                "q=p2-" => e["description"].as_str().unwrap().contains("p2-"),
                _ => true,
            })
            .map(|e| e["seq"].as_u64().unwrap())
            .collect();
        m.sort_unstable();
        m
    };
    let mut received = 0;
    for ((f, handle), end) in filters.iter().zip(followers).zip(&ends) {
        let want = matching(f);
        *end.lock().await = want.last().copied();
        let got = handle.await.unwrap();
        assert_eq!(got, want, "follower with filter {f:?}");
        received += got.len();
    }
    // What the run did, for BENCHMARKS.md (shown with --nocapture).
    eprintln!(
        "replicas: {:?} of traffic, {} acknowledged, {n} in the log (verify ok), 8 followers \
         received {received} entries, each its matching ones once in order",
        traffic(),
        acked.len()
    );
}
