//! The local copy of a tenant's entries: the offline cache, or a store loaded from an export
//! file. It answers the same reads as the server, with the same types, by running the store's
//! own queries (the SQL the server's store runs) on a blocking thread.

use super::Reads;
use crate::client::{ClientError, DownloadError, Sink};
use crate::export::{ChunkSender, Exporter, Format, filters_json};
use crate::model::{FacetField, Facets, Order, Page, Query, Stats};
use crate::store::sqlite::LocalStore;
use crate::store::{PageRequest, StoreError};
use chrono::Utc;
use std::sync::Arc;

/// A local store, read as the server would be.
#[derive(Clone)]
pub struct LocalCopy {
    store: Arc<LocalStore>,
}

impl LocalCopy {
    pub fn new(store: Arc<LocalStore>) -> LocalCopy {
        LocalCopy { store }
    }

    /// Runs `f` on the local store, off the async threads.
    async fn run<T: Send + 'static>(
        &self,
        f: impl FnOnce(&LocalStore, &str) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, ClientError> {
        let store = self.store.clone();
        tokio::task::spawn_blocking(move || {
            let tenant = store.tenant()?.unwrap_or_else(|| "default".into());
            f(&store, &tenant)
        })
        .await
        .map_err(|e| ClientError::Server {
            status: 500,
            message: format!("the local query stopped: {e}"),
        })?
        .map_err(local_error)
    }

    /// Writes an export of what `q` matches into `sink` with the same writers the server uses.
    /// The rows are produced on a blocking thread and handed over in chunks, so the file is
    /// written as the scan goes and never held whole.
    pub async fn export(
        &self,
        q: &Query,
        format: Format,
        sink: &mut Sink<'_>,
    ) -> Result<u64, DownloadError> {
        let (tx, rx) = tokio::sync::mpsc::channel::<Vec<u8>>(8);
        let q = q.clone();
        let scan = self.run(move |s, tenant| {
            let now = Utc::now();
            let filters = filters_json(&q, now);
            let out = ChunkSender::new(tx, |chunk| chunk);
            let mut exporter = Exporter::begin(format, out, &now, &filters).map_err(io_invalid)?;
            let mut failed = None;
            s.store().scan(
                tenant,
                &q,
                Order::Asc,
                now,
                &mut |e| match exporter.entry(&e) {
                    Ok(()) => true,
                    Err(err) => {
                        failed = Some(err);
                        false
                    }
                },
            )?;
            if let Some(e) = failed {
                return Err(io_invalid(e));
            }
            exporter.finish().map_err(io_invalid)?;
            Ok(())
        });
        let mut bytes = 0u64;
        let write = async {
            // Owned here: when writing fails, dropping it stops the scan's thread.
            let mut rx = rx;
            while let Some(chunk) = rx.recv().await {
                bytes += chunk.len() as u64;
                sink(&chunk)?;
            }
            Ok::<(), DownloadError>(())
        };
        let (scanned, written) = tokio::join!(scan, write);
        written?;
        scanned?;
        Ok(bytes)
    }
}

impl Reads for LocalCopy {
    async fn events(
        &self,
        q: &Query,
        cursor: Option<&str>,
        limit: usize,
    ) -> Result<Page, ClientError> {
        let (q, cursor) = (q.clone(), cursor.map(str::to_string));
        self.run(move |s, tenant| {
            let cursor = match cursor {
                Some(c) => Some(
                    crate::model::Cursor::decode(&c, Order::Desc)
                        .map_err(|e| StoreError::Invalid(e.message))?,
                ),
                None => None,
            };
            let req = PageRequest {
                limit: limit.clamp(1, 1000),
                order: Order::Desc,
                cursor,
            };
            s.store().page(tenant, &q, &req, Utc::now())
        })
        .await
    }

    async fn stats(&self, q: &Query, buckets: usize) -> Result<Stats, ClientError> {
        let q = q.clone();
        self.run(move |s, tenant| {
            s.store()
                .stats(tenant, &q, buckets.clamp(1, 1000), Utc::now())
        })
        .await
    }

    async fn facets(
        &self,
        field: FacetField,
        q: &Query,
        limit: usize,
    ) -> Result<Facets, ClientError> {
        let q = q.clone();
        self.run(move |s, tenant| s.store().facets(tenant, field, &q, limit, Utc::now()))
            .await
    }
}

/// A local query's failure in the client's terms: a bad filter is the caller's, the rest the
/// local copy's.
fn local_error(e: StoreError) -> ClientError {
    match e {
        StoreError::Invalid(m) => ClientError::InvalidQuery(m),
        other => ClientError::Server {
            status: 500,
            message: format!("the local copy failed: {other}"),
        },
    }
}

fn io_invalid(e: std::io::Error) -> StoreError {
    StoreError::Invalid(format!("the export could not be written: {e}"))
}
