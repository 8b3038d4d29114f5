//! The TUI's test fixtures: a fixed clock, a page of entries, an app fed with it, and helpers
//! to press keys and draw into ratatui's TestBackend.
#![allow(dead_code)]

use chrono::{DateTime, Duration, TimeZone, Utc};
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use serde_json::json;
use trailscope::model::{Actor, ActorType, Entry, Kind, Outcome, Page, Stats, StatsBucket, Target};
use trailscope::tui::keymap::Keymap;
use trailscope::tui::theme::{ColorDepth, Theme};
use trailscope::tui::{Action, App, Effect, Settings, default_query, render};

pub fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 21, 12, 0, 0).unwrap()
}

#[allow(clippy::too_many_arguments)]
pub fn entry(
    seq: u64,
    mins_ago: i64,
    action: &str,
    kind: Kind,
    outcome: Outcome,
    actor: Option<(&str, &str)>,
    target: Option<(&str, &str)>,
    desc: &str,
) -> Entry {
    let t = now() - Duration::minutes(mins_ago);
    Entry {
        id: format!("01JTEST{seq:019}"),
        seq,
        tenant: "default".into(),
        occurred_at: t,
        received_at: t,
        action: action.into(),
        kind,
        channel: "admin".into(),
        outcome,
        description: Some(desc.into()),
        actor: match actor {
            Some((id, name)) => Actor {
                kind: ActorType::User,
                id: Some(id.into()),
                name: Some(name.into()),
                email: Some(format!("{id}@example.com")),
                ..Actor::default()
            },
            None => Actor::system(),
        },
        target: target.map(|(k, id)| Target {
            kind: k.into(),
            id: id.into(),
            name: None,
        }),
        details: None,
        idempotency_key: None,
        prev_hash: "0".repeat(64),
        hash: "ab".repeat(32),
    }
}

pub fn rows() -> Vec<Entry> {
    let mut v = vec![
        {
            let mut e = entry(
                60,
                3,
                "integration_credentials_updated",
                Kind::Updated,
                Outcome::Success,
                Some(("u_17", "Alice Smith")),
                Some(("integration", "connectwise")),
                "Alice Smith updated the ConnectWise credentials",
            );
            e.details = Some(
                json!({"before": {"base_url": "https://old.example.com", "timeout": 30}, "after": {"base_url": "https://new.example.com", "timeout": 30, "retries": 3}}).into(),
            );
            e
        },
        entry(
            59,
            120,
            "ticket_created",
            Kind::Created,
            Outcome::Success,
            None,
            Some(("ticket", "142")),
            "Rule \"P1 to on-call\" created ticket 142",
        ),
        entry(
            58,
            130,
            "user.login",
            Kind::Other,
            Outcome::Failure,
            Some(("u_3", "Bob Jones")),
            None,
            "Bob Jones failed to sign in: wrong password",
        ),
        entry(
            57,
            200,
            "api_key_deleted",
            Kind::Deleted,
            Outcome::Success,
            Some(("u_17", "Alice Smith")),
            Some(("api_key", "key_9")),
            "Alice Smith deleted API key key_9",
        ),
        entry(
            56,
            260,
            "report.viewed",
            Kind::Read,
            Outcome::Success,
            Some(("u_5", "Carol White")),
            Some(("report", "q3-revenue")),
            "Carol White viewed the Q3 revenue report",
        ),
    ];
    for i in 0..40u64 {
        let kind = Kind::ALL[(i % 5) as usize];
        v.push(entry(
            55 - i,
            300 + 37 * i as i64,
            &format!("ticket.{}", kind.as_str()),
            kind,
            Outcome::Success,
            Some(("u_8", "Dan Brown")),
            Some(("ticket", &format!("{}", 100 + i))),
            &format!("Dan Brown touched ticket {}", 100 + i),
        ));
    }
    v
}

pub fn app_with(depth: ColorDepth, w: u16, h: u16, entries: Vec<Entry>) -> App {
    let mut app = App::new(Settings {
        source: trailscope::tui::source_name::SourceName::profile(
            "prod",
            "https://audit.example.com",
        ),
        query: default_query(),
        keymap: Keymap::default(),
        theme: Theme::new(depth),
        views: vec![("deletions".into(), "kind:deleted since:7d".into())],
        now: now(),
        size: (w, h),
    });
    let fx = app.start();
    assert!(matches!(fx[0], Effect::FetchPage { .. }));
    let load = app.generation();
    app.update(Action::Page {
        load,
        result: Ok(Page {
            entries,
            next_cursor: Some("next".into()),
        }),
    });
    let buckets = (0..60)
        .map(|i| StatsBucket {
            start: now() - Duration::hours(60 - i),
            count: ((i * 7) % 23) as u64,
        })
        .collect();
    app.update(Action::Stats {
        load,
        result: Ok(Stats {
            total: 1284,
            from: None,
            to: None,
            bucket_seconds: 3600,
            buckets,
            estimate: false,
        }),
    });
    app
}

pub fn app(w: u16, h: u16) -> App {
    app_with(ColorDepth::TrueColor, w, h, rows())
}

pub fn draw(app: &App, w: u16, h: u16) -> Terminal<TestBackend> {
    let mut t = Terminal::new(TestBackend::new(w, h)).unwrap();
    t.draw(|f| render(app, f)).unwrap();
    t
}

pub fn screen(app: &App, w: u16, h: u16) -> String {
    draw(app, w, h).backend().to_string()
}

pub fn key(app: &mut App, code: KeyCode) -> Vec<Effect> {
    app.update(Action::Key(KeyEvent::new(code, KeyModifiers::NONE)))
}

pub fn typed(app: &mut App, s: &str) {
    for ch in s.chars() {
        key(app, KeyCode::Char(ch));
    }
}
