//! assets/openapi.json describes the routes that exist, with the shapes they really answer.

use crate::common;
use common::TestServer;
use serde_json::{Value, json};
use std::collections::BTreeSet;
use trailscope::model::{Actor, ActorType, Kind, NewEvent, Outcome, Target};

const DOC: &str = include_str!("../../assets/openapi.json");

fn doc() -> Value {
    serde_json::from_str(DOC).expect("assets/openapi.json is JSON")
}

/// Follows a `$ref` to what it names.
fn resolve<'a>(doc: &'a Value, v: &'a Value) -> &'a Value {
    match v.get("$ref").and_then(Value::as_str) {
        Some(r) => doc
            .pointer(r.trim_start_matches('#'))
            .unwrap_or_else(|| panic!("{r} resolves to nothing")),
        None => v,
    }
}

fn refs(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::Object(m) => {
            if let Some(Value::String(r)) = m.get("$ref") {
                out.push(r.clone());
            }
            m.values().for_each(|x| refs(x, out));
        }
        Value::Array(a) => a.iter().for_each(|x| refs(x, out)),
        _ => {}
    }
}

const ROUTES: [(&str, &str); 20] = [
    ("/v1/events", "post"),
    ("/v1/export", "get"),
    ("/v1/exports", "get"),
    ("/v1/evidence-packs", "post"),
    ("/v1/retention", "get"),
    ("/v1/retention", "put"),
    ("/v1/retention/prune", "post"),
    ("/v1/pseudonymise", "post"),
    ("/v1/events", "get"),
    ("/v1/events/{id}", "get"),
    ("/v1/facets/{field}", "get"),
    ("/v1/stats", "get"),
    ("/v1/verify", "get"),
    ("/v1/checkpoint", "get"),
    ("/v1/proof/inclusion", "get"),
    ("/v1/proof/consistency", "get"),
    ("/v1/stream", "get"),
    ("/healthz", "get"),
    ("/metrics", "get"),
    ("/openapi.json", "get"),
];

#[test]
fn every_route_is_documented_and_every_ref_resolves() {
    let d = doc();
    assert!(d["openapi"].as_str().unwrap().starts_with("3.1"));
    for (path, method) in ROUTES {
        let op = &d["paths"][path][method];
        assert!(
            op["responses"].is_object(),
            "{method} {path} is not documented"
        );
    }
    let mut all = Vec::new();
    refs(&d, &mut all);
    assert!(all.len() > 50);
    for r in &all {
        assert!(
            d.pointer(r.trim_start_matches('#')).is_some(),
            "{r} resolves to nothing"
        );
    }
    for s in [
        "NewEvent",
        "Entry",
        "Actor",
        "Target",
        "Page",
        "AppendResponse",
        "Facets",
        "Stats",
        "VerifyReport",
        "Error",
    ] {
        assert!(d["components"]["schemas"][s].is_object(), "no schema {s}");
    }
    let error = &d["components"]["schemas"]["Error"]["properties"]["error"]["properties"];
    for f in ["code", "message", "index", "field"] {
        assert!(error[f].is_object(), "the error shape lacks {f}");
    }
    let posted: BTreeSet<&str> = d["paths"]["/v1/events"]["post"]["responses"]
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    for code in ["201", "400", "401", "403", "413", "422", "500"] {
        assert!(
            posted.contains(code),
            "POST /v1/events does not document {code}"
        );
    }
    assert!(d["paths"]["/v1/events/{id}"]["get"]["responses"]["404"].is_object());
    assert!(d["paths"]["/v1/events/{id}"]["delete"]["responses"]["405"].is_object());
    assert!(d["components"]["securitySchemes"]["bearer"]["scheme"] == "bearer");
}

#[test]
fn the_list_route_documents_every_parameter_it_takes() {
    let d = doc();
    let params: BTreeSet<String> = d["paths"]["/v1/events"]["get"]["parameters"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| resolve(&d, p)["name"].as_str().unwrap().to_string())
        .collect();
    let expected = [
        "action",
        "actor",
        "target",
        "target_type",
        "channel",
        "kind",
        "outcome",
        "ip",
        "id",
        "q",
        "from",
        "to",
        "around",
        "filter",
        "not_action",
        "not_actor",
        "not_target",
        "not_target_type",
        "not_channel",
        "not_kind",
        "not_outcome",
        "not_ip",
        "limit",
        "order",
        "cursor",
    ];
    assert_eq!(
        params,
        expected
            .iter()
            .map(|s| s.to_string())
            .collect::<BTreeSet<_>>()
    );
}

