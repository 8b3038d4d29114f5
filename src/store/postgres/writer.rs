//! The replica's writer: group commit of queued batches, each tenant serialised by its locked
//! head row, so many replicas append to one unforked chain and tree per tenant.
//!
//! Over 500 lines on purpose, like the SQLite writer: locking the heads, chaining, the tree rows
//! and the commit are one transaction's story, and its invariants read best in one place.

use super::row::{self, Columns};
use super::{Counters, db_error};
use super::{i, u};
use crate::model::{Appended, NewEvent};
use crate::proof::{Frontier, Hash, ProofError, RowReader, frontier_rows};
use crate::store::StoreError;
use crate::store::chain::{GENESIS, Tip};
use crate::store::proofs::rows::damaged;
use crate::store::proofs::{hash_bytes, row_blob, split_row};
use crate::store::rollup::Tally;
use rand::SeedableRng;
use rand::rngs::StdRng;
use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;
use tokio::sync::{mpsc, oneshot, watch};

/// The most entries one transaction takes; the rest wait for the next.
const MAX_ENTRIES_PER_COMMIT: usize = 20_000;

/// One batch waiting to be written, and where to send its result.
pub struct Job {
    pub tenant: String,
    pub events: Vec<NewEvent>,
    pub reply: oneshot::Sender<Result<Vec<Appended>, StoreError>>,
}

/// A tenant's chain head and tree, as committed.
#[derive(Clone)]
pub(super) struct Head {
    pub tip: Tip,
    pub frontier: Frontier,
}

/// Tree rows held in memory, for the tree algorithms' synchronous reads.
pub(super) struct MapRows(pub HashMap<u64, Vec<Hash>>);

impl RowReader for MapRows {
    fn read_rows(&self, leaves: &[u64]) -> Result<Vec<Vec<Hash>>, ProofError> {
        leaves
            .iter()
            .map(|l| {
                self.0
                    .get(l)
                    .cloned()
                    .ok_or_else(|| ProofError::Storage(format!("leaf {l} has no stored hashes")))
            })
            .collect()
    }
}

/// Reads tree rows `leaves` of `tenant`.
pub(super) async fn read_rows(
    client: &impl deadpool_postgres::GenericClient,
    tenant: &str,
    leaves: &[u64],
) -> Result<HashMap<u64, Vec<Hash>>, StoreError> {
    let want: Vec<i64> = leaves.iter().map(|l| i(*l)).collect();
    let rows = client
        .query(
            "SELECT leaf, hashes FROM tree_rows WHERE tenant = $1 AND leaf = ANY($2)",
            &[&tenant, &want],
        )
        .await
        .map_err(db_error)?;
    let mut out = HashMap::new();
    for r in rows {
        let leaf = u(r.get(0));
        let blob: Vec<u8> = r.get(1);
        let row = split_row(&blob)
            .ok_or_else(|| damaged(&format!("tree row {leaf} of tenant {tenant} is malformed")))?;
        out.insert(leaf, row);
    }
    Ok(out)
}

/// The tenant's tree: its first seq and stored size.
pub(super) async fn extent(
    client: &impl deadpool_postgres::GenericClient,
    tenant: &str,
) -> Result<(u64, u64), StoreError> {
    let r = client
        .query_one(
            "SELECT (SELECT first_seq FROM trees WHERE tenant = $1), \
                    (SELECT max(leaf) FROM tree_rows WHERE tenant = $1)",
            &[&tenant],
        )
        .await
        .map_err(db_error)?;
    let first: Option<i64> = r.get(0);
    let max: Option<i64> = r.get(1);
    Ok((first.map_or(1, u), max.map_or(0, |m| u(m) + 1)))
}

