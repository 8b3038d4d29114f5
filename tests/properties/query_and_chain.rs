//! Property tests: the query language round-trips, and the chain catches any single change.

use crate::common::strategies::{QueryFields, Terms, kinds, outcomes};
use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use proptest::prelude::*;
use trailscope::model::{
    Actor, ActorType, Around, ChainHead, Entry, Kind, Outcome, Query, Target, TimeBound,
};
use trailscope::store::chain::{self, Commitments, GENESIS};

fn value() -> impl Strategy<Value = String> {
    // Spaces, quotes, backslashes, colons, stars, Unicode and control characters.
    prop_oneof![
        "[a-z0-9_.@/*-]{1,12}",
        "[a-zA-Z \"\\\\:*éü\u{2003}\t]{1,12}",
        any::<String>().prop_filter("non-empty", |s| !s.is_empty()),
    ]
}

fn time_bound() -> impl Strategy<Value = TimeBound> {
    prop_oneof![
        (0i64..4_102_444_800_000)
            .prop_map(|ms| TimeBound::Instant(Utc.timestamp_millis_opt(ms).unwrap())),
        (0i64..40_000).prop_map(|d| TimeBound::Date(
            NaiveDate::from_ymd_opt(1970, 1, 1).unwrap() + chrono::Duration::days(d)
        )),
        (
            1u32..999_999,
            prop::sample::select(vec!['s', 'm', 'h', 'd', 'w'])
        )
            .prop_map(|(amount, unit)| TimeBound::Ago { amount, unit }),
        Just(TimeBound::parse("today").unwrap()),
        Just(TimeBound::parse("yesterday").unwrap()),
    ]
}

fn values() -> Terms {
    prop::collection::vec(value(), 0..3).boxed()
}

fn around() -> impl Strategy<Value = Around> {
    (
        0i64..4_102_444_800_000,
        1u32..999_999,
        prop::sample::select(vec!['s', 'm', 'h', 'd', 'w']),
    )
        .prop_map(|(ms, amount, unit)| {
            Around::new(Utc.timestamp_millis_opt(ms).unwrap()).widened(amount, unit)
        })
}

/// Any query the language can say: every field, any text in it.
fn query() -> impl Strategy<Value = Query> {
    let anything = || QueryFields {
        actions: values(),
        actors: values(),
        targets: values(),
        target_types: values(),
        channels: values(),
        ips: values(),
        kinds: kinds(0..3),
        outcomes: outcomes(),
        ..QueryFields::default()
    };
    QueryFields {
        text: values(),
        ids: values(),
        from: prop::option::of(time_bound()).boxed(),
        to: prop::option::of(time_bound()).boxed(),
        around: prop::option::of(around()).boxed(),
        exclude: anything().exclude().boxed(),
        ..anything()
    }
    .query()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn query_language_round_trips(q in query()) {
        let line = q.to_string();
        let back: Query = line.parse().map_err(|e| TestCaseError::fail(format!("{line:?}: {e}")))?;
        prop_assert_eq!(&back, &q, "formatted as {:?}", line);
        prop_assert_eq!(back.to_string(), line);
    }

    #[test]
    fn parsing_never_panics(s in any::<String>()) {
        if let Ok(q) = s.parse::<Query>() {
            let again: Query = q.to_string().parse().unwrap();
            prop_assert_eq!(again, q);
        }
    }
}

