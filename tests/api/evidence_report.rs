//! `report.pdf` in an evidence pack, read the way an auditor's tools read it: text extracted
//! with poppler's `pdftotext`, pages rendered with `pdftoppm` (poppler-utils; `.ci/run`
//! installs it).

use crate::common;
use common::TestServer;
use serde_json::{Value, json};
use std::io::Read;
use std::path::Path;
use std::process::Command;

/// 130 sign-ins (every third failing) and some hostile text, all about incident INC-7.
fn trail() -> Value {
    let mut events: Vec<Value> = (0..130)
        .map(|i| {
            json!({
                "action": if i % 3 == 0 { "user.login_failed" } else { "user.login" },
                "channel": "auth",
                "outcome": if i % 3 == 0 { "failure" } else { "success" },
                "occurred_at": format!("2026-10-01T{:02}:{:02}:00Z", 8 + i / 60, i % 60),
                "actor": {"type": "user", "id": format!("u_{}", i % 4), "name": format!("Person {}", i % 4)},
                "target": {"type": "incident", "id": "INC-7"},
                "description": format!("row {i:03} of the trail"),
            })
        })
        .collect();
    events[64]["description"] = json!("evil \u{1b}[2J\u{1b}]8;;http://x\u{7}click\u{202e}exe Zoë");
    Value::Array(events)
}

