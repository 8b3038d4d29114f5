//! The checkpoint signing key on disk: created private on the server's first start, shown as a
//! verifier key, and refused with one sentence when it is readable by others or not a key.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Command, Output};

fn bin(args: &[&str], dir: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_trailscope"))
        .args(args)
        .env("XDG_CONFIG_HOME", dir.join("config"))
        .env_remove("TRAILSCOPE_SIGNING_KEY")
        .output()
        .unwrap()
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

use crate::common;

#[test]
fn the_first_start_creates_a_private_key_and_key_show_prints_its_verifier_key() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("audit.db");
    let (mut child, port) = common::process::serve_process(&db, 0);
    let key = dir.path().join("audit.db.key");
    let mode = std::fs::metadata(&key).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    let _ = child.kill();
    let _ = child.wait();
    let out = bin(
        &["key", "show", "--signing-key", key.to_str().unwrap()],
        dir.path(),
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let vkey = text(&out.stdout).trim().to_string();
    assert!(
        trailscope::proof::VerifierKey::parse(&vkey).is_ok(),
        "{vkey}"
    );
    assert!(!text(&out.stdout).contains("PRIVATE"));
    // A second start keeps the same key.
    let (mut child, _) = common::process::serve_process(&db, port);
    let _ = child.kill();
    let _ = child.wait();
    let again = bin(
        &["key", "show", "--signing-key", key.to_str().unwrap()],
        dir.path(),
    );
    assert_eq!(text(&again.stdout).trim(), vkey);
    // A tenant's key is named by its log's origin (C2SP tlog-checkpoint): the same key.
    let acme = bin(
        &[
            "key",
            "show",
            "--signing-key",
            key.to_str().unwrap(),
            "--tenant",
            "acme",
        ],
        dir.path(),
    );
    assert!(acme.status.success(), "{}", text(&acme.stderr));
    let acme = text(&acme.stdout).trim().to_string();
    assert!(acme.starts_with("trailscope/acme+"), "{acme}");
    assert!(trailscope::proof::same_verifier_key(&acme, &vkey));
    let bad = bin(
        &[
            "key",
            "show",
            "--signing-key",
            key.to_str().unwrap(),
            "--tenant",
            "a b",
        ],
        dir.path(),
    );
    assert_eq!(bad.status.code(), Some(2), "{}", text(&bad.stderr));
}

#[test]
fn a_key_others_can_read_or_that_is_not_a_key_is_refused_in_one_sentence() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("audit.db");
    let key = dir.path().join("signing.key");
    let serve = |key: &Path| {
        bin(
            &[
                "serve",
                "--db",
                db.to_str().unwrap(),
                "--listen",
                "127.0.0.1:0",
                "--signing-key",
                key.to_str().unwrap(),
            ],
            dir.path(),
        )
    };
    let good = trailscope::proof::SigningKey::generate();
    std::fs::write(&key, format!("{}\n", good.to_text())).unwrap();
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o640)).unwrap();
    for out in [
        serve(&key),
        bin(
            &["key", "show", "--signing-key", key.to_str().unwrap()],
            dir.path(),
        ),
    ] {
        assert_eq!(out.status.code(), Some(1));
        let err = text(&out.stderr);
        assert!(
            err.contains("can be read by other accounts (mode 640)"),
            "{err}"
        );
        assert!(err.contains("chmod 600"), "{err}");
        assert_eq!(err.trim().lines().count(), 1, "{err}");
    }
    std::fs::write(&key, "PRIVATE+KEY+nonsense\n").unwrap();
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o600)).unwrap();
    let out = serve(&key);
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    assert!(
        err.contains("is not usable: the signing key is not a signed-note private key"),
        "{err}"
    );
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    let out = bin(
        &[
            "key",
            "show",
            "--signing-key",
            dir.path().join("missing.key").to_str().unwrap(),
        ],
        dir.path(),
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("cannot read the signing key"),
        "{}",
        text(&out.stderr)
    );
}
