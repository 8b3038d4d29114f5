//! `trailscope open FILE` (issue 5): the server's own exports in each format read back into the
//! same entries; a truncated file and a corrupt record stop with their line or byte offset and
//! keep what came before; re-export from the file's store; the binary's errors are one sentence.

use crate::common;

use common::TestServer;
use serde_json::json;
use std::path::{Path, PathBuf};
use std::process::Command;
use trailscope::client::Client;
use trailscope::client::source::Source;
use trailscope::export::Format;
use trailscope::export::read::{self as load, FileFormat, LoadError};
use trailscope::model::{Entry, Query};
use trailscope::store::sqlite::{Durability, LocalStore};

const ACTIONS: [&str; 3] = ["user.login", "ticket.updated", "role.granted"];
const CHANNELS: [&str; 2] = ["auth", "admin"];

/// A trail with the awkward bits: quotes, commas, newlines, formulas, Unicode, bidi, details.
fn events(n: usize) -> Vec<serde_json::Value> {
    (0..n)
        .map(|i| {
            let desc = match i % 6 {
                0 => "=SUM(A1:A9) looks like a formula".to_string(),
                1 => "a \"quoted\", comma, and\nnewline".to_string(),
                2 => "Zürich \u{202e}reversed\u{202c} ünïcödé".to_string(),
                3 => "-1 starts with a minus".to_string(),
                _ => format!("routine change {i}"),
            };
            let mut e = json!({
                "occurred_at": trailscope::model::format_ts(&(chrono::Utc::now() - chrono::Duration::minutes(i as i64))),
                "action": ACTIONS[i % 3],
                "channel": CHANNELS[i % 2],
                "outcome": if i % 4 == 0 { "failure" } else { "success" },
                "description": desc,
                "actor": {"type": "user", "id": format!("u_{}", i % 5), "name": format!("User {}", i % 5), "email": format!("u{}@example.com", i % 5), "ip": "10.0.0.1"},
            });
            if i % 2 == 0 {
                e["target"] = json!({"type": "ticket", "id": format!("T-{i}"), "name": "@mention"});
                e["details"] = json!({"before": {"n": i}, "after": {"n": i + 1, "s": "x,y\n\"z\""}});
            }
            e
        })
        .collect()
}

struct Fixture {
    server: TestServer,
    dir: tempfile::TempDir,
    /// The server's entries, oldest first (the exports' order).
    entries: Vec<Entry>,
}

impl Fixture {
    fn path(&self, format: Format) -> PathBuf {
        self.dir.path().join(format!("export.{}", format.as_str()))
    }
}

async fn fixture(n: usize) -> Fixture {
    let server = TestServer::start().await;
    for batch in events(n).chunks(1000) {
        let (status, body) = server.post(&server.writer, json!(batch)).await;
        assert_eq!(status, 201, "{body}");
    }
    let client = Client::new(&server.url, &server.auditor).unwrap();
    let dir = tempfile::tempdir().unwrap();
    for format in [Format::Csv, Format::Json, Format::Ndjson] {
        let mut bytes = Vec::new();
        let mut sink = |c: &[u8]| {
            bytes.extend_from_slice(c);
            Ok(())
        };
        client
            .export(&Query::default(), format, false, &mut sink)
            .await
            .unwrap();
        std::fs::write(
            dir.path().join(format!("export.{}", format.as_str())),
            bytes,
        )
        .unwrap();
    }
    let mut entries = Vec::new();
    server
        .store
        .scan(
            "acme",
            &Query::default(),
            trailscope::model::Order::Asc,
            chrono::Utc::now(),
            &mut |e| {
                entries.push(e);
                true
            },
        )
        .await
        .unwrap();
    Fixture {
        server,
        dir,
        entries,
    }
}

fn read(path: &Path) -> (FileFormat, Vec<Entry>, Option<LoadError>) {
    let head: Vec<u8> = std::fs::read(path)
        .unwrap()
        .into_iter()
        .take(4096)
        .collect();
    let format = load::detect(&head).unwrap();
    let mut got = Vec::new();
    let loaded = load::read_file(path, format, &mut |batch, _| {
        got.extend(batch);
        true
    })
    .unwrap();
    assert_eq!(loaded.entries as usize, got.len());
    (format, got, loaded.error)
}

