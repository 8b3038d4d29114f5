//! Counts, facets and histograms read from the rollups are the entries' own: over every time
//! range (whole days, hours and minutes, and the ragged edges between), every filter the
//! rollups answer, and after a prune took entries away.

use crate::backend::Database;
use crate::fixtures::{ACTIONS, CHANNELS, all, append, clock_past};
use chrono::{DateTime, Duration, Utc};
use std::collections::BTreeMap;
use trailscope::model::{
    Actor, Entry, FacetField, NewEvent, Outcome, Query, Target, format_ts, from_millis,
};
use trailscope::store::Store;

/// Event `i` of a trail spread unevenly over four days before `end`: times that fall on whole
/// days, hours and minutes and between them, every rollup field varied.
fn event(i: i64, end: DateTime<Utc>) -> NewEvent {
    let back = Duration::seconds((i * i * 977 + i * 61) % (4 * 86_400));
    NewEvent {
        occurred_at: Some(end - back - Duration::milliseconds(i % 3 * 499)),
        action: ACTIONS[(i as usize * 7) % ACTIONS.len()].into(),
        channel: Some(CHANNELS[(i as usize / 2) % CHANNELS.len()].into()),
        outcome: Some(if i % 5 == 0 {
            Outcome::Failure
        } else {
            Outcome::Success
        }),
        actor: Some(Actor::system()),
        target: (i % 4 != 3).then(|| Target {
            kind: ["ticket", "user", "printer"][i as usize % 3].into(),
            id: i.to_string(),
            name: None,
        }),
        ..NewEvent::default()
    }
}

/// The filters the rollups answer, and one they do not (the actor) as a control.
const FILTERS: [&str; 9] = [
    "",
    "channel:auth",
    "outcome:failure channel:admin,rules",
    "action:user.*",
    "-channel:auth",
    "target_type:printer",
    "-target_type:user kind:created,updated",
    "action:*",
    "actor:system",
];

/// The ranges each filter is counted over (`from`, `to`), relative to `end`.
fn ranges(end: DateTime<Utc>) -> Vec<String> {
    let day = end.timestamp_millis() / 86_400_000 * 86_400_000;
    let at = |ms: i64| format_ts(&from_millis(ms));
    vec![
        String::new(),
        "since:1d".into(),
        "since:90m".into(),
        format!("from:{} to:{}", at(day - 2 * 86_400_000), at(day - 1)),
        format!(
            "from:{} to:{}",
            at(day - 3 * 86_400_000 + 3_723_457),
            at(day - 5_000_123)
        ),
        format!(
            "from:{} to:{}",
            at(day - 7_200_000 + 61_001),
            at(day - 7_200_000 + 3_599_999)
        ),
        format!("from:{} to:{}", at(day - 100_000), at(day - 41_000)),
        format!("to:{}", at(day - 86_400_000 - 59_999)),
        // Empty: it ends before it starts.
        format!("from:{} to:{}", at(day), at(day - 3_600_000)),
    ]
}

/// Checks stats and every rollup facet of `filter` against `everything`.
async fn check(s: &dyn Store, everything: &[Entry], filter: &str, now: DateTime<Utc>) {
    let q: Query = filter
        .parse()
        .unwrap_or_else(|e| panic!("`{filter}`: {e:?}"));
    let matching: Vec<&Entry> = everything.iter().filter(|e| q.matches(e, now)).collect();
    for buckets in [1, 7, 60, 240] {
        let st = s.stats("acme", &q, buckets, now).await.unwrap();
        assert_eq!(st.total, matching.len() as u64, "total of `{filter}`");
        if matching.is_empty() {
            continue;
        }
        let start = st.buckets[0].start.timestamp_millis();
        let width = i64::try_from(st.bucket_seconds).unwrap() * 1000;
        let mut want = vec![0u64; st.buckets.len()];
        for e in &matching {
            let bar = (e.occurred_at.timestamp_millis() - start).div_euclid(width);
            want[usize::try_from(bar).expect("no match before the first bar")] += 1;
        }
        let got: Vec<u64> = st.buckets.iter().map(|b| b.count).collect();
        assert_eq!(got, want, "the bars of `{filter}` in {buckets}");
    }
    for field in [
        FacetField::Action,
        FacetField::Channel,
        FacetField::Kind,
        FacetField::Outcome,
        FacetField::TargetType,
    ] {
        let without = q.without(field);
        let mut want: BTreeMap<String, u64> = BTreeMap::new();
        for e in everything.iter().filter(|e| without.matches(e, now)) {
            let v = match field {
                FacetField::Action => Some(e.action.clone()),
                FacetField::Channel => Some(e.channel.clone()),
                FacetField::Kind => Some(e.kind.as_str().to_string()),
                FacetField::Outcome => Some(e.outcome.as_str().to_string()),
                _ => e.target.as_ref().map(|t| t.kind.clone()),
            };
            if let Some(v) = v {
                *want.entry(v).or_default() += 1;
            }
        }
        let f = s.facets("acme", field, &q, 50, now).await.unwrap();
        let got: BTreeMap<String, u64> = f
            .values
            .iter()
            .map(|v| (v.value.clone(), v.count))
            .collect();
        assert_eq!(got, want, "facet {field:?} of `{filter}`");
        assert!(
            f.values.windows(2).all(|w| w[0].count >= w[1].count),
            "most frequent first"
        );
    }
}