/// Locks the tenant's head (creating it at genesis) and loads its tree, inside `tx`.
pub(super) async fn lock_head(
    tx: &deadpool_postgres::Transaction<'_>,
    tenant: &str,
    cached: Option<&Head>,
) -> Result<Head, StoreError> {
    tx.execute(
        "INSERT INTO chain_heads (tenant, seq, hash, received_at) VALUES ($1, 0, $2, 0) \
         ON CONFLICT (tenant) DO NOTHING",
        &[&tenant, &GENESIS],
    )
    .await
    .map_err(db_error)?;
    let r = tx
        .query_one(
            "SELECT seq, hash, received_at FROM chain_heads WHERE tenant = $1 FOR UPDATE",
            &[&tenant],
        )
        .await
        .map_err(db_error)?;
    let (seq, hash, received_ms) = (u(r.get(0)), r.get::<_, String>(1), r.get(2));
    if let Some(c) = cached
        && c.tip.seq == seq
        && c.tip.hash == hash
    {
        return Ok(c.clone());
    }
    // Another replica appended since (or this is the first batch here): read the tree's edge.
    let first: Option<i64> = tx
        .query_opt("SELECT first_seq FROM trees WHERE tenant = $1", &[&tenant])
        .await
        .map_err(db_error)?
        .map(|r| r.get(0));
    let first_seq = match first {
        Some(f) => u(f),
        None => {
            let anchor: Option<i64> = tx
                .query_opt(
                    "SELECT seq FROM chain_anchors WHERE tenant = $1",
                    &[&tenant],
                )
                .await
                .map_err(db_error)?
                .map(|r| r.get(0));
            let f = anchor.map_or(1, |a| a + 1);
            tx.execute(
                "INSERT INTO trees (tenant, first_seq) VALUES ($1, $2)",
                &[&tenant, &f],
            )
            .await
            .map_err(db_error)?;
            u(f)
        }
    };
    let (_, stored) = extent(tx, tenant).await?;
    let size = (seq + 1).saturating_sub(first_seq);
    if stored != size {
        return Err(StoreError::Tampered(format!(
            "the log of tenant {tenant} takes no entries: its tree holds {stored} leaves but its chain ends at seq {seq}; run verify"
        )));
    }
    let rows = read_rows(tx, tenant, &frontier_rows(size)).await?;
    let frontier = Frontier::load(size, &MapRows(rows))
        .map_err(|e| StoreError::Tampered(format!("tenant {tenant}: {e}; run verify")))?;
    Ok(Head {
        tip: Tip {
            seq,
            hash,
            received_ms,
        },
        frontier,
    })
}

/// What the writer keeps between commits.
pub(super) struct Writer {
    /// The heads as this replica last committed them: reused while no other replica moved them.
    heads: HashMap<String, Head>,
    ulids: ulid::Generator,
    rng: StdRng,
    /// The day (epoch ms of its start) on which this and next month's partitions were last made
    /// sure of: once a day is enough, since next month's is made a month ahead.
    partitions_for: i64,
}

/// New rows of one commit.
#[derive(Default)]
pub(super) struct Batch {
    pub entries: Columns,
    pub leaf_tenant: Vec<String>,
    pub leaf: Vec<i64>,
    pub leaf_hashes: Vec<Vec<u8>>,
    pub actions: BTreeSet<(String, String)>,
    pub counts: Tally,
}

impl Writer {
    pub fn new() -> Writer {
        Writer {
            heads: HashMap::new(),
            ulids: ulid::Generator::new(),
            rng: StdRng::from_os_rng(),
            partitions_for: i64::MIN,
        }
    }

    /// Makes sure this month's and next month's partitions exist (outside any append
    /// transaction: creating one locks the parent table for a moment).
    async fn partitions(
        &mut self,
        client: &deadpool_postgres::Object,
        now_ms: i64,
    ) -> Result<(), StoreError> {
        let day = now_ms - now_ms.rem_euclid(86_400_000);
        if day == self.partitions_for {
            return Ok(());
        }
        client
            .execute("SELECT trailscope_ensure_partitions($1)", &[&now_ms])
            .await
            .map_err(db_error)?;
        self.partitions_for = day;
        Ok(())
    }

