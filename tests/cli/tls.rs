//! `serve --tls-cert --tls-key` with a self-signed certificate made here, the clients'
//! `--ca-cert`, and SIGHUP: a new certificate is served to new connections, and one that does
//! not load leaves the old one serving.

use crate::common;
use std::io::{BufRead, Write};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::Receiver;
use std::time::{Duration, Instant};

/// A self-signed certificate for 127.0.0.1 and localhost, written as PEM files.
fn certificate(dir: &Path, name: &str) -> (std::path::PathBuf, std::path::PathBuf) {
    let made =
        rcgen::generate_simple_self_signed(vec!["127.0.0.1".into(), "localhost".into()]).unwrap();
    let cert = dir.join(format!("{name}.pem"));
    let key = dir.join(format!("{name}.key"));
    std::fs::write(&cert, made.cert.pem()).unwrap();
    std::fs::write(&key, made.signing_key.serialize_pem()).unwrap();
    (cert, key)
}

/// `serve` with TLS; its log lines come on the receiver.
fn serve(db: &Path, cert: &Path, key: &Path) -> (common::process::Serve, u16, Receiver<String>) {
    let mut child: Child = Command::new(env!("CARGO_BIN_EXE_trailscope"))
        .args([
            "serve",
            "--db",
            db.to_str().unwrap(),
            "--listen",
            "127.0.0.1:0",
        ])
        .args([
            "--tls-cert",
            cert.to_str().unwrap(),
            "--tls-key",
            key.to_str().unwrap(),
        ])
        .env("TRAILSCOPE_LOG", "info")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(stderr).lines() {
            let Ok(line) = line else { return };
            eprintln!("[serve] {line}");
            let _ = tx.send(line);
        }
    });
    let port = wait_for(&rx, "listening").and_then(|l| common::process::bound_port(&l));
    let port = port.expect("the server said where it listens");
    (common::process::Serve(child), port, rx)
}

/// The first log line holding `what`, within 20 s.
fn wait_for(rx: &Receiver<String>, what: &str) -> Option<String> {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let line = rx.recv_timeout(left).ok()?;
        if line.contains(what) {
            return Some(line);
        }
    }
}

/// `trailscope ingest` of one event over HTTPS, trusting `ca` when given.
fn ingest(url: &str, token: &str, ca: Option<&Path>) -> std::process::Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_trailscope"));
    cmd.args(["ingest", "--server", url, "--token", token])
        .env_remove("TRAILSCOPE_CA_CERT")
        .env("XDG_CONFIG_HOME", "/nonexistent")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    if let Some(ca) = ca {
        cmd.args(["--ca-cert", ca.to_str().unwrap()]);
    }
    let mut child = cmd.spawn().unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"{\"action\":\"user.login\"}\n")
        .unwrap();
    child.wait_with_output().unwrap()
}

#[test]
fn serve_speaks_tls_clients_trust_a_given_ca_and_sighup_reloads_the_certificate() {
    let dir = tempfile::tempdir().unwrap();
    let (cert, key) = certificate(dir.path(), "first");
    let db = dir.path().join("audit.db");
    let (server, port, log) = serve(&db, &cert, &key);
    let url = format!("https://127.0.0.1:{port}");
    let token = trailscope::store::sqlite::TokenAdmin::open(&db)
        .unwrap()
        .create(trailscope::store::Role::Writer, "acme", None)
        .unwrap()
        .1;

    let ok = ingest(&url, &token, Some(&cert));
    assert!(
        ok.status.success(),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );
    assert!(String::from_utf8_lossy(&ok.stderr).contains("stored 1 event"));

    // Without the CA the self-signed certificate is not trusted: one sentence, no panic.
    let refused = ingest(&url, &token, None);
    assert_eq!(refused.status.code(), Some(1));
    let err = String::from_utf8_lossy(&refused.stderr);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("cannot reach"), "{err}");
    // Plain HTTP to a TLS port gets no answer it could mistake for the API.
    let plain = ingest(&format!("http://127.0.0.1:{port}"), &token, None);
    assert_eq!(plain.status.code(), Some(1));

    // A new certificate in place of the old, then SIGHUP: new connections get it.
    let original = dir.path().join("original.pem");
    std::fs::copy(&cert, &original).unwrap();
    let (second, second_key) = certificate(dir.path(), "second");
    std::fs::copy(&second, &cert).unwrap();
    std::fs::copy(&second_key, &key).unwrap();
    let hup = |pid: u32| {
        assert!(
            Command::new("kill")
                .args(["-HUP", &pid.to_string()])
                .status()
                .unwrap()
                .success()
        )
    };
    hup(server.0.id());
    assert!(wait_for(&log, "TLS certificate reloaded").is_some());
    let ok = ingest(&url, &token, Some(&second));
    assert!(
        ok.status.success(),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );
    let old = ingest(&url, &token, Some(&original));
    assert_eq!(old.status.code(), Some(1), "the old certificate is gone");

    // A certificate that does not load: the old one keeps serving.
    std::fs::write(&cert, "not a certificate\n").unwrap();
    hup(server.0.id());
    assert!(wait_for(&log, "was not reloaded").is_some());
    let ok = ingest(&url, &token, Some(&second));
    assert!(
        ok.status.success(),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );
    drop(server);
}

#[test]
fn serve_refuses_a_key_that_does_not_load_in_one_sentence() {
    let dir = tempfile::tempdir().unwrap();
    let (cert, _) = certificate(dir.path(), "c");
    let bad = dir.path().join("bad.key");
    std::fs::write(&bad, "nothing here\n").unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_trailscope"))
        .args(["serve", "--db", dir.path().join("a.db").to_str().unwrap()])
        .args([
            "--listen",
            "127.0.0.1:0",
            "--tls-cert",
            cert.to_str().unwrap(),
        ])
        .args(["--tls-key", bad.to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("bad.key"), "{err}");
    assert!(!err.contains("panicked"), "{err}");
    // --tls-cert alone is a usage error.
    let out = Command::new(env!("CARGO_BIN_EXE_trailscope"))
        .args(["serve", "--tls-cert", cert.to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
}
