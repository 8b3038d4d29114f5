//! `verify` and the schema checks on PostgreSQL. The walk is the backend-neutral one
//! ([`crate::store::verify`]), synchronous by design; it runs on a blocking thread and reads
//! through one pooled connection in one REPEATABLE READ transaction (one snapshot), each chunk
//! a query awaited from that thread.

use super::snapshot::Snapshot;
use super::{APP_ROLE, PostgresStore, db_error, row};
use super::{i, u};
use crate::model::{ChainHead, Entry, VerifyProgress, VerifyReport};
use crate::proof::VerifierKey;
use crate::store::StoreError;
use crate::store::chain::Commitments;
use crate::store::verify::{Progress, VerifySource};
use deadpool_postgres::GenericClient;

/// The schema as migrated, oldest first: the functions' bodies are compared with these (a later
/// migration's definition of a function replaces an earlier one).
const SCHEMA: [&str; 2] = [
    include_str!("migrations/V1__schema.sql"),
    include_str!("migrations/V5__partition_prune.sql"),
];

/// The append-only triggers: (table, trigger, function).
const TRIGGERS: [(&str, &str, &str); 8] = [
    ("entries", "entries_append_only", "trailscope_entries_guard"),
    ("entries", "entries_no_truncate", "trailscope_refuse"),
    ("tree_rows", "tree_rows_append_only", "trailscope_refuse"),
    ("tree_rows", "tree_rows_no_truncate", "trailscope_refuse"),
    ("trees", "trees_append_only", "trailscope_refuse"),
    ("trees", "trees_no_truncate", "trailscope_refuse"),
    (
        "checkpoints",
        "checkpoints_append_only",
        "trailscope_refuse",
    ),
    (
        "checkpoints",
        "checkpoints_no_truncate",
        "trailscope_refuse",
    ),
];

/// The body of function `name` as the migration creates it (between its `$$`).
fn shipped_body(name: &str) -> Option<&'static str> {
    let (sql, at) = SCHEMA
        .iter()
        .rev()
        .find_map(|sql| Some((sql, sql.find(&format!("CREATE FUNCTION {name}("))?)))?;
    let rest = &sql[at..];
    let open = rest.find("$$")? + 2;
    let close = rest[open..].find("$$")?;
    Some(&rest[open..open + close])
}

/// What was changed in the schema behind trailscope's back, one sentence each.
pub(super) async fn tampering(client: &impl GenericClient) -> Result<Vec<String>, StoreError> {
    let mut problems = Vec::new();
    for (table, trigger, function) in TRIGGERS {
        let r = client
            .query_opt(
                "SELECT t.tgenabled::text, p.proname::text FROM pg_trigger t JOIN pg_proc p ON p.oid = t.tgfoid \
                 WHERE t.tgrelid = to_regclass($1) AND t.tgname = $2",
                &[&table, &trigger],
            )
            .await
            .map_err(db_error)?;
        match r {
            None => problems.push(format!("the append-only trigger {trigger} is missing")),
            Some(r) => {
                let (enabled, func): (String, String) = (r.get(0), r.get(1));
                if enabled == "D" {
                    problems.push(format!("the append-only trigger {trigger} is disabled"));
                }
                if func != function {
                    problems.push(format!("the append-only trigger {trigger} was replaced"));
                }
            }
        }
    }
    for function in [
        "trailscope_entries_guard",
        "trailscope_refuse",
        "trailscope_prune_many",
        "trailscope_partition_tenants",
        "trailscope_partition_bounds",
        "trailscope_partition_covered",
        "trailscope_lock_entries",
        "trailscope_delete_prefix",
        "trailscope_drop_empty_months",
        "trailscope_pseudonymise",
    ] {
        let body: Option<String> = client
            .query_opt(
                "SELECT prosrc FROM pg_proc WHERE proname = $1 AND pronamespace = \
                 (SELECT oid FROM pg_namespace WHERE nspname = current_schema())",
                &[&function],
            )
            .await
            .map_err(db_error)?
            .map(|r| r.get(0));
        match body {
            None => problems.push(format!("the function {function} is missing")),
            Some(b) if Some(b.as_str()) != shipped_body(function) => {
                problems.push(format!("the function {function} was replaced"))
            }
            Some(_) => {}
        }
    }
    // The application's role must not be able to rewrite history, on any table or partition.
    let granted = client
        .query(
            "SELECT c.relname::text, p.privilege FROM pg_class c \
             CROSS JOIN (VALUES ('UPDATE'), ('DELETE'), ('TRUNCATE')) AS p(privilege) \
             WHERE c.relnamespace = (SELECT oid FROM pg_namespace WHERE nspname = current_schema()) \
               AND c.relkind IN ('r', 'p') \
               AND (c.relname IN ('entries', 'tree_rows', 'trees', 'checkpoints', 'chain_anchors') \
                    OR c.relispartition AND c.relname LIKE 'entries%') \
               AND has_table_privilege($1, c.oid, p.privilege) ORDER BY 1, 2",
            &[&APP_ROLE],
        )
        .await
        .map_err(db_error)?;
    for r in granted {
        let (table, privilege): (String, String) = (r.get(0), r.get(1));
        problems.push(format!(
            "the application's role {APP_ROLE} was granted {privilege} on {}",
            crate::text::inert(&table)
        ));
    }
    Ok(problems)
}

