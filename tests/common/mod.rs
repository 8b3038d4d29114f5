//! A real server on a loopback port over a real SQLite file, and tokens for each role.
//!
//! With `TRAILSCOPE_TEST_STORE=postgres` the same servers run on the PostgreSQL store instead,
//! each on a fresh database of the harness's throwaway cluster (tests/common/pg.rs); the tests
//! that read or break the SQLite file itself say so and stay SQLite-only.
#![allow(dead_code)]

pub mod pg;
pub mod process;
pub mod sqlite_tamper;
pub mod strategies;
pub mod tmux;

use serde_json::Value;
use std::path::PathBuf;
use std::sync::Arc;
use trailscope::proof::SigningKey;
use trailscope::server::{Allowlist, ServerOptions, serve};
use trailscope::store::sqlite::TokenAdmin;
use trailscope::store::{Role, SqliteStore, Store};

/// Whether the API tests run on PostgreSQL (`TRAILSCOPE_TEST_STORE=postgres`).
pub fn on_postgres() -> bool {
    std::env::var("TRAILSCOPE_TEST_STORE").is_ok_and(|v| v == "postgres")
}

pub struct TestServer {
    pub url: String,
    pub db: PathBuf,
    pub admin: String,
    pub auditor: String,
    pub writer: String,
    pub http: reqwest::Client,
    /// The server's own store, for what a test drives directly (a prune at a chosen time).
    pub store: Arc<dyn Store>,
    /// The key the server signs checkpoints with (made fresh for each test server).
    pub key: SigningKey,
    pub dir: tempfile::TempDir,
    /// The PostgreSQL database's URL when the server runs on PostgreSQL.
    pub pg_url: Option<String>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<()>>,
}

impl TestServer {
    pub async fn start() -> TestServer {
        TestServer::start_with(Allowlist::default()).await
    }

    pub async fn start_with(allow: Allowlist) -> TestServer {
        TestServer::start_with_options(allow.into()).await
    }

    pub async fn start_with_options(options: ServerOptions) -> TestServer {
        TestServer::start_in(tempfile::tempdir().unwrap(), options).await
    }

    /// A server over a copy of a database file made earlier (an older version's, a fixture).
    pub async fn start_from_copy(fixture: &std::path::Path) -> TestServer {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("audit.db");
        std::fs::copy(fixture, &db).unwrap();
        TestServer::start_at(dir, db, Allowlist::default().into()).await
    }

    async fn start_in(dir: tempfile::TempDir, options: ServerOptions) -> TestServer {
        let db = dir.path().join("audit.db");
        if on_postgres() {
            return TestServer::start_pg(dir, db, options).await;
        }
        TestServer::start_at(dir, db, options).await
    }

    /// A server on a fresh PostgreSQL database of the harness's cluster.
    async fn start_pg(
        dir: tempfile::TempDir,
        db: PathBuf,
        mut options: ServerOptions,
    ) -> TestServer {
        let cluster = pg::cluster().expect(
            "TRAILSCOPE_TEST_STORE=postgres, but PostgreSQL is not installed (see tests/common/pg.rs)",
        );
        let url = cluster.fresh_database();
        let key = options
            .signing_key
            .get_or_insert_with(SigningKey::generate)
            .clone();
        let store = trailscope::store::postgres::PostgresStore::open(&url, 8)
            .await
            .unwrap();
        let store: Arc<dyn Store> = Arc::new(store);
        let mut secrets = Vec::new();
        for role in [Role::Admin, Role::Auditor, Role::Writer] {
            let (new, secret) = trailscope::store::NewToken::generate(role, "acme", None);
            store.create_token(new).await.unwrap();
            secrets.push(secret);
        }
        let mut s = TestServer::serve_store(store, options, dir, db, key, secrets).await;
        s.pg_url = Some(url);
        s
    }

    /// Serves `store` on a loopback port.
    async fn serve_store(
        store: Arc<dyn Store>,
        options: ServerOptions,
        dir: tempfile::TempDir,
        db: PathBuf,
        key: SigningKey,
        secrets: Vec<String>,
    ) -> TestServer {
        let [admin, auditor, writer]: [String; 3] = secrets.try_into().unwrap();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let shared = store.clone();
        let task = tokio::spawn(async move {
            serve(store, options, listener, async {
                let _ = stopped.await;
            })
            .await
            .unwrap();
        });
        TestServer {
            url,
            db,
            admin,
            auditor,
            writer,
            http: reqwest::Client::new(),
            store: shared,
            key,
            dir,
            pg_url: None,
            stop: Some(stop),
            task: Some(task),
        }
    }

