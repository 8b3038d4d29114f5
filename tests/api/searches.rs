//! Audited searches: the first page of `GET /v1/events` writes `audit_log.searched`, once per
//! token and distinct filter per 10 minutes (a hand-moved clock, no sleeping); later pages,
//! counts, facets and streams do not count. Through the real server.

use crate::common;
use chrono::{DateTime, Duration, Utc};
use common::TestServer;
use serde_json::{Value, json};
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use trailscope::model::{Order, Query};
use trailscope::server::ServerOptions;
use trailscope::server::schedule::Clock;
use trailscope::server::searches::SearchClock;
use trailscope::store::PageRequest;

struct HandClock(Mutex<DateTime<Utc>>);

impl Clock for HandClock {
    fn now(&self) -> DateTime<Utc> {
        *self.0.lock().unwrap()
    }
    fn sleep_until(&self, _: DateTime<Utc>) -> Pin<Box<dyn Future<Output = ()> + Send + '_>> {
        Box::pin(std::future::pending())
    }
}

impl HandClock {
    fn advance(&self, by: Duration) {
        *self.0.lock().unwrap() += by;
    }
}

/// The searched entries, read straight from the server's store (reading them through the API
/// would itself be a search).
async fn searched(s: &TestServer) -> Vec<Value> {
    let q: Query = "action:audit_log.searched".parse().unwrap();
    let page = s
        .store
        .page(
            "acme",
            &q,
            &PageRequest {
                limit: 1000,
                order: Order::Asc,
                cursor: None,
            },
            Utc::now(),
        )
        .await
        .unwrap();
    page.entries
        .into_iter()
        .map(|e| serde_json::to_value(e).unwrap())
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn searches_are_recorded_once_per_token_and_filter_every_ten_minutes() {
    let clock = Arc::new(HandClock(Mutex::new(Utc::now())));
    let s = TestServer::start_with_options(ServerOptions {
        audit_searches: Some(SearchClock(clock.clone())),
        ..ServerOptions::default()
    })
    .await;
    let events: Vec<Value> = (0..30)
        .map(|i| json!({"action": "user.login", "channel": "auth", "description": format!("login {i}")}))
        .collect();
    assert_eq!(s.post(&s.writer, Value::Array(events)).await.0, 201);

    // A first page is a search.
    let (st, page) = s
        .get(&s.auditor, "/v1/events?filter=channel:auth&limit=10")
        .await;
    assert_eq!(st, 200);
    // The answer is the log as asked: its own record is not in it.
    assert_eq!(page["entries"].as_array().unwrap().len(), 10);
    let first = searched(&s).await;
    assert_eq!(first.len(), 1);
    assert_eq!(first[0]["channel"], "audit");
    assert_eq!(first[0]["kind"], "read");
    assert_eq!(first[0]["details"]["filters"]["filter"], "channel:auth");
    assert_eq!(first[0]["details"]["role"], "auditor");
    assert!(
        first[0]["actor"]["id"]
            .as_str()
            .unwrap()
            .starts_with("tok_")
    );

    // Paging on, the count, the histogram, the facets, the same search again: nothing new.
    let cursor = page["next_cursor"].as_str().unwrap().to_string();
    for path in [
        format!("/v1/events?filter=channel:auth&limit=10&cursor={cursor}"),
        "/v1/stats?filter=channel:auth".to_string(),
        "/v1/facets/action?filter=channel:auth".to_string(),
        "/v1/events?filter=channel:auth&limit=10".to_string(),
        "/v1/events?channel=auth".to_string(),
    ] {
        assert_eq!(s.get(&s.auditor, &path).await.0, 200, "{path}");
    }
    assert_eq!(searched(&s).await.len(), 1);

    // Another filter, or another token with the same filter: each a search of its own.
    s.get(
        &s.auditor,
        "/v1/events?filter=channel:auth%20outcome:failure",
    )
    .await;
    s.get(&s.admin, "/v1/events?filter=channel:auth").await;
    let all = searched(&s).await;
    assert_eq!(all.len(), 3);
    assert_eq!(
        all[1]["details"]["filters"]["filter"],
        "channel:auth outcome:failure"
    );
    assert_eq!(all[2]["details"]["role"], "admin");

    // Nine minutes on: still coalesced. Ten: recorded again.
    clock.advance(Duration::minutes(9));
    s.get(&s.auditor, "/v1/events?filter=channel:auth").await;
    assert_eq!(searched(&s).await.len(), 3);
    clock.advance(Duration::minutes(1));
    s.get(&s.auditor, "/v1/events?filter=channel:auth").await;
    let all = searched(&s).await;
    assert_eq!(all.len(), 4);
    assert_eq!(all[3]["details"]["filters"]["filter"], "channel:auth");
    // The log still verifies with its records of reading it.
    assert_eq!(s.first_bad_seq().await, None);
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn an_embedded_router_does_not_audit_unless_asked() {
    let s = TestServer::start().await;
    assert_eq!(
        s.get(&s.auditor, "/v1/events?filter=channel:auth").await.0,
        200
    );
    assert!(searched(&s).await.is_empty());
    s.stop().await;
}
