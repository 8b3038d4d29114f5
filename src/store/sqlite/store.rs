//! [`SqliteStore`]: the async [`Store`] over the synchronous engine. Writes are handed to the
//! writer thread and their answers awaited (no thread waits); reads, proofs and verify run on
//! tokio's blocking pool, so no caller of the trait ever blocks a runtime thread.

use super::{SqliteDb, writer};
use crate::model::{
    Actor, Appended, ChainHead, ConsistencyProof, Entry, FacetField, Facets, InclusionProof,
    NewEvent, Page, ProofFile, PruneReport, PseudonymReport, Query, SignedCheckpoint, Stats,
    VerifyProgress, VerifyReport,
};
use crate::proof::{SigningKey, VerifierKey};
use crate::store::checkpoint::Remembered;
use crate::store::verify::Progress;
use crate::store::{
    ArchiveSink, Identity, NewToken, PageRequest, Store, StoreError, StoreMetrics, TokenRecord,
};
use chrono::{DateTime, Utc};
use std::path::Path;
use std::sync::Arc;
use tokio::sync::watch;

/// The SQLite implementation of [`Store`]. Cheap to clone; every clone is the same store.
#[derive(Clone)]
pub struct SqliteStore {
    db: Arc<SqliteDb>,
}

impl SqliteStore {
    /// Opens (or creates) the database at `path` and starts its writer thread. Blocks while it
    /// builds a missing Merkle tree (call it before serving, or on a blocking thread).
    pub fn open(path: impl AsRef<Path>) -> Result<SqliteStore, StoreError> {
        Ok(SqliteStore {
            db: Arc::new(SqliteDb::open(path)?),
        })
    }

    /// A store for a short command beside the server that owns the file (see
    /// [`SqliteDb::open_beside`]).
    pub fn open_beside(path: impl AsRef<Path>) -> Result<SqliteStore, StoreError> {
        Ok(SqliteStore {
            db: Arc::new(SqliteDb::open_beside(path)?),
        })
    }

    /// The synchronous engine underneath, for callers on their own threads.
    pub fn db(&self) -> &Arc<SqliteDb> {
        &self.db
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        self.db.path()
    }

    /// Runs `f` on tokio's blocking pool with the engine.
    async fn blocking<T: Send + 'static>(
        &self,
        f: impl FnOnce(&SqliteDb) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, StoreError> {
        let db = self.db.clone();
        tokio::task::spawn_blocking(move || f(&db))
            .await
            .unwrap_or_else(|e| Err(StoreError::Internal(format!("a database task failed: {e}"))))
    }
}

/// The writer's answer, awaited.
async fn answer<T>(a: Result<super::Answer<T>, StoreError>) -> Result<T, StoreError> {
    a?.await.map_err(|_| StoreError::Closed)?
}

#[async_trait::async_trait]
impl Store for SqliteStore {
    async fn append(
        &self,
        tenant: &str,
        events: Vec<NewEvent>,
    ) -> Result<Vec<Appended>, StoreError> {
        if events.is_empty() {
            return Ok(Vec::new());
        }
        crate::store::refuse_far_future(&events)?;
        let result = answer(self.db.send_work(|reply| {
            writer::Work::Append(writer::Job {
                tenant: tenant.to_string(),
                events,
                reply,
            })
        }))
        .await;
        self.db.note_write(&result);
        result
    }

    async fn page(
        &self,
        tenant: &str,
        query: &Query,
        page: &PageRequest,
        now: DateTime<Utc>,
    ) -> Result<Page, StoreError> {
        let (tenant, query, page) = (tenant.to_string(), query.clone(), *page);
        self.blocking(move |db| db.page(&tenant, &query, &page, now))
            .await
    }

    async fn after_seq(
        &self,
        tenant: &str,
        query: &Query,
        after_seq: u64,
        limit: usize,
        now: DateTime<Utc>,
    ) -> Result<Vec<Entry>, StoreError> {
        let (tenant, query) = (tenant.to_string(), query.clone());
        self.blocking(move |db| db.after_seq(&tenant, &query, after_seq, limit, now))
            .await
    }

    fn commits(&self) -> tokio::sync::watch::Receiver<u64> {
        self.db.commits()
    }

    async fn get(&self, tenant: &str, id: &str) -> Result<Option<Entry>, StoreError> {
        let (tenant, id) = (tenant.to_string(), id.to_string());
        self.blocking(move |db| db.get(&tenant, &id)).await
    }

    async fn get_seq(&self, tenant: &str, seq: u64) -> Result<Option<Entry>, StoreError> {
        let tenant = tenant.to_string();
        self.blocking(move |db| db.get_seq(&tenant, seq)).await
    }

    async fn facets(
        &self,
        tenant: &str,
        field: FacetField,
        query: &Query,
        limit: usize,
        now: DateTime<Utc>,
    ) -> Result<Facets, StoreError> {
        let (tenant, query) = (tenant.to_string(), query.clone());
        self.blocking(move |db| db.facets(&tenant, field, &query, limit, now))
            .await
    }

