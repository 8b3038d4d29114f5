//! The audit store: what an audit log can do, and nothing that could quietly rewrite it.
//!
//! [`Store`] is backend-neutral and async: the server awaits it and does nothing else with a
//! database. A backend does its blocking work where it sees fit (SQLite: its writer thread and
//! `spawn_blocking` for reads; PostgreSQL: an async driver). Errors name no driver.

pub mod archive;
mod archive_dir;
pub mod chain;
pub mod checkpoint;
mod error;
pub mod filter;
pub mod history;
pub mod postgres;
pub mod proofs;
pub mod pseudonym;
pub mod records;
pub mod rollup;
pub mod signer;
pub mod sqlite;
mod tokens;
pub mod union;
pub mod verify;

use crate::model::{
    Actor, Appended, ChainHead, ConsistencyProof, Cursor, Entry, FacetField, Facets,
    InclusionProof, NewEvent, Order, Page, ProofFile, PruneReport, PseudonymReport, Query,
    SignedCheckpoint, Stats, VerifyProgress, VerifyReport,
};
use crate::proof::{SigningKey, VerifierKey};
use chrono::{DateTime, Utc};
use std::sync::Arc;

pub use archive_dir::{ArchiveManifest, ArchivedEntry, DirArchive};
pub use error::{Degraded, ProbeFailure, StoreError, WriteBlocker};
pub use sqlite::SqliteStore;
pub use tokens::{
    NewToken, Role, TokenRecord, hash_secret, new_secret, new_token_id, valid_tenant,
};

/// Whose personal data to pseudonymise.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Identity {
    ActorId(String),
    /// Matched case-insensitively.
    Email(String),
}

/// Which page of a query to read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageRequest {
    /// Rows per page, 1–1000.
    pub limit: usize,
    pub order: Order,
    pub cursor: Option<Cursor>,
}

impl Default for PageRequest {
    fn default() -> Self {
        PageRequest {
            limit: 50,
            order: Order::Desc,
            cursor: None,
        }
    }
}

impl PageRequest {
    /// The first page of a scan: [`SCAN_PAGE`] entries in `order`.
    pub fn scan(order: Order) -> PageRequest {
        PageRequest {
            limit: SCAN_PAGE,
            order,
            cursor: None,
        }
    }

    /// Hands a scan's `page` (read with this request) to `sink`, counting in `taken` what it
    /// took; the request for the next page, unless this was the last or `sink` wants no more.
    pub fn hand_over(
        &self,
        page: Page,
        sink: &mut dyn FnMut(Entry) -> bool,
        taken: &mut u64,
    ) -> Option<PageRequest> {
        let more = page.next_cursor.is_some();
        let mut last = None;
        for e in page.entries {
            last = Some(Cursor {
                occurred_at_ms: e.occurred_at.timestamp_millis(),
                seq: e.seq,
                order: self.order,
            });
            *taken += 1;
            if !sink(e) {
                return None;
            }
        }
        let cursor = last.filter(|_| more)?;
        Some(PageRequest {
            cursor: Some(cursor),
            ..*self
        })
    }

    /// What a store reads to answer this: one row more than the page, which says whether a next
    /// page exists.
    pub fn probe(&self) -> PageRequest {
        PageRequest {
            limit: self.limit + 1,
            ..*self
        }
    }

    /// The page out of a [`PageRequest::probe`]'s rows: at most `limit` of them, and a cursor
    /// after the last when the probe found more.
    pub fn page(&self, mut entries: Vec<Entry>) -> Page {
        let next_cursor = if entries.len() > self.limit {
            entries.truncate(self.limit);
            entries.last().map(|e| {
                Cursor {
                    occurred_at_ms: e.occurred_at.timestamp_millis(),
                    seq: e.seq,
                    order: self.order,
                }
                .encode()
            })
        } else {
            None
        };
        Page {
            entries,
            next_cursor,
        }
    }
}

/// Upper bounds of the commit-size histogram.
pub const COMMIT_SIZE_BUCKETS: [u64; 8] = [1, 10, 100, 1000, 5000, 10000, 50000, u64::MAX];

/// What a store counted since it started, read by `/metrics`: a plain snapshot, whatever the
/// backend's write path looks like.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StoreMetrics {
    /// Entries appended since start.
    pub entries: u64,
    /// Transactions that appended entries, committed since start.
    pub commits: u64,
    /// How many entries each commit carried: counts per bucket of [`COMMIT_SIZE_BUCKETS`].
    pub commit_size_buckets: [u64; COMMIT_SIZE_BUCKETS.len()],
    /// Sum of entries over all commits (the histogram's `_sum`).
    pub commit_size_sum: u64,
    /// Entries committed but not yet in the secondary and search indexes (SQLite adds them
    /// after the commit; every read finds them meanwhile). Always 0 on PostgreSQL.
    pub pending_index: u64,
}