    /// True (after saying why) when this server is on PostgreSQL and the test reads or breaks
    /// the SQLite file itself: such a test returns early on the PostgreSQL pass.
    pub fn sqlite_only(&self, why: &str) -> bool {
        if self.pg_url.is_some() {
            eprintln!("SQLite-only, not run on PostgreSQL: {why}");
            return true;
        }
        false
    }

    /// A server whose database lives at `db` (a disk the test controls), with `dir` for the rest.
    pub async fn start_at(
        dir: tempfile::TempDir,
        db: PathBuf,
        mut options: ServerOptions,
    ) -> TestServer {
        let key = options
            .signing_key
            .get_or_insert_with(SigningKey::generate)
            .clone();
        let admin_db = TokenAdmin::open(&db).unwrap();
        let token = |role| admin_db.create(role, "acme", None).unwrap().1;
        let (admin, auditor, writer) = (
            token(Role::Admin),
            token(Role::Auditor),
            token(Role::Writer),
        );
        let store: Arc<dyn Store> = Arc::new(SqliteStore::open(&db).unwrap());
        TestServer::serve_store(store, options, dir, db, key, vec![admin, auditor, writer]).await
    }

    /// A token for another tenant.
    pub fn token_for(&self, role: Role, tenant: &str) -> String {
        if let Some(url) = &self.pg_url {
            return pg::create_token(url, role, tenant);
        }
        TokenAdmin::open(&self.db)
            .unwrap()
            .create(role, tenant, None)
            .unwrap()
            .1
    }

    pub async fn stop(mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        if let Some(t) = self.task.take() {
            t.await.unwrap();
        }
    }

    pub async fn post(&self, token: &str, body: Value) -> (u16, Value) {
        let r = self
            .http
            .post(format!("{}/v1/events", self.url))
            .bearer_auth(token)
            .json(&body)
            .send()
            .await
            .unwrap();
        let status = r.status().as_u16();
        (status, r.json().await.unwrap_or(Value::Null))
    }

    pub async fn post_raw(
        &self,
        token: &str,
        content_type: &str,
        body: impl Into<reqwest::Body>,
    ) -> (u16, Value) {
        let r = self
            .http
            .post(format!("{}/v1/events", self.url))
            .bearer_auth(token)
            .header("content-type", content_type)
            .body(body)
            .send()
            .await
            .unwrap();
        let status = r.status().as_u16();
        (status, r.json().await.unwrap_or(Value::Null))
    }

    /// The server's host:port.
    pub fn addr(&self) -> String {
        self.url.trim_start_matches("http://").to_string()
    }

    /// Sends `request` as raw bytes over TCP (for what an HTTP client would not send) and reads
    /// the answer to the end (the server closes, or the request says `Connection: close`):
    /// status, head, body.
    pub async fn raw(&self, request: &[u8]) -> (u16, String, Vec<u8>) {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let mut c = tokio::net::TcpStream::connect(self.addr()).await.unwrap();
        // The server may answer (and close) before it has read all of a large request.
        let _ = c.write_all(request).await;
        let mut out = Vec::new();
        tokio::time::timeout(std::time::Duration::from_secs(20), c.read_to_end(&mut out))
            .await
            .expect("the server neither answered nor closed")
            .ok();
        let text = String::from_utf8_lossy(&out).to_string();
        let head = text
            .split_once("\r\n\r\n")
            .map_or(text.as_str(), |(h, _)| h);
        let status = head
            .split(' ')
            .nth(1)
            .and_then(|c| c.parse().ok())
            .unwrap_or_else(|| panic!("no status line in {text:?}"));
        let start = out
            .windows(4)
            .position(|w| w == b"\r\n\r\n")
            .map_or(out.len(), |p| p + 4);
        (status, head.to_string(), out[start..].to_vec())
    }

    /// `GET /v1/verify` as the auditor: `None` when the chain is intact, else the first bad seq.
    pub async fn first_bad_seq(&self) -> Option<u64> {
        let (status, v) = self.get(&self.auditor, "/v1/verify").await;
        assert_eq!(status, 200, "{v}");
        if v["ok"] == true {
            None
        } else {
            Some(
                v["first_bad_seq"]
                    .as_u64()
                    .expect("a broken chain names its seq"),
            )
        }
    }

