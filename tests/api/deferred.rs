//! Read-your-writes with deferred indexes: SQLite commits an entry with its time index alone and
//! adds it to the secondary and search indexes later (`store::sqlite::indexer`). Every filter
//! must find an acknowledged entry at once, and find the same once it is indexed.

use crate::common;
use common::TestServer;
use serde_json::{Value, json};

/// What the explorer reads for `filter`: every page of entries, the count and histogram, and
/// the action and actor facets.
async fn reads(s: &TestServer, filter: &str) -> Value {
    let f: String = form_urlencoded::byte_serialize(filter.as_bytes()).collect();
    let entries = s.all(&format!("filter={f}"), 7).await;
    let (st, stats) = s.get(&s.auditor, &format!("/v1/stats?filter={f}")).await;
    assert_eq!(st, 200, "{stats}");
    let (st, actions) = s
        .get(&s.auditor, &format!("/v1/facets/action?filter={f}"))
        .await;
    assert_eq!(st, 200, "{actions}");
    let (st, actors) = s
        .get(&s.auditor, &format!("/v1/facets/actor?filter={f}"))
        .await;
    assert_eq!(st, 200, "{actors}");
    json!({"seqs": common::seqs(&entries), "stats": stats, "actions": actions, "actors": actors})
}

const FILTERS: [(&str, usize); 7] = [
    ("actor:u_3", 25),
    ("action:ticket.updated", 50),
    ("target:ticket/7", 20),
    ("ip:198.51.100.3", 25),
    ("q:zanzibar", 10),
    ("q:zanzibar actor:u_0", 5),
    ("channel:admin -outcome:success", 10),
];

#[tokio::test(flavor = "multi_thread")]
async fn an_acknowledged_entry_is_found_by_every_filter_before_and_after_it_is_indexed() {
    let s = TestServer::start().await;
    let batch: Vec<Value> = (0..200)
        .map(|i| {
            let (action, channel) = if i % 4 == 0 {
                ("ticket.updated", "admin")
            } else {
                ("user.login", "auth")
            };
            let word = if i % 20 == 0 { "zanzibar" } else { "printer" };
            json!({
                "action": action, "channel": channel,
                "outcome": if i % 10 == 0 { "failure" } else { "success" },
                "description": format!("{word} {i}"),
                "actor": {"type": "user", "id": format!("u_{}", i % 8),
                          "ip": format!("198.51.100.{}", i % 8)},
                "target": {"type": "ticket", "id": (i % 10).to_string()},
            })
        })
        .collect();
    assert_eq!(s.post(&s.writer, Value::Array(batch)).await.0, 201);
    // Read at once: on SQLite the entries are committed, and most likely not yet indexed.
    let mut before = Vec::new();
    for (filter, matches) in FILTERS {
        let r = reads(&s, filter).await;
        assert_eq!(
            r["seqs"].as_array().unwrap().len(),
            matches,
            "{filter}: {r}"
        );
        assert_eq!(r["stats"]["total"], matches, "{filter}: {r}");
        before.push(r);
    }
    common::wait_until_indexed(&s.url, &s.auditor).await;
    for ((filter, _), before) in FILTERS.iter().zip(before) {
        assert_eq!(
            reads(&s, filter).await,
            before,
            "{filter}: the same once indexed"
        );
    }
    s.stop().await;
}