    /// Appends `events` for `tenant` onto `head` (in memory), into `batch`.
    pub fn apply(
        &mut self,
        tenant: &str,
        events: &[NewEvent],
        head: &mut Head,
        existing: &HashMap<String, Appended>,
        now_ms: i64,
        batch: &mut Batch,
    ) -> Vec<Appended> {
        let mut out = Vec::with_capacity(events.len());
        let mut in_batch: HashMap<&str, Appended> = HashMap::new();
        for ev in events {
            if let Some(key) = ev.idempotency_key.as_deref()
                && let Some(a) = in_batch.get(key).or_else(|| existing.get(key))
            {
                out.push(Appended {
                    existing: true,
                    ..a.clone()
                });
                continue;
            }
            let (entry, commitments) =
                head.tip
                    .seal_next(ev, tenant, now_ms, &mut self.ulids, &mut self.rng);
            let leaf = head.frontier.size();
            let bytes = hash_bytes(&entry.hash).expect("the writer's own hash is 64 hex digits");
            let row = head.frontier.push(&bytes);
            batch.leaf_tenant.push(tenant.to_string());
            batch.leaf.push(i(leaf));
            batch.leaf_hashes.push(row_blob(&row));
            batch.entries.push(&entry, &commitments);
            batch.counts.add(&entry);
            batch
                .actions
                .insert((tenant.to_string(), entry.action.clone()));
            let appended = head.tip.advance(entry);
            if let Some(key) = ev.idempotency_key.as_deref() {
                in_batch.insert(key, appended.clone());
            }
            out.push(appended);
        }
        out
    }

    /// Forgets what this replica thought the heads were (after a failed transaction).
    pub fn forget(&mut self) {
        self.heads.clear();
    }

    pub fn cached(&self, tenant: &str) -> Option<&Head> {
        self.heads.get(tenant)
    }

    pub fn remember(&mut self, tenant: &str, head: Head) {
        self.heads.insert(tenant.to_string(), head);
    }
}

/// Writes `batch` and moves the heads, inside `tx`; NOTIFYs the replicas.
pub(super) async fn write_batch(
    tx: &deadpool_postgres::Transaction<'_>,
    batch: &Batch,
    heads: &HashMap<String, Head>,
) -> Result<(), StoreError> {
    if batch.entries.len() > 0 {
        tx.execute(row::INSERT, &batch.entries.params())
            .await
            .map_err(db_error)?;
        if batch.entries.idempotency_key.iter().any(Option::is_some) {
            let e = &batch.entries;
            tx.execute(
                "INSERT INTO idempotency_keys (tenant, key, seq, id, hash) \
                 SELECT t, k, s, i, h FROM unnest($1::text[], $2::text[], $3::bigint[], $4::text[], $5::text[]) \
                 AS u(t, k, s, i, h) WHERE k IS NOT NULL",
                &[&e.tenant, &e.idempotency_key, &e.seq, &e.id, &e.hash],
            )
            .await
            .map_err(db_error)?;
        }
        tx.execute(
            "INSERT INTO tree_rows (tenant, leaf, hashes) \
             SELECT * FROM unnest($1::text[], $2::bigint[], $3::bytea[])",
            &[&batch.leaf_tenant, &batch.leaf, &batch.leaf_hashes],
        )
        .await
        .map_err(db_error)?;
        let (tenants, actions): (Vec<String>, Vec<String>) = batch
            .actions
            .iter()
            .map(|(t, a)| (t.clone(), row::enc(a).into_owned()))
            .unzip();
        tx.execute(
            "INSERT INTO actions (tenant, action) SELECT * FROM unnest($1::text[], $2::text[]) \
             ON CONFLICT DO NOTHING",
            &[&tenants, &actions],
        )
        .await
        .map_err(db_error)?;
        write_counts(tx, &batch.counts).await?;
    }
    for (tenant, h) in heads {
        tx.execute(
            "UPDATE chain_heads SET seq = $2, hash = $3, received_at = $4 WHERE tenant = $1",
            &[tenant, &i(h.tip.seq), &h.tip.hash, &h.tip.received_ms],
        )
        .await
        .map_err(db_error)?;
    }
    // Delivered at COMMIT to every replica's listener, never before.
    tx.execute("SELECT pg_notify($1, '')", &[&super::CHANNEL])
        .await
        .map_err(db_error)?;
    Ok(())
}

