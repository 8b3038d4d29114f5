//! The TUI's part of config.example.toml parses, and profiles, keys and saved views work.

use std::collections::BTreeMap;
use trailscope::config::{ConfigFile, Profile, save_view};
use trailscope::tui::keymap::{Command, Keymap, parse_key};

const EXAMPLE: &str = include_str!("../../config.example.toml");

#[test]
fn the_tui_part_of_the_example_parses_with_its_alternatives() {
    let c: ConfigFile = toml::from_str(EXAMPLE).unwrap();
    assert_eq!(
        c.profiles["prod"].server.as_deref(),
        Some("https://audit.example.com")
    );
    assert!(c.profiles["prod"].token_cmd.is_some());
    assert_eq!(
        c.views["failed sign-ins"],
        "channel:auth outcome:failure since:7d"
    );
    for f in c.views.values() {
        f.parse::<trailscope::model::Query>().unwrap();
    }
    let tui = EXAMPLE.split("# --- Terminal UI ---").nth(1).unwrap();
    // Every commented `# key = value` of the TUI part parses in its section.
    let mut section = String::new();
    let mut checked = 0;
    for line in tui.lines() {
        if line.starts_with('[') {
            section = line.to_string();
            continue;
        }
        let Some(setting) = line.strip_prefix("# ") else {
            continue;
        };
        let Some((key, _)) = setting.split_once(" = ") else {
            continue;
        };
        if !key
            .trim_matches('"')
            .chars()
            .all(|c| c.is_ascii_lowercase() || c == '_' || c == ' ')
        {
            continue;
        }
        let snippet = format!("{section}\n{setting}\n");
        let c: ConfigFile = toml::from_str(&snippet).unwrap_or_else(|e| panic!("`{setting}`: {e}"));
        let keys: BTreeMap<String, Vec<String>> = c
            .keys
            .iter()
            .map(|(k, v)| (k.clone(), v.to_vec()))
            .collect();
        Keymap::with_overrides(&keys).unwrap_or_else(|e| panic!("`{setting}`: {e}"));
        checked += 1;
    }
    assert!(checked >= 6, "only {checked} commented alternatives");
}

#[test]
fn keys_from_the_config_rebind_commands() {
    let c: ConfigFile = toml::from_str("[keys]\nquit = [\"ctrl-q\"]\ndetails = \"o\"\n").unwrap();
    let keys: BTreeMap<String, Vec<String>> = c
        .keys
        .iter()
        .map(|(k, v)| (k.clone(), v.to_vec()))
        .collect();
    let m = Keymap::with_overrides(&keys).unwrap();
    assert_eq!(m.lookup(parse_key("ctrl-q").unwrap()), Some(Command::Quit));
    assert_eq!(m.lookup(parse_key("q").unwrap()), None);
    assert_eq!(m.lookup(parse_key("o").unwrap()), Some(Command::Details));
    let bad: BTreeMap<String, Vec<String>> =
        [("quit".to_string(), vec!["hyper-q".to_string()])].into();
    assert!(
        Keymap::with_overrides(&bad)
            .unwrap_err()
            .to_string()
            .contains("hyper-q")
    );
}

#[test]
fn tokens_come_from_a_file_or_a_command() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("t");
    std::fs::write(&file, "secret-from-file\n").unwrap();
    let p = Profile {
        token_file: Some(file),
        ..Profile::default()
    };
    assert_eq!(
        p.resolve_token().unwrap().as_deref(),
        Some("secret-from-file")
    );
    let p = Profile {
        token_cmd: Some("echo secret-from-cmd".into()),
        ..Profile::default()
    };
    assert_eq!(
        p.resolve_token().unwrap().as_deref(),
        Some("secret-from-cmd")
    );
    let p = Profile {
        token_cmd: Some("exit 3".into()),
        ..Profile::default()
    };
    assert!(p.resolve_token().is_err());
}

#[test]
fn saving_a_view_keeps_the_rest_of_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("sub").join("config.toml");
    save_view(&path, "first", "kind:deleted").unwrap();
    std::fs::write(
        &path,
        format!(
            "default_profile = \"p\"\n{}\n[profiles.p]\nserver = \"http://x\"\n",
            std::fs::read_to_string(&path).unwrap()
        ),
    )
    .unwrap();
    save_view(&path, "second", "channel:auth since:2d").unwrap();
    let c = ConfigFile::load(&path).unwrap();
    assert_eq!(c.default_profile.as_deref(), Some("p"));
    assert_eq!(c.profiles["p"].server.as_deref(), Some("http://x"));
    assert_eq!(c.views.len(), 2);
    assert_eq!(c.views["second"], "channel:auth since:2d");
}

#[test]
fn usage_mistakes_exit_2_with_one_sentence() {
    let dir = tempfile::tempdir().unwrap();
    let run = |args: &[&str]| {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_trailscope"))
            .args(args)
            .env_remove("TRAILSCOPE_SERVER")
            .env_remove("TRAILSCOPE_TOKEN")
            .env("TRAILSCOPE_CONFIG", dir.path().join("none.toml"))
            .output()
            .unwrap();
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let (code, err) = run(&[]);
    assert_eq!(code, Some(2), "{err}");
    assert!(
        err.contains("--server URL") && err.lines().count() == 1,
        "{err}"
    );
    let (code, err) = run(&[
        "--server",
        "http://127.0.0.1:9",
        "--token",
        "t",
        "--filter",
        "colour:red",
    ]);
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("unknown field `colour`"), "{err}");
    let (code, err) = run(&["--profile", "nope"]);
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("no profile `nope`"), "{err}");
    // A server without http:// is refused at start, not retried forever (issue 17, defect 6).
    for bad in ["127.0.0.1:47807", "localhost", "ftp://host", "http://"] {
        let (code, err) = run(&["--server", bad, "--token", "t"]);
        assert_eq!(code, Some(2), "{bad}: {err}");
        assert!(
            err.contains("http://HOST:PORT") && err.lines().count() == 1,
            "{bad}: {err}"
        );
    }
}

#[test]
fn every_command_and_its_default_keys_are_documented_in_the_example() {
    let doc: String = EXAMPLE
        .lines()
        .filter_map(|l| l.strip_prefix("# "))
        .collect::<Vec<_>>()
        .join(" ");
    let defaults = Keymap::default();
    for (cmd, name, _) in trailscope::tui::keymap::COMMANDS {
        let keys = defaults.keys_for(cmd);
        let first = keys.first().unwrap_or_else(|| panic!("{name} has no key"));
        let first = match first.as_str() {
            "⏎" => "enter",
            "Esc" => "esc",
            "Tab" => "tab",
            "Space" => "space",
            "↓" => "down",
            "↑" => "up",
            "←" => "left",
            "→" => "right",
            "PgDn" => "pgdn",
            "PgUp" => "pgup",
            other => other,
        }
        .to_lowercase();
        assert!(
            doc.contains(&format!(" {name} (")),
            "config.example.toml does not document the command `{name}`"
        );
        let listed = doc
            .split(&format!(" {name} ("))
            .nth(1)
            .and_then(|r| r.split(')').next())
            .unwrap()
            .to_lowercase();
        assert!(
            listed.contains(&first),
            "`{name}` is documented as ({listed}), but its first default key is {first}"
        );
    }
}
