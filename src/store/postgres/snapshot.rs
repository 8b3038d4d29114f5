//! One tenant's rows from one snapshot, for the backend-neutral walks that read synchronously
//! ([`crate::store::verify`], [`crate::store::proofs`]): a pooled connection inside a
//! REPEATABLE READ, READ ONLY transaction, handed to a blocking thread, where each query is run
//! to completion. The runtime's workers never wait on it.

use super::{PostgresStore, db_error, internal};
use crate::store::StoreError;
use tokio::runtime::Handle;

/// One tenant's rows through one connection inside one snapshot.
pub(super) struct Snapshot {
    rt: Handle,
    pub client: deadpool_postgres::Object,
    pub tenant: String,
}

impl Snapshot {
    /// Runs `sql` to completion from the blocking thread.
    pub fn query(
        &self,
        sql: &str,
        params: &[&(dyn tokio_postgres::types::ToSql + Sync)],
    ) -> Result<Vec<tokio_postgres::Row>, StoreError> {
        self.rt
            .block_on(self.client.query(sql, params))
            .map_err(db_error)
    }

    /// Awaits `f` from the blocking thread.
    pub fn block_on<T>(&self, f: impl std::future::Future<Output = T>) -> T {
        self.rt.block_on(f)
    }
}

impl PostgresStore {
    /// Runs `f` over a snapshot of `tenant`'s rows on a blocking thread; `what` names the work
    /// in the error if the thread fails.
    pub(super) async fn in_snapshot<T: Send + 'static>(
        &self,
        tenant: &str,
        what: &str,
        f: impl FnOnce(&mut Snapshot) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, StoreError> {
        let client = self.client().await?;
        client
            .batch_execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
            .await
            .map_err(db_error)?;
        let mut snapshot = Snapshot {
            rt: Handle::current(),
            client,
            tenant: tenant.to_string(),
        };
        let (out, snapshot) = tokio::task::spawn_blocking(move || {
            let out = f(&mut snapshot);
            (out, snapshot)
        })
        .await
        .map_err(|e| internal(format!("{what} stopped: {e}")))?;
        // Read only: ending it either way changes nothing.
        let _ = snapshot.client.batch_execute("ROLLBACK").await;
        out
    }
}
