//! The database's partition length (migration V6): a month by default, a day when `serve
//! --partition day` said so; a change covers what no partition covers yet, never overlapping
//! the partitions made before it.

use crate::common::pg::{self, PgCluster};
use trailscope::store::postgres::{PartitionUnit, PostgresStore};

/// The partitions of `entries` but the default, as `name [lo, hi)` in UTC dates, oldest first.
fn partitions(pg: &PgCluster, db: &str) -> Vec<String> {
    pg.psql(
        db,
        "SELECT rel::text || ' ' || to_char(to_timestamp(lo / 1000) AT TIME ZONE 'UTC', 'YYYY-MM-DD') \
             || ' ' || to_char(to_timestamp(hi / 1000) AT TIME ZONE 'UTC', 'YYYY-MM-DD') \
           FROM trailscope_partition_bounds() ORDER BY lo",
    )
    .lines()
    .map(str::to_string)
    .collect()
}

fn ensure(pg: &PgCluster, db: &str, date: &str) {
    pg.psql(
        db,
        &format!(
            "SELECT trailscope_ensure_partitions((extract(epoch FROM TIMESTAMPTZ '{date} 12:00Z') * 1000)::bigint)"
        ),
    );
}

fn unit(pg: &PgCluster, db: &str) -> String {
    pg.psql(db, "SELECT unit FROM partitioning")
        .trim()
        .to_string()
}

#[tokio::test]
async fn a_new_database_partitions_by_month_and_by_day_when_told() {
    let Some(pg) = pg::cluster() else { return };
    // The clock is read either side of each open: at midnight (or a month's end) the store may
    // have seen the next day.
    let url = pg.fresh_database();
    let db = pg::db_name(&url).to_string();
    let before = chrono::Utc::now();
    let store = PostgresStore::open(&url, 2).await.unwrap();
    let after = chrono::Utc::now();
    assert_eq!(unit(pg, &db), "month");
    let months = partitions(pg, &db);
    assert!(
        [before, after].iter().any(|t| months
            .iter()
            .any(|p| p.starts_with(&format!("entries_{} ", t.format("%Ym%m"))))),
        "{months:?}"
    );
    store.close().await;

    let url = pg.fresh_database();
    let db = pg::db_name(&url).to_string();
    let before = chrono::Utc::now();
    let store = PostgresStore::open_with(&url, 2, Some(PartitionUnit::Day))
        .await
        .unwrap();
    let after = chrono::Utc::now();
    assert_eq!(unit(pg, &db), "day");
    let days = partitions(pg, &db);
    let expected = |today: chrono::DateTime<chrono::Utc>| {
        let tomorrow = today + chrono::Duration::days(1);
        vec![
            format!(
                "entries_{} {} {}",
                today.format("%Ym%md%d"),
                today.format("%Y-%m-%d"),
                tomorrow.format("%Y-%m-%d")
            ),
            format!(
                "entries_{} {} {}",
                tomorrow.format("%Ym%md%d"),
                tomorrow.format("%Y-%m-%d"),
                (tomorrow + chrono::Duration::days(1)).format("%Y-%m-%d")
            ),
        ]
    };
    assert!(
        days == expected(before) || days == expected(after),
        "{days:?}"
    );
    // Opening without saying keeps what the database was told.
    store.close().await;
    let store = PostgresStore::open(&url, 2).await.unwrap();
    assert_eq!(unit(pg, &db), "day");
    store.close().await;
}

#[tokio::test]
async fn changing_the_length_covers_only_what_is_not_covered_yet() {
    let Some(pg) = pg::cluster() else { return };
    let url = pg.fresh_database();
    let db = pg::db_name(&url).to_string();
    PostgresStore::open(&url, 2).await.unwrap().close().await;
    let before = partitions(pg, &db);
    ensure(pg, &db, "2030-01-15");
    pg.psql(&db, "UPDATE partitioning SET unit = 'day'");
    // February is a month's partition already: nothing new.
    ensure(pg, &db, "2030-02-27");
    // The day after February is not covered: a day's partition.
    ensure(pg, &db, "2030-02-28");
    pg.psql(&db, "UPDATE partitioning SET unit = 'month'");
    // March's first day is a day's partition: the rest of March gets one of its own.
    ensure(pg, &db, "2030-03-10");
    let after: Vec<String> = partitions(pg, &db)
        .into_iter()
        .filter(|p| !before.contains(p))
        .collect();
    assert_eq!(
        after,
        [
            "entries_2030m01 2030-01-01 2030-02-01",
            "entries_2030m02 2030-02-01 2030-03-01",
            "entries_2030m03d01 2030-03-01 2030-03-02",
            "entries_2030m03d02 2030-03-02 2030-04-01",
            "entries_2030m04 2030-04-01 2030-05-01",
        ]
    );
    // The application's role may read the length, not change it.
    let (ok, err) = pg.try_psql(
        &db,
        "SET ROLE trailscope_app; UPDATE partitioning SET unit = 'day'",
    );
    assert!(!ok && err.contains("permission denied"), "{err}");
}

