//! Reading: every filter of the query language, keyset pages under concurrent inserts, scans,
//! facets, stats, streams after a seq, and the commit feed.

use crate::backend::Database;
use crate::fixtures::{ACTIONS, all, append, base, events};
use chrono::{Duration, Utc};
use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration as Wait;
use trailscope::model::{Cursor, Entry, FacetField, Order, Query, format_ts};
use trailscope::store::PageRequest;

const N: usize = 120;

/// Each filter selects exactly what the in-memory filter (what live streams apply) selects, and
/// is a real filter on this data: it keeps some entries and drops others.
pub async fn every_filter_matches_the_in_memory_filter(db: &Database) {
    let s = db.store.as_ref();
    let now = Utc::now();
    let b = base(now);
    append(s, "acme", events(0, N, b)).await;
    append(s, "globex", events(0, 10, b)).await;
    let everything = all(s, "acme", &Query::default(), now).await;
    assert_eq!(everything.len(), N);
    let at = |m: i64| format_ts(&(b + Duration::minutes(m)));
    let filters = [
        "action:user.login".to_string(),
        "action:ticket.*".into(),
        "-action:ticket.*".into(),
        "action:user.login,role.updated".into(),
        "action:user.login action:role.updated".into(),
        "channel:auth".into(),
        "channel:auth,admin -outcome:failure".into(),
        "outcome:failure".into(),
        "kind:created".into(),
        "-kind:updated".into(),
        "actor:u_1".into(),
        "actor:person2@example.com".into(),
        "actor:PERSON3@EXAMPLE.COM".into(),
        "actor:\"alice example 4\"".into(),
        "-actor:u_1".into(),
        "ip:10.0.0.2".into(),
        "-ip:10.0.0.2".into(),
        "target:ticket/4".into(),
        "target:3".into(),
        "target_type:user".into(),
        "-target_type:user".into(),
        "q:printer".into(),
        "q:FIRE".into(),
        "printer zürich".into(),
        "\"work item 1\"".into(),
        format!("id:{}", everything[17].id),
        format!("from:{} to:{}", at(10), at(29)),
        format!("around:{}", at(60)),
        format!("around:{}/5m", at(60)),
        format!("channel:rules from:{}", at(50)),
    ];
    for text in &filters {
        let q: Query = text
            .parse()
            .unwrap_or_else(|e| panic!("`{text}` does not parse: {e:?}"));
        let want: Vec<u64> = everything
            .iter()
            .filter(|e| q.matches(e, now))
            .map(|e| e.seq)
            .collect();
        assert!(
            !want.is_empty() && want.len() < N,
            "`{text}` selects {} of {N}: not a real test of the filter",
            want.len()
        );
        let got: Vec<u64> = all(s, "acme", &q, now)
            .await
            .iter()
            .map(|e| e.seq)
            .collect();
        assert_eq!(got, want, "`{text}`");
        let stats = s.stats("acme", &q, 5, now).await.unwrap();
        assert_eq!(stats.total, want.len() as u64, "stats under `{text}`");
    }
}

/// Keyset pages of 7 in `order` while another task appends all along and a batch lands
/// between every two pages, some back-dated into the part already read and some into the part
/// not read yet: no entry is lost or repeated, and the keys keep their order.
async fn pages_under_inserts(db: &Database, order: Order) {
    let s = db.store.as_ref();
    let now = Utc::now();
    let b = base(now);
    // Two entries a minute: keys tie on occurred_at and only the seq orders them.
    let paired = (0..N)
        .map(|i| trailscope::model::NewEvent {
            occurred_at: Some(b + Duration::minutes(i as i64 / 2)),
            ..crate::fixtures::event(i, b)
        })
        .collect();
    append(s, "acme", paired).await;
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let producer = {
        let (store, stop) = (db.store.clone(), stop.clone());
        tokio::spawn(async move {
            let mut i = 0;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                let batch = (0..5)
                    .map(|k| crate::fixtures::event((i * 5 + k) * 7 % N, b))
                    .collect();
                store
                    .append("acme", batch)
                    .await
                    .expect("the producer appends");
                i += 1;
                tokio::task::yield_now().await;
            }
            i
        })
    };
    let before: BTreeSet<u64> = (1..=N as u64).collect();
    let mut req = PageRequest {
        limit: 7,
        order,
        cursor: None,
    };
    let mut seen: Vec<(i64, u64)> = Vec::new();
    let mut inserted = 0;
    loop {
        let page = s.page("acme", &Query::default(), &req, now).await.unwrap();
        assert!(page.entries.len() <= 7);
        seen.extend(
            page.entries
                .iter()
                .map(|e| (e.occurred_at.timestamp_millis(), e.seq)),
        );
        // Between pages: a batch spread over the whole period (before, inside and after what
        // was read), as another producer's back-dated events would be.
        let spread = (0..3)
            .map(|k| crate::fixtures::event((inserted * 3 + k) * 41 % N, b))
            .collect();
        append(s, "acme", spread).await;
        inserted += 1;
        let (Some(_), Some(last)) = (page.next_cursor, page.entries.last()) else {
            break;
        };
        req.cursor = Some(Cursor {
            occurred_at_ms: last.occurred_at.timestamp_millis(),
            seq: last.seq,
            order,
        });
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let produced = producer.await.expect("the producer");
    assert!(inserted > 10, "the inserts interleaved with many pages");
    assert!(produced > 0, "the producer ran while the pages were read");
    let seqs: BTreeSet<u64> = seen.iter().map(|k| k.1).collect();
    assert_eq!(seqs.len(), seen.len(), "no entry came twice");
    assert!(
        before.is_subset(&seqs),
        "every entry there before the paging began was read; missing: {:?}",
        before.difference(&seqs).collect::<Vec<_>>()
    );
    for w in seen.windows(2) {
        match order {
            Order::Asc => assert!(w[0] < w[1], "ascending keys: {:?}", w),
            Order::Desc => assert!(w[0] > w[1], "descending keys: {:?}", w),
        }
    }
}