/// Where a prune's removed entries go before they are removed ([`DirArchive`]: a directory of
/// gzip NDJSON and a manifest). Sync on purpose: it is file I/O that the store calls from its
/// own blocking context (SQLite: the writer thread, inside the prune's transaction).
pub trait ArchiveSink: Send + Sync {
    /// Starts the archive of tenant `tenant`'s entries received before `cutoff`.
    fn begin(
        &self,
        tenant: &str,
        cutoff: DateTime<Utc>,
    ) -> Result<Box<dyn ArchiveWriter>, StoreError>;
    /// Where archives go, for the log's record of a prune that could not archive.
    fn location(&self) -> String;
}

/// One archive being written: entries in seq order, then the manifest.
pub trait ArchiveWriter: Send {
    /// Adds one entry and the commitments its hash was computed with.
    fn write(&mut self, entry: &ArchivedEntry) -> Result<(), StoreError>;
    /// Completes the archive durably (data and manifest synced) and says where it is; only then
    /// may the store remove the entries.
    fn finish(
        self: Box<Self>,
        first_prev_hash: &str,
        last_hash: &str,
    ) -> Result<ArchiveRef, StoreError>;
}

/// Where a finished archive is (for [`DirArchive`], its manifest's path): what
/// [`PruneReport::archive`] records.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArchiveRef(pub String);

/// The scan's default chunk: a keyset page this size at a time.
pub const SCAN_PAGE: usize = 1000;

/// How far an event's `occurred_at` may lie ahead of the store's clock when it is appended. The
/// API already refuses more than 5 minutes ahead; the hour covers a clock that steps back
/// between the two. Every store holds it, so no entry was received more than this before it
/// occurred, which lets PostgreSQL's time-bounded reads skip the partitions (by `received_at`)
/// before their `from`.
pub const MAX_AHEAD: chrono::TimeDelta = chrono::TimeDelta::hours(1);

/// Refuses a batch holding an event that occurred more than [`MAX_AHEAD`] from now.
pub fn refuse_far_future(events: &[NewEvent]) -> Result<(), StoreError> {
    let latest = Utc::now() + MAX_AHEAD;
    match events
        .iter()
        .filter_map(|e| e.occurred_at)
        .find(|t| *t > latest)
    {
        Some(t) => Err(StoreError::Invalid(format!(
            "occurred_at {} lies more than an hour after this server's clock",
            crate::model::format_ts(&t)
        ))),
        None => Ok(()),
    }
}

