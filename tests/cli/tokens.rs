//! `trailscope token create|list|revoke` on a real database file.

use std::process::Command;

fn run(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_trailscope"))
        .args(args)
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

#[test]
fn create_list_revoke() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("audit.db");
    let db = db.to_str().unwrap();
    let (code, out, _) = run(&[
        "token",
        "create",
        "--db",
        db,
        "--role",
        "auditor",
        "--tenant",
        "acme",
        "--name",
        "alice laptop",
    ]);
    assert_eq!(code, 0);
    let secret = out.lines().last().unwrap();
    assert!(
        secret.starts_with("ts_") && secret.len() > 40,
        "the secret is the last line: {out}"
    );
    let id = out.split_whitespace().nth(1).unwrap().to_string();
    assert!(id.starts_with("tok_"), "{out}");
    let (code, list, _) = run(&["token", "list", "--db", db]);
    assert_eq!(code, 0);
    assert!(
        list.contains(&id)
            && list.contains("auditor")
            && list.contains("acme")
            && list.contains("alice laptop")
            && list.contains("active"),
        "{list}"
    );
    assert!(!list.contains(secret), "the secret is never listed");
    // The columns line up under their headings.
    let (head, row) = (list.lines().next().unwrap(), list.lines().nth(1).unwrap());
    for (heading, value) in [
        ("role", "auditor"),
        ("tenant", "acme"),
        ("name", "alice laptop"),
    ] {
        assert_eq!(head.find(heading), row.find(value), "{list}");
    }
    let (code, out, _) = run(&["token", "revoke", "--db", db, &id]);
    assert_eq!((code, out.trim()), (0, format!("revoked {id}").as_str()));
    let (_, list, _) = run(&["token", "list", "--db", db]);
    assert!(list.contains("revoked"), "{list}");
    let (code, _, err) = run(&["token", "revoke", "--db", db, &id]);
    assert_eq!(code, 1);
    assert_eq!(
        err.trim(),
        format!("trailscope: no active token has the id {id}")
    );
    let (code, _, err) = run(&[
        "token",
        "create",
        "--db",
        db,
        "--role",
        "admin",
        "--tenant",
        "bad tenant!",
    ]);
    assert_eq!(code, 1);
    assert!(err.contains("tenant"), "{err}");
}
