//! Issue 23: every export format of a varied log (unicode, `""`, nulls, `1E5`, `-0`, big
//! integers, `=`/`+`/`-`/`@` text, pseudonymised entries) fetched with `proof=trailer` from the
//! real server is accepted by the real `trailscope verify-file` as it is, by the independent
//! verifier written from docs/verifying.md (tools/verify_export.py), and every one-byte change
//! of it is refused. OCSF lines are valid against the vendored OCSF 1.1.0 schema.

use crate::common;
use common::TestServer;
use serde_json::{Value, json};
use std::path::{Path, PathBuf};

/// The varied log, as producer text: numbers must reach the server spelled as written.
pub fn varied_events() -> String {
    let mut events: Vec<String> = Vec::new();
    let texts = [
        "",
        "=1+1",
        "'=1+1",
        "'",
        "''",
        "+SUM(A1)",
        "-2",
        "@cmd",
        "\tx",
        "\rx",
        "plain",
        "Zoë Åström, \"quoted\",\nnew line",
        "日本語 🎉",
        "\u{1b}[31mred",
        "a,b;c",
    ];
    for (i, t) in texts.iter().enumerate() {
        let t = serde_json::to_string(t).unwrap();
        events.push(format!(
            r#"{{"action":"ticket.updated","channel":"work","description":{t},"actor":{{"type":"user","id":{t},"name":{t},"email":{t},"ip":{t}}},"target":{{"type":"ticket","id":"t{i}","name":{t}}},"details":{{"text":{t},"n":{i}}}}}"#
        ));
    }
    let numbers = [
        "1E5",
        "-0",
        "-0.0",
        "1.5e-7",
        "123456789012345678901234567890",
        "-98765432109876543210.123456789",
        "0.1",
        "1e+5",
        "2E-3",
        "-1",
    ];
    for (i, n) in numbers.iter().enumerate() {
        events.push(format!(
            r#"{{"action":"metric.recorded","details":{{"v":{n},"list":[{n},null,true],"nested":{{"z":null,"a":{n}}}}},"actor":{{"type":"service","id":"svc{i}"}}}}"#
        ));
    }
    // Details that are themselves a bare number, a negative one (a cell a spreadsheet would
    // compute), a string, null members.
    for d in ["-5", "1E5", "\"=x\"", "[]", "{}", "{\"a\":null}"] {
        events.push(format!(
            r#"{{"action":"odd.details","channel":"rules","details":{d}}}"#
        ));
    }
    // One of each OCSF class, with junk and genuine addresses.
    for (action, channel, target, ip, email) in [
        (
            "user.login",
            "auth",
            "",
            "198.51.100.7",
            "grace@example.com",
        ),
        (
            "user.login_failed",
            "auth",
            r#","target":{"type":"user","id":"u1"}"#,
            "not-an-ip",
            "not an email",
        ),
        ("user.logout", "auth", "", "fe80::1%eth0", "=1+1@x.y"),
        ("sso.check", "auth", "", "", ""),
        (
            "user.created",
            "admin",
            r#","target":{"type":"user","id":"u41","name":""}"#,
            "2001:db8::1",
            "a@b.c",
        ),
        (
            "password_reset",
            "admin",
            r#","target":{"type":"user","id":"u1"}"#,
            "010.0.0.1",
            "x@",
        ),
        (
            "ticket.created",
            "writeback",
            r#","target":{"type":"ticket","id":"70400"}"#,
            "10.0.0.1",
            "-a@b.c",
        ),
        (
            "incident.deleted",
            "security",
            r#","target":{"type":"incident","id":"INC-1","name":"=bad"}"#,
            "999.1.1.1",
            "@x",
        ),
        (
            "rule_fired",
            "rules",
            r#","target":{"type":"rule","id":"r7"}"#,
            "::1",
            "ok@ex.org",
        ),
        ("zz.unheard_of", "default", "", "1.2.3.4", "ok@ex.org"),
    ] {
        let kind = if action.ends_with("created") {
            "created"
        } else if action.ends_with("deleted") {
            "deleted"
        } else {
            "other"
        };
        events.push(format!(
            r#"{{"action":"{action}","channel":"{channel}","kind":"{kind}","actor":{{"type":"user","id":"u1","email":{},"ip":{},"user_agent":"curl/8"}}{target},"details":{{"n":1E5}}}}"#,
            serde_json::to_string(email).unwrap(),
            serde_json::to_string(ip).unwrap(),
        ));
    }
    // The person pseudonymised below.
    for i in 0..3 {
        events.push(format!(
            r#"{{"action":"doc.read","kind":"read","actor":{{"type":"user","id":"u_z","name":"Zoltan Kovacs","email":"zoltan@example.com","ip":"192.0.2.9","user_agent":"Firefox"}},"target":{{"type":"doc","id":"d{i}"}}}}"#
        ));
    }
    format!("[{}]", events.join(","))
}

