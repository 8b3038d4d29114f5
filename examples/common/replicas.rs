//! `trailscope serve` replicas of the binary beside a benchmark, on one PostgreSQL database
//! (build the binary first: `cargo build --release`).
#![allow(dead_code)]

use std::io::BufRead;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// A `serve` process, killed when dropped.
pub struct Replica(Child);

impl Replica {
    pub fn pid(&self) -> u32 {
        self.0.id()
    }
}
impl Drop for Replica {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The `trailscope` binary beside this example.
pub fn binary() -> std::path::PathBuf {
    let exe = std::env::current_exe().unwrap();
    // target/<profile>/examples/bench_postgres → target/<profile>/trailscope
    exe.parent().unwrap().parent().unwrap().join("trailscope")
}

/// A `serve` replica on the database at `url`, once it listens: the process and its URL.
pub fn serve(url: &str, key: &std::path::Path, config: &std::path::Path) -> (Replica, String) {
    let mut child = Command::new(binary())
        .args(["serve", "--database-url", url, "--listen", "127.0.0.1:0"])
        .args(["--signing-key", key.to_str().unwrap()])
        .args(["--config", config.to_str().unwrap()])
        .env("TRAILSCOPE_LOG", "info")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the trailscope binary (cargo build first)");
    let stderr = child.stderr.take().unwrap();
    let replica = Replica(child);
    let lines = std::io::BufReader::new(stderr).lines();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for l in lines.map_while(Result::ok) {
            let _ = tx.send(l);
        }
    });
    loop {
        let line = rx
            .recv_timeout(Duration::from_secs(60))
            .expect("serve starts");
        if let Some(addr) = line
            .split_whitespace()
            .find_map(|w| w.strip_prefix("address="))
            .filter(|_| line.contains("listening"))
        {
            // Keep draining the log in the background.
            std::thread::spawn(move || while rx.recv().is_ok() {});
            return (replica, format!("http://{addr}"));
        }
    }
}

/// A token for `tenant` with `role`, made by `trailscope token create`.
pub fn token(url: &str, role: &str, tenant: &str) -> String {
    let out = Command::new(binary())
        .args([
            "token",
            "create",
            "--database-url",
            url,
            "--role",
            role,
            "--tenant",
            tenant,
        ])
        .output()
        .unwrap();
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .last()
        .unwrap()
        .to_string()
}
