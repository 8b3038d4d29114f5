//! The audit store: what an audit log can do, and nothing that could quietly rewrite it.

pub mod archive;
pub mod chain;
pub mod history;
pub mod postgres;
pub mod sqlite;
mod tokens;
pub mod union;
pub mod verify;

use crate::model::{
    Appended, ChainHead, ConsistencyProof, Cursor, Entry, FacetField, Facets, InclusionProof,
    NewEvent, Order, Page, PruneReport, Query, SignedCheckpoint, Stats, VerifyReport,
};
use crate::proof::{SigningKey, VerifierKey};
use chrono::{DateTime, Utc};
use std::sync::atomic::{AtomicU64, Ordering};

pub use sqlite::SqliteStore;
pub use tokens::{Role, TokenRecord, hash_secret, new_secret};

/// Why a store call failed. Messages are sentences a person can act on.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("the database failed: {0}")]
    Database(#[from] rusqlite::Error),
    #[error("the store is shutting down and takes no more writes")]
    Closed,
    #[error("{0}")]
    Invalid(String),
    #[error("could not open the database: {0}")]
    Open(String),
    /// What was asked for is not there (a seq, a tree size beyond the log).
    #[error("{0}")]
    NotFound(String),
    /// The request does not make sense (a seq outside the tree size it names).
    #[error("{0}")]
    BadRequest(String),
    /// The database no longer matches what was signed: the store refuses rather than bless it.
    #[error("{0}")]
    Tampered(String),
    /// The database cannot write now (disk full, read-only, gone): nothing was stored, and the
    /// same call may succeed once the cause is fixed.
    #[error("the database cannot write: {0}")]
    Unavailable(String),
}

impl StoreError {
    /// Classifies a failed write: the conditions an operator can fix without a restart (space,
    /// permissions, a vanished file) become [`StoreError::Unavailable`]; anything else stays a
    /// database error.
    pub fn from_write(e: rusqlite::Error) -> StoreError {
        match write_blocker(&e) {
            Some(reason) => StoreError::Unavailable(format!("{reason} ({e})")),
            None => StoreError::Database(e),
        }
    }

    /// Whether `e` is a write the disk refused (see [`StoreError::from_write`]).
    pub fn disk_refused(e: &rusqlite::Error) -> bool {
        write_blocker(e).is_some()
    }

    /// The same failure for another waiter: the writer answers every batch of a failed group.
    pub(crate) fn duplicate(&self) -> StoreError {
        match self {
            StoreError::Unavailable(why) => StoreError::Unavailable(why.clone()),
            StoreError::Closed => StoreError::Closed,
            other => StoreError::Invalid(other.to_string()),
        }
    }

    /// Whether the store could not write for a reason outside it (see [`StoreError::from_write`]).
    pub fn is_unavailable(&self) -> bool {
        self.unavailable_reason().is_some()
    }

    /// The disk's side of it, in a few words ("the disk is full"), when the store could not write
    /// for a reason outside it.
    pub fn unavailable_reason(&self) -> Option<&str> {
        match self {
            StoreError::Unavailable(why) => Some(why.split(" (").next().unwrap_or(why)),
            StoreError::Database(e) => write_blocker(e),
            _ => None,
        }
    }
}

/// Why SQLite could not write, when the cause lies in the disk rather than in the data.
fn write_blocker(e: &rusqlite::Error) -> Option<&'static str> {
    use rusqlite::ErrorCode as C;
    match e.sqlite_error_code()? {
        C::DiskFull => Some("the disk is full"),
        C::ReadOnly => Some("the database is read-only"),
        C::SystemIoFailure => Some("the database file could not be written"),
        C::CannotOpen => Some("the database file cannot be opened"),
        C::PermissionDenied => Some("the database file may not be written"),
        _ => None,
    }
}

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

