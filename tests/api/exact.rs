//! Exact hashing (issue 12, part 1): what is stored is exactly what was sent, and exactly what
//! is hashed. Numbers keep their text, a repeated key is refused, every accepted event
//! verifies, and the exports, the offline cache and `trailscope open` keep the same text.
//! Through the real server on a loopback port and the real SQLite file.

use crate::common;

use common::TestServer;
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::{Value, json};
use std::path::Path;
use trailscope::client::Client;
use trailscope::client::cache::Cache;
use trailscope::client::source::Source;
use trailscope::export::Format;
use trailscope::export::read as load;
use trailscope::model::Query;

/// The numbers of the issue, and the other shapes an `f64` or `u64` would have changed.
const NUMBERS: [&str; 12] = [
    "123456789.123456789",
    "2.2830935729092235e+113",
    "2.2830935729092235e113",
    "1E5",
    "1e-7",
    "-0",
    "1.50",
    "0.1",
    "340282366920938463463374607431768211457",
    "-170141183460469231731687303715884105729",
    "18446744073709551616",
    "1.7976931348623157e309",
];

#[derive(Deserialize)]
struct Back {
    seq: u64,
    details: Option<Box<RawValue>>,
}

#[derive(Deserialize)]
struct BackPage {
    entries: Vec<Back>,
}

/// The response body as text: a `Value` would round the very numbers under test.
async fn get_text(s: &TestServer, path: &str) -> (u16, String) {
    let r = s
        .http
        .get(format!("{}{}", s.url, path))
        .bearer_auth(&s.auditor)
        .send()
        .await
        .unwrap();
    (r.status().as_u16(), r.text().await.unwrap())
}

/// The details text of every entry, by seq, as the server returns it.
async fn details_by_seq(s: &TestServer) -> Vec<(u64, Option<String>)> {
    let (status, body) = get_text(s, "/v1/events?limit=1000&order=asc").await;
    assert_eq!(status, 200, "{body}");
    let page: BackPage = serde_json::from_str(&body).unwrap();
    page.entries
        .into_iter()
        .map(|b| (b.seq, b.details.map(|d| d.get().to_string())))
        .collect()
}

async fn post_text(s: &TestServer, body: &str) -> (u16, Value) {
    s.post_raw(&s.writer, "application/json", body.to_string())
        .await
}

