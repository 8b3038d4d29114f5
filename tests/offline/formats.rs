//! Other systems' audit logs read as entries (docs/formats.md), from files written after each
//! format's public documentation, malformed records included: what each record maps to, that
//! a request's stages are one row, that nothing is dropped, that gzip reads the same.

use std::path::{Path, PathBuf};
use trailscope::import::{self, Detected, SourceFormat};
use trailscope::model::{ActorType, Entry, Kind, Outcome, format_ts};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/formats")
        .join(name)
}

/// Everything `open` would put in the file's store, and how the read ended.
fn read(name: &str) -> (Detected, Vec<Entry>, import::EntriesRead) {
    let input = import::input::open(&fixture(name)).unwrap();
    let what = import::detect(&input.head).unwrap();
    let mut all = Vec::new();
    let read = import::read_entries(input.reader, what, &mut |batch, _| {
        all.extend(batch);
        true
    })
    .unwrap();
    assert_eq!(read.entries, all.len() as u64);
    (what, all, read)
}

fn by_key<'a>(all: &'a [Entry], key: &str) -> &'a Entry {
    all.iter()
        .find(|e| e.idempotency_key.as_deref() == Some(key))
        .unwrap_or_else(|| panic!("no entry {key}"))
}

fn unmapped(all: &[Entry]) -> Vec<String> {
    all.iter()
        .filter(|e| e.action == "import.unmapped")
        .map(|e| e.description.clone().unwrap())
        .collect()
}

#[test]
fn a_kubernetes_request_is_one_row_across_its_stages() {
    let (what, all, read) = read("k8s-audit.log");
    assert_eq!(what, Detected::Source(SourceFormat::K8s));
    // 11 lines: one request in 2 stages, 6 other requests, 3 records that cannot be mapped.
    assert_eq!((read.entries, read.unmapped), (10, 3), "{all:#?}");
    assert!(read.error.is_none());

    let create = by_key(&all, "k8s:4d6a1f1e-6c7a-4b8e-9a51-2b1f0e3c9d01");
    assert_eq!(create.action, "pods.create");
    assert_eq!(create.kind, Kind::Created);
    assert_eq!(create.channel, "k8s");
    assert_eq!(create.outcome, Outcome::Success);
    assert_eq!(format_ts(&create.occurred_at), "2026-11-20T09:14:03.120Z");
    assert_eq!(create.actor.kind, ActorType::User);
    assert_eq!(create.actor.id.as_deref(), Some("alice@example.com"));
    assert_eq!(create.actor.email.as_deref(), Some("alice@example.com"));
    assert_eq!(create.actor.ip.as_deref(), Some("203.0.113.7"));
    let t = create.target.as_ref().unwrap();
    assert_eq!((t.kind.as_str(), t.id.as_str()), ("pods", "default/nginx"));
    // The record kept is the last stage: the response is in it.
    let d = create.details.as_ref().unwrap().to_value();
    assert_eq!(d["stage"], "ResponseComplete");
    assert_eq!(d["responseStatus"]["code"].to_string(), "201");
    assert_eq!(
        all.iter().filter(|e| e.id == create.id).count(),
        1,
        "one row per request"
    );

    let forbidden = by_key(&all, "k8s:9b0c2d3e-1111-4222-8333-444455556666");
    assert_eq!(forbidden.outcome, Outcome::Failure);
    assert_eq!(forbidden.kind, Kind::Read);
    assert_eq!(forbidden.actor.kind, ActorType::Service);
    assert!(
        forbidden
            .description
            .as_deref()
            .unwrap()
            .contains("403 Forbidden")
    );

    let patch = by_key(&all, "k8s:c3f1e2d4-aaaa-4bbb-8ccc-ddddeeeeffff");
    assert_eq!(patch.action, "deployments.patch");
    assert_eq!(patch.actor.id.as_deref(), Some("bob"));
    assert_eq!(patch.actor.name.as_deref(), Some("bob as system:admin"));
    assert_eq!(patch.actor.ip.as_deref(), Some("198.51.100.23"));
    assert_eq!(patch.target.as_ref().unwrap().kind, "deployments.apps");
    // The original record, numbers exactly as written.
    assert!(
        patch
            .details
            .as_ref()
            .unwrap()
            .as_str()
            .contains("\"replicas\":12345678901234567890")
    );

    let health = by_key(&all, "k8s:d0d0d0d0-0000-4000-8000-000000000001");
    assert_eq!(health.action, "nonresource.get");
    assert_eq!(health.actor.kind, ActorType::System);
    assert_eq!(health.target.as_ref().unwrap().id, "/healthz");

    let exec = by_key(&all, "k8s:e1e1e1e1-0000-4000-8000-000000000002");
    assert_eq!(exec.action, "pods/exec.create");

    let open = by_key(&all, "k8s:a7a7a7a7-0000-4000-8000-000000000004");
    assert_eq!(open.target.as_ref().unwrap().id, "default/*");
    assert!(
        open.description
            .as_deref()
            .unwrap()
            .contains("no response recorded")
    );

    let panic = by_key(&all, "k8s:b8b8b8b8-0000-4000-8000-000000000005");
    assert_eq!(panic.outcome, Outcome::Failure);
    assert_eq!(panic.kind, Kind::Deleted);

    let bad = unmapped(&all);
    assert!(
        bad.iter().any(|d| d.starts_with("line 5: not JSON")),
        "{bad:?}"
    );
    assert!(
        bad.iter().any(|d| d == "line 8: `verb` is missing"),
        "{bad:?}"
    );
    assert!(
        bad.iter().any(|d| d.starts_with("line 11: not JSON")),
        "{bad:?}"
    );
    for e in all.iter().filter(|e| e.action == "import.unmapped") {
        assert_eq!(e.outcome, Outcome::Failure);
        let d = e.details.as_ref().unwrap().to_value();
        assert_eq!(d["format"], "k8s");
        assert!(d["text"].as_str().is_some(), "the record's text is kept");
    }
}

