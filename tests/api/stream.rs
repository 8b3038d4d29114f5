//! `GET /v1/stream` against a real server: lossless resume, fan-out, slow clients, filters.

use crate::common;

use common::{TestServer, seqs};
use serde_json::{Value, json};
use std::time::Duration;
use trailscope::client::{Client, LiveStream, StreamItem};
use trailscope::model::Query;
use trailscope::server::{STREAM_KEEP_ALIVE, ServerOptions};

/// A varied event: channel, action, kind, outcome and actor rotate with `i`.
fn event(i: usize) -> Value {
    let channels = ["auth", "admin", "rules", "writeback"];
    let actions = [
        "user.login",
        "user.login_failed",
        "ticket.created",
        "rule_fired",
        "user_deleted",
    ];
    json!({
        "action": actions[i % actions.len()],
        "channel": channels[i % channels.len()],
        "outcome": if i.is_multiple_of(3) { "failure" } else { "success" },
        "description": format!("event number {i} {}", if i.is_multiple_of(7) { "Printer on FIRE" } else { "calm" }),
        "actor": {"type": "user", "id": format!("u_{}", i % 5), "email": format!("Person{}@Example.com", i % 5)},
        "target": {"type": if i.is_multiple_of(2) { "ticket" } else { "user" }, "id": format!("{}", i % 11)},
    })
}

async fn post_batch(s: &TestServer, from: usize, n: usize) {
    let batch: Vec<Value> = (from..from + n).map(event).collect();
    let (status, body) = s.post(&s.writer, Value::Array(batch)).await;
    assert_eq!(status, 201, "{body}");
}

/// Reads entries until `want` of them arrived or nothing came for `quiet`.
async fn read_entries(stream: &mut LiveStream, want: usize, quiet: Duration) -> Vec<u64> {
    let mut got = Vec::new();
    while got.len() < want {
        match tokio::time::timeout(quiet, stream.next()).await {
            Ok(Ok(Some(StreamItem::Entry(e)))) => got.push(e.seq),
            Ok(Ok(Some(StreamItem::Ready(_)))) => {}
            Ok(Ok(None)) | Err(_) => break,
            Ok(Err(e)) => panic!("the stream failed: {e}"),
        }
    }
    got
}

/// Posts an entry that any filter matching the stored entry `like` also matches (the same
/// fields, time included) or, with none, one that a filter on old times matches. Its seq.
async fn matching_sentinel(s: &TestServer, like: Option<&Value>) -> u64 {
    let event = match like {
        Some(e) => {
            let mut event = json!({"action": e["action"], "occurred_at": e["occurred_at"]});
            for field in ["channel", "outcome", "description", "actor", "target"] {
                if !e[field].is_null() {
                    event[field] = e[field].clone();
                }
            }
            event
        }
        None => json!({"action": "old.sentinel", "occurred_at": "2000-06-01T00:00:00Z"}),
    };
    let (status, body) = s.post(&s.writer, event).await;
    assert_eq!(status, 201, "{body}");
    body["entries"][0]["seq"].as_u64().unwrap()
}

