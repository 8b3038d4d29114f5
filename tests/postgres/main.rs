//! The PostgreSQL store through its own tests: the throwaway-cluster harness, the database's
//! refusal to change history, and replicas on one database. (The conformance suite runs the
//! PostgreSQL store through every check the SQLite one passes.)

#[path = "../common/mod.rs"]
mod common;

mod harness;
mod outage;
mod partitions;
mod replicas;
mod retention;
mod schedule;
mod snapshots;
mod tamper;

/// `trailscope token create --database-url …`: the secret (the last line).
pub fn token(url: &str, role: &str) -> String {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_trailscope"))
        .args(["token", "create", "--database-url", url, "--role", role])
        .args(["--tenant", "acme"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .last()
        .unwrap()
        .to_string()
}

/// The arguments of `serve` on the database at `url`, with the signing key and a config file
/// in `dir` (searches not audited, so a test counts only what it wrote), then `extra`.
pub fn serve_args(url: &str, dir: &std::path::Path, extra: &[&str]) -> Vec<String> {
    let config = dir.join("server.toml");
    std::fs::write(&config, "[server]\naudit_searches = false\n").unwrap();
    let mut args: Vec<String> = ["--database-url", url, "--listen", "127.0.0.1:0"]
        .map(String::from)
        .to_vec();
    args.push("--signing-key".into());
    args.push(dir.join("signing.key").display().to_string());
    args.push("--config".into());
    args.push(config.display().to_string());
    args.extend(extra.iter().map(|a| a.to_string()));
    args
}