#[test]
fn gzip_reads_the_same_entries() {
    let (_, plain, _) = read("k8s-audit.log");
    let (what, gz, read) = read("k8s-audit.log.gz");
    assert_eq!(what, Detected::Source(SourceFormat::K8s));
    assert_eq!(read.unmapped, 3);
    let strip = |v: Vec<Entry>| {
        v.into_iter()
            .filter(|e| e.action != "import.unmapped")
            .collect::<Vec<_>>()
    };
    assert_eq!(strip(plain), strip(gz));
}

#[test]
fn a_cloudtrail_log_file_maps_logins_failures_and_services() {
    let (what, all, read) = read("cloudtrail.json");
    assert_eq!(what, Detected::Source(SourceFormat::CloudTrail));
    assert_eq!((read.entries, read.unmapped), (6, 1), "{all:#?}");

    let login = by_key(&all, "cloudtrail:3fcfb586-bd9b-4d7c-9d1c-0a6b1a2f0001");
    assert_eq!(login.action, "signin:ConsoleLogin");
    assert_eq!(login.channel, "auth");
    assert_eq!(login.outcome, Outcome::Success);
    assert_eq!(
        login.actor.id.as_deref(),
        Some("arn:aws:iam::123456789012:user/Alice")
    );
    assert_eq!(login.actor.name.as_deref(), Some("Alice"));
    assert_eq!(login.actor.ip.as_deref(), Some("203.0.113.7"));

    let failed = by_key(&all, "cloudtrail:3fcfb586-bd9b-4d7c-9d1c-0a6b1a2f0002");
    assert_eq!(
        (failed.channel.as_str(), failed.outcome),
        ("auth", Outcome::Failure)
    );

    let create = by_key(&all, "cloudtrail:3fcfb586-bd9b-4d7c-9d1c-0a6b1a2f0003");
    assert_eq!(create.action, "iam:CreateUser");
    assert_eq!(create.kind, Kind::Created);
    assert_eq!(create.actor.name.as_deref(), Some("Admin"));
    let t = create.target.as_ref().unwrap();
    assert_eq!((t.kind.as_str(), t.id.as_str()), ("AWS::IAM::User", "Bob"));

    let denied = by_key(&all, "cloudtrail:3fcfb586-bd9b-4d7c-9d1c-0a6b1a2f0004");
    assert_eq!(denied.outcome, Outcome::Failure);
    assert_eq!(denied.kind, Kind::Deleted);
    assert_eq!(
        denied.target.as_ref().unwrap().id,
        "arn:aws:s3:::audit-archive"
    );
    assert!(
        denied
            .description
            .as_deref()
            .unwrap()
            .contains("AccessDenied")
    );

    let service = by_key(&all, "cloudtrail:3fcfb586-bd9b-4d7c-9d1c-0a6b1a2f0005");
    assert_eq!(service.actor.kind, ActorType::Service);
    assert_eq!(service.kind, Kind::Read);

    assert_eq!(
        unmapped(&all),
        vec!["line 96: `eventTime` is missing".to_string()]
    );
}

#[test]
fn cloudtrail_one_record_a_line_keeps_going_past_a_broken_line() {
    let (what, all, read) = read("cloudtrail-lines.ndjson");
    assert_eq!(what, Detected::Source(SourceFormat::CloudTrail));
    assert_eq!((read.entries, read.unmapped), (4, 1));
    let root = by_key(&all, "cloudtrail:7a7a7a7a-0000-4000-8000-000000000001");
    assert_eq!(
        root.actor.id.as_deref(),
        Some("arn:aws:iam::123456789012:root")
    );
    let kms = by_key(&all, "cloudtrail:7a7a7a7a-0000-4000-8000-000000000003");
    assert_eq!(kms.target.as_ref().unwrap().kind, "AWS::KMS::Key");
    assert!(unmapped(&all)[0].starts_with("line 3: not JSON"));
}