#[tokio::test]
async fn a_range_the_default_partition_already_holds_rows_of_stays_there_and_appends_go_on() {
    let Some(pg) = pg::cluster() else { return };
    let url = pg.fresh_database();
    let db = pg::db_name(&url).to_string();
    let store = PostgresStore::open(&url, 2).await.unwrap();
    let e: trailscope::model::NewEvent =
        serde_json::from_value(serde_json::json!({"action": "user.login"})).unwrap();
    store.append("acme", vec![e.clone()]).await.unwrap();
    // A row of 2031 in the default partition (as a clock gone wrong would leave it).
    pg.psql(
        &db,
        "SET session_replication_role = replica; \
         UPDATE entries SET received_at = (extract(epoch FROM TIMESTAMPTZ '2031-06-15Z') * 1000)::bigint WHERE seq = 1",
    );
    ensure(pg, &db, "2031-06-20");
    let made = partitions(pg, &db);
    assert!(
        !made.iter().any(|p| p.starts_with("entries_2031m06")),
        "{made:?}"
    );
    assert!(
        made.iter().any(|p| p.starts_with("entries_2031m07")),
        "{made:?}"
    );
    store.append("acme", vec![e]).await.unwrap();
    store.close().await;
}

#[test]
fn serve_sets_the_length_from_its_flag_and_refuses_it_for_sqlite() {
    let Some(pg) = pg::cluster() else { return };
    let url = pg.fresh_database();
    let db = pg::db_name(&url).to_string();
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("signing.key");
    let (child, _port) = crate::common::process::serve_command(&[
        "--database-url",
        url.as_str(),
        "--partition",
        "day",
        "--listen",
        "127.0.0.1:0",
        "--signing-key",
        key.to_str().unwrap(),
    ]);
    let _serve = crate::common::process::Serve(child);
    assert_eq!(unit(pg, &db), "day");

    let out = std::process::Command::new(env!("CARGO_BIN_EXE_trailscope"))
        .args(["serve", "--partition", "day", "--db"])
        .arg(dir.path().join("audit.db"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("--partition is for PostgreSQL (--database-url)"),
        "{err}"
    );
    assert_eq!(err.trim().lines().count(), 1, "{err}");
}

/// Every page, newest first, from the first to the last.
async fn walk(store: &PostgresStore, filter: &str, limit: usize) -> Vec<u64> {
    let query: trailscope::model::Query = filter.parse().unwrap();
    let mut seqs = Vec::new();
    let mut cursor = None;
    loop {
        let page = store
            .page(
                "acme",
                &query,
                &trailscope::store::PageRequest {
                    limit,
                    order: trailscope::model::Order::Desc,
                    cursor,
                },
                chrono::Utc::now(),
            )
            .await
            .unwrap();
        seqs.extend(page.entries.iter().map(|e| e.seq));
        match page.next_cursor {
            Some(c) => {
                cursor = Some(
                    trailscope::model::Cursor::decode(&c, trailscope::model::Order::Desc).unwrap(),
                )
            }
            None => return seqs,
        }
    }
}

#[tokio::test]
async fn pages_and_stream_catch_ups_tried_on_recent_partitions_are_the_same_as_over_all_of_them() {
    let Some(pg) = pg::cluster() else { return };
    let url = pg.fresh_database();
    let db = pg::db_name(&url).to_string();
    let store = PostgresStore::open_with(&url, 2, Some(PartitionUnit::Day))
        .await
        .unwrap();
    let events: Vec<trailscope::model::NewEvent> = (0..1000)
        .map(|k| {
            let action = ["user.login", "ticket.created"][k % 2];
            serde_json::from_value(
                serde_json::json!({"action": action, "description": format!("event {k}")}),
            )
            .unwrap()
        })
        .collect();
    for chunk in events.chunks(500) {
        store.append("acme", chunk.to_vec()).await.unwrap();
    }
    // Spread over 20 days back, received and occurred together; then the edges: an entry
    // received 30 days ago that occurred 59 minutes later (as late as a store allows), and
    // entries received now that occurred long ago (back-dated by their producer).
    let now = chrono::Utc::now().timestamp_millis();
    let span = chrono::Duration::days(20).num_milliseconds();
    // Around the first window's floor (a week back): an entry received just before it that
    // occurred just after it, and two received and occurred just after it, which a page read
    // from the week alone would put first and so skip the other.
    let week = now - chrono::Duration::days(7).num_milliseconds();
    pg.psql(
        &db,
        &format!(
            "SET session_replication_role = replica; \
             SELECT trailscope_ensure_partitions({now} - d::bigint * 86400000) FROM generate_series(0, 20) d; \
             UPDATE entries SET received_at = received_at - {span} * (1000 - seq) / 1000, \
                                occurred_at = occurred_at - {span} * (1000 - seq) / 1000; \
             UPDATE entries SET occurred_at = received_at + 59 * 60000 WHERE seq = 700; \
             UPDATE entries SET occurred_at = occurred_at - 90 * 86400000::bigint WHERE seq IN (990, 995); \
             UPDATE entries SET received_at = {week} - 30 * 60000, occurred_at = {week} + 29 * 60000 WHERE seq = 645; \
             UPDATE entries SET received_at = {week} + 10 * 60000, occurred_at = {week} + 10 * 60000 WHERE seq = 646; \
             UPDATE entries SET received_at = {week} + 5 * 60000, occurred_at = {week} + 5 * 60000 WHERE seq = 647;"
        ),
    );
    // An absolute `from`, so the truth and the store agree on it to the millisecond.
    let from_ms = now - chrono::Duration::days(10).num_milliseconds();
    let from = format!(
        "from:{}",
        trailscope::model::format_ts(&trailscope::model::from_millis(from_ms))
    );
    for filter in ["", "action:user.login", "event 21", from.as_str()] {
        let truth: Vec<u64> = pg
            .psql(
                &db,
                &format!(
                    "SELECT seq FROM entries WHERE tenant = 'acme' {} ORDER BY occurred_at DESC, seq DESC",
                    match filter {
                        "" => String::new(),
                        "action:user.login" => "AND action = 'user.login'".into(),
                        "event 21" => "AND search LIKE '%event%' AND search LIKE '%21%'".into(),
                        _ => format!("AND occurred_at >= {from_ms}"),
                    }
                ),
            )
            .lines()
            .map(|l| l.parse().unwrap())
            .collect();
        // A page of one row meets every boundary; the walk is long, so only unfiltered.
        let limits: &[usize] = if filter.is_empty() {
            &[1, 50, 333]
        } else {
            &[50, 333]
        };
        for &limit in limits {
            assert_eq!(
                walk(&store, filter, limit).await,
                truth,
                "`{filter}`, {limit} a page"
            );
        }
    }
    // By id: the ids' times are when the entries were first received, so a moved one is found by
    // reading every partition, an unmoved one (the last) in the day around its id's time.
    for seq in [10u64, 500, 1000] {
        let id = pg.psql(
            &db,
            &format!("SELECT id FROM entries WHERE tenant = 'acme' AND seq = {seq}"),
        );
        let got = store
            .get("acme", id.trim())
            .await
            .unwrap()
            .expect("found by id");
        assert_eq!(got.seq, seq);
    }
    assert_eq!(
        store
            .get("acme", "01J00000000000000000000000")
            .await
            .unwrap(),
        None
    );
    // A stream's catch-up, from a seq received long ago and from a recent one (the last two
    // days are tried alone).
    for (filter, clause) in [("", ""), ("action:user.login", "AND action = 'user.login'")] {
        for after in [0u64, 500, 980] {
            let truth: Vec<u64> = pg
                .psql(
                    &db,
                    &format!(
                        "SELECT seq FROM entries WHERE tenant = 'acme' AND seq > {after} {clause} ORDER BY seq LIMIT 300"
                    ),
                )
                .lines()
                .map(|l| l.parse().unwrap())
                .collect();
            let got: Vec<u64> = store
                .after_seq(
                    "acme",
                    &filter.parse().unwrap(),
                    after,
                    300,
                    chrono::Utc::now(),
                )
                .await
                .unwrap()
                .iter()
                .map(|e| e.seq)
                .collect();
            assert_eq!(got, truth, "`{filter}` after {after}");
        }
    }
    store.close().await;
}

#[tokio::test]
async fn empty_partitions_made_before_the_length_was_set_are_made_again() {
    let Some(pg) = pg::cluster() else { return };
    let url = pg.fresh_database();
    let db = pg::db_name(&url).to_string();
    // A first command (`token create`, say) opens the database under the default length.
    PostgresStore::open(&url, 2).await.unwrap().close().await;
    assert!(partitions(pg, &db).iter().all(|p| !p.contains('d')));
    // Then `serve --partition day`: nothing is in the month yet, so it is made again by day.
    let before = chrono::Utc::now();
    let store = PostgresStore::open_with(&url, 2, Some(PartitionUnit::Day))
        .await
        .unwrap();
    let after = chrono::Utc::now();
    let days = partitions(pg, &db);
    assert!(
        [before, after].iter().any(|t| days
            .first()
            .is_some_and(|p| p.starts_with(&format!("entries_{} ", t.format("%Ym%md%d"))))),
        "{days:?}"
    );
    assert_eq!(days.len(), 2, "{days:?}");
    // A month that holds rows stays when the length changes back and forth.
    let e: trailscope::model::NewEvent =
        serde_json::from_value(serde_json::json!({"action": "user.login"})).unwrap();
    store.append("acme", vec![e]).await.unwrap();
    store.close().await;
    PostgresStore::open_with(&url, 2, Some(PartitionUnit::Month))
        .await
        .unwrap()
        .close()
        .await;
    let now_days = partitions(pg, &db);
    assert!(now_days.contains(&days[0]), "{now_days:?}");
}
