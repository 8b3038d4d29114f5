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
