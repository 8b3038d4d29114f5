//! config.example.toml is documentation that must keep parsing: its active keys and every
//! commented alternative in `[server]`.

use trailscope::config::{ConfigFile, DEFAULT_LISTEN};

const EXAMPLE: &str = include_str!("../../config.example.toml");

#[test]
fn the_example_parses_with_the_defaults_it_documents() {
    let c: ConfigFile =
        toml::from_str(EXAMPLE).unwrap_or_else(|e| panic!("config.example.toml: {e}"));
    assert_eq!(c.server.listen, Some(DEFAULT_LISTEN.parse().unwrap()));
    assert!(c.server.db.is_some());
    assert!(
        c.server.allow_from.is_empty() && c.server.ingest_allow_from.is_empty(),
        "the defaults let every address in"
    );
    for key in ["db", "listen", "allow_from", "ingest_allow_from"] {
        assert!(
            EXAMPLE.lines().any(|l| l.starts_with(&format!("{key} = "))),
            "`{key}` is not in the example"
        );
    }
    let r = &c.retention;
    assert_eq!(
        (
            r.default_days,
            r.floor_days,
            r.prune_at.as_str(),
            &r.archive_dir
        ),
        (395, 30, "03:00", &None),
        "[retention] shows the defaults"
    );
    // PostgreSQL's keys are documented (commented out: a file says `db` or `database_url`).
    let pg = EXAMPLE
        .replace("# database_url = ", "database_url = ")
        .replace("# pool_size = ", "pool_size = ")
        .replace("# partition = ", "partition = ");
    let c: ConfigFile = toml::from_str(&pg).unwrap();
    assert!(
        c.server
            .database_url
            .as_deref()
            .is_some_and(|u| u.starts_with("postgres://"))
    );
    assert_eq!(c.server.pool_size, Some(16));
    assert_eq!(
        c.server.partition,
        Some(trailscope::store::postgres::PartitionUnit::Month)
    );
    let with_archive = EXAMPLE.replace("# archive_dir = ", "archive_dir = ");
    let c: ConfigFile = toml::from_str(&with_archive).unwrap();
    assert!(c.retention.archive_dir.is_some());
    assert!(
        EXAMPLE.contains("\n# --- Terminal UI ---"),
        "the marker the client profiles go under"
    );
}

#[test]
fn every_commented_alternative_in_server_parses() {
    let server = EXAMPLE
        .split("[server]")
        .nth(1)
        .expect("a [server] section");
    // The section ends at the next table or at the terminal UI's part of the file.
    let server = server
        .split("\n[")
        .next()
        .unwrap()
        .split("# --- Terminal UI ---")
        .next()
        .unwrap();
    let mut checked = 0;
    for line in server.lines() {
        let Some(setting) = line.strip_prefix("# ") else {
            continue;
        };
        let Some((key, _)) = setting.split_once(" = ") else {
            continue;
        };
        if !key.chars().all(|c| c.is_ascii_lowercase() || c == '_') {
            continue;
        }
        let snippet = format!("[server]\n{setting}\n");
        toml::from_str::<ConfigFile>(&snippet).unwrap_or_else(|e| panic!("`{setting}`: {e}"));
        checked += 1;
    }
    assert!(checked >= 2, "only {checked} commented alternatives found");
    let typo = "[server]\nlisten_on = \"127.0.0.1:7807\"\n";
    assert!(
        toml::from_str::<ConfigFile>(typo).is_err(),
        "unknown keys must be rejected, as the example says"
    );
}

#[test]
fn the_documented_evidence_filters_are_the_defaults_and_parse() {
    let c: ConfigFile = toml::from_str(EXAMPLE).unwrap();
    let defaults = trailscope::export::evidence::PackKinds::default();
    assert_eq!(c.evidence.access_review, defaults.access_review);
    assert_eq!(c.evidence.change_management, defaults.change_management);
    assert_eq!(c.evidence.incident_response, defaults.incident_response);
    c.evidence.check().unwrap();
}