async fn verified(s: &TestServer) {
    let (status, v) = s.get(&s.auditor, "/v1/verify").await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["ok"], true, "{v}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn numbers_keep_their_exact_text_and_the_chain_verifies() {
    let s = TestServer::start().await;
    for n in NUMBERS {
        let (status, body) = post_text(&s, &format!(r#"{{"action":"x","details":{n}}}"#)).await;
        assert_eq!(status, 201, "{n}: {body}");
        let (status, body) = post_text(
            &s,
            &format!(r#"{{"action":"y","details": {{"v": [ {n} ]}} }}"#),
        )
        .await;
        assert_eq!(status, 201, "{n}: {body}");
    }
    let back = details_by_seq(&s).await;
    assert_eq!(back.len(), NUMBERS.len() * 2);
    for (i, n) in NUMBERS.iter().enumerate() {
        assert_eq!(back[2 * i].1.as_deref(), Some(*n));
        assert_eq!(back[2 * i + 1].1, Some(format!(r#"{{"v":[{n}]}}"#)));
    }
    // And by id, the route a client opens one entry with.
    let (_, page) = s.get(&s.auditor, "/v1/events?limit=1&order=asc").await;
    let id = page["entries"][0]["id"].as_str().unwrap();
    let (_, one) = get_text(&s, &format!("/v1/events/{id}")).await;
    assert!(one.contains(r#""details":123456789.123456789"#), "{one}");
    verified(&s).await;
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_repeated_key_anywhere_in_the_event_is_refused_naming_the_key_and_field() {
    let s = TestServer::start().await;
    for (body, index, field, key) in [
        (r#"{"action":"x","action":"y"}"#, 0, "action", "action"),
        (
            r#"{"action":"x","actor":{"type":"user","id":"a","id":"b"}}"#,
            0,
            "actor.id",
            "id",
        ),
        (
            r#"{"action":"x","details":{"before":{"role":"a","role":"admin"}}}"#,
            0,
            "details.before.role",
            "role",
        ),
        (
            r#"[{"action":"ok"},{"action":"x","details":{"l":[1,{"k":1,"\u006b":2}]}}]"#,
            1,
            "details.l[1].k",
            "k",
        ),
    ] {
        let (status, v) = post_text(&s, body).await;
        assert_eq!(status, 422, "{body}: {v}");
        assert_eq!(v["error"]["code"], "invalid_event", "{v}");
        assert_eq!(v["error"]["index"], index, "{v}");
        assert_eq!(v["error"]["field"], field, "{v}");
        let message = v["error"]["message"].as_str().unwrap();
        assert!(
            message.contains(&format!("the key `{key}` appears twice")),
            "{message}"
        );
    }
    let (status, v) = s
        .post_raw(
            &s.writer,
            "application/x-ndjson",
            "{\"action\":\"a\"}\n{\"action\":\"b\",\"details\":{\"z\":1,\"z\":1}}\n",
        )
        .await;
    assert_eq!(status, 422, "{v}");
    assert_eq!(
        (v["error"]["index"].clone(), v["error"]["field"].clone()),
        (json!(1), json!("details.z"))
    );
    // A refused batch stores nothing.
    assert!(details_by_seq(&s).await.is_empty());
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deep_nesting_within_the_limit_is_kept_and_beyond_it_refused() {
    let s = TestServer::start().await;
    // The event object is one level, so details may nest 127 more (the body's limit: 128).
    let deep = format!("{}1.000{}", "[".repeat(126), "]".repeat(126));
    let (status, v) = post_text(&s, &format!(r#"{{"action":"x","details":{deep}}}"#)).await;
    assert_eq!(status, 201, "{v}");
    for levels in [128, 200, 1 << 20] {
        let too_deep = format!("{}1{}", "[".repeat(levels), "]".repeat(levels));
        let (status, v) = post_text(&s, &format!(r#"{{"action":"x","details":{too_deep}}}"#)).await;
        assert_eq!(status, 400, "{v}");
        assert!(
            v["error"]["message"]
                .as_str()
                .unwrap()
                .contains("nested too deeply"),
            "{v}"
        );
    }
    assert_eq!(details_by_seq(&s).await, vec![(1, Some(deep))]);
    verified(&s).await;
    s.stop().await;
}

/// A JSON value as the test writes it, so the sent and the expected text come from one tree and
/// neither passes through a `Value`.
#[derive(Debug, Clone)]
enum J {
    Null,
    Bool(bool),
    Num(String),
    Str(String),
    Arr(Vec<J>),
    Obj(Vec<(String, J)>),
}

/// A string literal as a producer might write it: every non-ASCII character as a `\u` escape
/// (surrogate pairs beyond the BMP) when `escape_all`, else only what JSON requires.
fn literal(s: &str, escape_all: bool) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c if escape_all && !c.is_ascii() => {
                let mut buf = [0u16; 2];
                for unit in c.encode_utf16(&mut buf) {
                    out.push_str(&format!("\\u{unit:04X}"));
                }
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

impl J {
    /// What the producer sends: members in the generated order, spaces, escapes.
    fn sent(&self, escape_all: bool) -> String {
        match self {
            J::Null => "null".into(),
            J::Bool(b) => b.to_string(),
            J::Num(n) => n.clone(),
            J::Str(s) => literal(s, escape_all),
            J::Arr(a) => format!(
                "[ {} ]",
                a.iter()
                    .map(|x| x.sent(escape_all))
                    .collect::<Vec<_>>()
                    .join(" , ")
            ),
            J::Obj(m) => format!(
                "{{ {} }}",
                m.iter()
                    .map(|(k, v)| format!("{} : {}", literal(k, escape_all), v.sent(escape_all)))
                    .collect::<Vec<_>>()
                    .join(",\n")
            ),
        }
    }

    /// What must come back (API.md "Integrity"): keys sorted, no whitespace, strings as
    /// serde_json writes them, every number exactly as sent.
    fn expected(&self) -> String {
        match self {
            J::Null | J::Bool(_) | J::Num(_) => self.sent(false),
            J::Str(s) => serde_json::to_string(s).unwrap(),
            J::Arr(a) => format!(
                "[{}]",
                a.iter().map(J::expected).collect::<Vec<_>>().join(",")
            ),
            J::Obj(m) => {
                let mut m = m.clone();
                m.sort_by(|a, b| a.0.cmp(&b.0));
                format!(
                    "{{{}}}",
                    m.iter()
                        .map(|(k, v)| format!(
                            "{}:{}",
                            serde_json::to_string(k).unwrap(),
                            v.expected()
                        ))
                        .collect::<Vec<_>>()
                        .join(",")
                )
            }
        }
    }
}

fn number() -> impl Strategy<Value = String> {
    prop_oneof![
        // Precise decimals, huge integers, exponents in every spelling JSON allows.
        "-?(0|[1-9][0-9]{0,45})(\\.[0-9]{1,30})?([eE][+-]?[0-9]{1,4})?",
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(|f| format!("{f:?}")),
        any::<i128>().prop_map(|i| i.to_string()),
        any::<u64>().prop_map(|u| u.to_string()),
        Just("-0".to_string()),
    ]
}

fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<String>(),
        "[a-z\"\\\\/\u{0}-\u{1f}\u{7f}\u{202e}é😀]{0,12}",
    ]
}

fn json_value() -> impl Strategy<Value = J> {
    let leaf = prop_oneof![
        Just(J::Null),
        any::<bool>().prop_map(J::Bool),
        number().prop_map(J::Num),
        text().prop_map(J::Str),
    ];
    leaf.prop_recursive(8, 96, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(J::Arr),
            prop::collection::vec((text(), inner), 0..6).prop_map(|members| {
                // JSON objects may not repeat a key (that is refused, tested above).
                let mut seen = std::collections::HashSet::new();
                J::Obj(
                    members
                        .into_iter()
                        .filter(|(k, _)| seen.insert(k.clone()))
                        .collect(),
                )
            }),
        ]
    })
}

#[test]
fn any_accepted_event_verifies_and_comes_back_exactly_as_sent() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let s = rt.block_on(TestServer::start());
    let mut runner = TestRunner::new(Config {
        cases: 96,
        ..Config::default()
    });
    let posted = std::cell::Cell::new(0u64);
    runner
        .run(&(json_value(), any::<bool>()), |(details, escape_all)| {
            rt.block_on(async {
                let body = format!(
                    "{{ \"action\" : \"prop.test\", \"details\" : {} }}",
                    details.sent(escape_all)
                );
                let (status, v) = post_text(&s, &body).await;
                prop_assert_eq!(status, 201, "{} -> {}", body, v);
                posted.set(posted.get() + 1);
                let seq = v["entries"][0]["seq"].as_u64().unwrap();
                let (_, one) = get_text(
                    &s,
                    &format!("/v1/events/{}", v["entries"][0]["id"].as_str().unwrap()),
                )
                .await;
                let back: Back = serde_json::from_str(&one).unwrap();
                prop_assert_eq!(back.seq, seq);
                let want = details.expected();
                let got = back.details.map(|d| d.get().to_string());
                // `null` details are the same as none (API.md: details is optional).
                let want = (want != "null").then_some(want);
                prop_assert_eq!(got, want, "sent {}", body);
                let (_, report) = s.get(&s.auditor, "/v1/verify").await;
                prop_assert_eq!(&report["ok"], &json!(true), "{} after {}", report, body);
                Ok(())
            })
        })
        .unwrap();
    assert_eq!(posted.get(), 96);
    rt.block_on(s.stop());
}

/// The details text of each entry in an export file, in file order.
fn details_in(path: &Path, format: Format) -> Vec<String> {
    let text = std::fs::read_to_string(path).unwrap();
    match format {
        Format::Csv => {
            let mut r = csv::Reader::from_reader(text.trim_start_matches('\u{feff}').as_bytes());
            let col = r
                .headers()
                .unwrap()
                .iter()
                .position(|h| h == "details")
                .unwrap();
            r.records()
                .map(|rec| rec.unwrap()[col].to_string())
                .collect()
        }
        Format::Ndjson => text
            .lines()
            .map(|l| {
                let b: Back = serde_json::from_str(l).unwrap();
                b.details.map_or(String::new(), |d| d.get().to_string())
            })
            .collect(),
        // OCSF is a mapping for SIEMs, not a copy of the entry: its exactness is not asked here.
        Format::Ocsf => panic!("details_in reads csv, json and ndjson exports only"),
        Format::Json => {
            let doc: BackPage = serde_json::from_str(&text).unwrap();
            doc.entries
                .into_iter()
                .map(|b| b.details.map_or(String::new(), |d| d.get().to_string()))
                .collect()
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exports_the_offline_cache_and_open_keep_the_exact_text() {
    let s = TestServer::start().await;
    let sent: Vec<String> = NUMBERS
        .iter()
        .map(|n| format!(r#"{{"a":{n},"s":"x,\"y\"\n"}}"#))
        .collect();
    for d in &sent {
        let (status, v) = post_text(&s, &format!(r#"{{"action":"x","details":{d}}}"#)).await;
        assert_eq!(status, 201, "{v}");
    }
    let client = Client::new(&s.url, &s.auditor).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let q = Query {
        actions: vec!["x".into()],
        ..Query::default()
    };
    for format in [Format::Csv, Format::Json, Format::Ndjson] {
        let path = dir.path().join(format!("export.{}", format.as_str()));
        let mut bytes = Vec::new();
        let mut sink = |c: &[u8]| {
            bytes.extend_from_slice(c);
            Ok(())
        };
        client.export(&q, format, false, &mut sink).await.unwrap();
        std::fs::write(&path, bytes).unwrap();
        assert_eq!(details_in(&path, format), sent, "{format:?} export");
        // `trailscope open` reads the file through this loader into its store.
        let head: Vec<u8> = std::fs::read(&path)
            .unwrap()
            .into_iter()
            .take(4096)
            .collect();
        let mut opened = Vec::new();
        load::read_file(&path, load::detect(&head).unwrap(), &mut |batch, _| {
            opened.extend(
                batch
                    .into_iter()
                    .map(|e| e.details.unwrap().as_str().to_string()),
            );
            true
        })
        .unwrap();
        assert_eq!(opened, sent, "{format:?} opened");
    }
    // The cache is written from fetched pages, in the background, as the TUI's is.
    let cache = Cache::open(dir.path().join("c.db"), 1 << 30).unwrap();
    let online = Source::remote(client, Some(cache.clone()));
    let page = online.events(&q, None, 100).await.unwrap();
    assert_eq!(page.entries.len(), sent.len());
    cache.flushed().await;
    assert_eq!(cache.store().count().unwrap(), sent.len() as u64);
    let offline = Source::offline(cache);
    let mut cached: Vec<String> = offline
        .events(&q, None, 100)
        .await
        .unwrap()
        .entries
        .into_iter()
        .map(|e| e.details.unwrap().as_str().to_string())
        .collect();
    cached.reverse(); // newest first
    assert_eq!(cached, sent);
    s.stop().await;
}

/// A database written before numbers kept their text (by the binary of commit 4b3fbda, whose
/// `verify` failed at seq 2 on it): every row holds the bytes its hash covered, so it verifies
/// with no migration, and what was stored is what comes back.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_database_from_before_exact_numbers_verifies_unchanged() {
    let s = TestServer::start_from_copy(Path::new("tests/fixtures/before_exact_numbers.db")).await;
    let (status, v) = s.get(&s.auditor, "/v1/verify").await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(
        (v["ok"].clone(), v["checked"].clone()),
        (json!(true), json!(6)),
        "{v}"
    );
    let back = details_by_seq(&s).await;
    assert_eq!(back[1].1.as_deref(), Some("123456789.12345679"));
    assert_eq!(
        back[3].1.as_deref(),
        Some(r#"{"big":1.8446744073709552e+19,"e":100000.0,"n":-0.0,"small":1e-7}"#)
    );
    // New entries chain on after the old ones.
    let (status, _) = post_text(&s, r#"{"action":"x","details":1.000000000000000000001}"#).await;
    assert_eq!(status, 201);
    verified(&s).await;
    s.stop().await;
}
