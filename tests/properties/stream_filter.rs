//! Property test: a live stream's in-memory filter (`Query::matches`) selects exactly the
//! entries the store's SQL selects, for any filter drawn from the data's own vocabulary.

use crate::common::strategies::{QueryFields, Terms, kinds, outcomes, terms};
use chrono::{Duration, Utc};
use proptest::prelude::*;
use std::collections::BTreeSet;
use std::sync::OnceLock;
use trailscope::model::{
    Actor, ActorType, Around, Entry, NewEvent, Outcome, Query, Target, TimeBound,
};
use trailscope::store::PageRequest;
use trailscope::store::sqlite::SqliteDb;

const ACTIONS: [&str; 6] = [
    "user.login",
    "user.login_failed",
    "ticket.created",
    "ticket_status.updated",
    "rule_fired",
    "user_deleted",
];
const WORDS: [&str; 6] = ["Printer", "ÜBER", "fire", "müller", "on f", "x"];

/// A store with 240 varied entries, built once, and every entry it holds.
fn fixture() -> &'static (tempfile::TempDir, SqliteDb, Vec<Entry>) {
    static F: OnceLock<(tempfile::TempDir, SqliteDb, Vec<Entry>)> = OnceLock::new();
    F.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteDb::open(dir.path().join("p.db")).unwrap();
        let now = Utc::now();
        let events: Vec<NewEvent> = (0..240usize)
            .map(|i| NewEvent {
                occurred_at: Some(now - Duration::hours((i * 7 % 200) as i64)),
                action: ACTIONS[i % ACTIONS.len()].into(),
                channel: Some(["auth", "admin", "rules"][i % 3].into()),
                outcome: Some(if i % 4 == 0 {
                    Outcome::Failure
                } else {
                    Outcome::Success
                }),
                description: Some(format!("{} {} no. {i}", WORDS[i % 6], WORDS[(i / 6) % 6])),
                actor: Some(if i % 9 == 0 {
                    Actor::system()
                } else {
                    Actor {
                        kind: ActorType::User,
                        id: Some(format!("u_{}", i % 7)),
                        name: Some(format!("Jürgen {}", WORDS[i % 5])),
                        email: Some(format!("Person{}@Example.COM", i % 7)),
                        ip: (i % 6 != 0).then(|| format!("10.0.0.{}", i % 4)),
                        ..Actor::default()
                    }
                }),
                target: (i % 5 != 0).then(|| Target {
                    kind: ["ticket", "user"][i % 2].into(),
                    id: (i % 11).to_string(),
                    name: (i % 3 == 0).then(|| format!("Target {}", WORDS[i % 4])),
                }),
                ..NewEvent::default()
            })
            .collect();
        store.append("t", events).unwrap();
        let all = store
            .page(
                "t",
                &Query::default(),
                &PageRequest {
                    limit: 1000,
                    ..PageRequest::default()
                },
                now,
            )
            .unwrap()
            .entries;
        (dir, store, all)
    })
}

fn pick(options: Vec<String>) -> Terms {
    terms(options, 0..3)
}

fn query() -> impl Strategy<Value = Query> {
    let actions: Vec<String> = ACTIONS
        .iter()
        .map(|a| a.to_string())
        .chain(["user.*", "ticket*", "*", "nothing.*", "user"].map(String::from))
        .collect();
    let actors: Vec<String> = (0..8)
        .flat_map(|i| {
            [
                format!("u_{i}"),
                format!("person{i}@example.com"),
                format!("PERSON{i}@EXAMPLE.COM"),
            ]
        })
        // By name, in any case (ASCII folding only, as SQLite's NOCASE).
        .chain(
            [
                "Jürgen fire",
                "JüRGEN FIRE",
                "jürgen printer",
                "Jürgen x",
                "Nobody",
            ]
            .map(String::from),
        )
        .collect();
    let ips: Vec<String> = (0..5).map(|i| format!("10.0.0.{i}")).collect();
    let targets: Vec<String> = (0..12)
        .flat_map(|i| {
            [
                i.to_string(),
                format!("ticket/{i}"),
                format!("user/{i}"),
                format!("nope/{i}"),
            ]
        })
        .collect();
    let text: Vec<String> = WORDS
        .iter()
        .map(|w| w.to_string())
        .chain(
            [
                "printer on",
                "JÜRGEN",
                "u_3",
                "target",
                "6",
                "ticket_status",
            ]
            .map(String::from),
        )
        .collect();
    let types = vec!["ticket".to_string(), "user".into(), "none".into()];
    let channels = vec!["auth".to_string(), "admin".into(), "rules".into()];
    let vocabulary = || QueryFields {
        actions: pick(actions.clone()),
        actors: pick(actors.clone()),
        targets: pick(targets.clone()),
        target_types: pick(types.clone()),
        channels: pick(channels.clone()),
        ips: pick(ips.clone()),
        kinds: kinds(0..2),
        outcomes: outcomes(),
        ..QueryFields::default()
    };
    let around =
        prop::option::of((0i64..200, 1u32..30).prop_map(|(h, width)| {
            Around::new(Utc::now() - Duration::hours(h)).widened(width, 'h')
        }));
    QueryFields {
        text: terms(text, 0..2),
        from: prop::option::of((1u32..240).prop_map(|h| TimeBound::Ago {
            amount: h,
            unit: 'h',
        }))
        .boxed(),
        to: prop::option::of((1u32..9).prop_map(|d| TimeBound::Ago {
            amount: d,
            unit: 'd',
        }))
        .boxed(),
        around: around.boxed(),
        exclude: prop::option::weighted(0.5, vocabulary().exclude())
            .prop_map(Option::unwrap_or_default)
            .boxed(),
        ids: pick(
            fixture()
                .2
                .iter()
                .step_by(17)
                .map(|e| e.id.clone())
                .collect(),
        ),
        ..vocabulary()
    }
    .query()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]
    #[test]
    fn stream_filter_agrees_with_the_store(q in query()) {
        let (_, store, all) = fixture();
        let now = Utc::now();
        let by_store: BTreeSet<u64> = store
            .page("t", &q, &PageRequest { limit: 1000, ..PageRequest::default() }, now)
            .unwrap()
            .entries
            .iter()
            .map(|e| e.seq)
            .collect();
        let in_memory: BTreeSet<u64> = all.iter().filter(|e| q.matches(e, now)).map(|e| e.seq).collect();
        prop_assert_eq!(in_memory, by_store, "filter `{}`", q);
    }
}