/// Adds the batch's rollup counts, one statement for all of them.
async fn write_counts(
    tx: &deadpool_postgres::Transaction<'_>,
    counts: &Tally,
) -> Result<(), StoreError> {
    let mut cols: (Vec<String>, Vec<i64>, Vec<i64>) = Default::default();
    let mut text: [Vec<String>; 5] = Default::default();
    let mut n = Vec::new();
    for (c, k) in counts.cells() {
        cols.0.push(row::enc(&c.tenant).into_owned());
        cols.1.push(c.width);
        cols.2.push(c.slot);
        for (col, v) in text.iter_mut().zip([
            c.channel.as_str(),
            c.kind,
            c.outcome,
            &c.action,
            &c.target_type,
        ]) {
            col.push(row::enc(v).into_owned());
        }
        n.push(k);
    }
    let [channel, kind, outcome, action, target_type] = &text;
    let columns = crate::store::rollup::COLUMNS;
    tx.execute(
        &format!(
            "INSERT INTO rollups ({columns}, n) \
             SELECT * FROM unnest($1::text[], $2::bigint[], $3::bigint[], $4::text[], $5::text[], \
             $6::text[], $7::text[], $8::text[], $9::bigint[]) \
             ON CONFLICT ({columns}) DO UPDATE SET n = rollups.n + excluded.n"
        ),
        &[
            &cols.0,
            &cols.1,
            &cols.2,
            channel,
            kind,
            outcome,
            action,
            target_type,
            &n,
        ],
    )
    .await
    .map_err(db_error)?;
    Ok(())
}

/// The stored appends of the idempotency keys `job` carries, by key.
async fn existing_keys(
    tx: &deadpool_postgres::Transaction<'_>,
    job: &Job,
) -> Result<HashMap<String, Appended>, StoreError> {
    let keys: Vec<String> = job
        .events
        .iter()
        .filter_map(|e| e.idempotency_key.as_deref())
        .map(|k| row::enc(k).into_owned())
        .collect();
    let mut existing = HashMap::new();
    if keys.is_empty() {
        return Ok(existing);
    }
    let rows = tx
        .query(
            "SELECT key, id, seq, hash FROM idempotency_keys \
             WHERE tenant = $1 AND key = ANY($2)",
            &[&job.tenant, &keys],
        )
        .await
        .map_err(db_error)?;
    for r in rows {
        existing.insert(
            row::dec(r.get::<_, String>(0)),
            Appended {
                id: r.get(1),
                seq: u(r.get(2)),
                hash: r.get(3),
                existing: true,
            },
        );
    }
    Ok(existing)
}

