//! The deferred indexes. The writer commits an entry with its chain, its leaf, the time index
//! and the rollups, and marks it pending (`indexed IS NULL`); here the pending entries are added
//! to the ten secondary indexes and the trigram index, many at once, by flagging them indexed
//! (the indexes are partial: `WHERE indexed = 1`).
//!
//! Why: each of those indexes takes an entry at a random place (an actor's, a target's latest
//! rows), so a commit of a few thousand entries dirtied a page per entry in each, written to the
//! WAL and back: at a million entries that was most of the writer's time, and ingest fell from
//! 14k to 4k entries/s (BENCHMARKS.md, issue 27). Tens of thousands at once put many entries on
//! each page they dirty.
//!
//! Nothing is hidden meanwhile: every filter that reads a secondary index also reads the pending
//! rows, through their own small index in page order ([`crate::store::filter::Deferred`]).

use rusqlite::Connection;
use std::time::Duration;

/// How many pending entries make the writer index them before its next commit. Larger batches
/// put more entries on each index page they dirty (at 1M entries a step cost 72 µs an entry at
/// 10,000, 45 at 34,000 and 36 at 100,000), but every filter that reads an index also walks the
/// pending rows one by one (~0.5 µs each): 65,536 keeps that walk near 30 ms under full load, and
/// the writer indexes whatever is pending whenever it is idle ([`IDLE`]).
pub const BATCH: u64 = 65_536;
/// The most entries one indexing transaction takes: a backlog (after a crash under load) is
/// indexed in steps, with appends let through between them.
pub const MAX_STEP: i64 = 200_000;
/// How long the writer waits for work before it indexes what is pending.
pub const IDLE: Duration = Duration::from_millis(50);

/// The text `q` searches, as SQL over an entry's row: [`super::row::search_text`], one field a
/// line, the missing ones left out.
pub const SEARCH_TEXT: &str = "concat_ws(char(10), description, action, actor_name, actor_email, \
    actor_id, target_name, target_id)";

/// How many entries are pending.
pub fn pending(conn: &Connection) -> rusqlite::Result<u64> {
    conn.prepare_cached(
        "SELECT count(*) FROM entries INDEXED BY entries_pending WHERE indexed IS NULL",
    )?
    .query_row([], |r| r.get(0))
}

/// Indexes up to `max` pending entries, the oldest first, inside the caller's transaction;
/// returns how many.
pub fn step(tx: &Connection, max: i64) -> rusqlite::Result<u64> {
    let upto: Option<i64> = tx
        .prepare_cached(
            "SELECT max(rowid) FROM (SELECT rowid FROM entries INDEXED BY entries_pending \
             WHERE indexed IS NULL ORDER BY rowid LIMIT ?1)",
        )?
        .query_row([max], |r| r.get(0))?;
    let Some(upto) = upto else {
        return Ok(0);
    };
    tx.prepare_cached(&format!(
        "INSERT INTO entries_fts (rowid, text) SELECT rowid, {SEARCH_TEXT} \
         FROM entries INDEXED BY entries_pending WHERE indexed IS NULL AND rowid <= ?1 ORDER BY rowid"
    ))?
    .execute([upto])?;
    let flagged = tx
        .prepare_cached(
            "UPDATE entries INDEXED BY entries_pending SET indexed = 1 \
             WHERE indexed IS NULL AND rowid <= ?1",
        )?
        .execute([upto])?;
    Ok(flagged as u64)
}

/// Indexes every pending entry inside the caller's transaction: maintenance (prune,
/// pseudonymise) works on indexed rows only.
pub fn all(tx: &Connection) -> rusqlite::Result<u64> {
    step(tx, i64::MAX)
}