pub async fn keyset_pages_survive_concurrent_inserts_ascending(db: &Database) {
    pages_under_inserts(db, Order::Asc).await;
}

pub async fn keyset_pages_survive_concurrent_inserts_descending(db: &Database) {
    pages_under_inserts(db, Order::Desc).await;
}

/// `scan` (the default chunked walk) hands every match over once, in order, and stops when
/// the sink says so.
pub async fn scan_hands_over_every_match_once(db: &Database) {
    let s = db.store.as_ref();
    let now = Utc::now();
    // 2,700 minutes of events, all in the past (a store refuses one more than an hour ahead).
    let b = base(now - chrono::Duration::days(2));
    // More than one scan chunk.
    for chunk in 0..3 {
        append(s, "acme", events(chunk * 900, chunk * 900 + 900, b)).await;
    }
    let q: Query = "channel:auth".parse().unwrap();
    let mut got = Vec::new();
    let n = s
        .scan("acme", &q, Order::Desc, now, &mut |e: Entry| {
            got.push(e.seq);
            true
        })
        .await
        .unwrap();
    assert_eq!(n, 900, "a third of 2,700 is on channel auth");
    assert_eq!(got.len(), 900);
    assert_eq!(got.iter().collect::<BTreeSet<_>>().len(), 900);
    let mut taken = 0;
    let n = s
        .scan("acme", &q, Order::Asc, now, &mut |_| {
            taken += 1;
            taken < 10
        })
        .await
        .unwrap();
    assert_eq!((n, taken), (10, 10), "the sink stops the scan");
}

/// Facet counts are the counts of the matching entries, most frequent first, and a facet leaves
/// its own field's terms out of the filter.
pub async fn facets_count_what_the_filter_selects(db: &Database) {
    let s = db.store.as_ref();
    let now = Utc::now();
    append(s, "acme", events(0, N, base(now))).await;
    let everything = all(s, "acme", &Query::default(), now).await;
    let q: Query = "channel:auth action:user.login".parse().unwrap();
    let f = s
        .facets("acme", FacetField::Action, &q, 50, now)
        .await
        .unwrap();
    // The action terms are left out: counts per action on channel auth.
    let mut want: BTreeMap<String, u64> = BTreeMap::new();
    for e in everything.iter().filter(|e| e.channel == "auth") {
        *want.entry(e.action.clone()).or_default() += 1;
    }
    let got: BTreeMap<String, u64> = f
        .values
        .iter()
        .map(|v| (v.value.clone(), v.count))
        .collect();
    assert_eq!(got, want);
    assert_eq!(f.values.len(), ACTIONS.len());
    assert!(
        f.values.windows(2).all(|w| w[0].count >= w[1].count),
        "most frequent first"
    );
    let actors = s
        .facets("acme", FacetField::Actor, &Query::default(), 3, now)
        .await
        .unwrap();
    assert_eq!(actors.values.len(), 3, "the limit holds");
    let top = &actors.values[0];
    let want_top = everything
        .iter()
        .filter(|e| e.actor.id.as_deref() == Some(top.value.as_str()))
        .count() as u64;
    assert_eq!(top.count, want_top);
    assert!(
        top.label
            .as_deref()
            .is_some_and(|l| l.starts_with("Alice Example")),
        "{top:?}"
    );
}

/// Stats: the total, and buckets that add up to it over the filter's period.
pub async fn stats_count_and_bucket_the_matches(db: &Database) {
    let s = db.store.as_ref();
    let now = Utc::now();
    let b = base(now);
    append(s, "acme", events(0, N, b)).await;
    let q: Query = format!(
        "outcome:failure from:{}",
        format_ts(&(b + Duration::minutes(30)))
    )
    .parse()
    .unwrap();
    let st = s.stats("acme", &q, 12, now).await.unwrap();
    let want = (30..N).filter(|i| i % 4 == 0).count() as u64;
    assert_eq!(st.total, want);
    assert_eq!(st.buckets.iter().map(|b| b.count).sum::<u64>(), want);
    assert!(st.bucket_seconds > 0 && !st.buckets.is_empty() && st.buckets.len() <= 13);
    let empty = s
        .stats("acme", &"channel:nowhere".parse().unwrap(), 12, now)
        .await
        .unwrap();
    assert_eq!(empty.total, 0);
}