/// Commits `jobs` in one transaction; per-job results (a tenant whose tree is out of step is
/// refused alone) or the whole group's error.
async fn commit_group(
    w: &mut Writer,
    client: &mut deadpool_postgres::Object,
    jobs: &[Job],
) -> Result<(Vec<Result<Vec<Appended>, StoreError>>, u64), StoreError> {
    let now_ms = chrono::Utc::now().timestamp_millis();
    w.partitions(client, now_ms).await?;
    let tx = client.transaction().await.map_err(db_error)?;
    // Tenants in name order, so two replicas never wait on each other's locks in a cycle.
    let tenants: BTreeSet<&str> = jobs.iter().map(|j| j.tenant.as_str()).collect();
    let mut heads: HashMap<String, Result<Head, StoreError>> = HashMap::new();
    for t in tenants {
        let head = match lock_head(&tx, t, w.cached(t)).await {
            Ok(h) => Ok(h),
            Err(e @ StoreError::Tampered(_)) => Err(e),
            Err(e) => return Err(e),
        };
        heads.insert(t.to_string(), head);
    }
    let mut batch = Batch::default();
    let mut results = Vec::with_capacity(jobs.len());
    for job in jobs {
        let head = heads
            .get_mut(&job.tenant)
            .expect("every job's tenant was locked");
        let head = match head {
            Ok(h) => h,
            Err(e) => {
                results.push(Err(e.clone()));
                continue;
            }
        };
        let existing = existing_keys(&tx, job).await?;
        let out = w.apply(
            &job.tenant,
            &job.events,
            head,
            &existing,
            now_ms,
            &mut batch,
        );
        results.push(Ok(out));
    }
    let moved: HashMap<String, Head> = heads
        .into_iter()
        .filter_map(|(t, h)| h.ok().map(|h| (t, h)))
        .collect();
    write_batch(&tx, &batch, &moved).await?;
    tx.commit().await.map_err(db_error)?;
    let appended = u64::try_from(batch.entries.len()).unwrap_or(u64::MAX);
    for (t, h) in moved {
        w.remember(&t, h);
    }
    Ok((results, appended))
}

/// Runs until every sender is dropped and the queue is drained.
pub async fn run(
    pool: deadpool_postgres::Pool,
    mut rx: mpsc::UnboundedReceiver<Job>,
    counters: Arc<Counters>,
    ticks: Arc<watch::Sender<u64>>,
) {
    let mut w = Writer::new();
    let mut pending: Option<Job> = None;
    loop {
        let first = match pending.take() {
            Some(j) => j,
            None => match rx.recv().await {
                Some(j) => j,
                None => break,
            },
        };
        // Everything queued while the last commit ran goes into this one.
        let mut n = first.events.len();
        let mut jobs = vec![first];
        while n < MAX_ENTRIES_PER_COMMIT {
            match rx.try_recv() {
                Ok(j) => {
                    n += j.events.len();
                    jobs.push(j);
                }
                Err(_) => break,
            }
        }
        let result = match pool.get().await {
            Ok(mut client) => {
                let r = commit_group(&mut w, &mut client, &jobs).await;
                if r.is_err() && jobs.len() > 1 {
                    // One batch must not sink the others: each alone, once.
                    w.forget();
                    let mut each = Vec::with_capacity(jobs.len());
                    let mut total = 0;
                    let mut whole: Result<(), StoreError> = Ok(());
                    for job in &jobs {
                        match commit_group(&mut w, &mut client, std::slice::from_ref(job)).await {
                            Ok((mut r, n)) => {
                                total += n;
                                each.push(r.pop().expect("one job, one result"));
                            }
                            Err(e) => {
                                w.forget();
                                if e.is_unavailable() {
                                    whole = Err(e.clone());
                                }
                                each.push(Err(e));
                            }
                        }
                    }
                    match whole {
                        Err(e) if total == 0 => Err(e),
                        _ => Ok((each, total)),
                    }
                } else {
                    r
                }
            }
            Err(e) => Err(super::pool_error(e)),
        };
        match result {
            Ok((results, appended)) => {
                if appended > 0 {
                    counters.record_commit(appended);
                    ticks.send_modify(|n| *n += 1);
                }
                for (job, r) in jobs.into_iter().zip(results) {
                    let _ = job.reply.send(r);
                }
            }
            Err(e) => {
                w.forget();
                tracing::error!("commit failed; {} batches are refused: {e}", jobs.len());
                for job in jobs {
                    let _ = job.reply.send(Err(e.clone()));
                }
            }
        }
    }
}
