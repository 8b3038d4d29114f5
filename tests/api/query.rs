//! GET /v1/events, facets and stats through the real server: every filter, their combinations,
//! the query language, and keyset paging while another task inserts.

use crate::common;
use common::{TestServer, seqs};
use serde_json::{Value, json};

/// A small trail where each filter picks out a known set of seqs.
fn fixture() -> Value {
    json!([
        {"action": "ticket.created", "channel": "writeback", "occurred_at": "2026-11-01T10:00:00Z",
         "actor": {"type": "user", "id": "u_1", "name": "Alice Smith", "email": "Alice@Example.com"},
         "target": {"type": "ticket", "id": "142", "name": "Printer on fire"}, "description": "Ticket created"},
        {"action": "ticket.updated", "channel": "writeback", "occurred_at": "2026-11-02T10:00:00Z",
         "actor": {"type": "user", "id": "u_2", "name": "Bob Müller", "email": "bob@example.com"},
         "target": {"type": "ticket", "id": "143"}, "outcome": "failure"},
        {"action": "user.login_failed", "channel": "auth", "occurred_at": "2026-11-03T10:00:00Z",
         "actor": {"type": "user", "id": "u_1", "email": "alice@example.com"}, "outcome": "failure"},
        {"action": "role.updated", "channel": "admin", "occurred_at": "2026-11-04T10:00:00Z",
         "actor": {"type": "user", "id": "u_2"}, "target": {"type": "user", "id": "142"}, "description": "Made JÜRGEN admin"},
        {"action": "rule_fired", "channel": "rules", "occurred_at": "2026-11-05T10:00:00Z",
         "target": {"type": "rule", "id": "r_9"}, "details": {"printer": true}},
        {"action": "pii.read", "channel": "pii-read", "occurred_at": "2026-11-05T12:00:00Z",
         "actor": {"type": "service", "id": "svc_sync"}, "target": {"type": "customer", "id": "c_1"}},
    ])
}

async fn seeded() -> TestServer {
    let s = TestServer::start().await;
    let (st, body) = s.post(&s.writer, fixture()).await;
    assert_eq!(st, 201, "{body}");
    s
}

async fn matching(s: &TestServer, query: &str) -> Vec<u64> {
    let mut v = seqs(&s.all(query, 2).await);
    v.sort();
    v
}