/// A server holding the varied log, one person pseudonymised.
pub async fn varied_server() -> TestServer {
    let s = TestServer::start().await;
    let (st, body) = s
        .post_raw(&s.writer, "application/json", varied_events())
        .await;
    assert_eq!(st, 201, "{body}");
    let r = s
        .http
        .post(format!("{}/v1/pseudonymise", s.url))
        .bearer_auth(&s.admin)
        .json(&json!({"email": "zoltan@example.com"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200, "{}", r.text().await.unwrap());
    s
}

/// `GET /v1/export?format=F&proof=trailer`, as the server sends it.
pub async fn fetch(s: &TestServer, format: &str) -> Vec<u8> {
    let r = s
        .http
        .get(format!("{}/v1/export?format={format}&proof=trailer", s.url))
        .bearer_auth(&s.auditor)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    r.bytes().await.unwrap().to_vec()
}

pub const FORMATS: [(&str, &str); 4] = [
    ("csv", "export.csv"),
    ("json", "export.json"),
    ("ndjson", "export.ndjson"),
    ("ocsf", "export.ocsf.ndjson"),
];

fn verify_file(dir: &Path, file: &Path, key: &str) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_trailscope"))
        .args(["verify-file", file.to_str().unwrap(), "--key", key])
        .current_dir(dir)
        .env("HOME", dir)
        .env("XDG_CONFIG_HOME", dir.join("config"))
        .output()
        .unwrap()
}

fn python_verifier(file: &Path) -> std::process::Output {
    let tool = Path::new(env!("CARGO_MANIFEST_DIR")).join("tools/verify_export.py");
    std::process::Command::new("python3")
        .arg(tool)
        .arg(file)
        .output()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn every_format_of_a_varied_log_verifies_as_fetched() {
    let s = varied_server().await;
    let vkey = s.key.verifier().to_string();
    let work = tempfile::tempdir().unwrap();
    let mut files: Vec<PathBuf> = Vec::new();
    for (format, name) in FORMATS {
        let body = fetch(&s, format).await;
        let path = work.path().join(name);
        std::fs::write(&path, &body).unwrap();
        files.push(path);
    }
    s.stop().await;
    for path in &files {
        let out = verify_file(work.path(), path, &vkey);
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(out.status.success(), "{}: {text}", path.display());
        assert!(text.starts_with("ok: "), "{}: {text}", path.display());
        let out = python_verifier(path);
        assert!(
            out.status.success(),
            "{}: {}{}",
            path.display(),
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    // The CSV says absent, empty and guarded apart, and the reader gives back what was sent.
    let csv_text = std::fs::read_to_string(&files[0]).unwrap();
    assert!(csv_text.contains(",''=1+1,"), "a stored '=1+1 is ''=1+1");
    assert!(csv_text.contains(",'=1+1,"), "a stored =1+1 is '=1+1");
    // `trailscope open` reads the file as saved, its proof split off.
    let saved = work.path().join("saved.csv");
    let whole = std::fs::read(&files[0]).unwrap();
    std::fs::write(&saved, trailscope::export::verify::split_trailer(&whole).0).unwrap();
    let mut entries = Vec::new();
    let loaded = trailscope::export::read::read_file(
        &saved,
        trailscope::export::read::FileFormat::Csv,
        &mut |batch, _| {
            entries.extend(batch);
            true
        },
    )
    .unwrap();
    assert!(loaded.error.is_none(), "{:?}", loaded.error);
    let empty = entries
        .iter()
        .find(|e| e.description.as_deref() == Some(""))
        .unwrap();
    assert_eq!(empty.actor.email.as_deref(), Some(""));
    assert_eq!(empty.actor.id.as_deref(), Some(""));
    assert_eq!(empty.target.as_ref().unwrap().name.as_deref(), Some(""));
    let absent = entries
        .iter()
        .find(|e| e.action == "metric.recorded")
        .unwrap();
    assert_eq!(
        (absent.description.as_ref(), absent.actor.email.as_ref()),
        (None, None)
    );
    for t in ["=1+1", "'=1+1", "'", "''", "-2"] {
        assert!(
            entries.iter().any(|e| e.description.as_deref() == Some(t)),
            "{t} reads back"
        );
    }
    // OCSF keeps the numbers as sent.
    let ocsf = std::fs::read_to_string(&files[3]).unwrap();
    assert!(ocsf.contains(r#""details":{"n":1E5}"#), "1E5 stays 1E5");
    assert!(ocsf.contains("123456789012345678901234567890"));
    assert!(ocsf.contains(r#""v":-0}"#));
}

/// Every one-byte change of every format is refused. A byte is changed to its neighbour
/// (`b ^ 1`, never a case change, which hex readers would forgive). Checked in-process with the
/// library `verify-file` runs. Not covered, by design (docs/verifying.md says so): a JSON
/// export's `exported_at` and `filters`, which no proof speaks for, and a pseudonym's digits.
#[tokio::test(flavor = "multi_thread")]
async fn every_one_byte_change_of_every_format_is_refused() {
    let s = varied_server().await;
    if s.sqlite_only("the files are checked offline; the PostgreSQL pass of the other tests here covers its exports") {
        return s.stop().await;
    }
    let key = s.key.verifier().clone();
    let mut fetched = Vec::new();
    for (format, name) in FORMATS {
        fetched.push((format, name, fetch(&s, format).await));
    }
    s.stop().await;
    for (format, name, bytes) in fetched {
        let check = |b: &[u8]| {
            trailscope::export::verify::check_bytes(name, b, Some(&key), |_| {
                Err(trailscope::export::verify::VerifyError::Fails(
                    "no sidecar".into(),
                ))
            })
        };
        assert!(check(&bytes).is_ok(), "{format}: {:?}", check(&bytes).err());
        // The JSON export's preamble is not proven; its entries start at `"entries":[`.
        let preamble_end = match format {
            "json" => String::from_utf8_lossy(&bytes)
                .find("\"entries\":[")
                .unwrap(),
            _ => 0,
        };
        // A pseudonym's 8 hex digits are bound by nothing: its salt is destroyed, so the
        // commitment stands for text no one can confirm (docs/verifying.md says so).
        let text = String::from_utf8_lossy(&bytes).into_owned();
        let unbound: std::collections::BTreeSet<usize> = text
            .match_indices("pseudonym-")
            .flat_map(|(at, p)| at + p.len()..at + p.len() + 8)
            .collect();
        assert!(
            !unbound.is_empty(),
            "{format}: the pseudonymised entries are exported"
        );
        let mut accepted = Vec::new();
        // Every byte at the ends (the first entries, the proof's structure), every seventh byte
        // between: the whole sweep takes minutes in a debug build.
        let ends = |i: &usize| *i < preamble_end + 1500 || *i + 1500 >= bytes.len();
        for i in (preamble_end..bytes.len())
            .filter(|i| ends(i) || i % 7 == 0)
            .filter(|i| !unbound.contains(i))
        {
            let mut changed = bytes.clone();
            changed[i] ^= 1;
            if check(&changed).is_ok() {
                accepted.push(i);
            }
        }
        assert!(
            accepted.is_empty(),
            "{format}: {} one-byte changes accepted, first at byte {}: {:?}",
            accepted.len(),
            accepted[0],
            String::from_utf8_lossy(
                &bytes[accepted[0].saturating_sub(40)..(accepted[0] + 40).min(bytes.len())]
            )
        );
    }
}

/// Every OCSF line is valid against the OCSF 1.1.0 JSON schema of its class (vendored in
/// tests/fixtures/ocsf-1.1.0/), junk addresses included, validated by python's `jsonschema`.
#[tokio::test(flavor = "multi_thread")]
async fn every_ocsf_line_is_valid_ocsf_1_1_0() {
    let has_jsonschema = std::process::Command::new("python3")
        .args(["-c", "import jsonschema"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !has_jsonschema {
        let how = "python3's jsonschema is not installed: `python3 -m pip install jsonschema` (or Debian's python3-jsonschema)";
        assert!(std::env::var("CI").as_deref() != Ok("true"), "{how}");
        eprintln!("skipping the OCSF schema check: {how}");
        return;
    }
    let s = varied_server().await;
    let body = fetch(&s, "ocsf").await;
    s.stop().await;
    let (rows, _) = trailscope::export::verify::split_trailer(&body);
    let text = String::from_utf8(rows.to_vec()).unwrap();
    let classes: std::collections::BTreeSet<u64> = text
        .lines()
        .map(|l| {
            serde_json::from_str::<Value>(l).unwrap()["class_uid"]
                .as_u64()
                .unwrap()
        })
        .collect();
    assert_eq!(classes, [3001, 3002, 3004, 6003].into());
    // No junk in a typed field.
    for line in text.lines() {
        let v: Value = serde_json::from_str(line).unwrap();
        for ip in [&v["src_endpoint"]["ip"]] {
            if let Some(ip) = ip.as_str() {
                assert!(ip.parse::<std::net::IpAddr>().is_ok(), "{ip}");
            }
        }
    }
    let work = tempfile::tempdir().unwrap();
    let path = work.path().join("events.ndjson");
    std::fs::write(&path, &text).unwrap();
    let schemas = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/ocsf-1.1.0");
    let script = r#"
import json, sys, jsonschema
schemas = {3001: "account_change", 3002: "authentication", 3004: "entity_management", 6003: "api_activity"}
validators = {uid: jsonschema.Draft202012Validator(json.load(open(f"{sys.argv[1]}/{name}.json")))
              for uid, name in schemas.items()}
bad = 0
for n, line in enumerate(open(sys.argv[2], encoding="utf-8"), 1):
    event = json.loads(line)
    for e in validators[event["class_uid"]].iter_errors(event):
        bad += 1
        print(f"line {n} class {event['class_uid']}: {list(e.absolute_path)}: {e.message[:200]}")
sys.exit(1 if bad else 0)
"#;
    let out = std::process::Command::new("python3")
        .args([
            "-c",
            script,
            schemas.to_str().unwrap(),
            path.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

fn rezip(files: &std::collections::BTreeMap<String, Vec<u8>>, path: &Path) {
    use std::io::Write;
    let mut zip = zip::ZipWriter::new(std::fs::File::create(path).unwrap());
    for (name, content) in files {
        zip.start_file(name.as_str(), zip::write::SimpleFileOptions::default())
            .unwrap();
        zip.write_all(content).unwrap();
    }
    zip.finish().unwrap();
}

/// Issue 23's attack on packs: a CSV row (or report.pdf) changed and the manifest's hash of it
/// fixed no longer passes, and a one-byte change anywhere in any file of a pack fails
/// `verify-pack` (sampled: some 60 places a file).
#[tokio::test(flavor = "multi_thread")]
async fn every_change_to_any_file_of_a_pack_fails_verify_pack() {
    use sha2::{Digest, Sha256};
    let s = varied_server().await;
    let r = s
        .http
        .post(format!("{}/v1/evidence-packs", s.url))
        .bearer_auth(&s.auditor)
        .json(&json!({"kind": "custom", "title": "work", "filter": "channel:work"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    let bytes = r.bytes().await.unwrap().to_vec();
    let key = s.key.verifier().clone();
    s.stop().await;
    let work = tempfile::tempdir().unwrap();
    let path = work.path().join("pack.zip");
    let check = |files: &std::collections::BTreeMap<String, Vec<u8>>| -> Vec<String> {
        rezip(files, &path);
        match trailscope::export::evidence::verify_pack_proven(&path, Some(&key)) {
            Ok(c) => c.problems,
            Err(e) => vec![e.to_string()],
        }
    };
    let files = common::unzip(&bytes);
    assert!(files.contains_key("record.ndjson"));
    assert_eq!(check(&files), Vec::<String>::new());
    // The real binary says ok with the pinned key.
    std::fs::write(&path, &bytes).unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_trailscope"))
        .args(["verify-pack", path.to_str().unwrap(), "--key", key.as_str()])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    // A file changed and the manifest's hash of it fixed to match.
    let forge = |name: &str, change: &dyn Fn(&mut Vec<u8>)| {
        let mut forged = files.clone();
        change(forged.get_mut(name).unwrap());
        let mut manifest: Value = serde_json::from_slice(&forged["manifest.json"]).unwrap();
        manifest["files"][name]["sha256"] = json!(hex::encode(Sha256::digest(&forged[name])));
        manifest["files"][name]["bytes"] = json!(forged[name].len());
        forged.insert(
            "manifest.json".into(),
            serde_json::to_vec_pretty(&manifest).unwrap(),
        );
        check(&forged)
    };
    let problems = forge("custom.csv", &|csv| {
        let text = String::from_utf8(csv.clone()).unwrap();
        *csv = text.replacen(",plain,", ",plaim,", 1).into_bytes();
        assert_ne!(csv.as_slice(), text.as_bytes());
    });
    assert!(
        problems
            .iter()
            .any(|p| p.contains("the manifest was changed"))
            && problems
                .iter()
                .any(|p| p.contains("is not the proven entry")),
        "{problems:?}"
    );
    let problems = forge("report.pdf", &|pdf| {
        let at = pdf.len() / 2;
        pdf[at] ^= 1;
    });
    assert!(
        problems
            .iter()
            .any(|p| p.contains("the manifest was changed")),
        "{problems:?}"
    );
    for (name, content) in &files {
        let step = (content.len() / 60).max(1);
        for i in (0..content.len()).step_by(step) {
            let mut changed = files.clone();
            changed.get_mut(name).unwrap()[i] ^= 1;
            assert!(
                !check(&changed).is_empty(),
                "{name}: byte {i} changed and the pack still verifies"
            );
        }
    }
}
