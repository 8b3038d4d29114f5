//! Exports that prove themselves offline (API.md "Exports prove themselves offline"): files
//! written by `trailscope export` from a real server, checked by `trailscope verify-file` with
//! the server stopped.

use crate::common;
use common::TestServer;
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn cli(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_trailscope"))
        .args(args)
        .current_dir(dir)
        .env("XDG_CONFIG_HOME", dir.join("config"))
        .env("HOME", dir)
        .env_remove("TRAILSCOPE_SERVER")
        .env_remove("TRAILSCOPE_TOKEN")
        .output()
        .unwrap()
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// 40 entries with every kind of field: personal fields, targets, details, formulas, keys.
async fn seeded() -> TestServer {
    let s = TestServer::start().await;
    let batch: Vec<Value> = (0..40)
        .map(|i| {
            json!({
                "action": if i % 2 == 0 { "user.login" } else { "rule_fired" },
                "channel": if i % 2 == 0 { "auth" } else { "rules" },
                // Guarded formulas, and text that itself starts with `'` and a formula character.
                "description": if i % 5 == 0 { format!("=HYPERLINK(\"x\") row {i}") } else if i % 7 == 3 { format!("'+literal row {i}") } else { format!("row {i}, \"quoted\"\nnext") },
                "actor": {"type": "user", "id": format!("u_{}", i % 3), "name": format!("Person {}", i % 3),
                          "email": format!("p{}@example.com", i % 3), "ip": "10.0.0.1", "user_agent": "curl/8"},
                "target": {"type": "doc", "id": format!("d{i}"), "name": "Plan"},
                "details": {"n": -1.50e3, "big": 123_456_789.123_456_79, "k": [i, "x"]},
                "idempotency_key": format!("k-{i}"),
            })
        })
        .collect();
    assert_eq!(s.post(&s.writer, Value::Array(batch)).await.0, 201);
    s
}

fn export(s: &TestServer, dir: &Path, format: &str, filter: Option<&str>, out: &str) -> PathBuf {
    let mut args = vec![
        "export", "--server", &s.url, "--token", &s.auditor, "--format", format, "-o", out,
    ];
    if let Some(f) = filter {
        args.extend(["--filter", f]);
    }
    let o = cli(dir, &args);
    assert!(o.status.success(), "{}", text(&o));
    dir.join(out)
}

fn verify(dir: &Path, file: &Path, key: Option<&str>) -> (Option<i32>, String) {
    let mut args = vec!["verify-file", file.to_str().unwrap()];
    if let Some(k) = key {
        args.extend(["--key", k]);
    }
    let o = cli(dir, &args);
    (o.status.code(), text(&o))
}

/// One line, one sentence: what a person or a script reads.
fn one_line(out: &str) -> &str {
    assert_eq!(out.trim_end().lines().count(), 1, "{out}");
    out.trim_end()
}

/// Changes one byte of `needle`'s first occurrence after `after` in the file.
fn edit_byte(path: &Path, after: &str, needle: &str) {
    let mut bytes = std::fs::read(path).unwrap();
    let text = String::from_utf8(bytes.clone()).unwrap();
    let from = text.find(after).unwrap();
    let at = from + text[from..].find(needle).unwrap();
    bytes[at] = if bytes[at] == b'X' { b'Y' } else { b'X' };
    std::fs::write(path, bytes).unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn untouched_exports_verify_offline_and_edits_are_named() {
    let s = seeded().await;
    let work = tempfile::tempdir().unwrap();
    let dir = work.path();
    let vkey = s.key.verifier().to_string();
    let json_all = export(&s, dir, "json", None, "all.json");
    let json_auth = export(&s, dir, "json", Some("channel:auth"), "auth.json");
    let nd = export(&s, dir, "ndjson", Some("channel:rules"), "rules.ndjson");
    let csv = export(&s, dir, "csv", None, "all.csv");
    let csv_auth = export(&s, dir, "csv", Some("channel:auth"), "auth.csv");
    assert!(dir.join("rules.ndjson.proof.json").exists());
    assert!(dir.join("all.csv.proof.json").exists());
    assert!(!dir.join("all.json.proof.json").exists());
    // The CSV is still a plain CSV: the proof went beside it.
    let side: Value =
        serde_json::from_slice(&std::fs::read(dir.join("all.csv.proof.json")).unwrap()).unwrap();
    assert_eq!(
        csv::Reader::from_path(&csv).unwrap().records().count() as u64,
        side["proof"]["entries"].as_u64().unwrap()
    );
    // Every seq of the range costs 32 bytes: 44 base64 characters for 32 bytes, rounded.
    let range = side["proof"]["last_seq"].as_u64().unwrap()
        - side["proof"]["first_seq"].as_u64().unwrap()
        + 1;
    assert_eq!(
        side["proof"]["hashes"].as_str().unwrap().len() as u64,
        (range * 32).div_ceil(3) * 4
    );
    let doc: Value = serde_json::from_slice(&std::fs::read(&json_all).unwrap()).unwrap();
    assert_eq!(doc["entries"].as_array().unwrap().len(), 40);
    assert!(
        doc["checkpoint"]["checkpoint"]
            .as_str()
            .unwrap()
            .starts_with("trailscope/acme\n")
    );
    assert_eq!(
        doc["proof"]["items"][0]["personal"]["name"]["s"]
            .as_str()
            .unwrap()
            .len(),
        32
    );
    s.stop().await;

    // Offline: the server is gone.
    for f in [&json_all, &json_auth, &nd, &csv, &csv_auth] {
        let (code, out) = verify(dir, f, Some(&vkey));
        assert_eq!(code, Some(0), "{}: {out}", f.display());
        let line = one_line(&out);
        assert!(line.starts_with("ok: "), "{line}");
        assert!(line.contains("the pinned key"), "{line}");
        let (code, out) = verify(dir, f, None);
        assert_eq!(code, Some(0), "{out}");
        assert!(one_line(&out).contains("not pinned: pass --key"), "{out}");
    }
    let (_, out) = verify(dir, &csv_auth, Some(&vkey));
    assert!(out.contains("ok: 20 entries (seqs 1 to 39)"), "{out}");

    // One edited byte of an entry: that entry is named, exit 1.
    let cases: [(&Path, &str, &str, &str); 4] = [
        (
            &json_auth,
            "\"seq\":5,",
            "row 4",
            "entry 3 (seq 5) does not match its proof",
        ),
        (
            &nd,
            "\"seq\":8,",
            "Person",
            "line 4 (seq 8) does not match its proof",
        ),
        (
            &csv_auth,
            ",11,",
            "Plan",
            "(seq 11) does not match its proof",
        ),
        (
            &json_all,
            "\"seq\":40,",
            "k-39",
            "entry 40 (seq 40) does not match its proof",
        ),
    ];
    for (file, after, needle, want) in cases {
        let copy = dir.join(format!(
            "edited-{}",
            file.file_name().unwrap().to_str().unwrap()
        ));
        std::fs::copy(file, &copy).unwrap();
        let side = PathBuf::from(format!("{}.proof.json", file.display()));
        if side.exists() {
            std::fs::copy(&side, format!("{}.proof.json", copy.display())).unwrap();
        }
        edit_byte(&copy, after, needle);
        let (code, out) = verify(dir, &copy, Some(&vkey));
        assert_eq!(code, Some(1), "{out}");
        assert!(one_line(&out).contains(want), "{want}: {out}");
    }
    // A CSV row's hash cell edited, and a detail number respelled.
    let copy = dir.join("digits.csv");
    std::fs::copy(&csv, &copy).unwrap();
    std::fs::copy(
        dir.join("all.csv.proof.json"),
        dir.join("digits.csv.proof.json"),
    )
    .unwrap();
    let t = std::fs::read_to_string(&copy).unwrap();
    let edited = t.replacen("123456789.12345679", "123456789.12345678", 1);
    assert_ne!(edited, t);
    std::fs::write(&copy, edited).unwrap();
    let (code, out) = verify(dir, &copy, Some(&vkey));
    assert_eq!(code, Some(1), "{out}");
    assert!(
        one_line(&out).contains("line 2 (seq 1) does not match its proof: its content was changed"),
        "{out}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn dropped_rows_swapped_proofs_wrong_keys_and_bad_files_get_one_sentence() {
    let s = seeded().await;
    let work = tempfile::tempdir().unwrap();
    let dir = work.path();
    let vkey = s.key.verifier().to_string();
    let csv = export(&s, dir, "csv", Some("channel:auth"), "auth.csv");
    let other = export(&s, dir, "csv", Some("channel:rules"), "rules.csv");
    let nd = export(&s, dir, "ndjson", None, "all.ndjson");
    let json = export(&s, dir, "json", None, "all.json");
    s.stop().await;

    // A dropped row.
    let t = std::fs::read_to_string(&nd).unwrap();
    let lines: Vec<&str> = t.lines().collect();
    let dropped = dir.join("dropped.ndjson");
    let mut kept: Vec<&str> = lines.clone();
    kept.remove(6);
    std::fs::write(&dropped, kept.join("\n") + "\n").unwrap();
    std::fs::copy(
        dir.join("all.ndjson.proof.json"),
        dir.join("dropped.ndjson.proof.json"),
    )
    .unwrap();
    let (code, out) = verify(dir, &dropped, Some(&vkey));
    assert_eq!(code, Some(1), "{out}");
    assert!(
        one_line(&out).contains("entry seq 7, which the proof lists, is missing"),
        "{out}"
    );

    // A proof swapped from another export.
    std::fs::copy(
        dir.join("rules.csv.proof.json"),
        dir.join("auth.csv.proof.json"),
    )
    .unwrap();
    let (code, out) = verify(dir, &csv, Some(&vkey));
    assert_eq!(code, Some(1), "{out}");
    assert!(
        one_line(&out).contains("the proof is for another file"),
        "{out}"
    );
    let _ = other;

    // A wrong key, a malformed key.
    let wrong = trailscope::proof::SigningKey::generate()
        .verifier()
        .to_string();
    let (code, out) = verify(dir, &json, Some(&wrong));
    assert_eq!(code, Some(1), "{out}");
    assert!(
        one_line(&out).contains("is not signed by the pinned key"),
        "{out}"
    );
    let (code, out) = verify(dir, &json, Some("trailscope+zz+AAAA"));
    assert_eq!(code, Some(2), "{out}");
    assert!(one_line(&out).contains("is not a verifier key"), "{out}");

    // A truncated proof, a missing proof.
    let side = std::fs::read(dir.join("all.ndjson.proof.json")).unwrap();
    std::fs::write(dir.join("all.ndjson.proof.json"), &side[..side.len() / 2]).unwrap();
    let (code, out) = verify(dir, &nd, Some(&vkey));
    assert_eq!(code, Some(1), "{out}");
    assert!(
        one_line(&out).contains("is not a whole proof: it is truncated or malformed"),
        "{out}"
    );
    std::fs::remove_file(dir.join("all.ndjson.proof.json")).unwrap();
    let (code, out) = verify(dir, &nd, Some(&vkey));
    assert_eq!(code, Some(1), "{out}");
    assert!(one_line(&out).contains("has no proof"), "{out}");
    let t = std::fs::read_to_string(&json).unwrap();
    let cut = t.find(",\"checkpoint\"").unwrap();
    std::fs::write(dir.join("bare.json"), format!("{}}}", &t[..cut])).unwrap();
    let (code, out) = verify(dir, &dir.join("bare.json"), Some(&vkey));
    assert_eq!(code, Some(1), "{out}");
    assert!(one_line(&out).contains("the file has no proof"), "{out}");
    // A JSON export whose proof lost its range proof's last hash.
    let mut doc: Value = serde_json::from_str(&t).unwrap();
    doc["proof"]["range_proof"].as_array_mut().unwrap().pop();
    std::fs::write(dir.join("short.json"), doc.to_string()).unwrap();
    let (code, out) = verify(dir, &dir.join("short.json"), Some(&vkey));
    assert_eq!(code, Some(1), "{out}");
    assert!(
        one_line(&out).contains("do not lead to the checkpoint's root"),
        "{out}"
    );

    // A proof whose tenant carries terminal escapes: refused, and nothing raw reaches the terminal.
    let mut doc: Value = serde_json::from_str(&t).unwrap();
    doc["proof"]["tenant"] = json!("acme\u{1b}]0;owned\u{7}\u{1b}[2J");
    std::fs::write(dir.join("hostile.json"), doc.to_string()).unwrap();
    let (code, out) = verify(dir, &dir.join("hostile.json"), Some(&vkey));
    assert_eq!(code, Some(1), "{out}");
    assert!(
        one_line(&out).contains("the proof is for another log"),
        "{out}"
    );
    assert!(!out.contains('\u{1b}') && !out.contains('\u{7}'), "{out:?}");

    // Not an export; no such file.
    std::fs::write(dir.join("notes.txt"), "hello\n").unwrap();
    let (code, out) = verify(dir, &dir.join("notes.txt"), None);
    assert_eq!(code, Some(1), "{out}");
    assert!(
        one_line(&out).contains("is not a trailscope export"),
        "{out}"
    );
    let (code, out) = verify(dir, &dir.join("nope.csv"), None);
    assert_eq!(code, Some(2), "{out}");
    assert!(one_line(&out).contains("cannot read"), "{out}");
}

#[tokio::test(flavor = "multi_thread")]
async fn an_export_after_pseudonymisation_verifies_with_commitments() {
    let s = seeded().await;
    let work = tempfile::tempdir().unwrap();
    let dir = work.path();
    let vkey = s.key.verifier().to_string();
    let r = s
        .http
        .post(format!("{}/v1/pseudonymise", s.url))
        .bearer_auth(&s.admin)
        .json(&json!({"actor_id": "u_1"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200, "{}", r.text().await.unwrap());
    let json = export(&s, dir, "json", None, "after.json");
    let csv = export(&s, dir, "csv", None, "after.csv");
    s.stop().await;
    let doc: Value = serde_json::from_slice(&std::fs::read(&json).unwrap()).unwrap();
    let item = &doc["proof"]["items"][1];
    assert_eq!(item["seq"], 2);
    assert!(item["personal"]["name"]["c"].is_string(), "{item}");
    assert!(item["personal"]["name"]["s"].is_null(), "{item}");
    assert!(
        doc["entries"][1]["actor"]["name"]
            .as_str()
            .unwrap()
            .starts_with("pseudonym-")
    );
    for f in [&json, &csv] {
        let (code, out) = verify(dir, f, Some(&vkey));
        assert_eq!(code, Some(0), "{out}");
        assert!(one_line(&out).starts_with("ok: "), "{out}");
    }
    // A pseudonymised field cannot take other text.
    let t = std::fs::read_to_string(&json).unwrap();
    let pseudo = doc["entries"][1]["actor"]["name"].as_str().unwrap();
    std::fs::write(
        dir.join("renamed.json"),
        t.replacen(pseudo, "Someone Else", 1),
    )
    .unwrap();
    let (code, out) = verify(dir, &dir.join("renamed.json"), Some(&vkey));
    assert_eq!(code, Some(1), "{out}");
    assert!(
        one_line(&out).contains("entry 2 (seq 2) does not match its proof"),
        "{out}"
    );
}
