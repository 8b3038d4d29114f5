//! The SQLite server as a child process of a load program (this same program run with
//! `--server-child DB`), so that the resident memory measured is the server's own.

use std::io::BufRead;
use std::sync::Arc;
use trailscope::store::{SqliteStore, Store};

/// The flag that makes a load program the server instead.
pub const FLAG: &str = "--server-child";

/// Serves `db` on a loopback port and prints its URL as the first line of stdout.
pub fn serve(db: &str) {
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let store: Arc<dyn Store> = Arc::new(SqliteStore::open(db).unwrap());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        println!("http://{}", listener.local_addr().unwrap());
        trailscope::server::serve(
            store,
            trailscope::server::Allowlist::default(),
            listener,
            trailscope::server::shutdown_signal(),
        )
        .await
        .unwrap();
    });
}

/// Starts this program as the server over `db`; its process and its URL once it listens.
pub fn start(db: &std::path::Path) -> (std::process::Child, String) {
    let mut child = std::process::Command::new(std::env::current_exe().unwrap())
        .args([FLAG, db.to_str().unwrap()])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    std::io::BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    (child, line.trim().to_string())
}

/// A process's resident memory in KiB (0 when it cannot be read).
pub fn rss_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|n| n.parse().ok())
        })
        .unwrap_or(0)
}