impl VerifySource for Snapshot {
    fn head(&mut self) -> Result<Option<ChainHead>, StoreError> {
        let rows = self.query(
            "SELECT seq, hash FROM chain_heads WHERE tenant = $1",
            &[&self.tenant],
        )?;
        Ok(rows.first().map(|r| ChainHead {
            seq: u(r.get(0)),
            hash: r.get(1),
        }))
    }

    fn anchor(&mut self) -> Result<Option<(u64, String)>, StoreError> {
        let rows = self.query(
            "SELECT seq, hash FROM chain_anchors WHERE tenant = $1",
            &[&self.tenant],
        )?;
        Ok(rows.first().map(|r| (u(r.get(0)), r.get(1))))
    }

    fn entries_after(
        &mut self,
        after: Option<(u64, String)>,
        limit: usize,
    ) -> Result<Vec<(Entry, Commitments)>, StoreError> {
        // (seq, id): nothing but the writer's lock keeps a seq unique on a partitioned table, so
        // a second row claiming one must be walked, not skipped.
        let (seq, id) = after.map_or((-1i64, String::new()), |(s, id)| (i(s), id));
        let rows = self.query(
            &format!(
                "SELECT {} FROM entries WHERE tenant = $1 AND (seq, id) > ($2, $3) ORDER BY seq, id LIMIT $4",
                row::COLUMNS
            ),
            &[&self.tenant, &seq, &id, &i(limit)],
        )?;
        rows.iter().map(row::entry_with_commitments).collect()
    }

    fn hashes_after(&mut self, after: u64, limit: usize) -> Result<Vec<(u64, String)>, StoreError> {
        let rows = self.query(
            "SELECT seq, hash FROM entries WHERE tenant = $1 AND seq > $2 ORDER BY seq LIMIT $3",
            &[&self.tenant, &i(after), &i(limit)],
        )?;
        Ok(rows.iter().map(|r| (u(r.get(0)), r.get(1))).collect())
    }

    fn tree_rows_after(
        &mut self,
        after: Option<u64>,
        limit: usize,
    ) -> Result<Vec<(u64, Vec<u8>)>, StoreError> {
        let after = after.map_or(-1, i);
        let rows = self.query(
            "SELECT leaf, hashes FROM tree_rows WHERE tenant = $1 AND leaf > $2 ORDER BY leaf LIMIT $3",
            &[&self.tenant, &after, &i(limit)],
        )?;
        Ok(rows.iter().map(|r| (u(r.get(0)), r.get(1))).collect())
    }

    fn last_seq(&mut self) -> Result<Option<u64>, StoreError> {
        let rows = self.query(
            "SELECT max(seq) FROM entries WHERE tenant = $1",
            &[&self.tenant],
        )?;
        Ok(rows.first().and_then(|r| r.get::<_, Option<i64>>(0)).map(u))
    }

    fn extent(&mut self) -> Result<(u64, u64), StoreError> {
        self.block_on(super::writer::extent(&*self.client, &self.tenant))
    }

    fn checkpoints(&mut self) -> Result<Vec<(u64, String)>, StoreError> {
        let rows = self.query(
            "SELECT size, note FROM checkpoints WHERE tenant = $1 ORDER BY size",
            &[&self.tenant],
        )?;
        Ok(rows.iter().map(|r| (u(r.get(0)), r.get(1))).collect())
    }

    fn tampering(&mut self) -> Result<Vec<String>, StoreError> {
        self.block_on(tampering(&*self.client))
    }
}

impl PostgresStore {
    pub async fn verify_watched(
        &self,
        tenant: &str,
        key: Option<&VerifierKey>,
        remembered: Option<crate::store::checkpoint::Remembered>,
        progress: Option<tokio::sync::watch::Sender<VerifyProgress>>,
    ) -> Result<VerifyReport, StoreError> {
        let key = key.cloned();
        let walked = tenant.to_string();
        let mut progress = Progress::new(progress);
        // A walk nobody watches any more returns early, and in_snapshot ends its transaction
        // before the connection goes back to the pool.
        self.in_snapshot(tenant, "verify", move |src| {
            crate::store::verify::run(src, &walked, key.as_ref(), remembered, &mut progress)
        })
        .await
    }

    pub async fn schema_tampering(&self) -> Result<Vec<String>, StoreError> {
        let client = self.client().await?;
        tampering(&client).await
    }
}