    async fn stats(
        &self,
        tenant: &str,
        query: &Query,
        buckets: usize,
        now: DateTime<Utc>,
    ) -> Result<Stats, StoreError> {
        let (tenant, query) = (tenant.to_string(), query.clone());
        self.blocking(move |db| db.stats(&tenant, &query, buckets, now))
            .await
    }

    async fn head_at(
        &self,
        tenant: &str,
        at: Option<DateTime<Utc>>,
    ) -> Result<Option<ChainHead>, StoreError> {
        let tenant = tenant.to_string();
        self.blocking(move |db| db.head_at(&tenant, at)).await
    }

    async fn retention_days(&self, tenant: &str) -> Result<Option<u32>, StoreError> {
        let tenant = tenant.to_string();
        self.blocking(move |db| db.retention_days(&tenant)).await
    }

    async fn set_retention_days(&self, tenant: &str, days: u32) -> Result<(), StoreError> {
        answer(self.db.set_retention_days_answer(tenant, days)).await
    }

    async fn last_prune(&self, tenant: &str) -> Result<Option<PruneReport>, StoreError> {
        let tenant = tenant.to_string();
        self.blocking(move |db| db.last_prune(&tenant)).await
    }

    async fn prune(
        &self,
        tenant: &str,
        cutoff: DateTime<Utc>,
        archive: Option<Arc<dyn ArchiveSink>>,
    ) -> Result<PruneReport, StoreError> {
        answer(self.db.prune_answer(tenant, cutoff, archive)).await
    }

    async fn pseudonymise(
        &self,
        tenant: &str,
        who: &Identity,
        requested_by: &Actor,
    ) -> Result<PseudonymReport, StoreError> {
        answer(self.db.pseudonymise_answer(tenant, who, requested_by)).await
    }

    async fn tenants(&self) -> Result<Vec<String>, StoreError> {
        self.blocking(|db| db.tenants()).await
    }

    async fn verify_watched(
        &self,
        tenant: &str,
        key: Option<&VerifierKey>,
        remembered: Option<Remembered>,
        progress: Option<watch::Sender<VerifyProgress>>,
    ) -> Result<VerifyReport, StoreError> {
        let (tenant, key) = (tenant.to_string(), key.cloned());
        let mut progress = Progress::new(progress);
        self.blocking(move |db| db.verify_watched(&tenant, key.as_ref(), remembered, &mut progress))
            .await
    }

    async fn checkpoint_extending(
        &self,
        tenant: &str,
        key: &SigningKey,
        floor: Option<Remembered>,
    ) -> Result<SignedCheckpoint, StoreError> {
        let (tenant, key) = (tenant.to_string(), key.clone());
        self.blocking(move |db| db.checkpoint(&tenant, &key, floor))
            .await
    }

    async fn export_proof(
        &self,
        tenant: &str,
        seqs: &[u64],
        shows_all: bool,
        key: &SigningKey,
    ) -> Result<ProofFile, StoreError> {
        let (tenant, seqs, key) = (tenant.to_string(), seqs.to_vec(), key.clone());
        self.blocking(move |db| db.export_proof(&tenant, &seqs, shows_all, &key))
            .await
    }

    async fn inclusion_proof(
        &self,
        tenant: &str,
        seq: u64,
        size: u64,
    ) -> Result<InclusionProof, StoreError> {
        let tenant = tenant.to_string();
        self.blocking(move |db| db.inclusion_proof(&tenant, seq, size))
            .await
    }

    async fn consistency_proof(
        &self,
        tenant: &str,
        from: u64,
        to: u64,
    ) -> Result<ConsistencyProof, StoreError> {
        let tenant = tenant.to_string();
        self.blocking(move |db| db.consistency_proof(&tenant, from, to))
            .await
    }

    async fn schema_tampering(&self) -> Result<Vec<String>, StoreError> {
        self.blocking(|db| db.schema_tampering()).await
    }

    async fn authenticate(&self, secret_hash: &str) -> Result<Option<TokenRecord>, StoreError> {
        let hash = secret_hash.to_string();
        self.blocking(move |db| db.authenticate(&hash)).await
    }

    async fn create_token(&self, new: NewToken) -> Result<TokenRecord, StoreError> {
        answer(self.db.create_token_answer(new)).await
    }

    async fn list_tokens(&self) -> Result<Vec<TokenRecord>, StoreError> {
        self.blocking(|db| db.list_tokens()).await
    }

    async fn revoke_token(&self, id: &str) -> Result<bool, StoreError> {
        answer(self.db.revoke_token_answer(id)).await
    }

    fn metrics(&self) -> StoreMetrics {
        self.db.metrics()
    }

    async fn write_health(&self) -> Result<(), crate::store::Degraded> {
        if !self.db.degraded() {
            return Ok(());
        }
        let db = self.db.clone();
        tokio::task::spawn_blocking(move || db.write_health())
            .await
            .unwrap_or_else(|e| {
                Err(crate::store::Degraded::Probe(
                    crate::store::ProbeFailure::Aborted(e.to_string()),
                ))
            })
    }

    async fn close(&self) {
        let db = self.db.clone();
        let _ = tokio::task::spawn_blocking(move || db.close()).await;
    }
}