/// One indexing transaction of up to [`MAX_STEP`] entries; what is still pending after it. A
/// failure is logged and leaves the entries pending (every read still finds them): the writer
/// tries again when it is next idle.
pub fn run_step(conn: &mut Connection) -> u64 {
    let started = std::time::Instant::now();
    let done = conn.transaction().and_then(|tx| {
        let n = step(&tx, MAX_STEP)?;
        tx.commit()?;
        Ok(n)
    });
    match done {
        Ok(n) => tracing::debug!(
            entries = n,
            ms = started.elapsed().as_secs_f64() * 1000.0,
            "indexed"
        ),
        Err(e) => {
            tracing::warn!("indexing the newest entries failed (they stay searchable): {e}");
        }
    }
    pending(conn).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Actor, ActorType, Entry, Kind, Outcome, Target, from_millis};

    fn entry(
        seq: u64,
        description: Option<&str>,
        name: Option<&str>,
        target: Option<Target>,
    ) -> Entry {
        Entry {
            tenant: "t".into(),
            seq,
            id: format!("01J000000000000000000000{seq:02}"),
            occurred_at: from_millis(1_000),
            received_at: from_millis(1_000),
            action: "user.login".into(),
            kind: Kind::Other,
            channel: "auth".into(),
            outcome: Outcome::Success,
            description: description.map(Into::into),
            actor: Actor {
                kind: ActorType::User,
                id: Some("u_1".into()),
                name: name.map(Into::into),
                email: Some("Ada@Example.com".into()),
                ip: None,
                user_agent: None,
            },
            target,
            details: None,
            idempotency_key: None,
            prev_hash: "0".repeat(64),
            hash: "1".repeat(64),
        }
    }

    #[test]
    fn the_search_text_in_sql_is_the_writers() {
        let conn = Connection::open_in_memory().unwrap();
        super::super::schema::migrate(&conn).unwrap();
        let target = Target {
            kind: "ticket".into(),
            id: "42".into(),
            name: Some("Printer".into()),
        };
        for e in [
            entry(1, Some("Jürgen logged in"), Some("Jürgen"), Some(target)),
            entry(2, None, None, None),
        ] {
            let params = super::super::row::to_params(&e, &Default::default());
            conn.execute(
                &super::super::row::INSERT_PENDING,
                rusqlite::params_from_iter(params),
            )
            .unwrap();
            let sql: String = conn
                .query_row(
                    &format!("SELECT {SEARCH_TEXT} FROM entries WHERE seq = ?1"),
                    [e.seq],
                    |r| r.get(0),
                )
                .unwrap();
            assert_eq!(sql, super::super::row::search_text(&e));
        }
    }

    /// Every value of a statement's rows, in order.
    fn rows(
        conn: &Connection,
        (sql, params): crate::store::filter::Statement<super::super::dialect::Sqlite>,
    ) -> Vec<Vec<rusqlite::types::Value>> {
        let mut stmt = conn.prepare(&sql).unwrap();
        let n = stmt.column_count();
        let rows = stmt
            .query_map(rusqlite::params_from_iter(params), |r| {
                (0..n)
                    .map(|i| r.get(i))
                    .collect::<rusqlite::Result<Vec<_>>>()
            })
            .unwrap();
        rows.map(Result::unwrap).collect()
    }

    /// What every read of `filter` returns: each page (7 rows, both orders, walked by cursor),
    /// the count and extent, a histogram and the action and actor facets.
    fn reads(conn: &Connection, filter: &str) -> Vec<Vec<Vec<rusqlite::types::Value>>> {
        use super::super::dialect;
        use crate::model::{Cursor, FacetField, Order, Query};
        use crate::store::PageRequest;
        let q: Query = filter.parse().unwrap();
        let now = from_millis(10_000_000);
        let (f, counted) = dialect::compile_with_counted(conn, "t", &q, now).unwrap();
        let mut out = Vec::new();
        for order in [Order::Desc, Order::Asc] {
            let mut cursor = None;
            loop {
                let page = PageRequest {
                    limit: 7,
                    order,
                    cursor,
                };
                let got = rows(conn, dialect::page_sql(&f, &page));
                let Some(last) = got.last() else { break };
                let (rusqlite::types::Value::Integer(seq), rusqlite::types::Value::Integer(at)) =
                    (&last[1], &last[3])
                else {
                    panic!("a page row without its seq and time: {last:?}")
                };
                cursor = Some(Cursor {
                    occurred_at_ms: *at,
                    seq: u64::try_from(*seq).unwrap(),
                    order,
                });
                out.push(got);
            }
        }
        for g in [&f, &counted] {
            out.push(rows(conn, g.extent_sql()));
            out.push(rows(conn, g.histogram_sql(0, 3_600_000)));
            out.push(rows(conn, g.facet_sql(FacetField::Action, 5)));
            out.push(rows(conn, g.facet_sql(FacetField::Actor, 5)));
        }
        out
    }

    /// 300 entries of every kind, their times out of seq order, all pending.
    fn seeded() -> Connection {
        let conn = Connection::open_in_memory().unwrap();
        super::super::schema::migrate(&conn).unwrap();
        super::super::dialect::register_functions(&conn).unwrap();
        let actions = [
            "user.login",
            "role.updated",
            "ticket.created",
            "ticket.deleted",
        ];
        let mut tally = crate::store::rollup::Tally::default();
        for seq in 1..=300u64 {
            let i = usize::try_from(seq).unwrap();
            let target = Target {
                kind: if i % 3 == 0 { "user" } else { "ticket" }.into(),
                id: (i % 11).to_string(),
                name: None,
            };
            let word = if i % 37 == 0 {
                "Jürgen's firewall"
            } else {
                "printer"
            };
            let mut e = entry(
                seq,
                Some(word),
                Some(["Ada", "Grace", "Linus"][i % 3]),
                Some(target),
            );
            e.id = format!("01J{seq:023}");
            e.action = actions[i % 4].into();
            e.kind = [Kind::Other, Kind::Updated, Kind::Created, Kind::Deleted][i % 4];
            e.channel = ["auth", "admin", "writeback"][i % 3].into();
            e.outcome = if i % 5 == 0 {
                Outcome::Failure
            } else {
                Outcome::Success
            };
            e.actor.id = Some(format!("u_{}", i % 7));
            e.actor.ip = Some(format!("10.0.0.{}", i % 4));
            // Times out of seq order, as a backfill sends them, some equal.
            let at = i64::try_from((i * 7919) % 300 / 2).unwrap() * 60_000;
            e.occurred_at = from_millis(at);
            let params = super::super::row::to_params(&e, &Default::default());
            conn.execute(
                &super::super::row::INSERT_PENDING,
                rusqlite::params_from_iter(params),
            )
            .unwrap();
            tally.add(&e);
        }
        super::super::write_counts(&conn, &mut tally).unwrap();
        conn
    }

    #[test]
    fn every_read_sees_the_pending_entries_as_it_sees_the_indexed_ones() {
        let conn = seeded();
        // The oldest 120 indexed, the rest pending.
        assert_eq!(step(&conn, 120).unwrap(), 120);
        assert_eq!(pending(&conn).unwrap(), 180);
        let filters = [
            "actor:u_3",
            "actor:grace",
            "action:user.login",
            "action:ticket.*",
            "channel:auth outcome:failure",
            "kind:created kind:deleted",
            "target:ticket/4",
            "ip:10.0.0.2 -channel:admin",
            "q:jürgen",
            "q:firewall actor:u_2",
            "q:printer",
            "-channel:auth",
            "from:1970-01-01T01:00:00Z to:1970-01-01T01:30:00Z actor:u_1",
        ];
        let before: Vec<_> = filters.iter().map(|f| reads(&conn, f)).collect();
        assert_eq!(all(&conn).unwrap(), 180);
        assert_eq!(pending(&conn).unwrap(), 0);
        for (filter, before) in filters.iter().zip(before) {
            let after = reads(&conn, filter);
            assert!(
                after.iter().any(|r| !r.is_empty()),
                "{filter} matches something"
            );
            assert_eq!(
                before, after,
                "{filter}: the same with 180 entries pending as with none"
            );
        }
    }
}
