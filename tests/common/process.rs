//! `trailscope serve` as a process of its own, for tests that kill it like a crashed server.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A loopback port nobody listens on now.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Starts `trailscope serve` over `db` on `port` and returns once it accepts connections.
pub fn serve_process(db: &Path, port: u16) -> Child {
    serve_process_with(db, port, &[])
}

/// [`serve_process`] with more arguments (e.g. `--config FILE`).
pub fn serve_process_with(db: &Path, port: u16, extra: &[&str]) -> Child {
    let child = Command::new(env!("CARGO_BIN_EXE_trailscope"))
        .args([
            "serve",
            "--db",
            db.to_str().unwrap(),
            "--listen",
            &format!("127.0.0.1:{port}"),
        ])
        .args(extra)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "the server did not start");
        std::thread::sleep(Duration::from_millis(20));
    }
    child
}

/// [`serve_process`] with search auditing off (`[server] audit_searches = false`), for tests
/// whose seqs and counts are exactly the entries they wrote: their own reads stay out of the log.
pub fn serve_process_unaudited(db: &Path, port: u16) -> Child {
    let config = db.with_extension("unaudited.toml");
    std::fs::write(&config, "[server]\naudit_searches = false\n").unwrap();
    serve_process_with(db, port, &["--config", config.to_str().unwrap()])
}

/// A `trailscope serve` process (its key is `<db>.key` unless its arguments say otherwise),
/// killed on drop.
pub struct Serve(pub Child);

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Copies a database with its WAL over another, as `cp` of a log's files would.
pub fn copy_db(from: &Path, to: &Path) {
    for suffix in ["", "-wal", "-shm"] {
        let (f, t) = (
            std::path::PathBuf::from(format!("{}{suffix}", from.display())),
            std::path::PathBuf::from(format!("{}{suffix}", to.display())),
        );
        let _ = std::fs::remove_file(&t);
        if f.exists() {
            std::fs::copy(&f, &t).unwrap();
        }
    }
}

/// A log in a temporary folder, served by `trailscope serve` processes on one fixed port (so a
/// client keeps its URL across restarts and swapped databases).
pub struct ServedLog {
    pub dir: tempfile::TempDir,
    pub port: u16,
}

impl ServedLog {
    pub fn new() -> ServedLog {
        ServedLog {
            dir: tempfile::tempdir().unwrap(),
            port: free_port(),
        }
    }
    pub fn db(&self) -> std::path::PathBuf {
        self.dir.path().join("audit.db")
    }
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }
    /// Serves the log until the returned process is dropped (search auditing off: the seqs are
    /// the entries the test wrote).
    pub fn serve(&self) -> Serve {
        Serve(serve_process_unaudited(&self.db(), self.port))
    }
    pub fn token(&self, role: trailscope::store::Role) -> String {
        trailscope::store::sqlite::TokenAdmin::open(self.db())
            .unwrap()
            .create(role, "acme", None)
            .unwrap()
            .1
    }
    /// Posts `n` events tagged `tag` with a fresh writer token.
    pub async fn post(&self, n: usize, tag: &str) {
        let events: Vec<serde_json::Value> = (0..n)
            .map(|i| serde_json::json!({"action": "user.login", "description": format!("{tag} {i}")}))
            .collect();
        let r = reqwest::Client::new()
            .post(format!("{}/v1/events", self.url()))
            .bearer_auth(self.token(trailscope::store::Role::Writer))
            .json(&events)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status().as_u16(), 201);
    }
}