#[tokio::test(flavor = "multi_thread")]
async fn every_filter_and_combinations() {
    let s = seeded().await;
    let cases: &[(&str, &[u64])] = &[
        ("", &[1, 2, 3, 4, 5, 6]),
        ("action=ticket.created", &[1]),
        ("action=ticket.*", &[1, 2]),
        ("action=ticket.*&action=rule_fired", &[1, 2, 5]),
        ("action=nothing.*", &[]),
        ("action=*", &[1, 2, 3, 4, 5, 6]),
        ("actor=u_1", &[1, 3]),
        ("actor=ALICE@example.com", &[1, 3]),
        ("actor=u_2&actor=svc_sync", &[2, 4, 6]),
        ("target=ticket/142", &[1]),
        ("target=142", &[1, 4]),
        ("target=user/142", &[4]),
        ("target_type=ticket", &[1, 2]),
        ("target_type=ticket&target_type=rule", &[1, 2, 5]),
        ("channel=auth", &[3]),
        ("channel=auth&channel=admin", &[3, 4]),
        ("kind=created", &[1]),
        ("kind=updated", &[2, 4]),
        ("kind=read", &[6]),
        ("kind=created&kind=updated", &[1, 2, 4]),
        ("outcome=failure", &[2, 3]),
        ("outcome=success&outcome=failure", &[1, 2, 3, 4, 5, 6]),
        ("q=printer", &[1]),
        ("q=MÜLLER", &[2]),
        ("q=jürgen", &[4]),
        ("q=example.com&q=bob", &[2]),
        ("from=2026-11-03", &[3, 4, 5, 6]),
        ("to=2026-11-02", &[1, 2]),
        (
            "from=2026-11-02T10:00:00Z&to=2026-11-04T10:00:00.000Z",
            &[2, 3, 4],
        ),
        ("from=2026-11-05T11:00Z", &[6]),
        ("outcome=failure&actor=u_1", &[3]),
        (
            "channel=writeback&kind=updated&outcome=failure&target_type=ticket",
            &[2],
        ),
        ("kind=created&kind=updated&actor=u_2", &[2, 4]),
        (
            "action=ticket.*&outcome=failure&from=2026-11-01&to=2026-11-30",
            &[2],
        ),
        ("filter=action:ticket.*+outcome:failure", &[2]),
        ("filter=kind:created+kind:read", &[1, 6]),
        ("filter=%22printer+on%22", &[1]),
        ("filter=channel:auth&channel=admin", &[3, 4]),
        ("filter=from:2026-11-04+to:2026-11-05", &[4, 5, 6]),
    ];
    for (q, want) in cases {
        assert_eq!(matching(&s, q).await, *want, "query {q}");
    }
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn order_limit_and_bad_parameters() {
    let s = seeded().await;
    let (_, page) = s.get(&s.auditor, "/v1/events?limit=2").await;
    assert_eq!(
        seqs(page["entries"].as_array().unwrap()),
        [6, 5],
        "newest first"
    );
    let (_, page) = s.get(&s.auditor, "/v1/events?limit=2&order=asc").await;
    assert_eq!(seqs(page["entries"].as_array().unwrap()), [1, 2]);
    let cursor = page["next_cursor"].as_str().unwrap().to_string();
    let (st, body) = s
        .get(&s.auditor, &format!("/v1/events?cursor={cursor}"))
        .await;
    assert_eq!(st, 400, "an asc cursor used for a desc page: {body}");
    let bad = [
        ("/v1/events?limit=0", 422, "limit"),
        ("/v1/events?limit=1001", 422, "limit"),
        ("/v1/events?limit=ten", 422, "limit"),
        ("/v1/events?order=sideways", 422, "order"),
        ("/v1/events?cursor=bm9wZQ", 400, "cursor"),
        ("/v1/events?cursor=%FF%FE", 400, "cursor"),
        ("/v1/events?from=last+tuesday", 422, "from"),
        ("/v1/events?to=2026-02-30", 422, "to"),
        ("/v1/events?kind=made", 422, "kind"),
        ("/v1/events?outcome=meh", 422, "outcome"),
        ("/v1/events?acton=x", 422, "acton"),
        ("/v1/events?filter=colour:red", 422, "filter"),
        ("/v1/events?filter=%22unclosed", 422, "filter"),
        ("/v1/facets/colour", 404, ""),
        ("/v1/facets/action?buckets=3", 422, "buckets"),
        ("/v1/stats?buckets=0", 422, "buckets"),
    ];
    for (path, status, field) in bad {
        let (st, body) = s.get(&s.auditor, path).await;
        assert_eq!(st, status, "{path}: {body}");
        assert!(
            body["error"]["message"]
                .as_str()
                .is_some_and(|m| !m.is_empty()),
            "{path}: {body}"
        );
        if !field.is_empty() {
            assert_eq!(body["error"]["field"], field, "{path}: {body}");
        }
    }
    let (_, body) = s
        .get(&s.auditor, "/v1/events?filter=action:a+colour:red")
        .await;
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("colour"),
        "the error names the bad term: {body}"
    );
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn one_entry_and_tenants() {
    let s = seeded().await;
    let (_, page) = s.get(&s.auditor, "/v1/events?limit=1").await;
    let id = page["entries"][0]["id"].as_str().unwrap().to_string();
    let (st, entry) = s.get(&s.auditor, &format!("/v1/events/{id}")).await;
    assert_eq!(st, 200);
    assert_eq!(entry, page["entries"][0]);
    let (st, body) = s.get(&s.auditor, "/v1/events/01NOPE").await;
    assert_eq!(
        (st, body["error"]["code"].as_str()),
        (404, Some("not_found"))
    );
    // Another tenant sees neither the entry nor any hint that it exists.
    let other = s.token_for(trailscope::store::Role::Auditor, "globex");
    let (st, body) = s.get(&other, &format!("/v1/events/{id}")).await;
    assert_eq!(st, 404, "{body}");
    let (_, page) = s.get(&other, "/v1/events").await;
    assert_eq!(page["entries"], json!([]));
    let (_, stats) = s.get(&other, "/v1/stats").await;
    assert_eq!(stats["total"], 0);
    let (_, facets) = s.get(&other, "/v1/facets/action").await;
    assert_eq!(facets["values"], json!([]));
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn facets_and_stats_follow_the_filter() {
    let s = seeded().await;
    let (st, f) = s.get(&s.auditor, "/v1/facets/channel").await;
    assert_eq!(st, 200);
    assert_eq!(f["field"], "channel");
    assert_eq!(f["values"][0], json!({"value": "writeback", "count": 2}));
    assert_eq!(f["values"].as_array().unwrap().len(), 5);
    // The facet's own field is left out of the filter; the others apply.
    let (_, f) = s
        .get(
            &s.auditor,
            "/v1/facets/channel?channel=auth&outcome=failure",
        )
        .await;
    assert_eq!(
        f["values"],
        json!([{"value": "auth", "count": 1}, {"value": "writeback", "count": 1}])
    );
    let (_, f) = s.get(&s.auditor, "/v1/facets/actor?limit=1").await;
    assert_eq!(
        f["values"],
        json!([{"value": "u_1", "count": 2, "label": "Alice Smith"}])
    );
    let (_, f) = s
        .get(&s.auditor, "/v1/facets/kind?filter=since:3650d")
        .await;
    // Ties are broken by value, so the order is stable.
    assert_eq!(f["values"][0], json!({"value": "other", "count": 2}));
    assert_eq!(f["values"][1], json!({"value": "updated", "count": 2}));
    let (_, st) = s
        .get(
            &s.auditor,
            "/v1/stats?from=2026-11-01&to=2026-11-05&buckets=5",
        )
        .await;
    assert_eq!(st["total"], 6);
    assert_eq!(st["bucket_seconds"], 86400);
    let counts: Vec<u64> = st["buckets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["count"].as_u64().unwrap())
        .collect();
    assert_eq!(counts, [1, 1, 1, 1, 2]);
    assert_eq!(st["buckets"][0]["start"], "2026-11-01T00:00:00.000Z");
    let (_, st) = s.get(&s.auditor, "/v1/stats?outcome=failure").await;
    assert_eq!(st["total"], 2);
    assert_eq!(
        st["buckets"]
            .as_array()
            .unwrap()
            .iter()
            .map(|b| b["count"].as_u64().unwrap())
            .sum::<u64>(),
        2
    );
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn keyset_paging_while_inserting() {
    let s = TestServer::start().await;
    let base = chrono::Utc::now() - chrono::Duration::days(1);
    for chunk in 0..10 {
        let batch: Vec<Value> = (0..1000)
            .map(|i| {
                // Many entries share a millisecond, so the seq half of the key matters.
                let t = base + chrono::Duration::milliseconds((chunk * 1000 + i) / 3);
                json!({"action": if i % 2 == 0 { "a.created" } else { "b.deleted" }, "occurred_at": t.to_rfc3339()})
            })
            .collect();
        let (st, _) = s.post(&s.writer, Value::Array(batch)).await;
        assert_eq!(st, 201);
    }
    // Another task keeps inserting (newer entries) while we page.
    let url = s.url.clone();
    let writer = s.writer.clone();
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let stop2 = stop.clone();
    let inserter = tokio::spawn(async move {
        let http = reqwest::Client::new();
        let mut n = 0;
        while !stop2.load(std::sync::atomic::Ordering::Relaxed) && n < 2000 {
            let batch: Vec<Value> = (0..20).map(|_| json!({"action": "a.created"})).collect();
            let r = http
                .post(format!("{url}/v1/events"))
                .bearer_auth(&writer)
                .json(&batch)
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), 201);
            n += 1;
        }
        n
    });
    for (query, expect) in [
        ("", 10_000usize),
        ("action=a.created", 5_000),
        ("kind=created&kind=deleted", 10_000),
    ] {
        let q = format!(
            "to={}{}{}",
            (base + chrono::Duration::hours(1))
                .to_rfc3339()
                .replace('+', "%2B"),
            if query.is_empty() { "" } else { "&" },
            query
        );
        for order in ["desc", "asc"] {
            let entries = s.all(&format!("{q}&order={order}"), 173).await;
            let got = seqs(&entries);
            let mut unique = got.clone();
            unique.sort();
            unique.dedup();
            assert_eq!(
                unique.len(),
                got.len(),
                "{query} {order}: a row appeared twice"
            );
            assert_eq!(got.len(), expect, "{query} {order}: rows went missing");
            let keys: Vec<(String, u64)> = entries
                .iter()
                .map(|e| {
                    (
                        e["occurred_at"].as_str().unwrap().to_string(),
                        e["seq"].as_u64().unwrap(),
                    )
                })
                .collect();
            let mut sorted = keys.clone();
            sorted.sort();
            if order == "desc" {
                sorted.reverse();
            }
            assert_eq!(keys, sorted, "{query} {order}: out of order");
        }
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let batches = inserter.await.unwrap();
    assert!(batches > 0);
    // Everything written meanwhile is there too: no gap in seq.
    let all = seqs(&s.all("order=asc", 1000).await);
    assert_eq!(
        all,
        (1..=(10_000 + batches as u64 * 20)).collect::<Vec<_>>()
    );
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn search_finds_rare_and_common_terms_alike() {
    let s = TestServer::start().await;
    for chunk in 0..3 {
        let batch: Vec<Value> = (0..1000)
            .map(|i| {
                let n = chunk * 1000 + i;
                let description = if n % 500 == 7 { format!("Zebra crossing {n}") } else { format!("Printer {n} jammed") };
                json!({"action": "ticket.updated", "description": description, "target": {"type": "ticket", "id": n.to_string()}})
            })
            .collect();
        assert_eq!(s.post(&s.writer, Value::Array(batch)).await.0, 201);
    }
    // Common (read along the time index) and rare (read through the trigram index).
    assert_eq!(s.all("q=printer", 500).await.len(), 2994);
    assert_eq!(
        seqs(&s.all("q=ZEBRA", 2).await),
        [2508, 2008, 1508, 1008, 508, 8]
    );
    assert_eq!(
        seqs(&s.all("q=zebra&order=asc", 4).await),
        [8, 508, 1008, 1508, 2008, 2508]
    );
    // Terms shorter than a trigram, and a term whose trigrams all occur but not together.
    assert_eq!(s.all("q=ze", 1000).await.len(), 6);
    assert_eq!(s.all("q=jammed+zebra", 100).await.len(), 0);
    assert_eq!(s.all("q=2506+jammed", 100).await.len(), 1);
    let (_, st) = s.get(&s.auditor, "/v1/stats?q=zebra").await;
    assert_eq!(st["total"], 6);
    let (_, f) = s.get(&s.auditor, "/v1/facets/action?q=zebra").await;
    assert_eq!(
        f["values"],
        json!([{"value": "ticket.updated", "count": 6}])
    );
    let (_, st) = s.get(&s.auditor, "/v1/stats?q=printer").await;
    assert_eq!(st["total"], 2994);
    s.stop().await;
}