/// Every filter over every range, before and after a prune.
pub async fn rollup_counts_are_the_entries_counts(db: &Database) {
    let s = db.store.as_ref();
    let end = Utc::now();
    append(s, "acme", (0..150).map(|i| event(i, end)).collect()).await;
    let old = s.get_seq("acme", 150).await.unwrap().unwrap().received_at;
    clock_past(old).await;
    append(s, "acme", (150..400).map(|i| event(i, end)).collect()).await;
    // Another tenant's counts never mix in.
    append(s, "globex", (0..50).map(|i| event(i, end)).collect()).await;
    let now = Utc::now();
    for round in ["before", "after"] {
        let everything = all(s, "acme", &Query::default(), now).await;
        assert_eq!(everything.len(), if round == "before" { 400 } else { 251 });
        for range in ranges(end) {
            for filter in FILTERS {
                check(s, &everything, &format!("{filter} {range}"), now).await;
            }
        }
        if round == "before" {
            // Removes the first batch (and writes the prune's own record).
            let cutoff = s.get_seq("acme", 151).await.unwrap().unwrap().received_at;
            let report = s.prune("acme", cutoff, None).await;
            assert_eq!(report.unwrap().removed, 150, "{round}");
        }
    }
}

/// Waits until the store has no entry waiting for its deferred indexes (SQLite's; at most
/// 20 s): whether a term is rare is judged from the trigram index, which holds indexed rows only.
async fn until_indexed(s: &dyn Store) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while s.metrics().pending_index > 0 {
        assert!(std::time::Instant::now() < deadline, "never indexed");
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}

/// How many entries of acme match `q`, read page by page.
async fn truth(s: &dyn Store, q: &Query, now: DateTime<Utc>) -> u64 {
    all(s, "acme", q, now).await.len() as u64
}

/// A search term in 1 entry of 10 among more entries than a count walks: its count and bars
/// are estimates, marked so, close to the truth, and exact over the newest bars the walk saw;
/// a term the walk finds too rarely, and a filter whose rest the walk sees whole, are exact.
pub async fn a_common_search_term_is_estimated_and_says_so(db: &Database) {
    let s = db.store.as_ref();
    let end = Utc::now();
    // More than a walk, and the term in more rows than SQLite reads through its trigram index.
    let n = trailscope::store::filter::counting::WINDOW as i64 * 5 / 2;
    let events: Vec<NewEvent> = (0..n)
        .map(|i| NewEvent {
            occurred_at: Some(end - Duration::seconds(n - i)),
            description: Some(if i % 10 == 0 {
                format!("firewall rule {i}")
            } else if i == n - 7 {
                "a lone gateway".to_string()
            } else {
                format!("printer queue {i}")
            }),
            ..event(i, end)
        })
        .collect();
    for chunk in events.chunks(5000) {
        append(s, "acme", chunk.to_vec()).await;
    }
    until_indexed(s).await;
    let now = Utc::now();
    let q: Query = "q:firewall".parse().unwrap();
    let want = truth(s, &q, now).await;
    let st = s.stats("acme", &q, 60, now).await.unwrap();
    assert!(
        st.estimate,
        "a common term over more than a walk is an estimate"
    );
    let off = st.total.abs_diff(want) as f64 / want as f64;
    assert!(off < 0.1, "estimated {} for {want}", st.total);
    assert_eq!(st.buckets.iter().map(|b| b.count).sum::<u64>(), st.total);
    // The newest bar lies within the walk: exact.
    let last = st.buckets.last().unwrap();
    let in_last = all(s, "acme", &q, now)
        .await
        .iter()
        .filter(|e| e.occurred_at >= last.start)
        .count() as u64;
    assert_eq!(last.count, in_last, "the newest bar is counted");
    let f = s
        .facets("acme", FacetField::Channel, &q, 10, now)
        .await
        .unwrap();
    assert!(f.estimate);
    let sum: u64 = f.values.iter().map(|v| v.count).sum();
    assert!(
        sum.abs_diff(want) as f64 / (want as f64) < 0.1,
        "{f:?} for {want}"
    );
    // Rare in the walk: counted exactly.
    let rare: Query = "q:gateway".parse().unwrap();
    let st = s.stats("acme", &rare, 60, now).await.unwrap();
    assert_eq!((st.total, st.estimate), (1, false));
    // The walk sees every entry of channel admin with the term: exact.
    let narrow: Query = "q:firewall outcome:failure".parse().unwrap();
    let st = s.stats("acme", &narrow, 60, now).await.unwrap();
    assert_eq!(
        (st.total, st.estimate),
        (truth(s, &narrow, now).await, false)
    );
    let f = s
        .facets("acme", FacetField::Action, &narrow, 10, now)
        .await
        .unwrap();
    assert!(!f.estimate);
    assert_eq!(
        f.values.iter().map(|v| v.count).sum::<u64>(),
        truth(s, &narrow, now).await
    );
}
