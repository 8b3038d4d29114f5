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
    pub client: Pooled,
    pub tenant: String,
}

/// The snapshot's pooled connection. Its transaction is ended before it goes back to the pool;
/// one dropped with the transaction still open (the request was cancelled, or the walk
/// panicked) is taken out of the pool and closed instead, so that no later user of the pool
/// finds itself inside a read-only transaction.
pub(super) struct Pooled {
    object: Option<deadpool_postgres::Object>,
    open: bool,
}

impl std::ops::Deref for Pooled {
    type Target = deadpool_postgres::Object;

    fn deref(&self) -> &Self::Target {
        self.object
            .as_ref()
            .expect("a snapshot's connection is only taken on drop")
    }
}

impl Drop for Pooled {
    fn drop(&mut self) {
        if self.open
            && let Some(object) = self.object.take()
        {
            drop(deadpool_postgres::Object::take(object));
        }
    }
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
        // Open from before BEGIN: a call cancelled while BEGIN is awaited must not hand the
        // pool a connection whose state it does not know.
        let mut snapshot = Snapshot {
            rt: Handle::current(),
            client: Pooled {
                object: Some(self.client().await?),
                open: true,
            },
            tenant: tenant.to_string(),
        };
        snapshot
            .client
            .batch_execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
            .await
            .map_err(db_error)?;
        let (out, snapshot) = tokio::task::spawn_blocking(move || {
            let out = f(&mut snapshot);
            (out, snapshot)
        })
        .await
        .map_err(|e| internal(format!("{what} stopped: {e}")))?;
        // Read only: ending it either way changes nothing. Only a connection whose
        // transaction did end goes back to the pool.
        let mut snapshot = snapshot;
        if snapshot.client.batch_execute("ROLLBACK").await.is_ok() {
            snapshot.client.open = false;
        }
        out
    }
}
