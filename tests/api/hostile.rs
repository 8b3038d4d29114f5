//! The requests of issue 14, sent as an attacker would, to the real server over TCP: each gets
//! its status and a JSON error body, and the server goes on serving.

use crate::common;
use common::TestServer;
use serde_json::{Value, json};
use std::io::Write as _;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Asserts a JSON error of `code` in `body`.
fn json_error(what: &str, head: &str, body: &[u8], code: &str) {
    assert!(
        head.to_ascii_lowercase()
            .contains("content-type: application/json"),
        "{what}: not JSON: {head}"
    );
    let v: Value = serde_json::from_slice(body)
        .unwrap_or_else(|e| panic!("{what}: {e}: {}", String::from_utf8_lossy(body)));
    assert_eq!(v["error"]["code"], code, "{what}: {v}");
    assert!(
        !v["error"]["message"].as_str().unwrap().is_empty(),
        "{what}: {v}"
    );
}

async fn still_serving(s: &TestServer) {
    let (st, body) = s.post(&s.writer, json!({"action": "still.here"})).await;
    assert_eq!(st, 201, "{body}");
    let (st, page) = s.get(&s.auditor, "/v1/events?limit=1").await;
    assert_eq!(st, 200, "{page}");
    assert_eq!(page["entries"][0]["action"], "still.here");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_nul_in_any_filter_is_422_json_on_every_read_route() {
    let s = TestServer::start().await;
    assert_eq!(s.post(&s.writer, json!({"action": "a"})).await.0, 201);
    for path in [
        "/v1/events?q=abc%00",
        "/v1/events?filter=abc%00",
        "/v1/events?action=a%00b",
        "/v1/facets/action?q=abc%00",
        "/v1/facets/action?filter=abc%00",
        "/v1/stats?q=abc%00",
        "/v1/stream?q=abc%00",
        "/v1/export?format=ndjson&q=abc%00",
    ] {
        let req = format!(
            "GET {path} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {}\r\nConnection: close\r\n\r\n",
            s.auditor
        );
        let (st, head, body) = s.raw(req.as_bytes()).await;
        assert_eq!(st, 422, "{path}: {}", String::from_utf8_lossy(&body));
        json_error(path, &head, &body, "invalid_query");
    }
    // Nothing was exported, so nothing was recorded as exported.
    assert!(s.all("action=audit_log.exported", 10).await.is_empty());
    still_serving(&s).await;
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn malformed_urls_and_heads_get_json_errors() {
    let s = TestServer::start().await;
    let auth = format!("Authorization: Bearer {}\r\n", s.auditor);
    let long = format!(
        "GET /v1/events?q={} HTTP/1.1\r\nHost: x\r\n{auth}Connection: close\r\n\r\n",
        "a".repeat(100_000)
    );
    let mut many = String::from("GET /healthz HTTP/1.1\r\nHost: x\r\n");
    for i in 0..150 {
        many.push_str(&format!("X-Header-{i}: {i}\r\n"));
    }
    many.push_str("Connection: close\r\n\r\n");
    let cases: Vec<(&str, String, u16, &str)> = vec![
        (
            "invalid UTF-8 in an id",
            format!("GET /v1/events/%ff HTTP/1.1\r\nHost: x\r\n{auth}Connection: close\r\n\r\n"),
            400,
            "bad_request",
        ),
        (
            "a raw quote in the URL",
            format!(
                "GET /v1/events?q=\"x\" HTTP/1.1\r\nHost: x\r\n{auth}Connection: close\r\n\r\n"
            ),
            400,
            "bad_request",
        ),
        ("a 100 kB URL", long, 414, "uri_too_long"),
        ("150 headers", many, 431, "headers_too_large"),
        (
            "an unknown method",
            format!(
                "M{} /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
                "Q".repeat(2000)
            ),
            405,
            "method_not_allowed",
        ),
        (
            "an unknown route",
            format!("GET /nowhere HTTP/1.1\r\nHost: x\r\n{auth}Connection: close\r\n\r\n"),
            404,
            "not_found",
        ),
    ];
    for (what, req, status, code) in cases {
        let (st, head, body) = s.raw(req.as_bytes()).await;
        assert_eq!(st, status, "{what}: {}", String::from_utf8_lossy(&body));
        json_error(what, &head, &body, code);
    }
    still_serving(&s).await;
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn bodies_are_refused_by_size_type_and_encoding() {
    let s = TestServer::start().await;
    // A declared 17 MB body is refused from its head: nothing of it is sent.
    for (method, path, token) in [
        ("PUT", "/v1/retention", &s.admin),
        ("POST", "/v1/events", &s.writer),
    ] {
        let req = format!(
            "{method} {path} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {token}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
            17 * 1024 * 1024
        );
        let (st, head, body) = s.raw(req.as_bytes()).await;
        assert_eq!(st, 413, "{path}: {}", String::from_utf8_lossy(&body));
        json_error(path, &head, &body, "payload_too_large");
    }
    let event = br#"{"action": "user.login"}"#.to_vec();
    let post = |ctype: Option<&'static str>, encoding: Option<&'static str>, body: Vec<u8>| {
        let mut r = s
            .http
            .post(format!("{}/v1/events", s.url))
            .bearer_auth(&s.writer)
            .body(body);
        if let Some(t) = ctype {
            r = r.header("content-type", t);
        }
        if let Some(e) = encoding {
            r = r.header("content-encoding", e);
        }
        async move {
            let r = r.send().await.unwrap();
            (r.status().as_u16(), r.json::<Value>().await.unwrap())
        }
    };
    let (st, v) = post(Some("text/plain"), None, event.clone()).await;
    assert_eq!(
        (st, &v["error"]["code"]),
        (415, &json!("unsupported_media_type")),
        "{v}"
    );
    let (st, v) = post(None, None, event.clone()).await;
    assert_eq!(
        (st, &v["error"]["code"]),
        (415, &json!("unsupported_media_type")),
        "{v}"
    );
    let (st, v) = post(Some("application/json"), Some("gzip"), event.clone()).await;
    assert_eq!(
        (st, &v["error"]["code"]),
        (400, &json!("bad_request")),
        "{v}"
    );
    assert!(
        v["error"]["message"].as_str().unwrap().contains("not gzip"),
        "{v}"
    );
    let (st, v) = post(Some("application/json"), Some("br"), event.clone()).await;
    assert_eq!(
        (st, &v["error"]["code"]),
        (415, &json!("unsupported_media_type")),
        "{v}"
    );
    // Real gzip is decoded; JSON with a charset and NDJSON are taken as before.
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(&event).unwrap();
    let (st, v) = post(Some("application/json"), Some("gzip"), gz.finish().unwrap()).await;
    assert_eq!(st, 201, "{v}");
    let (st, v) = post(Some("application/json; charset=utf-8"), None, event.clone()).await;
    assert_eq!(st, 201, "{v}");
    let (st, v) = post(
        Some("application/x-ndjson"),
        None,
        b"{\"action\":\"a\"}\n{\"action\":\"b\"}\n".to_vec(),
    )
    .await;
    assert_eq!(st, 201, "{v}");
    let stored = s.all("", 100).await;
    assert_eq!(stored.len(), 4, "only the accepted bodies were stored");
    still_serving(&s).await;
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_body_that_stops_coming_is_408_json() {
    let s = TestServer::start().await;
    let mut c = TcpStream::connect(s.addr()).await.unwrap();
    let head = format!(
        "POST /v1/events HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {}\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{{\"action\":",
        s.writer
    );
    c.write_all(head.as_bytes()).await.unwrap();
    let started = Instant::now();
    let mut out = Vec::new();
    tokio::time::timeout(Duration::from_secs(30), c.read_to_end(&mut out))
        .await
        .expect("a stalled body was held for 30 s")
        .ok();
    let waited = started.elapsed();
    assert!(waited >= Duration::from_secs(9), "refused after {waited:?}");
    let text = String::from_utf8_lossy(&out);
    assert!(text.starts_with("HTTP/1.1 408"), "{text}");
    let body = text.split_once("\r\n\r\n").unwrap().1;
    let v: Value = serde_json::from_str(body).unwrap();
    assert_eq!(v["error"]["code"], "request_timeout", "{v}");
    still_serving(&s).await;
    s.stop().await;
}

/// Issue 14: 200 clients trickling a declared 16 MB body were held for over a minute. A body
/// that keeps coming, a little every second, must still be whole within
/// [`trailscope::server::BODY_DEADLINE`] (60 s): then it is 408 JSON and nothing is stored.
#[tokio::test(flavor = "multi_thread")]
async fn a_body_that_trickles_is_cut_off_at_the_deadline() {
    let s = TestServer::start().await;
    let mut c = TcpStream::connect(s.addr()).await.unwrap();
    let head = format!(
        "POST /v1/events HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n[",
        s.writer,
        16 * 1024 * 1024
    );
    c.write_all(head.as_bytes()).await.unwrap();
    let started = Instant::now();
    let (mut rx, mut tx) = c.into_split();
    // 100 bytes a second: always within the 10 s between chunks, never near 16 MB.
    let trickle = tokio::spawn(async move {
        let chunk = format!(
            "{{\"action\":\"slow\",\"description\":\"{}\"}},",
            "s".repeat(60)
        );
        loop {
            if tx.write_all(chunk.as_bytes()).await.is_err() {
                return;
            }
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
    });
    let mut out = Vec::new();
    tokio::time::timeout(Duration::from_secs(90), async {
        let mut buf = [0u8; 4096];
        // Until the whole answer is in: its head, and as much body as it declares.
        let whole = |out: &[u8]| {
            let Some(end) = out.windows(4).position(|w| w == b"\r\n\r\n") else {
                return false;
            };
            let head = String::from_utf8_lossy(&out[..end]).to_ascii_lowercase();
            let length: usize = head
                .lines()
                .find_map(|l| l.strip_prefix("content-length:"))
                .map_or(0, |n| n.trim().parse().unwrap());
            out.len() >= end + 4 + length
        };
        while !whole(&out) {
            match rx.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => out.extend_from_slice(&buf[..n]),
            }
        }
    })
    .await
    .expect("a trickling body was held for 90 s");
    let waited = started.elapsed();
    trickle.abort();
    assert!(
        waited >= trailscope::server::BODY_DEADLINE - Duration::from_secs(1),
        "cut off after {waited:?}, before the deadline"
    );
    let text = String::from_utf8_lossy(&out);
    assert!(text.starts_with("HTTP/1.1 408"), "{text}");
    let body = text.split_once("\r\n\r\n").unwrap().1;
    let v: Value = serde_json::from_str(body).unwrap();
    assert_eq!(v["error"]["code"], "request_timeout", "{v}");
    assert!(s.all("action=slow", 10).await.is_empty());
    still_serving(&s).await;
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn half_sent_headers_and_idle_connections_are_closed() {
    let s = TestServer::start().await;
    // Headers that never finish.
    let mut half = TcpStream::connect(s.addr()).await.unwrap();
    half.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
        .await
        .unwrap();
    // A keep-alive connection left idle after one request.
    let mut idle = TcpStream::connect(s.addr()).await.unwrap();
    idle.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    let mut first = [0u8; 1024];
    let n = idle.read(&mut first).await.unwrap();
    assert!(String::from_utf8_lossy(&first[..n]).starts_with("HTTP/1.1 200"));
    let started = Instant::now();
    for (what, conn) in [
        ("half-sent headers", &mut half),
        ("idle keep-alive", &mut idle),
    ] {
        let mut rest = Vec::new();
        tokio::time::timeout(Duration::from_secs(20), conn.read_to_end(&mut rest))
            .await
            .unwrap_or_else(|_| panic!("{what}: still open after 20 s"))
            .ok();
    }
    let waited = started.elapsed();
    assert!(
        waited >= Duration::from_secs(9) && waited < Duration::from_secs(15),
        "closed after {waited:?}"
    );
    still_serving(&s).await;
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_token_holds_at_most_eight_streams() {
    let s = TestServer::start().await;
    let open = || async {
        let r = s
            .http
            .get(format!("{}/v1/stream", s.url))
            .bearer_auth(&s.auditor)
            .send()
            .await
            .unwrap();
        let status = r.status().as_u16();
        (status, r)
    };
    let mut streams = Vec::new();
    for _ in 0..trailscope::server::STREAMS_PER_TOKEN {
        let (st, mut r) = open().await;
        assert_eq!(st, 200);
        // Open for real: the `ready` event arrived.
        let first = r.chunk().await.unwrap().unwrap();
        assert!(String::from_utf8_lossy(&first).contains("event: ready"));
        streams.push(r);
    }
    let (st, r) = open().await;
    assert_eq!(st, 429);
    assert!(r.headers().get("retry-after").is_some());
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["error"]["code"], "rate_limited", "{v}");
    // Another token is not limited by this one's streams.
    let admin = s
        .http
        .get(format!("{}/v1/stream", s.url))
        .bearer_auth(&s.admin)
        .send()
        .await
        .unwrap();
    assert_eq!(admin.status().as_u16(), 200);
    // Closing one frees its place.
    drop(streams.pop());
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let (st, r) = open().await;
        if st == 200 {
            streams.push(r);
            break;
        }
        assert_eq!(st, 429);
        assert!(
            Instant::now() < deadline,
            "a closed stream never freed its place"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    still_serving(&s).await;
    drop(streams);
    drop(admin);
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn metrics_labels_stay_bounded_whatever_the_methods() {
    let s = TestServer::start().await;
    for i in 0..300 {
        let method = format!("M{}{i}", "X".repeat(2000));
        let req = format!("{method} /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
        let (st, head, body) = s.raw(req.as_bytes()).await;
        assert_eq!(st, 405);
        json_error("random method", &head, &body, "method_not_allowed");
        let req = format!("GET /random/{i} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
        assert_eq!(s.raw(req.as_bytes()).await.0, 404);
    }
    let r = s
        .http
        .get(format!("{}/metrics", s.url))
        .bearer_auth(&s.auditor)
        .send()
        .await
        .unwrap();
    let page = r.text().await.unwrap();
    assert!(!page.contains("XXXX"), "a method became a label");
    assert!(!page.contains("/random/"), "a path became a label");
    assert!(page.contains("method=\"other\""), "{page}");
    assert!(page.contains("route=\"other\""), "{page}");
    assert!(page.len() < 16 * 1024, "{} bytes of metrics", page.len());
    still_serving(&s).await;
    s.stop().await;
}

#[test]
fn sigterm_ends_the_server_within_ten_seconds_whatever_clients_hold() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("audit.db");
    let token = trailscope::store::sqlite::TokenAdmin::open(&db)
        .unwrap()
        .create(trailscope::store::Role::Auditor, "acme", None)
        .unwrap()
        .1;
    let (mut child, port) = common::process::serve_process(&db, 0);
    use std::io::Read as _;
    // Half-sent headers, an idle keep-alive connection, and an open stream.
    let mut half = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    half.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
        .unwrap();
    let mut idle = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    idle.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    let mut buf = [0u8; 512];
    assert!(idle.read(&mut buf).unwrap() > 0);
    let mut stream = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    write!(
        stream,
        "GET /v1/stream HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {token}\r\n\r\n"
    )
    .unwrap();
    let n = stream.read(&mut buf).unwrap();
    assert!(String::from_utf8_lossy(&buf[..n]).starts_with("HTTP/1.1 200"));

    let started = Instant::now();
    let killed = std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if started.elapsed() > Duration::from_secs(12) {
            let _ = child.kill();
            panic!("still running 12 s after SIGTERM");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(status.success(), "{status:?}");
    drop((half, idle, stream));
}

/// A follower that stops reading is held to bounded buffers and then dropped; it resumes from
/// the last id it got and misses nothing.
#[tokio::test(flavor = "multi_thread")]
async fn a_stream_reader_that_stops_reading_is_dropped_and_resumes() {
    let s = TestServer::start().await;
    // 100 entries of 200 KB: 20 MB, far more than the stream's 1 MiB and the socket buffers.
    for b in 0..10 {
        let batch: Vec<Value> = (0..10)
            .map(|i| json!({"action": "big", "description": format!("{b}-{i}"), "details": {"pad": "p".repeat(200_000)}}))
            .collect();
        assert_eq!(s.post(&s.writer, Value::Array(batch)).await.0, 201);
    }
    let mut c = TcpStream::connect(s.addr()).await.unwrap();
    let req = format!(
        "GET /v1/stream?after_seq=0 HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {}\r\n\r\n",
        s.auditor
    );
    c.write_all(req.as_bytes()).await.unwrap();
    // The client takes nothing for longer than the server waits: time passing is the behaviour
    // under test here, so this is a sleep and not a wait for a signal.
    tokio::time::sleep(trailscope::server::WRITE_STALL_TIMEOUT + Duration::from_secs(5)).await;
    let mut got = Vec::new();
    let mut buf = vec![0u8; 1 << 16];
    let drained = tokio::time::timeout(Duration::from_secs(30), async {
        loop {
            match c.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(n) => got.extend_from_slice(&buf[..n]),
            }
        }
    })
    .await;
    assert!(
        drained.is_ok(),
        "the server never dropped a client that took nothing"
    );
    let text = String::from_utf8_lossy(&got);
    let last: u64 = text
        .split("\n\n")
        .filter(|e| e.contains("event: entry") && e.contains("\ndata: "))
        .filter_map(|e| e.lines().find_map(|l| l.strip_prefix("id: ")))
        .filter_map(|id| id.trim().parse().ok())
        .last()
        .unwrap_or(0);
    assert!(
        last < 100,
        "everything was delivered: the client was not held back"
    );
    // Resuming from the last id delivers the rest, each once, in order.
    let r = s
        .http
        .get(format!("{}/v1/stream", s.url))
        .bearer_auth(&s.auditor)
        .header("last-event-id", last.to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    let mut parser = trailscope::client::sse::SseParser::default();
    let mut events = Vec::new();
    let mut seqs = Vec::new();
    let mut r = r;
    while seqs.last() != Some(&100) {
        let chunk = tokio::time::timeout(Duration::from_secs(20), r.chunk())
            .await
            .expect("the resumed stream went silent")
            .unwrap()
            .expect("the resumed stream ended");
        parser.feed(&chunk, &mut events).unwrap();
        for e in events.drain(..) {
            if e.event == "entry" {
                seqs.push(e.id.unwrap().parse::<u64>().unwrap());
            }
        }
    }
    assert_eq!(seqs, (last + 1..=100).collect::<Vec<_>>());
    drop(r);
    still_serving(&s).await;
    s.stop().await;
}

/// `trailscope serve` with at most `nofile` open file descriptors (the shell's `ulimit`, which
/// `exec` hands to the server), its log written to `log`; returns once it accepts.
// The child is returned to the caller, which terminates it.
#[allow(clippy::zombie_processes)]
fn serve_with_fd_limit(
    db: &std::path::Path,
    nofile: u32,
    log: &std::path::Path,
) -> (std::process::Child, u16) {
    let mut child = std::process::Command::new("sh")
        .args([
            "-c",
            &format!("ulimit -n {nofile} && exec \"$0\" \"$@\""),
            env!("CARGO_BIN_EXE_trailscope"),
            "serve",
            "--db",
            db.to_str().unwrap(),
            "--listen",
            "127.0.0.1:0",
        ])
        .env("TRAILSCOPE_LOG", "info")
        .stdout(std::process::Stdio::null())
        .stderr(std::fs::File::create(log).unwrap())
        .spawn()
        .unwrap();
    // The port is the one the server says it bound, read from its log.
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let text = std::fs::read_to_string(log).unwrap_or_default();
        if let Some(port) = text.lines().find_map(common::process::bound_port) {
            return (child, port);
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("the server did not start:\n{text}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// One request on an open connection; the answer's status and body (read by its length, so
/// the connection stays usable).
fn exchange(c: &mut std::net::TcpStream, request: &str) -> (u16, String) {
    use std::io::Read as _;
    c.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    c.write_all(request.as_bytes()).unwrap();
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    let head_end = loop {
        if let Some(p) = got.windows(4).position(|w| w == b"\r\n\r\n") {
            break p + 4;
        }
        let n = c.read(&mut buf).expect("no answer within 10 s");
        assert!(
            n > 0,
            "closed before answering: {}",
            String::from_utf8_lossy(&got)
        );
        got.extend_from_slice(&buf[..n]);
    };
    let head = String::from_utf8_lossy(&got[..head_end]).to_ascii_lowercase();
    let length: usize = head
        .lines()
        .find_map(|l| l.strip_prefix("content-length:"))
        .map_or(0, |n| n.trim().parse().unwrap());
    while got.len() < head_end + length {
        let n = c.read(&mut buf).unwrap();
        assert!(n > 0, "closed inside the body");
        got.extend_from_slice(&buf[..n]);
    }
    let status = head.split(' ').nth(1).unwrap().parse().unwrap();
    (
        status,
        String::from_utf8_lossy(&got[head_end..head_end + length]).to_string(),
    )
}

/// The server's user + system CPU time so far, in clock ticks (100 a second on Linux).
fn cpu_ticks(pid: u32) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    // Fields after the command name (which may hold spaces): utime is the 12th, stime the 13th.
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .unwrap()
        .1
        .split_whitespace()
        .collect();
    fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap()
}

/// The server's resident memory in MiB.
fn rss_mib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let kib: u64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap();
    kib / 1024
}

/// Stops a server as an operator would (SIGTERM) and waits for it. The `Serve` guard kills it
/// instead if the test fails first: a failed test leaves no server running.
fn terminate(mut child: common::process::Serve) {
    let _ = std::process::Command::new("kill")
        .args(["-TERM", &child.0.id().to_string()])
        .status();
    let _ = child.0.wait();
}

/// Issue 14: ~20,000 held connections gave "accept error: Too many open files" with a pause of
/// a second each. Under a limit of 128 descriptors and 200 held connections, the server says so
/// in its log, does not spin, keeps serving the connections it has, and accepts again as soon
/// as the held ones are released (long before its 10 s header timeout would free them).
#[test]
fn out_of_file_descriptors_the_server_neither_spins_nor_stalls_and_recovers() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("audit.db");
    let log = dir.path().join("serve.log");
    let admin = trailscope::store::sqlite::TokenAdmin::open(&db).unwrap();
    let writer = admin
        .create(trailscope::store::Role::Writer, "acme", None)
        .unwrap()
        .1;
    let auditor = admin
        .create(trailscope::store::Role::Auditor, "acme", None)
        .unwrap()
        .1;
    drop(admin);
    let (child, port) = serve_with_fd_limit(&db, 128, &log);
    let child = common::process::Serve(child);
    let pid = child.0.id();
    let connect = || std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    // A client that was served before the flood and keeps its connection.
    let mut kept = connect();
    let health = "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n";
    assert_eq!(exchange(&mut kept, health).0, 200);

    // Hold more connections than the server has descriptors (the rest wait in the backlog).
    let addr: std::net::SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
    let held: Vec<std::net::TcpStream> = (0..200)
        .filter_map(|_| std::net::TcpStream::connect_timeout(&addr, Duration::from_secs(1)).ok())
        .collect();
    let holding = held.len();
    let flooded = Instant::now();
    let logged = |what: &str| {
        std::fs::read_to_string(&log)
            .unwrap()
            .lines()
            .filter(|l| l.contains(what))
            .count()
    };
    while logged("Too many open files") == 0 {
        assert!(
            flooded.elapsed() < Duration::from_secs(5),
            "{} held connections and no accept error in the log:\n{}",
            held.len(),
            std::fs::read_to_string(&log).unwrap()
        );
        std::thread::sleep(Duration::from_millis(20));
    }

    // While out of descriptors: the kept connection is served, a write included.
    let (ticks, window) = (cpu_ticks(pid), Instant::now());
    let event = r#"{"action":"during.exhaustion"}"#;
    let post = format!(
        "POST /v1/events HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {writer}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{event}",
        event.len()
    );
    let (st, body) = exchange(&mut kept, &post);
    assert_eq!(st, 201, "{body}");
    let read = format!(
        "GET /v1/events?limit=1 HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {auditor}\r\n\r\n"
    );
    let (st, body) = exchange(&mut kept, &read);
    assert_eq!(st, 200, "{body}");
    assert!(body.contains("during.exhaustion"), "{body}");
    // Over two seconds of failing accepts the server mostly sleeps: a loop retrying at once
    // would burn a whole core (200 ticks).
    while window.elapsed() < Duration::from_secs(2) {
        std::thread::sleep(Duration::from_millis(50));
    }
    let (used, window) = (cpu_ticks(pid) - ticks, window.elapsed());
    assert!(
        used < 50,
        "{used} ticks of CPU in {window:?} while out of descriptors"
    );
    // Logged, but not once per failed accept.
    let lines = logged("accept error");
    assert!((1..=20).contains(&lines), "{lines} accept-error lines");

    // Released: a new connection is accepted and served at once.
    drop(held);
    let released = Instant::now();
    let mut fresh = connect();
    let (st, _) = exchange(&mut fresh, health);
    assert_eq!(st, 200);
    assert!(
        released.elapsed() < Duration::from_secs(5),
        "served {:?} after the connections were released",
        released.elapsed()
    );
    assert!(
        flooded.elapsed() < Duration::from_secs(10),
        "recovered only after the held connections' own timeout"
    );
    // Once, or a few times: on a loaded machine a descriptor freed before the release (a
    // connection the server closed itself) lets it accept from the backlog and run out again
    // (seen twice in five runs beside a benchmark). Never once per accept.
    let recovered = logged("accepting connections again");
    assert!(
        (1..=5).contains(&recovered),
        "{recovered} recoveries logged"
    );
    println!(
        "{holding} connections held; out of descriptors: {used} CPU ticks in {window:?}, {lines} log lines; served {:?} after release",
        released.elapsed()
    );
    let (st, body) = exchange(&mut fresh, &read);
    assert_eq!(st, 200, "{body}");
    drop((kept, fresh));
    terminate(child);
}

/// Issue 14: four stream readers that never read, over entries with 200 KB details, took the
/// server to 863 MB. Each stream now holds at most 1 MiB of entries, so the server's memory
/// stays near where it was: +20 MiB measured, +146 MiB when a replay read 100 entries at a
/// time (the bound here is generous; the figures are in BENCHMARKS.md).
#[test]
fn four_streams_that_never_read_hold_bounded_memory() {
    use std::io::Read as _;
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("audit.db");
    let admin = trailscope::store::sqlite::TokenAdmin::open(&db).unwrap();
    let writer = admin
        .create(trailscope::store::Role::Writer, "acme", None)
        .unwrap()
        .1;
    let auditor = admin
        .create(trailscope::store::Role::Auditor, "acme", None)
        .unwrap()
        .1;
    drop(admin);
    let (child, port) = common::process::serve_process(&db, 0);
    let child = common::process::Serve(child);
    let pid = child.0.id();
    let connect = || std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    // 200 entries of 200 KB: 40 MB of log, ten times what the four streams may hold.
    for b in 0..20 {
        let batch: Vec<Value> = (0..10)
            .map(|i| json!({"action": "big", "description": format!("{b}-{i}"), "details": {"pad": "p".repeat(200_000)}}))
            .collect();
        let body = serde_json::to_string(&batch).unwrap();
        let post = format!(
            "POST /v1/events HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {writer}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        );
        assert_eq!(exchange(&mut connect(), &post).0, 201);
    }
    let before = rss_mib(pid);
    let mut streams = Vec::new();
    for _ in 0..4 {
        let mut c = connect();
        write!(
            c,
            "GET /v1/stream?after_seq=0 HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {auditor}\r\n\r\n"
        )
        .unwrap();
        // Only the start of the answer is read: the status line, then nothing more, ever.
        let mut first = [0u8; 12];
        c.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        c.read_exact(&mut first).unwrap();
        assert_eq!(&first, b"HTTP/1.1 200");
        streams.push(c);
    }
    // The four streams fill their buffers and the sockets', then stall; the peak is taken over
    // 10 s (the server drops them only after 30 s without progress).
    let mut peak = 0;
    let started = Instant::now();
    while started.elapsed() < Duration::from_secs(10) {
        peak = peak.max(rss_mib(pid));
        std::thread::sleep(Duration::from_millis(100));
    }
    println!(
        "server RSS: {before} MiB before the streams, peak {peak} MiB with four that never read"
    );
    assert!(
        peak < before + 100,
        "{before} MiB before, {peak} MiB with four stalled streams"
    );
    // Still serving.
    let (st, body) = exchange(
        &mut connect(),
        &format!(
            "GET /v1/events?limit=1 HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {auditor}\r\nConnection: close\r\n\r\n"
        ),
    );
    assert_eq!(st, 200, "{body}");
    drop(streams);
    terminate(child);
}

/// Issue 14: a bare address in `--allow-from` was refused as "invalid IP address syntax"; it is
/// one host (/32). Through the real command line: the host itself is let in, another is not.
#[test]
fn a_bare_address_in_allow_from_is_one_host() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("audit.db");
    let auditor = trailscope::store::sqlite::TokenAdmin::open(&db)
        .unwrap()
        .create(trailscope::store::Role::Auditor, "acme", None)
        .unwrap()
        .1;
    let read = format!(
        "GET /v1/events?limit=1 HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {auditor}\r\nConnection: close\r\n\r\n"
    );
    for (allow, status) in [("127.0.0.1", 200), ("127.0.0.2", 403)] {
        let (child, port) = common::process::serve_process_with(&db, 0, &["--allow-from", allow]);
        let child = common::process::Serve(child);
        let mut c = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
        let (st, body) = exchange(&mut c, &read);
        assert_eq!(st, status, "--allow-from {allow}: {body}");
        if status == 403 {
            let v: Value = serde_json::from_str(&body).unwrap();
            assert_eq!(v["error"]["code"], "forbidden", "{v}");
        }
        terminate(child);
    }
}