fn query(filter: &str) -> Query {
    filter.parse().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn reconnecting_with_last_event_id_sees_every_matching_seq_exactly_once_in_order() {
    let s = TestServer::start().await;
    post_batch(&s, 0, 40).await;
    let client = Client::new(&s.url, &s.auditor).unwrap();
    let q = query("channel:auth");
    // A producer keeps writing while the client comes and goes.
    let producer = {
        let (url, writer) = (s.url.clone(), s.writer.clone());
        tokio::spawn(async move {
            let http = reqwest::Client::new();
            for b in 0..60 {
                let batch: Vec<Value> = (0..10).map(|i| event(1000 + b * 10 + i)).collect();
                let r = http
                    .post(format!("{url}/v1/events"))
                    .bearer_auth(&writer)
                    .json(&batch)
                    .send()
                    .await
                    .unwrap();
                assert_eq!(r.status(), 201);
                // Paces the producer so its batches interleave with the client's reconnects
                // (time passing is the point; nothing waits on it).
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        })
    };
    let mut seen: Vec<u64> = Vec::new();
    let mut after = Some(0);
    for round in 0..8 {
        let mut stream = client.open_stream(&q, after).await.unwrap();
        let got = read_entries(&mut stream, 5 + round, Duration::from_secs(5)).await;
        drop(stream); // hang up mid-stream
        if let Some(last) = got.last() {
            after = Some(*last);
        }
        seen.extend(got);
    }
    producer.await.unwrap();
    let expected = seqs(&s.all("filter=channel:auth", 1000).await);
    let mut expected: Vec<u64> = expected.into_iter().collect();
    expected.sort();
    let mut stream = client.open_stream(&q, after).await.unwrap();
    let rest = read_entries(
        &mut stream,
        expected.len() - seen.len(),
        Duration::from_secs(5),
    )
    .await;
    seen.extend(rest);
    assert_eq!(seen, expected, "every matching seq once, in order");
    assert!(
        seen.len() > 100,
        "the test covers enough entries: {}",
        seen.len()
    );
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_hundred_clients_at_once_while_ingesting_each_see_everything() {
    let s = TestServer::start().await;
    post_batch(&s, 0, 3).await;
    // A token holds at most 8 streams: a hundred clients are a hundred tokens.
    let mut streams = Vec::new();
    for _ in 0..100 {
        let token = s.token_for(trailscope::store::Role::Auditor, "acme");
        let client = Client::new(&s.url, &token).unwrap();
        streams.push(client.open_stream(&Query::default(), None).await.unwrap());
    }
    let readers: Vec<_> = streams
        .into_iter()
        .map(|mut st| {
            tokio::spawn(async move { read_entries(&mut st, 500, Duration::from_secs(20)).await })
        })
        .collect();
    for b in 0..50 {
        post_batch(&s, 10 + b * 10, 10).await;
    }
    let want: Vec<u64> = (4..=503).collect();
    for r in readers {
        assert_eq!(r.await.unwrap(), want);
    }
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_client_that_never_reads_does_not_hold_up_producers_and_catches_up_later() {
    let s = TestServer::start().await;
    let client = Client::new(&s.url, &s.auditor).unwrap();
    // This client opens the stream and then does not read while megabytes go by.
    let mut stalled = client
        .open_stream(&Query::default(), Some(0))
        .await
        .unwrap();
    let big = "x".repeat(60_000);
    let posting = async {
        for b in 0..40 {
            let batch: Vec<Value> = (0..20)
                .map(|i| json!({"action": "blob.written", "details": {"n": b * 20 + i, "blob": big}}))
                .collect();
            let (status, body) = s.post(&s.writer, Value::Array(batch)).await;
            assert_eq!(status, 201, "{body}");
        }
    };
    // 800 entries of 60 KB (48 MB) are far more than the socket buffers hold: if the stream
    // held up the writer, this would not finish.
    tokio::time::timeout(Duration::from_secs(120), posting)
        .await
        .expect("producers are not held up by a client that does not read");
    let got = read_entries(&mut stalled, 800, Duration::from_secs(20)).await;
    assert_eq!(
        got,
        (1..=800).collect::<Vec<u64>>(),
        "caught up from the store, nothing dropped"
    );
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn filters_apply_to_the_stream_exactly_as_to_the_events_route() {
    let s = TestServer::start().await;
    post_batch(&s, 0, 200).await;
    let client = Client::new(&s.url, &s.auditor).unwrap();
    for filter in [
        "",
        "action:user.*",
        "action:rule_fired action:user_deleted",
        "actor:person3@example.com",
        "actor:u_2",
        "target:ticket/4",
        "target:7",
        "target_type:user kind:deleted",
        "channel:auth outcome:failure",
        "kind:created kind:other",
        "\"printer on fire\"",
        "fire channel:rules",
        "since:1h",
        "to:2001-01-01",
    ] {
        let q = query(filter);
        let param = if filter.is_empty() {
            String::new()
        } else {
            format!(
                "filter={}",
                form_urlencoded::byte_serialize(filter.as_bytes()).collect::<String>()
            )
        };
        let listed = s.all(&param, 1000).await;
        let mut expected = seqs(&listed);
        expected.sort();
        let mut stream = client.open_stream(&q, Some(0)).await.unwrap();
        let got = read_entries(&mut stream, expected.len(), Duration::from_secs(5)).await;
        assert_eq!(got, expected, "filter `{filter}`");
        // Nothing more arrives for it than the events route lists: the next entry it streams
        // is a sentinel written now that the filter matches.
        let newest = listed.iter().max_by_key(|e| e["seq"].as_u64());
        let sentinel = matching_sentinel(&s, newest).await;
        let next = read_entries(&mut stream, 1, Duration::from_secs(20)).await;
        assert_eq!(next, [sentinel], "filter `{filter}` streamed more");
    }
    // Live entries are filtered the same way as replayed ones.
    let before = seqs(&s.all("", 1000).await).into_iter().max().unwrap();
    let mut live = client
        .open_stream(&query("channel:auth outcome:failure"), None)
        .await
        .unwrap();
    post_batch(&s, 200, 24).await;
    let got = read_entries(&mut live, 2, Duration::from_secs(5)).await;
    let all = s
        .all("filter=channel%3Aauth%20outcome%3Afailure", 1000)
        .await;
    let mut newest: Vec<u64> = seqs(&all).into_iter().filter(|q| *q > before).collect();
    newest.sort();
    assert_eq!(got, newest);
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_wire_format_and_its_errors() {
    let s = TestServer::start().await;
    post_batch(&s, 0, 3).await;
    let url = format!("{}/v1/stream", s.url);
    let http = &s.http;
    let status = |r: reqwest::Response| r.status().as_u16();
    assert_eq!(status(http.get(&url).send().await.unwrap()), 401);
    let r = http.get(&url).bearer_auth(&s.writer).send().await.unwrap();
    assert_eq!(r.status(), 403);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["error"]["code"], "forbidden");
    for (header, q) in [
        ("abc", ""),
        ("", "?after_seq=-1"),
        ("", "?filter=nonsense:1"),
        ("", "?bogus=1"),
    ] {
        let mut req = http.get(format!("{url}{q}")).bearer_auth(&s.auditor);
        if !header.is_empty() {
            req = req.header("last-event-id", header);
        }
        let r = req.send().await.unwrap();
        assert_eq!(r.status(), 422, "{header} {q}");
        let body: Value = r.json().await.unwrap();
        assert_eq!(body["error"]["code"], "invalid_query", "{body}");
        assert!(body["error"]["message"].as_str().unwrap().len() > 10);
    }
    // The raw stream: a ready event naming where it starts, then id/event/data per entry.
    let mut r = http
        .get(format!("{url}?after_seq=1"))
        .bearer_auth(&s.auditor)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert!(
        r.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/event-stream")
    );
    let mut text = String::new();
    while text.matches("event: entry").count() < 2 {
        let chunk = tokio::time::timeout(Duration::from_secs(5), r.chunk())
            .await
            .unwrap()
            .unwrap()
            .unwrap();
        text.push_str(std::str::from_utf8(&chunk).unwrap());
    }
    let events: Vec<std::collections::HashMap<&str, &str>> = text
        .split("\n\n")
        .filter(|e| !e.trim().is_empty())
        .map(|e| e.lines().filter_map(|l| l.split_once(": ")).collect())
        .collect();
    assert_eq!(events[0]["event"], "ready");
    assert_eq!(events[0]["id"], "1");
    assert_eq!(events[0]["data"], "{\"after_seq\":1}");
    assert_eq!(events[1]["event"], "entry");
    assert_eq!(events[1]["id"], "2");
    let data: Value = serde_json::from_str(events[1]["data"]).unwrap();
    let id = data["id"].as_str().unwrap();
    let (_, stored) = s.get(&s.auditor, &format!("/v1/events/{id}")).await;
    assert_eq!(data, stored, "the streamed entry is the stored entry");
    // Another tenant's stream sees none of these: the first entry it streams is its own.
    let other = s.token_for(trailscope::store::Role::Auditor, "globex");
    let client = Client::new(&s.url, &other).unwrap();
    let mut st = client
        .open_stream(&Query::default(), Some(0))
        .await
        .unwrap();
    let globex = s.token_for(trailscope::store::Role::Writer, "globex");
    let (status, body) = s.post(&globex, json!({"action": "globex.sentinel"})).await;
    assert_eq!(status, 201, "{body}");
    let got = read_entries(&mut st, 1, Duration::from_secs(20)).await;
    assert_eq!(got, [body["entries"][0]["seq"].as_u64().unwrap()]);
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_silent_stream_gets_keep_alive_comments_at_the_interval() {
    // The default every server runs with, unless its options say otherwise.
    assert_eq!(STREAM_KEEP_ALIVE, Duration::from_secs(15));
    assert_eq!(ServerOptions::default().stream_keep_alive, None);
    let interval = Duration::from_millis(300);
    let s = TestServer::start_with_options(ServerOptions {
        stream_keep_alive: Some(interval),
        ..ServerOptions::default()
    })
    .await;
    let started = std::time::Instant::now();
    let mut r = s
        .http
        .get(format!("{}/v1/stream", s.url))
        .bearer_auth(&s.auditor)
        .send()
        .await
        .unwrap();
    let mut text = String::new();
    // Two, so it is a rhythm and not a one-off; each after a silence of the whole interval.
    while text.matches(": keep-alive").count() < 2 {
        let chunk = tokio::time::timeout(Duration::from_secs(20), r.chunk())
            .await
            .expect("keep-alive comments on a silent stream")
            .unwrap()
            .unwrap();
        text.push_str(std::str::from_utf8(&chunk).unwrap());
    }
    assert!(started.elapsed() >= interval * 2, "{:?}", started.elapsed());
    assert!(text.contains("event: ready"), "{text}");
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn open_streams_end_when_the_server_shuts_down() {
    let s = TestServer::start().await;
    let client = Client::new(&s.url, &s.auditor).unwrap();
    let mut stream = client.open_stream(&Query::default(), None).await.unwrap();
    assert!(matches!(
        stream.next().await,
        Ok(Some(StreamItem::Ready(0)))
    ));
    tokio::time::timeout(Duration::from_secs(10), s.stop())
        .await
        .expect("shutdown does not wait for open streams");
    let end = tokio::time::timeout(Duration::from_secs(5), stream.next())
        .await
        .expect("the stream ends");
    assert!(matches!(end, Ok(None) | Err(_)), "{end:?}");
}