/// The schemas name exactly the fields the model serialises, so a new field cannot go undocumented.
#[test]
fn event_schemas_match_the_model() {
    let d = doc();
    let names = |schema: &str| -> BTreeSet<String> {
        d["components"]["schemas"][schema]["properties"]
            .as_object()
            .unwrap()
            .keys()
            .cloned()
            .collect()
    };
    let keys = |v: Value| -> BTreeSet<String> { v.as_object().unwrap().keys().cloned().collect() };
    let actor = Actor {
        kind: ActorType::User,
        id: Some("u_1".into()),
        name: Some("n".into()),
        email: Some("e".into()),
        ip: Some("192.0.2.1".into()),
        user_agent: Some("ua".into()),
    };
    let event = NewEvent {
        occurred_at: Some(chrono::Utc::now()),
        action: "a".into(),
        kind: Some(Kind::Other),
        channel: Some("c".into()),
        outcome: Some(Outcome::Success),
        description: Some("d".into()),
        actor: Some(actor.clone()),
        target: Some(Target {
            kind: "t".into(),
            id: "1".into(),
            name: Some("n".into()),
        }),
        details: Some(json!({}).into()),
        idempotency_key: Some("k".into()),
    };
    assert_eq!(
        names("NewEvent"),
        keys(serde_json::to_value(&event).unwrap())
    );
    assert_eq!(names("Actor"), keys(serde_json::to_value(&actor).unwrap()));
    assert_eq!(
        d["components"]["schemas"]["NewEvent"]["additionalProperties"],
        false
    );
    assert_eq!(
        d["components"]["schemas"]["Actor"]["additionalProperties"],
        false
    );
    assert_eq!(
        d["components"]["schemas"]["Target"]["additionalProperties"],
        false
    );
}

/// Every documented GET answers on a real server (nothing documented is missing), with the
/// fields its 200 schema requires.
#[tokio::test(flavor = "multi_thread")]
async fn the_server_serves_it_and_answers_every_documented_route() {
    let s = TestServer::start().await;
    let (st, served) = s.get(&s.auditor, "/openapi.json").await;
    assert_eq!(st, 200);
    // Nothing but /healthz and the document itself answers without a token, as it says.
    let open = s
        .http
        .get(format!("{}/openapi.json", s.url))
        .send()
        .await
        .unwrap();
    assert_eq!(open.status().as_u16(), 200, "/openapi.json without a token");
    assert_eq!(open.json::<Value>().await.unwrap(), doc());
    assert_eq!(
        doc()["paths"]["/openapi.json"]["get"]["security"],
        json!([])
    );
    for path in ["/metrics", "/v1/events"] {
        let r = s.http.get(format!("{}{path}", s.url)).send().await.unwrap();
        assert_eq!(r.status().as_u16(), 401, "{path} without a token");
        assert!(
            doc()["paths"][path]["get"]["responses"]["401"].is_object(),
            "{path} documents its 401"
        );
    }
    assert_eq!(served, doc(), "the server serves the file");
    let (st, body) = s
        .post(
            &s.writer,
            json!({"action": "user.login", "channel": "auth"}),
        )
        .await;
    assert_eq!(st, 201, "{body}");
    let id = body["entries"][0]["id"].as_str().unwrap().to_string();
    let d = doc();
    for (path, ops) in d["paths"].as_object().unwrap() {
        let Some(get) = ops.get("get") else { continue };
        let mut url = path.replace("{id}", &id).replace("{field}", "action");
        if path == "/v1/export" {
            // Its JSON form is the one with a schema to check.
            url.push_str("?format=json");
        }
        // The proofs need sizes; the log holds one entry.
        match path.as_str() {
            "/v1/proof/inclusion" => url.push_str("?seq=1&size=1"),
            "/v1/proof/consistency" => url.push_str("?from=1&to=1"),
            _ => {}
        }
        // Admin: it may read everything an auditor may, and the retention settings.
        let r = s
            .http
            .get(format!("{}{url}", s.url))
            .bearer_auth(&s.admin)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status().as_u16(), 200, "GET {url}");
        let schema = &get["responses"]["200"]["content"]["application/json"]["schema"];
        if schema.is_null() {
            continue;
        }
        let body: Value = r.json().await.unwrap();
        for field in resolve(&d, schema)["required"]
            .as_array()
            .into_iter()
            .flatten()
        {
            let field = field.as_str().unwrap();
            assert!(
                body.get(field).is_some(),
                "GET {url} lacks `{field}`: {body}"
            );
        }
    }
    s.stop().await;
}

/// The admin POSTs answer with the fields their documented 200 schemas require.
#[tokio::test(flavor = "multi_thread")]
async fn the_admin_posts_answer_as_documented() {
    let s = TestServer::start().await;
    let (st, _) = s
        .post(&s.writer, json!({"action": "user.login", "actor": {"type": "user", "id": "u_1", "email": "a@example.com"}}))
        .await;
    assert_eq!(st, 201);
    let d = doc();
    for (path, body) in [
        ("/v1/retention/prune", json!({})),
        ("/v1/pseudonymise", json!({"actor_id": "u_1"})),
    ] {
        let r = s
            .http
            .post(format!("{}{path}", s.url))
            .bearer_auth(&s.admin)
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status().as_u16(), 200, "POST {path}");
        let got: Value = r.json().await.unwrap();
        let schema =
            &d["paths"][path]["post"]["responses"]["200"]["content"]["application/json"]["schema"];
        let schema = resolve(&d, schema);
        for field in schema["required"].as_array().unwrap() {
            let field = field.as_str().unwrap();
            assert!(
                got.get(field).is_some(),
                "POST {path} lacks `{field}`: {got}"
            );
        }
        let documented: BTreeSet<&String> =
            schema["properties"].as_object().unwrap().keys().collect();
        for key in got.as_object().unwrap().keys() {
            assert!(
                documented.contains(key),
                "POST {path} answers an undocumented `{key}`"
            );
        }
    }
    s.stop().await;
}