/// What a CSV export keeps of an entry (it has no tenant, previous hash, user agent or key).
fn as_csv_keeps(e: &Entry) -> Entry {
    let mut e = e.clone();
    e.tenant = "default".into();
    e.prev_hash = String::new();
    e.actor.user_agent = None;
    e.idempotency_key = None;
    e
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_export_format_reads_back_into_the_servers_entries() {
    let f = fixture(1200).await;
    // Each export is logged as the newest entry, so a later file also holds the earlier
    // exports' records: each file is the oldest-first prefix of the log as it then was.
    for (format, want) in [
        (Format::Csv, FileFormat::Csv),
        (Format::Json, FileFormat::Json),
        (Format::Ndjson, FileFormat::Ndjson),
    ] {
        let (detected, got, error) = read(&f.path(format));
        assert_eq!((detected, error), (want, None));
        assert!(got.len() >= 1200, "{format:?}: {}", got.len());
        for (g, e) in got.iter().zip(&f.entries) {
            let e = if format == Format::Csv {
                as_csv_keeps(e)
            } else {
                e.clone()
            };
            assert_eq!(g, &e, "{format:?}");
        }
    }
    f.server.stop().await;
}

/// Keeps the first `keep` bytes of a file.
fn truncated(src: &Path, dst: &Path, keep: usize) {
    let bytes = std::fs::read(src).unwrap();
    std::fs::write(dst, &bytes[..keep]).unwrap();
}

/// The byte offset where 1-based line `n` starts.
fn line_start(bytes: &[u8], n: usize) -> usize {
    if n == 1 {
        return 0;
    }
    bytes
        .iter()
        .enumerate()
        .filter(|(_, b)| **b == b'\n')
        .nth(n - 2)
        .unwrap()
        .0
        + 1
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_truncated_file_keeps_what_came_before_and_says_where_it_ends() {
    let f = fixture(300).await;
    let dir = f.dir.path();
    // NDJSON cut in the middle of line 200.
    let src = std::fs::read(f.path(Format::Ndjson)).unwrap();
    let at = line_start(&src, 200);
    truncated(&f.path(Format::Ndjson), &dir.join("cut.ndjson"), at + 40);
    let (_, got, error) = read(&dir.join("cut.ndjson"));
    assert_eq!(got.len(), 199);
    let e = error.expect("an error");
    assert_eq!((e.line, e.byte), (Some(200), at as u64));
    assert!(e.to_string().starts_with("line 200 (byte "), "{e}");
    assert!(e.message.contains("truncated"), "{e}");

    // JSON (one line) cut inside an entry: the byte offset where that entry starts.
    let src = std::fs::read(f.path(Format::Json)).unwrap();
    let cut = src.len() * 2 / 3;
    truncated(&f.path(Format::Json), &dir.join("cut.json"), cut);
    let (_, got, error) = read(&dir.join("cut.json"));
    let e = error.expect("an error");
    assert_eq!(e.line, None);
    assert!(
        e.byte as usize <= cut && got.len() > 150,
        "{e} after {}",
        got.len()
    );
    assert!(
        e.message.contains("truncated") && e.message.contains(&format!("entry {}", got.len() + 1)),
        "{e}"
    );
    assert!(got[..] == f.entries[..got.len()]);
    // The entry named starts exactly where the error says.
    assert_eq!(src[e.byte as usize], b'{');

    // CSV cut in the middle of a row.
    let src = std::fs::read(f.path(Format::Csv)).unwrap();
    let last_row = src[..src.len() - 2]
        .iter()
        .rposition(|b| *b == b'\n')
        .unwrap()
        + 1;
    truncated(&f.path(Format::Csv), &dir.join("cut.csv"), last_row + 40);
    let (_, got, error) = read(&dir.join("cut.csv"));
    let e = error.expect("an error");
    assert_eq!(got.len(), 299);
    assert!(e.line.is_some() && e.message.contains("fields"), "{e}");
    f.server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_corrupt_record_stops_the_read_at_its_line() {
    let f = fixture(50).await;
    let dir = f.dir.path();
    let src = String::from_utf8(std::fs::read(f.path(Format::Ndjson)).unwrap()).unwrap();
    let mut lines: Vec<&str> = src.lines().collect();
    lines[6] = "{\"id\": \"oops\", this is not json";
    std::fs::write(dir.join("bad.ndjson"), lines.join("\n") + "\n").unwrap();
    let (_, got, error) = read(&dir.join("bad.ndjson"));
    assert_eq!(got.len(), 6);
    let e = error.unwrap();
    let at = line_start(src.as_bytes(), 7) as u64;
    assert_eq!((e.line, e.byte), (Some(7), at));
    assert!(e.message.contains("not a trailscope entry"), "{e}");

    // A well-formed JSON line that is not an entry is caught too.
    lines[6] = "{\"hello\": \"world\"}";
    std::fs::write(dir.join("other.ndjson"), lines.join("\n") + "\n").unwrap();
    let (_, got, error) = read(&dir.join("other.ndjson"));
    assert_eq!((got.len(), error.unwrap().line), (6, Some(7)));

    // CSV: a row whose seq is not a number.
    let csv = String::from_utf8(std::fs::read(f.path(Format::Csv)).unwrap()).unwrap();
    let bad = csv.replacen(&format!(",{},", f.entries[3].seq), ",four,", 1);
    assert_ne!(bad, csv);
    std::fs::write(dir.join("bad.csv"), bad).unwrap();
    let (_, got, error) = read(&dir.join("bad.csv"));
    let e = error.unwrap();
    assert_eq!(got.len(), 3);
    assert!(e.message.contains("seq"), "{e}");

    // JSON: an entry with an unknown kind.
    let json = String::from_utf8(std::fs::read(f.path(Format::Json)).unwrap()).unwrap();
    let i = json.match_indices("\"kind\":\"").nth(10).unwrap().0;
    let bad = format!("{}\"kind\":\"bogus{}", &json[..i], &json[i + 8..]);
    std::fs::write(dir.join("bad.json"), bad).unwrap();
    let (_, got, error) = read(&dir.join("bad.json"));
    let e = error.unwrap();
    assert_eq!(got.len(), 10);
    assert!(e.message.contains("entry 11"), "{e}");
    f.server.stop().await;
}

#[test]
fn detection_refuses_what_is_not_an_export() {
    for (text, ok) in [
        (
            &b"\xEF\xBB\xBFid,seq,occurred_at"[..],
            Some(FileFormat::Csv),
        ),
        (b"  {\"exported_at\":\"2026\"", Some(FileFormat::Json)),
        (b"{\"id\":\"01\",\"seq\":1}", Some(FileFormat::Ndjson)),
        (b"hello, world", None),
        (b"", None),
        (b"\x00\x01\x02binary", None),
    ] {
        assert_eq!(
            load::detect(text).ok(),
            ok,
            "{:?}",
            String::from_utf8_lossy(text)
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_files_store_filters_and_re_exports() {
    let f = fixture(400).await;
    let dir = tempfile::tempdir().unwrap();
    let store = std::sync::Arc::new(
        LocalStore::open(dir.path().join("review.db"), Durability::Scratch).unwrap(),
    );
    let (_, got, _) = read(&f.path(Format::Ndjson));
    store.insert(&got).unwrap();
    let source = Source::file(store);
    // Any filter the server takes works on the file, with the same answer.
    for filter in [
        "channel:auth outcome:failure",
        "action:role.*",
        "q:Zürich",
        "actor:u_3 target:ticket/T-10",
    ] {
        let q: Query = filter.parse().unwrap();
        let here = source.stats(&q, 10).await.unwrap().total;
        let there = f
            .server
            .store
            .stats("acme", &q, 10, chrono::Utc::now())
            .await
            .unwrap()
            .total;
        assert_eq!(here, there, "{filter}");
        assert!(
            here > 0 || filter.contains("T-10"),
            "{filter} found nothing"
        );
    }
    // Re-export from the file writes the same entries with the shared writers.
    let mut out = Vec::new();
    let mut sink = |c: &[u8]| {
        out.extend_from_slice(c);
        Ok(())
    };
    source
        .export(&Query::default(), Format::Ndjson, false, &mut sink)
        .await
        .unwrap();
    let again: Vec<Entry> = String::from_utf8(out)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert!(again == got, "the re-export differs");
    f.server.stop().await;
}

fn run(args: &[&str], home: &Path) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_trailscope"))
        .args(args)
        .env("TRAILSCOPE_CONFIG", home.join("config.toml"))
        .env("XDG_CACHE_HOME", home)
        .env("XDG_STATE_HOME", home)
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn open_refuses_a_file_it_cannot_show_in_one_sentence() {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path();
    std::fs::write(home.join("notes.txt"), "hello, world\n").unwrap();
    std::fs::write(home.join("bad.ndjson"), "{\"id\": 1, broken\n").unwrap();
    std::fs::write(home.join("empty.ndjson"), "\n\n").unwrap();
    for (file, says) in [
        ("notes.txt", "not a trailscope export"),
        ("missing.ndjson", "cannot read"),
        ("bad.ndjson", "line 1 (byte 0): not a trailscope entry"),
        ("empty.ndjson", "empty"),
    ] {
        let path = home.join(file);
        let (code, _, err) = run(&["open", path.to_str().unwrap()], home);
        assert_eq!(code, 1, "{file}: {err}");
        assert!(
            err.contains(says) && err.lines().count() == 1,
            "{file}: {err}"
        );
        assert!(!err.contains("panicked"), "{err}");
    }
}
