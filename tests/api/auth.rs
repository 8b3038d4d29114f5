//! Tokens, roles and the allowlist through the real server: 401 and 403 for every route.

use crate::common;
use common::TestServer;
use reqwest::Method;
use serde_json::json;
use trailscope::server::Allowlist;
use trailscope::store::{NewToken, Role};

/// Every route, with the roles that may use it.
fn routes(id: &str) -> Vec<(Method, String, &'static [Role])> {
    const READERS: &[Role] = &[Role::Auditor, Role::Admin];
    const WRITERS: &[Role] = &[Role::Writer, Role::Admin];
    vec![
        (Method::POST, "/v1/events".into(), WRITERS),
        (Method::GET, "/v1/events".into(), READERS),
        (Method::GET, format!("/v1/events/{id}"), READERS),
        (Method::GET, "/v1/facets/action".into(), READERS),
        (Method::GET, "/v1/stats".into(), READERS),
        (Method::GET, "/v1/verify".into(), READERS),
        (Method::GET, "/v1/stream".into(), READERS),
        (Method::GET, "/v1/export?format=csv".into(), READERS),
    ]
}

#[tokio::test(flavor = "multi_thread")]
async fn role_matrix() {
    let s = TestServer::start().await;
    let (_, body) = s.post(&s.writer, json!({"action": "seed"})).await;
    let id = body["entries"][0]["id"].as_str().unwrap().to_string();
    for (method, path, allowed) in routes(&id) {
        let send = |token: Option<&str>| {
            let mut req = s.http.request(method.clone(), format!("{}{}", s.url, path));
            if method == Method::POST {
                req = req.json(&json!({"action": "probe"}));
            }
            if let Some(t) = token {
                req = req.bearer_auth(t);
            }
            req.send()
        };
        let r = send(None).await.unwrap();
        assert_eq!(r.status(), 401, "{method} {path} without a token");
        let body: serde_json::Value = r.json().await.unwrap();
        assert_eq!(body["error"]["code"], "unauthorized");
        let r = send(Some("ts_not-a-real-token")).await.unwrap();
        assert_eq!(r.status(), 401, "{method} {path} with a bad token");
        for (role, token) in [
            (Role::Writer, &s.writer),
            (Role::Auditor, &s.auditor),
            (Role::Admin, &s.admin),
        ] {
            let r = send(Some(token)).await.unwrap();
            let status = r.status().as_u16();
            if allowed.contains(&role) {
                // Not read: a stream never ends, an export is CSV.
                assert!(
                    status == 200 || status == 201,
                    "{method} {path} as {role}: {status}"
                );
            } else {
                let body: serde_json::Value = r.json().await.unwrap();
                assert_eq!(status, 403, "{method} {path} as {role}: {body}");
                assert_eq!(body["error"]["code"], "forbidden");
                assert!(
                    body["error"]["message"]
                        .as_str()
                        .unwrap()
                        .contains(role.as_str())
                );
            }
        }
    }
    // The admin routes and the evidence packs refuse a missing or unknown token before anything else.
    for (method, path) in [
        (Method::PUT, "/v1/retention"),
        (Method::GET, "/v1/retention"),
        (Method::POST, "/v1/retention/prune"),
        (Method::POST, "/v1/pseudonymise"),
        (Method::POST, "/v1/evidence-packs"),
    ] {
        for token in [None, Some("ts_not-a-real-token")] {
            let mut req = s
                .http
                .request(method.clone(), format!("{}{path}", s.url))
                .json(&json!({"days": 90, "actor_id": "u_1", "kind": "access_review", "from": "7d", "to": "today"}));
            if let Some(t) = token {
                req = req.bearer_auth(t);
            }
            let r = req.send().await.unwrap();
            assert_eq!(r.status(), 401, "{method} {path} with {token:?}");
            let body: serde_json::Value = r.json().await.unwrap();
            assert_eq!(body["error"]["code"], "unauthorized");
        }
    }
    // Open routes and operational ones.
    let r = s
        .http
        .get(format!("{}/healthz", s.url))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(
        r.json::<serde_json::Value>().await.unwrap(),
        json!({"status": "ok"})
    );
    // The contract is documentation: no token (API.md "Additions"). Every other route takes
    // one, the metrics too.
    assert_eq!(
        s.http
            .get(format!("{}/openapi.json", s.url))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    assert_eq!(s.get(&s.writer, "/openapi.json").await.0, 200);
    assert_eq!(
        s.http
            .get(format!("{}/metrics", s.url))
            .send()
            .await
            .unwrap()
            .status(),
        401
    );
    assert_eq!(
        s.http
            .get(format!("{}/metrics", s.url))
            .bearer_auth(&s.writer)
            .send()
            .await
            .unwrap()
            .status(),
        403
    );
    assert_eq!(
        s.http
            .get(format!("{}/metrics", s.url))
            .bearer_auth(&s.auditor)
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    assert_eq!(s.get(&s.auditor, "/v1/verify?full=1").await.0, 422);
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn malformed_headers_and_revocation() {
    let s = TestServer::start().await;
    for header in ["Basic abc", "Bearer", "Bearer    ", "token"] {
        let r = s
            .http
            .get(format!("{}/v1/events", s.url))
            .header("authorization", header)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 401, "{header}");
    }
    // Token admin through the store, as `token create|list|revoke` does on either backend.
    let (new, secret) = NewToken::generate(Role::Auditor, "acme", Some("temp"));
    let record = s.store.create_token(new).await.unwrap();
    assert_eq!(s.get(&secret, "/v1/events").await.0, 200);
    assert!(s.store.revoke_token(&record.id).await.unwrap());
    assert!(
        !s.store.revoke_token(&record.id).await.unwrap(),
        "revoking twice says so"
    );
    assert_eq!(
        s.get(&secret, "/v1/events").await.0,
        401,
        "a revoked token stops at once"
    );
    let listed = s.store.list_tokens().await.unwrap();
    assert!(
        listed
            .iter()
            .any(|t| t.id == record.id && t.revoked_at.is_some())
    );
    // Only the hash is stored: the secret appears nowhere in the database file.
    if !s.sqlite_only("reads the SQLite file for the secret") {
        let raw = std::fs::read(&s.db).unwrap();
        let wal = std::fs::read(s.db.with_extension("db-wal")).unwrap_or_default();
        for bytes in [raw, wal] {
            assert!(!bytes.windows(secret.len()).any(|w| w == secret.as_bytes()));
        }
    }
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn allowlist_guards_the_audit_surface_separately_from_ingest() {
    // Loopback is outside 10.0.0.0/8: reads refused, ingest (open) allowed.
    let s = TestServer::start_with(Allowlist {
        audit: vec!["10.0.0.0/8".parse().unwrap()],
        ingest: vec![],
    })
    .await;
    let (st, body) = s.get(&s.auditor, "/v1/events").await;
    assert_eq!(st, 403, "{body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("127.0.0.1")
    );
    let (st, _) = s.post(&s.writer, json!({"action": "a"})).await;
    assert_eq!(st, 201);
    assert_eq!(
        s.http
            .get(format!("{}/healthz", s.url))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    assert_eq!(s.get(&s.admin, "/metrics").await.0, 403);
    s.stop().await;

    let s = TestServer::start_with(Allowlist {
        audit: vec!["127.0.0.0/8".parse().unwrap()],
        ingest: vec!["192.0.2.0/24".parse().unwrap()],
    })
    .await;
    let (st, body) = s.post(&s.writer, json!({"action": "a"})).await;
    assert_eq!(st, 403, "{body}");
    assert_eq!(s.get(&s.auditor, "/v1/events").await.0, 200);
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn unknown_routes_and_methods_are_json() {
    let s = TestServer::start().await;
    let r = s
        .http
        .get(format!("{}/v2/nothing", s.url))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    assert_eq!(
        r.json::<serde_json::Value>().await.unwrap()["error"]["code"],
        "not_found"
    );
    let r = s
        .http
        .delete(format!("{}/v1/events", s.url))
        .bearer_auth(&s.admin)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 405);
    assert_eq!(
        r.json::<serde_json::Value>().await.unwrap()["error"]["code"],
        "method_not_allowed"
    );
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn metrics_count_requests_and_commits() {
    let s = TestServer::start().await;
    for _ in 0..3 {
        s.post(&s.writer, json!([{"action": "a"}, {"action": "b"}]))
            .await;
    }
    let text = s
        .http
        .get(format!("{}/metrics", s.url))
        .bearer_auth(&s.admin)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        text.contains(
            r#"trailscope_http_requests_total{route="/v1/events",method="POST",status="201"} 3"#
        ),
        "{text}"
    );
    assert!(
        text.contains("trailscope_entries_appended_total 6"),
        "{text}"
    );
    assert!(
        text.contains("trailscope_commit_batch_size_sum 6"),
        "{text}"
    );
    assert!(
        text.contains(
            r#"trailscope_http_request_duration_seconds_bucket{route="/v1/events",le="+Inf"} 3"#
        ),
        "{text}"
    );
    s.stop().await;
}