    pub async fn get(&self, token: &str, path_and_query: &str) -> (u16, Value) {
        let r = self
            .http
            .get(format!("{}{}", self.url, path_and_query))
            .bearer_auth(token)
            .send()
            .await
            .unwrap();
        let status = r.status().as_u16();
        (status, r.json().await.unwrap_or(Value::Null))
    }

    /// A cutoff between the entries stored so far and any written after this returns: one
    /// millisecond after the newest one's `received_at`, once the clock has passed it. Prune
    /// cuts by received time, which the store stamps from the system clock (so a test's own
    /// clock cannot move it); this waits for that clock's next millisecond, not a guessed sleep.
    pub async fn boundary_after_newest(&self) -> chrono::DateTime<chrono::Utc> {
        let (status, page) = self
            .get(&self.auditor, "/v1/events?limit=1&order=desc")
            .await;
        assert_eq!(status, 200, "{page}");
        let received = page["entries"][0]["received_at"]
            .as_str()
            .expect("an entry is stored");
        let cut = chrono::DateTime::parse_from_rfc3339(received)
            .unwrap()
            .with_timezone(&chrono::Utc)
            + chrono::Duration::milliseconds(1);
        while chrono::Utc::now() < cut {
            tokio::task::yield_now().await;
        }
        cut
    }

    /// Every entry under a filter query string, walking every page.
    pub async fn all(&self, query: &str, limit: usize) -> Vec<Value> {
        let mut out = Vec::new();
        let mut cursor: Option<String> = None;
        loop {
            let mut q = format!("/v1/events?limit={limit}");
            if !query.is_empty() {
                q.push('&');
                q.push_str(query);
            }
            if let Some(c) = &cursor {
                q.push_str(&format!("&cursor={c}"));
            }
            let (status, page) = self.get(&self.auditor, &q).await;
            assert_eq!(status, 200, "{page}");
            out.extend(page["entries"].as_array().unwrap().iter().cloned());
            match page["next_cursor"].as_str() {
                Some(c) => cursor = Some(c.to_string()),
                None => return out,
            }
        }
    }
}

/// The value of the `/metrics` line that starts with `series ` (its name and labels), from the
/// server at `url`; `None` when there is no such line.
pub async fn metric(url: &str, token: &str, series: &str) -> Option<u64> {
    let text = reqwest::Client::new()
        .get(format!("{url}/metrics"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
        .error_for_status()
        .unwrap()
        .text()
        .await
        .unwrap();
    let prefix = format!("{series} ");
    text.lines()
        .find_map(|l| l.strip_prefix(&prefix))
        .map(|n| n.parse().unwrap())
}

/// How many `GET /v1/stream` the server at `url` has answered with 200, from its `/metrics`.
/// A stream is counted once it is subscribed: whatever is committed after that reaches it.
pub async fn streams_opened(url: &str, token: &str) -> u64 {
    metric(
        url,
        token,
        "trailscope_http_requests_total{route=\"/v1/stream\",method=\"GET\",status=\"200\"}",
    )
    .await
    .unwrap_or(0)
}

/// Waits until the server at `url` has no entry waiting for its deferred indexes, for at most
/// 20 s.
pub async fn wait_until_indexed(url: &str, token: &str) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    loop {
        let pending = metric(url, token, "trailscope_index_pending_entries")
            .await
            .expect("the server reports the entries waiting for its indexes");
        if pending == 0 {
            return;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "{pending} entries were never indexed on {url}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}

/// Waits until the server at `url` has opened `n` streams (a follower such as `tail` is
/// connected), for at most 20 s.
pub async fn wait_for_streams(url: &str, token: &str, n: u64) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while streams_opened(url, token).await < n {
        assert!(
            std::time::Instant::now() < deadline,
            "{n} stream(s) were never opened on {url}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}

/// The `seq`s of a list of entries.
pub fn seqs(entries: &[Value]) -> Vec<u64> {
    entries.iter().map(|e| e["seq"].as_u64().unwrap()).collect()
}

/// Every file of a zip (an evidence pack), by name.
pub fn unzip(bytes: &[u8]) -> std::collections::BTreeMap<String, Vec<u8>> {
    use std::io::Read;
    let mut zip = zip::ZipArchive::new(std::io::Cursor::new(bytes)).unwrap();
    let mut out = std::collections::BTreeMap::new();
    for i in 0..zip.len() {
        let mut f = zip.by_index(i).unwrap();
        let mut content = Vec::new();
        f.read_to_end(&mut content).unwrap();
        out.insert(f.name().unwrap().to_string(), content);
    }
    out
}