fn chain_of(n: usize) -> Vec<(Entry, Commitments)> {
    let mut out: Vec<(Entry, Commitments)> = Vec::new();
    let base: DateTime<Utc> = Utc.timestamp_millis_opt(1_763_000_000_000).unwrap();
    for i in 0..n {
        let prev = out
            .last()
            .map_or(GENESIS.to_string(), |(e, _)| e.hash.clone());
        let mut e = Entry {
            id: format!("01TEST{i:04}"),
            seq: i as u64 + 1,
            tenant: "acme".into(),
            occurred_at: base + chrono::Duration::seconds(i as i64),
            received_at: base + chrono::Duration::seconds(i as i64),
            action: "user.login".into(),
            kind: Kind::Other,
            channel: "auth".into(),
            outcome: Outcome::Success,
            description: Some(format!("entry {i}")),
            actor: Actor {
                kind: ActorType::User,
                id: Some(format!("u_{i}")),
                name: Some("Alice".into()),
                email: Some("a@example.com".into()),
                ip: None,
                user_agent: None,
            },
            target: Some(Target {
                kind: "ticket".into(),
                id: i.to_string(),
                name: None,
            }),
            details: Some(serde_json::json!({"n": i, "nested": {"b": [1, 2], "a": null}}).into()),
            idempotency_key: None,
            prev_hash: prev,
            hash: String::new(),
        };
        let c = chain::new_commitments(&e, &mut rand::rng());
        e.hash = chain::entry_hash(&e, &c);
        out.push((e, c));
    }
    out
}

fn verify(rows: &[(Entry, Commitments)], head: &ChainHead) -> trailscope::model::VerifyReport {
    chain::verify(
        rows.iter().cloned().map(Ok::<_, ()>),
        (0, GENESIS),
        Some(head),
    )
    .unwrap()
}

#[derive(Debug, Clone)]
enum Tamper {
    EditDescription,
    EditEmail,
    EditDetails,
    EditOccurredAt,
    Delete,
    Insert,
    Swap,
}

proptest! {
    #[test]
    fn the_chain_catches_any_single_change(n in 2usize..30, pick in any::<prop::sample::Index>(), how in prop::sample::select(vec![
        Tamper::EditDescription, Tamper::EditEmail, Tamper::EditDetails, Tamper::EditOccurredAt, Tamper::Delete, Tamper::Insert, Tamper::Swap,
    ])) {
        let mut rows = chain_of(n);
        let head = ChainHead { seq: n as u64, hash: rows[n - 1].0.hash.clone() };
        prop_assert!(verify(&rows, &head).ok);
        let k = pick.index(n);
        let expected_bad = match how {
            Tamper::EditDescription => { rows[k].0.description = Some("nothing happened".into()); k + 1 }
            Tamper::EditEmail => { rows[k].0.actor.email = Some("mallory@example.com".into()); k + 1 }
            Tamper::EditDetails => { rows[k].0.details = Some(serde_json::json!({"n": -1}).into()); k + 1 }
            Tamper::EditOccurredAt => { rows[k].0.occurred_at += chrono::Duration::milliseconds(1); k + 1 }
            Tamper::Delete => { rows.remove(k); k + 1 }
            Tamper::Insert => {
                // A forger who knows the algorithm links a valid-looking row after row k-1.
                let mut forged = rows[k].clone();
                forged.0.description = Some("forged".into());
                forged.0.hash = chain::entry_hash(&forged.0, &forged.1);
                rows.insert(k, forged);
                k + 1
            }
            Tamper::Swap => {
                let j = if k + 1 < n { k + 1 } else { k - 1 };
                let (a, b) = (k.min(j), k.max(j));
                let (sa, sb) = (rows[a].0.seq, rows[b].0.seq);
                rows.swap(a, b);
                rows[a].0.seq = sa;
                rows[b].0.seq = sb;
                a + 1
            }
        };
        let report = verify(&rows, &head);
        prop_assert!(!report.ok, "{:?} at {} went unnoticed", how, k);
        match how {
            // The forged row itself is well-formed; the break is at the row it displaced.
            Tamper::Insert => prop_assert!(report.first_bad_seq == Some(k as u64 + 1) || report.first_bad_seq == Some(k as u64 + 2), "{:?}", report),
            _ => prop_assert_eq!(report.first_bad_seq, Some(expected_bad as u64), "{:?} at {}: {:?}", how, k, report),
        }
    }
}