/// An audit log. Appends are atomic per batch and durable when they return; nothing here
/// updates or deletes an entry. Every call is scoped to one tenant.
#[async_trait::async_trait]
pub trait Store: Send + Sync + 'static {
    /// Appends a validated batch; returns each event's id, seq and hash in input order once durable.
    async fn append(
        &self,
        tenant: &str,
        events: Vec<NewEvent>,
    ) -> Result<Vec<Appended>, StoreError>;
    /// One keyset page of entries matching `query`; relative times resolve against `now`.
    async fn page(
        &self,
        tenant: &str,
        query: &Query,
        page: &PageRequest,
        now: DateTime<Utc>,
    ) -> Result<Page, StoreError>;
    /// Every entry matching `query`, in keyset pages of [`SCAN_PAGE`], handed to `sink` until
    /// it returns false. Never holds more than one page in memory; returns how many entries
    /// `sink` took.
    async fn scan(
        &self,
        tenant: &str,
        query: &Query,
        order: Order,
        now: DateTime<Utc>,
        sink: &mut (dyn FnMut(Entry) -> bool + Send),
    ) -> Result<u64, StoreError> {
        let mut req = PageRequest::scan(order);
        let mut taken = 0;
        loop {
            let page = self.page(tenant, query, &req, now).await?;
            match req.hand_over(page, sink, &mut taken) {
                Some(next) => req = next,
                None => return Ok(taken),
            }
        }
    }
    /// Up to `limit` entries matching `query` with a seq after `after_seq`, in seq order: what a
    /// live stream replays and then follows.
    async fn after_seq(
        &self,
        tenant: &str,
        query: &Query,
        after_seq: u64,
        limit: usize,
        now: DateTime<Utc>,
    ) -> Result<Vec<Entry>, StoreError>;
    /// The commit feed: changes after every commit of any process writing this database that
    /// the backend can hear of (SQLite: this store's writer thread only; PostgreSQL:
    /// LISTEN/NOTIFY), appends and maintenance alike. A live stream re-reads [`Store::after_seq`]
    /// when it moves. Never blocks a writer, however slowly a receiver reads.
    fn commits(&self) -> tokio::sync::watch::Receiver<u64>;
    /// One entry by id.
    async fn get(&self, tenant: &str, id: &str) -> Result<Option<Entry>, StoreError>;
    /// One entry by seq.
    async fn get_seq(&self, tenant: &str, seq: u64) -> Result<Option<Entry>, StoreError>;
    /// The values of `field` under `query` (the field's own terms left out), most frequent first.
    async fn facets(
        &self,
        tenant: &str,
        field: FacetField,
        query: &Query,
        limit: usize,
        now: DateTime<Utc>,
    ) -> Result<Facets, StoreError>;
    /// The count under `query` and its activity in `buckets` time buckets.
    async fn stats(
        &self,
        tenant: &str,
        query: &Query,
        buckets: usize,
        now: DateTime<Utc>,
    ) -> Result<Stats, StoreError>;
    /// The chain's last entry received at or before `at` (the head now, when `at` is `None`).
    async fn head_at(
        &self,
        tenant: &str,
        at: Option<DateTime<Utc>>,
    ) -> Result<Option<ChainHead>, StoreError>;
    /// The tenant's retention window in days, if one was set.
    async fn retention_days(&self, tenant: &str) -> Result<Option<u32>, StoreError>;
    /// Sets the tenant's retention window (the caller enforces the floor).
    async fn set_retention_days(&self, tenant: &str, days: u32) -> Result<(), StoreError>;
    /// What the tenant's last prune did.
    async fn last_prune(&self, tenant: &str) -> Result<Option<PruneReport>, StoreError>;
    /// Removes the tenant's entries received before `cutoff` (a prefix of the chain), after
    /// writing them to `archive` if given (fail closed: an archive error removes nothing and is
    /// recorded as `retention.prune_failed`); records itself as `retention.pruned`.
    /// `archive` is an `Arc` (not a borrow) so a backend can hand it to its own thread: SQLite
    /// writes the archive on its writer thread, inside the prune's transaction.
    async fn prune(
        &self,
        tenant: &str,
        cutoff: DateTime<Utc>,
        archive: Option<Arc<dyn ArchiveSink>>,
    ) -> Result<PruneReport, StoreError>;
    /// Prunes each tenant of `plan` to its own cutoff (the daily job): one result per distinct
    /// tenant, in name order. Each is what [`Store::prune`] of that tenant alone would have
    /// done; a backend may prune them together (PostgreSQL does, so that it can drop a month's
    /// partition whole once every tenant in it is due).
    async fn prune_tenants(
        &self,
        plan: &[(String, DateTime<Utc>)],
        archive: Option<Arc<dyn ArchiveSink>>,
    ) -> Vec<(String, Result<PruneReport, StoreError>)> {
        let mut plan = plan.to_vec();
        plan.sort_by(|a, b| a.0.cmp(&b.0));
        plan.dedup_by(|a, b| a.0 == b.0);
        let mut out = Vec::with_capacity(plan.len());
        for (tenant, cutoff) in plan {
            let r = self.prune(&tenant, cutoff, archive.clone()).await;
            out.push((tenant, r));
        }
        out
    }
    /// Replaces a person's name, email, ip and user agent with a pseudonym in every entry of
    /// the tenant, destroying the salts of their commitments; records `gdpr.pseudonymised`.
    async fn pseudonymise(
        &self,
        tenant: &str,
        who: &Identity,
        requested_by: &Actor,
    ) -> Result<PseudonymReport, StoreError>;
    /// Every tenant that has entries.
    async fn tenants(&self) -> Result<Vec<String>, StoreError>;
    /// Walks the tenant's hash chain and Merkle tree, checks every stored checkpoint (its
    /// signature with `key` when given), the append-only guards and that no maintenance
    /// permit is lying open, and names the earliest seq and checkpoint that no longer match.
    async fn verify(
        &self,
        tenant: &str,
        key: Option<&VerifierKey>,
    ) -> Result<VerifyReport, StoreError> {
        self.verify_remembered(tenant, key, None).await
    }
    /// [`Store::verify`], also holding the tree to `remembered`: the checkpoint the signer
    /// remembers signing, outside the database (a tail cut or a rewrite below it is named).
    async fn verify_remembered(
        &self,
        tenant: &str,
        key: Option<&VerifierKey>,
        remembered: Option<checkpoint::Remembered>,
    ) -> Result<VerifyReport, StoreError> {
        self.verify_watched(tenant, key, remembered, None).await
    }
    /// [`Store::verify_remembered`], publishing on `progress` (when given) how far the walk got,
    /// every few thousand rows; once nobody holds a receiver of it any more, the walk stops
    /// with [`StoreError::Abandoned`] and leaves nothing open.
    async fn verify_watched(
        &self,
        tenant: &str,
        key: Option<&VerifierKey>,
        remembered: Option<checkpoint::Remembered>,
        progress: Option<tokio::sync::watch::Sender<VerifyProgress>>,
    ) -> Result<VerifyReport, StoreError>;
    /// The newest signed checkpoint of the tenant's tree; signs one with `key` if the tree grew
    /// since the last (and only if the tree provably extends it).
    async fn checkpoint(
        &self,
        tenant: &str,
        key: &SigningKey,
    ) -> Result<SignedCheckpoint, StoreError> {
        self.checkpoint_extending(tenant, key, None).await
    }
    /// [`Store::checkpoint`], refusing (as [`StoreError::Tampered`]) a tree that does not extend
    /// `floor` either: the checkpoint the signer remembers signing, outside the database.
    async fn checkpoint_extending(
        &self,
        tenant: &str,
        key: &SigningKey,
        floor: Option<checkpoint::Remembered>,
    ) -> Result<SignedCheckpoint, StoreError>;
    /// The proof that travels with an export of the entries `seqs` (API.md "Exports prove
    /// themselves offline"), against the earliest checkpoint that covers them (signed now with
    /// `key` if none does). `shows_all` is true when the file shows every field of an entry
    /// (JSON, NDJSON); false for CSV, which leaves out the user agent and the idempotency key.
    async fn export_proof(
        &self,
        tenant: &str,
        seqs: &[u64],
        shows_all: bool,
        key: &SigningKey,
    ) -> Result<ProofFile, StoreError>;
    /// Proof that entry `seq` is in the tree of `size` leaves.
    async fn inclusion_proof(
        &self,
        tenant: &str,
        seq: u64,
        size: u64,
    ) -> Result<InclusionProof, StoreError>;
    /// Proof that the tree of `from` leaves is a prefix of the tree of `to` leaves.
    async fn consistency_proof(
        &self,
        tenant: &str,
        from: u64,
        to: u64,
    ) -> Result<ConsistencyProof, StoreError>;
    /// What was changed in the schema behind trailscope's back (guards dropped or replaced, a
    /// maintenance permit left open), one sentence each; empty when nothing was.
    async fn schema_tampering(&self) -> Result<Vec<String>, StoreError>;
    /// Looks a bearer token up by the hash of its secret; revoked tokens are not found.
    async fn authenticate(&self, secret_hash: &str) -> Result<Option<TokenRecord>, StoreError>;
    /// Stores a new token (its secret only as the hash in `new`); the tenant name is checked.
    async fn create_token(&self, new: NewToken) -> Result<TokenRecord, StoreError>;
    /// Every token, newest first, revoked ones included.
    async fn list_tokens(&self) -> Result<Vec<TokenRecord>, StoreError>;
    /// Revokes a token by id; false when no live token has that id.
    async fn revoke_token(&self, id: &str) -> Result<bool, StoreError>;
    /// What the store counted since it started.
    fn metrics(&self) -> StoreMetrics;
    /// `Err(reason)` while the store cannot write (the last write failed for a reason such as
    /// a full disk and a fresh probe still fails); `Ok` once writes work again.
    async fn write_health(&self) -> Result<(), Degraded> {
        Ok(())
    }
    /// Commits what is in flight and stops writing; later appends fail with [`StoreError::Closed`].
    async fn close(&self);
    /// Claims today's run of a scheduled job (`day`, UTC) for this process: true when it should
    /// run it. One process owns a SQLite file, so the default always says yes; replicas on one
    /// PostgreSQL database agree in the database, so the daily prune runs once across them.
    async fn claim_scheduled(
        &self,
        _job: &str,
        _day: chrono::NaiveDate,
    ) -> Result<bool, StoreError> {
        Ok(true)
    }
}