async fn pdf_of(s: &TestServer, body: &Value) -> Vec<u8> {
    let r = s
        .http
        .post(format!("{}/v1/evidence-packs", s.url))
        .bearer_auth(&s.auditor)
        .json(body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let bytes = r.bytes().await.unwrap();
    let mut zip = zip::ZipArchive::new(std::io::Cursor::new(bytes)).unwrap();
    let mut pdf = Vec::new();
    zip.by_name("report.pdf")
        .unwrap()
        .read_to_end(&mut pdf)
        .unwrap();
    pdf
}

fn run(dir: &Path, program: &str, args: &[&str]) -> std::process::Output {
    let out = Command::new(program)
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap_or_else(|e| panic!("{program} could not run ({e}); install poppler-utils"));
    assert!(
        out.status.success(),
        "{program}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

#[tokio::test(flavor = "multi_thread")]
async fn the_report_reads_right_renders_and_is_byte_identical() {
    let s = TestServer::start().await;
    assert_eq!(s.post(&s.writer, trail()).await.0, 201);
    let body = json!({"kind": "custom", "title": "INC-7 sign-in storm", "filter": "target:incident/INC-7"});
    let pdf = pdf_of(&s, &body).await;
    let dir = s.dir.path();
    std::fs::write(dir.join("report.pdf"), &pdf).unwrap();

    // Every page is a page poppler can draw: one summary page and three of the table.
    run(dir, "pdftoppm", &["-png", "-r", "40", "report.pdf", "page"]);
    let mut pngs: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n.starts_with("page") && n.ends_with(".png"))
        .collect();
    pngs.sort();
    assert_eq!(
        pngs,
        ["page-1.png", "page-2.png", "page-3.png", "page-4.png"]
    );
    for p in &pngs {
        assert!(std::fs::read(dir.join(p)).unwrap().starts_with(b"\x89PNG"));
    }

    let text =
        String::from_utf8(run(dir, "pdftotext", &["-layout", "report.pdf", "-"]).stdout).unwrap();
    let pages: Vec<&str> = text
        .split('\u{c}')
        .filter(|p| !p.trim().is_empty())
        .collect();
    assert_eq!(pages.len(), 4, "{text}");
    // The summary: title, period, the filter as written and in words, the counts, how to verify.
    let summary = pages[0];
    for needle in [
        "INC-7 sign-in storm",
        "2026-10-01T08:00:00.000Z to 2026-10-01T10:09:00.000Z (UTC)",
        "target:incident/INC-7",
        "target is incident/INC-7",
        "130 entries, oldest first, on pages 2 to 4",
        "trailscope verify-pack evidence-custom-INC-7-sign-in-storm-2026-10-01-2026-10-01.zip",
        "Chain head",
    ] {
        assert!(summary.contains(needle), "{needle:?} not in\n{summary}");
    }
    // The checkpoint the pack's proof.json proves the entries against, its verifier key, and
    // the command with that key: all an outsider needs (issue 23).
    let (_, cp) = s.get(&s.auditor, "/v1/checkpoint").await;
    let vkey = s.key.verifier_for("acme").to_string();
    assert_eq!(cp["verifier_key"], vkey.as_str());
    let covering: Value = {
        let r = s
            .http
            .post(format!("{}/v1/evidence-packs", s.url))
            .bearer_auth(&s.auditor)
            .json(&body)
            .send()
            .await
            .unwrap();
        let mut zip = zip::ZipArchive::new(std::io::Cursor::new(r.bytes().await.unwrap())).unwrap();
        let mut text = String::new();
        zip.by_name("proof.json")
            .unwrap()
            .read_to_string(&mut text)
            .unwrap();
        serde_json::from_str::<Value>(&text).unwrap()["checkpoint"].clone()
    };
    let flat: String = summary.split_whitespace().collect::<Vec<_>>().join(" ");
    for needle in [
        format!(
            "size {} (the log's first {} entries), root {}",
            covering["size"],
            covering["size"],
            covering["root"].as_str().unwrap()
        ),
        format!("Verifier key {vkey}"),
        format!(
            "trailscope verify-pack evidence-custom-INC-7-sign-in-storm-2026-10-01-2026-10-01.zip \\ --key {vkey}"
        ),
    ] {
        assert!(flat.contains(&needle), "{needle:?} not in\n{summary}");
    }
    // The number after a label in the count columns.
    let count_of = |label: &str| -> String {
        summary
            .lines()
            .find_map(|l| l.find(label).map(|at| &l[at + label.len()..]))
            .and_then(|rest| rest.split_whitespace().next())
            .unwrap_or_else(|| panic!("no count for {label} in\n{summary}"))
            .to_string()
    };
    // By action, actor and outcome: 44 failures (every third of 130), 86 successes.
    assert_eq!(count_of("user.login_failed"), "44");
    assert_eq!(count_of("user.login "), "86");
    assert_eq!(count_of("failure"), "44");
    assert_eq!(count_of("success"), "86");
    assert_eq!(count_of("Person 0 (u_0)"), "33");
    // Every page numbered; the table's first and last rows are the trail's first and last.
    for (i, page) in pages.iter().enumerate() {
        assert!(
            page.contains(&format!("Page {} of 4", i + 1)),
            "page {}",
            i + 1
        );
    }
    let first_row = pages[1]
        .lines()
        .find(|l| l.contains("row 000"))
        .expect("first row");
    assert!(
        first_row.contains("2026-10-01 08:00:00") && first_row.contains("user.login_failed"),
        "{first_row}"
    );
    assert!(first_row.trim_start().starts_with('1'), "{first_row}");
    let last_row = pages[3]
        .lines()
        .find(|l| l.contains("row 129"))
        .expect("last row");
    assert!(
        last_row.contains("2026-10-01 10:09:00") && last_row.contains("Person 1 (u_1)"),
        "{last_row}"
    );
    // 54 rows a page: rows 0-53, 54-107, 108-129.
    assert!(pages[2].contains("row 054") && pages[2].contains("row 107"));
    // Hostile text is shown, inert: no control character reaches the text, escapes are visible.
    assert!(
        !text
            .chars()
            .any(|c| c.is_control() && c != '\n' && c != '\u{c}'),
        "{text:?}"
    );
    assert!(!text.contains('\u{202e}'));
    assert!(
        text.contains("evil \\x1b[2J\\x1b]8;;http://x\\x07click\\u{202e}exe Zoë"),
        "{text}"
    );
    // Nothing a viewer could run.
    for word in [
        "/JavaScript",
        "/JS",
        "/Launch",
        "/URI",
        "/OpenAction",
        "/AA",
    ] {
        assert!(
            !pdf.windows(word.len()).any(|w| w == word.as_bytes()),
            "{word}"
        );
    }

    // The same data, asked for again (its own audit entry now in the log): the same bytes.
    assert_eq!(pdf_of(&s, &body).await, pdf);
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn every_filter_term_is_said_in_words_and_one_entry_is_one_entry() {
    let s = TestServer::start().await;
    let events = json!([
        {"action": "user.login", "actor": {"type": "user", "id": "u_1", "ip": "203.0.113.7"}},
        {"action": "user.login", "actor": {"type": "user", "id": "u_2", "ip": "198.51.100.9"}},
    ]);
    assert_eq!(s.post(&s.writer, events).await.0, 201);
    let pdf = pdf_of(
        &s,
        &json!({"kind": "custom", "title": "one address", "filter": "ip:203.0.113.7 -outcome:failure"}),
    )
    .await;
    std::fs::write(s.dir.path().join("ip.pdf"), &pdf).unwrap();
    let text =
        String::from_utf8(run(s.dir.path(), "pdftotext", &["-layout", "ip.pdf", "-"]).stdout)
            .unwrap();
    let flat: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(
        flat.contains("In words actor's IP is 203.0.113.7; outcome is not failure"),
        "{text}"
    );
    assert!(!flat.contains("In words every entry"), "{text}");
    assert!(flat.contains("1 entry, oldest first"), "{text}");
    assert!(!flat.contains("1 entries"), "{text}");
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn an_empty_pack_has_a_report_that_says_so() {
    let s = TestServer::start().await;
    let pdf = pdf_of(
        &s,
        &json!({"kind": "access_review", "from": "2026-10-01", "to": "2026-10-31"}),
    )
    .await;
    std::fs::write(s.dir.path().join("empty.pdf"), &pdf).unwrap();
    let text =
        String::from_utf8(run(s.dir.path(), "pdftotext", &["-layout", "empty.pdf", "-"]).stdout)
            .unwrap();
    assert!(text.contains("Access review"), "{text}");
    assert!(text.contains("0 entries"), "{text}");
    assert!(text.contains("No entries match"), "{text}");
    assert!(text.contains("Page 2 of 2"), "{text}");
    s.stop().await;
}
