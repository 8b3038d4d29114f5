//! [`crate::store::Store`] for [`PostgresStore`]: each method hands over to the inherent one that
//! does the work (in this module's files, by job).

use super::*;

#[async_trait::async_trait]
impl crate::store::Store for PostgresStore {
    async fn append(
        &self,
        tenant: &str,
        events: Vec<NewEvent>,
    ) -> Result<Vec<Appended>, StoreError> {
        PostgresStore::append(self, tenant, events).await
    }
    async fn page(
        &self,
        tenant: &str,
        query: &Query,
        page: &PageRequest,
        now: DateTime<Utc>,
    ) -> Result<Page, StoreError> {
        PostgresStore::page(self, tenant, query, page, now).await
    }
    async fn after_seq(
        &self,
        tenant: &str,
        query: &Query,
        after_seq: u64,
        limit: usize,
        now: DateTime<Utc>,
    ) -> Result<Vec<Entry>, StoreError> {
        PostgresStore::after_seq(self, tenant, query, after_seq, limit, now).await
    }
    fn commits(&self) -> watch::Receiver<u64> {
        PostgresStore::commits(self)
    }
    async fn get(&self, tenant: &str, id: &str) -> Result<Option<Entry>, StoreError> {
        PostgresStore::get(self, tenant, id).await
    }
    async fn get_seq(&self, tenant: &str, seq: u64) -> Result<Option<Entry>, StoreError> {
        PostgresStore::get_seq(self, tenant, seq).await
    }
    async fn facets(
        &self,
        tenant: &str,
        field: FacetField,
        query: &Query,
        limit: usize,
        now: DateTime<Utc>,
    ) -> Result<Facets, StoreError> {
        PostgresStore::facets(self, tenant, field, query, limit, now).await
    }
    async fn stats(
        &self,
        tenant: &str,
        query: &Query,
        buckets: usize,
        now: DateTime<Utc>,
    ) -> Result<Stats, StoreError> {
        PostgresStore::stats(self, tenant, query, buckets, now).await
    }
    async fn head_at(
        &self,
        tenant: &str,
        at: Option<DateTime<Utc>>,
    ) -> Result<Option<ChainHead>, StoreError> {
        PostgresStore::head_at(self, tenant, at).await
    }
    async fn retention_days(&self, tenant: &str) -> Result<Option<u32>, StoreError> {
        PostgresStore::retention_days(self, tenant).await
    }
    async fn set_retention_days(&self, tenant: &str, days: u32) -> Result<(), StoreError> {
        PostgresStore::set_retention_days(self, tenant, days).await
    }
    async fn last_prune(&self, tenant: &str) -> Result<Option<PruneReport>, StoreError> {
        PostgresStore::last_prune(self, tenant).await
    }
    async fn prune(
        &self,
        tenant: &str,
        cutoff: DateTime<Utc>,
        archive: Option<Arc<dyn crate::store::ArchiveSink>>,
    ) -> Result<PruneReport, StoreError> {
        PostgresStore::prune(self, tenant, cutoff, archive.as_deref()).await
    }
    async fn prune_tenants(
        &self,
        plan: &[(String, DateTime<Utc>)],
        archive: Option<Arc<dyn crate::store::ArchiveSink>>,
    ) -> Vec<(String, Result<PruneReport, StoreError>)> {
        PostgresStore::prune_many(self, plan, archive.as_deref()).await
    }
    async fn pseudonymise(
        &self,
        tenant: &str,
        who: &crate::store::Identity,
        requested_by: &crate::model::Actor,
    ) -> Result<crate::model::PseudonymReport, StoreError> {
        PostgresStore::pseudonymise(self, tenant, who, requested_by).await
    }
    async fn tenants(&self) -> Result<Vec<String>, StoreError> {
        PostgresStore::tenants(self).await
    }
    async fn verify_watched(
        &self,
        tenant: &str,
        key: Option<&crate::proof::VerifierKey>,
        remembered: Option<crate::store::checkpoint::Remembered>,
        progress: Option<tokio::sync::watch::Sender<crate::model::VerifyProgress>>,
    ) -> Result<crate::model::VerifyReport, StoreError> {
        PostgresStore::verify_watched(self, tenant, key, remembered, progress).await
    }
    async fn checkpoint_extending(
        &self,
        tenant: &str,
        key: &crate::proof::SigningKey,
        floor: Option<crate::store::checkpoint::Remembered>,
    ) -> Result<crate::model::SignedCheckpoint, StoreError> {
        PostgresStore::checkpoint_extending(self, tenant, key, floor).await
    }
    async fn export_proof(
        &self,
        tenant: &str,
        seqs: &[u64],
        shows_all: bool,
        key: &crate::proof::SigningKey,
    ) -> Result<crate::model::ProofFile, StoreError> {
        PostgresStore::export_proof(self, tenant, seqs, shows_all, key).await
    }
    async fn inclusion_proof(
        &self,
        tenant: &str,
        seq: u64,
        size: u64,
    ) -> Result<crate::model::InclusionProof, StoreError> {
        PostgresStore::inclusion_proof(self, tenant, seq, size).await
    }
    async fn consistency_proof(
        &self,
        tenant: &str,
        from: u64,
        to: u64,
    ) -> Result<crate::model::ConsistencyProof, StoreError> {
        PostgresStore::consistency_proof(self, tenant, from, to).await
    }
    async fn schema_tampering(&self) -> Result<Vec<String>, StoreError> {
        PostgresStore::schema_tampering(self).await
    }
    async fn authenticate(
        &self,
        secret_hash: &str,
    ) -> Result<Option<crate::store::TokenRecord>, StoreError> {
        PostgresStore::authenticate(self, secret_hash).await
    }
    async fn create_token(
        &self,
        new: crate::store::NewToken,
    ) -> Result<crate::store::TokenRecord, StoreError> {
        PostgresStore::create_token(self, new).await
    }
    async fn list_tokens(&self) -> Result<Vec<crate::store::TokenRecord>, StoreError> {
        PostgresStore::list_tokens(self).await
    }
    async fn revoke_token(&self, id: &str) -> Result<bool, StoreError> {
        PostgresStore::revoke_token(self, id).await
    }
    fn metrics(&self) -> crate::store::StoreMetrics {
        PostgresStore::metrics(self)
    }
    async fn write_health(&self) -> Result<(), crate::store::Degraded> {
        PostgresStore::write_health(self).await
    }
    async fn close(&self) {
        PostgresStore::close(self).await
    }
    async fn claim_scheduled(&self, job: &str, day: chrono::NaiveDate) -> Result<bool, StoreError> {
        PostgresStore::claim_scheduled(self, job, day).await
    }
}
