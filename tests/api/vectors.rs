//! The test vectors of docs/verifying.md (tests/fixtures/vectors/), checked against the code
//! and against the independent verifier written from the doc (tools/verify_export.py), so the
//! doc cannot drift from what the server writes. `TRAILSCOPE_WRITE_VECTORS=1` makes them anew
//! from a real server (with the varied log of `verify_edges`) before checking them.

use crate::common;
use crate::verify_edges::{FORMATS, fetch, varied_server};
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use trailscope::export::verify::{check_bytes, split_trailer};
use trailscope::model::{Entry, ProofFile};
use trailscope::store::chain::{Commitment, Commitments, canonical_bytes, commit, entry_hash};

fn dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/vectors")
}

/// The commitments an entry's hash used, from its export proof's salts or commitments.
fn commitments(e: &Entry, item: &trailscope::model::EntryProof) -> Commitments {
    let a = &e.actor;
    let mut out = Commitments::new();
    for (field, text) in [
        ("name", &a.name),
        ("email", &a.email),
        ("ip", &a.ip),
        ("user_agent", &a.user_agent),
    ] {
        let (Some(text), Some(fp)) = (text, item.personal.get(field)) else {
            continue;
        };
        let c = match (&fp.s, &fp.c) {
            (Some(s), None) => commit(&hex::decode(s).unwrap(), text),
            (None, Some(c)) => c.clone(),
            _ => panic!("a salt or a commitment"),
        };
        out.insert(field.to_string(), Commitment { c, s: None });
    }
    out
}

async fn write_vectors(dir: &Path) {
    let s = varied_server().await;
    std::fs::create_dir_all(dir).unwrap();
    std::fs::write(dir.join("key.vkey"), format!("{}\n", s.key.verifier())).unwrap();
    for (format, name) in FORMATS {
        let body = fetch(&s, format).await;
        let (rows, proof) = split_trailer(&body);
        std::fs::write(dir.join(name), rows).unwrap();
        if let Some(proof) = proof {
            let pretty: Value = serde_json::from_slice(proof).unwrap();
            std::fs::write(
                dir.join(format!("{name}.proof.json")),
                serde_json::to_string_pretty(&pretty).unwrap() + "\n",
            )
            .unwrap();
        }
    }
    let (st, checkpoint) = s.get(&s.auditor, "/v1/checkpoint").await;
    assert_eq!(st, 200, "{checkpoint}");
    std::fs::write(
        dir.join("checkpoint.json"),
        serde_json::to_string_pretty(&checkpoint).unwrap() + "\n",
    )
    .unwrap();
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn the_vectors_of_docs_verifying_md_hold() {
    let dir = dir();
    if std::env::var("TRAILSCOPE_WRITE_VECTORS").is_ok_and(|v| v == "1") && !common::on_postgres() {
        write_vectors(&dir).await;
    }
    let vkey = trailscope::proof::VerifierKey::parse(
        &std::fs::read_to_string(dir.join("key.vkey")).unwrap(),
    )
    .unwrap();
    // Every export, with its proof beside it, by the library verify-file runs and by the
    // independent verifier.
    for (_, name) in FORMATS {
        let path = dir.join(name);
        let bytes = std::fs::read(&path).unwrap();
        let side = dir.join(format!("{name}.proof.json"));
        check_bytes(name, &bytes, Some(&vkey), |_| {
            Ok((name.to_string(), std::fs::read(&side).unwrap()))
        })
        .unwrap_or_else(|e| panic!("{name}: {e}"));
        let out = std::process::Command::new("python3")
            .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("tools/verify_export.py"))
            .arg(&path)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{name}: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    // The independent verifier refuses a changed file: one character of the first entry's
    // action in each format.
    let work = tempfile::tempdir().unwrap();
    for (_, name) in FORMATS {
        let text = std::fs::read_to_string(dir.join(name)).unwrap();
        let at = text.find("ticket.updated").unwrap();
        let changed = format!("{}x{}", &text[..at], &text[at + 1..]);
        let copy = work.path().join(name);
        std::fs::write(&copy, changed).unwrap();
        let side = dir.join(format!("{name}.proof.json"));
        if side.exists() {
            std::fs::copy(&side, work.path().join(format!("{name}.proof.json"))).unwrap();
        }
        let out = std::process::Command::new("python3")
            .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("tools/verify_export.py"))
            .arg(&copy)
            .output()
            .unwrap();
        assert_eq!(
            out.status.code(),
            Some(1),
            "{name}: {}",
            String::from_utf8_lossy(&out.stdout)
        );
    }
    // entries.json: each NDJSON entry with its canonical bytes and hash, as docs/verifying.md
    // §2–3 define them, recomputed by the code.
    let proof: ProofFile =
        serde_json::from_slice(&std::fs::read(dir.join("export.ndjson.proof.json")).unwrap())
            .unwrap();
    let items: std::collections::BTreeMap<u64, _> =
        proof.proof.items.iter().map(|i| (i.seq, i)).collect();
    let mut vectors = Vec::new();
    for line in std::fs::read_to_string(dir.join("export.ndjson"))
        .unwrap()
        .lines()
    {
        let e: Entry = serde_json::from_str(line).unwrap();
        let c = commitments(&e, items[&e.seq]);
        let canonical = String::from_utf8(canonical_bytes(&e, &c)).unwrap();
        assert_eq!(entry_hash(&e, &c), e.hash, "seq {}", e.seq);
        let commitments: serde_json::Map<String, Value> =
            c.iter().map(|(k, v)| (k.clone(), json!(v.c))).collect();
        vectors.push(
            json!({"entry": serde_json::from_str::<Value>(line).unwrap(),
                            "commitments": commitments, "canonical": canonical, "hash": e.hash}),
        );
    }
    let entries_path = dir.join("entries.json");
    let made = serde_json::to_string_pretty(&Value::Array(vectors)).unwrap() + "\n";
    if std::env::var("TRAILSCOPE_WRITE_VECTORS").is_ok_and(|v| v == "1") {
        std::fs::write(&entries_path, &made).unwrap();
    }
    assert_eq!(
        std::fs::read_to_string(&entries_path).unwrap(),
        made,
        "entries.json is what the code makes of the NDJSON export"
    );
    // checkpoint.json: signed by the key, its size and root those of its note.
    let cp: trailscope::model::SignedCheckpoint =
        serde_json::from_slice(&std::fs::read(dir.join("checkpoint.json")).unwrap()).unwrap();
    let opened = vkey.open(&cp.checkpoint).unwrap();
    assert_eq!(opened.size, cp.size);
    assert_eq!(trailscope::proof::encode_hash(&opened.root), cp.root);
    assert!(opened.origin.starts_with("trailscope/"));
}