/// `after_seq` returns the matches after a seq in seq order, up to the limit; the commit feed
/// moves after an append, so a follower knows to read again.
pub async fn after_seq_and_the_commit_feed(db: &Database) {
    let s = db.store.as_ref();
    let now = Utc::now();
    let b = base(now);
    append(s, "acme", events(0, 40, b)).await;
    let q: Query = "channel:admin".parse().unwrap();
    let got = s.after_seq("acme", &q, 10, 5, now).await.unwrap();
    let seqs: Vec<u64> = got.iter().map(|e| e.seq).collect();
    // Event i is seq i+1; channel admin is i % 3 == 1.
    assert_eq!(seqs, [11, 14, 17, 20, 23]);
    assert!(
        s.after_seq("acme", &q, 40, 5, now)
            .await
            .unwrap()
            .is_empty()
    );
    let mut feed = s.commits();
    feed.borrow_and_update();
    append(s, "acme", events(40, 42, b)).await;
    tokio::time::timeout(Wait::from_secs(10), feed.changed())
        .await
        .expect("the feed moves within 10 s of a commit")
        .expect("the feed is open");
    let new = s
        .after_seq("acme", &Query::default(), 40, 100, now)
        .await
        .unwrap();
    assert_eq!(new.iter().map(|e| e.seq).collect::<Vec<_>>(), [41, 42]);
}

/// A second store on the same database (another server process) reads what the first one
/// committed. Its commit feed hears of it where the backend shares the feed; SQLite does not
/// (one process writes a file): asserted as such, not skipped.
pub async fn a_second_store_on_the_same_database_sees_the_commits(db: &Database) {
    let now = Utc::now();
    let b = base(now);
    append(db.store.as_ref(), "acme", events(0, 5, b)).await;
    let other = db.open_another().await;
    let mut feed = other.commits();
    feed.borrow_and_update();
    let acked = append(db.store.as_ref(), "acme", events(5, 8, b)).await;
    let heard = tokio::time::timeout(Wait::from_secs(3), feed.changed()).await;
    if db.backend.shared_commit_feed() {
        heard
            .expect("the second store hears the first one's commit within 3 s")
            .expect("the feed is open");
    } else {
        assert!(
            heard.is_err(),
            "{}: the commit feed is documented as per process, yet it moved",
            db.backend.name()
        );
        eprintln!(
            "{}: a second store's commit feed does not hear another's commits (not supported by this backend; reads do see them)",
            db.backend.name()
        );
    }
    let read = other
        .after_seq("acme", &Query::default(), 5, 10, now)
        .await
        .unwrap();
    assert_eq!(
        read.iter()
            .map(|e| (e.seq, e.id.clone()))
            .collect::<Vec<_>>(),
        acked
            .iter()
            .map(|a| (a.seq, a.id.clone()))
            .collect::<Vec<_>>()
    );
    assert_eq!(other.head_at("acme", None).await.unwrap().unwrap().seq, 8);
}

/// `q` read in small pages, in both orders, alone and with other filters: the pages together
/// are exactly the in-memory filter's matches, in key order. (A backend may read a `q` page
/// from the newest rows first and fall back to its text index: the seam is a page boundary.)
pub async fn text_pages_in_both_orders(db: &Database) {
    let s = db.store.as_ref();
    let now = Utc::now();
    let b = base(now);
    append(s, "acme", events(0, N, b)).await;
    for text in [
        "q:routine",
        "q:printer",
        "\"work item 1\"",
        "q:routine channel:auth",
        "q:printer -outcome:failure",
    ] {
        let q: Query = text.parse().unwrap();
        for order in [Order::Desc, Order::Asc] {
            let mut want: Vec<u64> = all(s, "acme", &Query::default(), now)
                .await
                .iter()
                .filter(|e| q.matches(e, now))
                .map(|e| e.seq)
                .collect();
            assert!(
                want.len() > 7 && want.len() < N,
                "`{text}` selects {}: not a real test of paging",
                want.len()
            );
            if order == Order::Desc {
                want.reverse();
            }
            let mut got = Vec::new();
            let mut req = PageRequest {
                limit: 7,
                order,
                cursor: None,
            };
            loop {
                let page = s.page("acme", &q, &req, now).await.unwrap();
                got.extend(page.entries.iter().map(|e| e.seq));
                match page.next_cursor {
                    Some(c) => req.cursor = Some(Cursor::decode(&c, order).unwrap()),
                    None => break,
                }
            }
            assert_eq!(got, want, "`{text}` in {order:?} pages of 7");
        }
    }
}
