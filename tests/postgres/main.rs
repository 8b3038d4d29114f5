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