#[test]
fn a_github_json_export_maps_targets_bots_and_millisecond_times() {
    let (what, all, read) = read("github-audit.json");
    assert_eq!(what, Detected::Source(SourceFormat::GitHub));
    assert_eq!((read.entries, read.unmapped), (6, 2), "{all:#?}");
    let create = by_key(&all, "github:Xk1bWQ9yQ0aL1vH2b3c4dA");
    assert_eq!(create.action, "repo.create");
    assert_eq!(create.kind, Kind::Created);
    assert_eq!(create.channel, "github");
    assert_eq!(format_ts(&create.occurred_at), "2025-11-20T09:00:00.000Z");
    assert_eq!(create.actor.id.as_deref(), Some("octocat"));
    assert_eq!(create.actor.ip.as_deref(), Some("203.0.113.7"));
    let t = create.target.as_ref().unwrap();
    assert_eq!(
        (t.kind.as_str(), t.id.as_str()),
        ("repo", "acme-corp/payments")
    );
    let member = by_key(&all, "github:Yl2cXR0zR1bM2wI3c4d5eB");
    assert_eq!(member.target.as_ref().unwrap().kind, "user");
    let bot = by_key(&all, "github:Zm3dYS1aS2cN3xJ4d5e6fC");
    assert_eq!(bot.actor.kind, ActorType::Service);
    assert_eq!(bot.kind, Kind::Deleted);
    let bad = unmapped(&all);
    assert!(
        bad.iter().any(|d| d.ends_with("`action` is missing")),
        "{bad:?}"
    );
    assert!(
        bad.iter()
            .any(|d| d.ends_with("`@timestamp` is not a time in milliseconds")),
        "{bad:?}"
    );
}

#[test]
fn a_github_csv_export_keeps_each_row_as_its_details() {
    let (what, all, read) = read("github-audit.csv");
    assert_eq!(what, Detected::Source(SourceFormat::GitHub));
    assert_eq!((read.entries, read.unmapped), (4, 1), "{all:#?}");
    let create = by_key(&all, "github:Xk1bWQ9yQ0aL1vH2b3c4dA");
    assert_eq!(format_ts(&create.occurred_at), "2025-11-20T09:00:00.000Z");
    let d = create.details.as_ref().unwrap().to_value();
    assert_eq!(d["actor_location.country_code"], "DE");
    // A cell a spreadsheet would run stays text.
    let odd = by_key(&all, "github:Dq7hCW5eW6gR7bN8h9i0jG");
    assert_eq!(odd.actor.id.as_deref(), Some("=cmd|' /C calc'!A0"));
    assert_eq!(
        unmapped(&all),
        vec!["line 5: the row has 7 fields, the header 11".to_string()]
    );
}

/// The binary in a terminal: a gzip-compressed Kubernetes log opens with its requests as rows,
/// the footer says how many records could not be mapped, and the unmapped line's text is in
/// its detail pane.
#[test]
fn open_shows_a_compressed_kubernetes_log_and_what_could_not_be_mapped() {
    let dir = tempfile::tempdir().unwrap();
    let file = fixture("k8s-audit.log.gz");
    let tmux =
        crate::common::tmux::Tmux::start(dir.path(), &format!("open {}", file.display()), "");
    let screen = tmux.wait(30, "the file's rows and warning", |s| {
        s.contains("pods.create") && s.contains("3 of 10 records could not be mapped")
    });
    assert!(screen.contains("bob as system:admin"), "{screen}");
    assert!(screen.contains("file k8s-audit.log.gz"), "{screen}");
    // The newest row is the truncated last line; Enter opens it.
    tmux.keys(&["Enter"]);
    tmux.wait(10, "the unmapped record's text", |s| {
        s.contains("line 11: not JSON") && s.contains("\"text\": \"{\\\"kind\\\":\\\"Event")
    });
    tmux.keys(&["Escape", "q"]);
    tmux.wait(10, "a clean exit", |s| s.contains("EXIT=0"));
}

/// `open --format` names the format when detection cannot, and a file that is none of them is
/// refused in one sentence that says what can be read.
#[test]
fn open_refuses_an_unknown_file_naming_what_it_reads() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("notes.csv");
    std::fs::write(&f, "when,who\n1,2\n").unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_trailscope"))
        .args(["open", f.to_str().unwrap()])
        .env("TRAILSCOPE_CONFIG", dir.path().join("config.toml"))
        .env("XDG_STATE_HOME", dir.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.contains("Kubernetes audit log") && err.contains("--format"),
        "{err}"
    );
}