/// Counters the single writer keeps, read by `/metrics`.
#[derive(Debug, Default)]
pub struct WriterStats {
    /// Entries appended since start.
    pub entries: AtomicU64,
    /// Transactions committed since start.
    pub commits: AtomicU64,
    /// How many entries each commit carried: counts per bucket of [`COMMIT_SIZE_BUCKETS`].
    pub commit_size_buckets: [AtomicU64; COMMIT_SIZE_BUCKETS.len()],
    /// Sum of entries over all commits (the histogram's `_sum`).
    pub commit_size_sum: AtomicU64,
}

/// Upper bounds of the commit-size histogram.
pub const COMMIT_SIZE_BUCKETS: [u64; 8] = [1, 10, 100, 1000, 5000, 10000, 50000, u64::MAX];

impl WriterStats {
    pub(crate) fn record_commit(&self, entries: u64) {
        self.entries.fetch_add(entries, Ordering::Relaxed);
        self.commits.fetch_add(1, Ordering::Relaxed);
        self.commit_size_sum.fetch_add(entries, Ordering::Relaxed);
        let i = COMMIT_SIZE_BUCKETS
            .iter()
            .position(|b| entries <= *b)
            .unwrap_or(COMMIT_SIZE_BUCKETS.len() - 1);
        self.commit_size_buckets[i].fetch_add(1, Ordering::Relaxed);
    }
}

