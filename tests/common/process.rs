//! `trailscope serve` as a process of its own, for tests that kill it like a crashed server.

use std::io::BufRead;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Starts `trailscope serve` over `db` on `port` (0: one the system picks) and returns once the
/// server has said the address it bound, with the port from that line. Its log goes to the
/// test's output (shown when the test fails).
pub fn serve_process(db: &Path, port: u16) -> (Child, u16) {
    serve_process_with(db, port, &[])
}

/// [`serve_process`] with more arguments (e.g. `--config FILE`).
pub fn serve_process_with(db: &Path, port: u16, extra: &[&str]) -> (Child, u16) {
    let listen = format!("127.0.0.1:{port}");
    let mut args = vec!["--db", db.to_str().unwrap(), "--listen", &listen];
    args.extend_from_slice(extra);
    serve_command(&args)
}

/// `trailscope serve ARGS` (which say the database and `--listen`), once it said the port it
/// bound: (the process, the port).
pub fn serve_command(args: &[&str]) -> (Child, u16) {
    let (child, port, _) = serve_command_logged(args);
    (child, port)
}

/// [`serve_command`], with the rest of the server's log lines as they come.
pub fn serve_command_logged(args: &[&str]) -> (Child, u16, std::sync::mpsc::Receiver<String>) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_trailscope"))
        .arg("serve")
        .args(args)
        // The address is read from the log line that says it, so that line must be on.
        .env("TRAILSCOPE_LOG", "info")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let (lines, said) = std::sync::mpsc::channel::<String>();
    // Reads the log for as long as the server runs, so it never blocks on a full pipe.
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(stderr).lines() {
            let Ok(line) = line else { return };
            eprintln!("[serve] {line}");
            let _ = lines.send(line);
        }
    });
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut seen = Vec::new();
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match said.recv_timeout(left) {
            Ok(line) => {
                if let Some(port) = bound_port(&line) {
                    return (child, port, said);
                }
                seen.push(line);
            }
            Err(e) => {
                let _ = child.kill();
                let status = child.wait().unwrap();
                panic!(
                    "the server never said where it listens ({e}; {status}):\n{}",
                    seen.join("\n")
                );
            }
        }
    }
}

/// The port in `serve`'s "listening" log line (`... listening address=127.0.0.1:PORT ...`).
pub fn bound_port(line: &str) -> Option<u16> {
    if !line.contains("listening") {
        return None;
    }
    let addr = line
        .split_whitespace()
        .find_map(|w| w.strip_prefix("address="))?;
    addr.parse::<std::net::SocketAddr>().ok().map(|a| a.port())
}

/// [`serve_process`] with search auditing off (`[server] audit_searches = false`), for tests
/// whose seqs and counts are exactly the entries they wrote: their own reads stay out of the log.
pub fn serve_process_unaudited(db: &Path, port: u16) -> (Child, u16) {
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

/// A log in a temporary folder, served by `trailscope serve` processes: the first on a port the
/// system picks, every later one on that same port (so a client keeps its URL across restarts
/// and swapped databases).
pub struct ServedLog {
    pub dir: tempfile::TempDir,
    /// 0 until the log is first served.
    port: std::sync::atomic::AtomicU16,
}

impl ServedLog {
    pub fn new() -> ServedLog {
        ServedLog {
            dir: tempfile::tempdir().unwrap(),
            port: 0.into(),
        }
    }
    /// A log that says it is at `port` but is never served there (another server's URL).
    pub fn unserved_at(port: u16) -> ServedLog {
        ServedLog {
            dir: tempfile::tempdir().unwrap(),
            port: port.into(),
        }
    }
    pub fn db(&self) -> std::path::PathBuf {
        self.dir.path().join("audit.db")
    }
    /// Deletes what the signer remembers (`<db>.key.state`): what an operator who holds the key
    /// and the state file does before serving another history with that key.
    pub fn forget_what_was_signed(&self) {
        let _ = std::fs::remove_file(format!("{}.key.state", self.db().display()));
    }
    pub fn port(&self) -> u16 {
        let port = self.port.load(std::sync::atomic::Ordering::SeqCst);
        assert_ne!(port, 0, "serve the log before asking where it is");
        port
    }
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port())
    }
    /// Serves the log until the returned process is dropped (search auditing off: the seqs are
    /// the entries the test wrote).
    pub fn serve(&self) -> Serve {
        let at = self.port.load(std::sync::atomic::Ordering::SeqCst);
        let (child, port) = serve_process_unaudited(&self.db(), at);
        self.port.store(port, std::sync::atomic::Ordering::SeqCst);
        Serve(child)
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