/// An audit log. Appends are atomic per batch and durable when they return; nothing here
/// updates or deletes an entry. Every call is scoped to one tenant.
pub trait Store: Send + Sync + 'static {
    /// Appends a validated batch; returns each event's id, seq and hash in input order once durable.
    fn append(&self, tenant: &str, events: Vec<NewEvent>) -> Result<Vec<Appended>, StoreError>;
    /// One keyset page of entries matching `query`; relative times resolve against `now`.
    fn page(
        &self,
        tenant: &str,
        query: &Query,
        page: &PageRequest,
        now: DateTime<Utc>,
    ) -> Result<Page, StoreError>;
    /// Every entry matching `query`, in keyset chunks, handed to `sink` until it returns false.
    /// Never holds more than one chunk in memory; returns how many entries `sink` took.
    fn scan(
        &self,
        tenant: &str,
        query: &Query,
        order: Order,
        now: DateTime<Utc>,
        sink: &mut dyn FnMut(Entry) -> bool,
    ) -> Result<u64, StoreError> {
        let mut req = PageRequest {
            limit: 1000,
            order,
            cursor: None,
        };
        let mut taken = 0;
        loop {
            let page = self.page(tenant, query, &req, now)?;
            let more = page.next_cursor.is_some();
            let mut last = None;
            for e in page.entries {
                last = Some(Cursor {
                    occurred_at_ms: e.occurred_at.timestamp_millis(),
                    seq: e.seq,
                    order,
                });
                taken += 1;
                if !sink(e) {
                    return Ok(taken);
                }
            }
            match (more, last) {
                (true, Some(c)) => req.cursor = Some(c),
                _ => return Ok(taken),
            }
        }
    }
    /// Up to `limit` entries matching `query` with a seq after `after_seq`, in seq order: what a
    /// live stream replays and then follows.
    fn after_seq(
        &self,
        tenant: &str,
        query: &Query,
        after_seq: u64,
        limit: usize,
        now: DateTime<Utc>,
    ) -> Result<Vec<Entry>, StoreError>;
    /// Changes after every commit (appends and maintenance alike), so a live stream knows when
    /// to look again. Never blocks the writer, however slowly a receiver reads.
    fn commits(&self) -> tokio::sync::watch::Receiver<u64>;
    /// One entry by id.
    fn get(&self, tenant: &str, id: &str) -> Result<Option<Entry>, StoreError>;
    /// One entry by seq.
    fn get_seq(&self, tenant: &str, seq: u64) -> Result<Option<Entry>, StoreError>;
    /// The values of `field` under `query` (the field's own terms left out), most frequent first.
    fn facets(
        &self,
        tenant: &str,
        field: FacetField,
        query: &Query,
        limit: usize,
        now: DateTime<Utc>,
    ) -> Result<Facets, StoreError>;
    /// The count under `query` and its activity in `buckets` time buckets.
    fn stats(
        &self,
        tenant: &str,
        query: &Query,
        buckets: usize,
        now: DateTime<Utc>,
    ) -> Result<Stats, StoreError>;
    /// The chain's last entry received at or before `at` (the head now, when `at` is `None`).
    fn head_at(
        &self,
        tenant: &str,
        at: Option<DateTime<Utc>>,
    ) -> Result<Option<ChainHead>, StoreError>;
    /// The tenant's retention window in days, if one was set.
    fn retention_days(&self, tenant: &str) -> Result<Option<u32>, StoreError>;
    /// Sets the tenant's retention window (the caller enforces the floor).
    fn set_retention_days(&self, tenant: &str, days: u32) -> Result<(), StoreError>;
    /// What the tenant's last prune did.
    fn last_prune(&self, tenant: &str) -> Result<Option<PruneReport>, StoreError>;
    /// Removes the tenant's entries received before `cutoff` (a prefix of the chain), after
    /// archiving them to `archive_dir` if given; records itself as `retention.pruned`.
    fn prune(
        &self,
        tenant: &str,
        cutoff: DateTime<Utc>,
        archive_dir: Option<&std::path::Path>,
    ) -> Result<PruneReport, StoreError>;
    /// Replaces a person's name, email, ip and user agent with a pseudonym in every entry of
    /// the tenant, destroying the salts of their commitments; records `gdpr.pseudonymised`.
    fn pseudonymise(
        &self,
        tenant: &str,
        who: &Identity,
        requested_by: &crate::model::Actor,
    ) -> Result<crate::model::PseudonymReport, StoreError>;
    /// Every tenant that has entries.
    fn tenants(&self) -> Result<Vec<String>, StoreError>;
    /// Walks the tenant's hash chain and Merkle tree, checks every stored checkpoint (its
    /// signature with `key` when given), the append-only triggers and that no maintenance
    /// permit is lying open, and names the earliest seq and checkpoint that no longer match.
    fn verify(&self, tenant: &str, key: Option<&VerifierKey>) -> Result<VerifyReport, StoreError>;
    /// The newest signed checkpoint of the tenant's tree; signs one with `key` if the tree grew
    /// since the last (and only if the tree provably extends it).
    fn checkpoint(&self, tenant: &str, key: &SigningKey) -> Result<SignedCheckpoint, StoreError>;
    /// The proof that travels with an export of the entries `seqs` (API.md "Exports prove
    /// themselves offline"), against the newest checkpoint (signed now with `key` if the tree
    /// grew). `shows_all` is true when the file shows every field of an entry (JSON, NDJSON);
    /// false for CSV, which leaves out the user agent and the idempotency key.
    fn export_proof(
        &self,
        tenant: &str,
        seqs: &[u64],
        shows_all: bool,
        key: &SigningKey,
    ) -> Result<crate::model::ProofFile, StoreError>;
    /// Proof that entry `seq` is in the tree of `size` leaves.
    fn inclusion_proof(
        &self,
        tenant: &str,
        seq: u64,
        size: u64,
    ) -> Result<InclusionProof, StoreError>;
    /// Proof that the tree of `from` leaves is a prefix of the tree of `to` leaves.
    fn consistency_proof(
        &self,
        tenant: &str,
        from: u64,
        to: u64,
    ) -> Result<ConsistencyProof, StoreError>;
    /// What was changed in the schema behind trailscope's back (triggers dropped or replaced, a
    /// maintenance permit left open), one sentence each; empty when nothing was.
    fn schema_tampering(&self) -> Result<Vec<String>, StoreError>;
    /// Looks a bearer token up by the hash of its secret; revoked tokens are not found.
    fn authenticate(&self, secret_hash: &str) -> Result<Option<TokenRecord>, StoreError>;
    /// The writer's counters.
    fn writer_stats(&self) -> &WriterStats;
    /// `Err(reason)` while the store cannot write (the last write failed for a reason such as
    /// a full disk and a fresh probe still fails); `Ok` once writes work again.
    fn write_health(&self) -> Result<(), String> {
        Ok(())
    }
    /// Commits what is in flight and stops the writer; later appends fail with [`StoreError::Closed`].
    fn close(&self);
}
