//! Where the TUI's data comes from: the server (writing what it fetches through to the cache),
//! the cache when the server cannot be reached, or a local store loaded from an export file.
//! The event loop runs the same effects against any of them; the answers have the same types.
//! This is the data layer: it knows nothing of the TUI, and reports a change of link through
//! the callback the TUI attaches.

use super::cache::Cache;
use super::{Client, ClientError, DownloadError, Sink};
use crate::export::{ChunkSender, Exporter, Format, filters_json};
use crate::model::{FacetField, Facets, Order, Page, Query, Stats};
use crate::store::sqlite::LocalStore;
use crate::store::{PageRequest, StoreError};
use chrono::{DateTime, Utc};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// The first retry after the server went away, and the longest wait between retries.
const RETRY_FIRST: Duration = Duration::from_secs(1);
const RETRY_MAX: Duration = Duration::from_secs(10);

/// What the header says about where the data comes from.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Link {
    /// Talking to the server.
    #[default]
    Online,
    /// The server cannot be reached (or `--offline`): answers come from the cache.
    Offline { synced: Option<DateTime<Utc>> },
    /// Reviewing an export file; `warning` says where a malformed file stopped.
    File {
        name: String,
        warning: Option<String>,
    },
}

/// Where a change of link is reported.
pub type OnLink = Box<dyn Fn(Link) + Send + Sync>;

/// The data source the event loop runs effects against. Cheap to clone.
#[derive(Clone)]
pub struct Source {
    inner: Arc<Inner>,
}

struct Inner {
    remote: Option<Client>,
    cache: Option<Cache>,
    local: Option<Arc<LocalStore>>,
    offline: AtomicBool,
    retrying: AtomicBool,
    on_link: Mutex<Option<OnLink>>,
}

/// The server alone, with no cache to fall back to.
impl From<Client> for Source {
    fn from(client: Client) -> Source {
        Source::remote(client, None)
    }
}

fn local_error(e: StoreError) -> ClientError {
    match e {
        StoreError::Invalid(m) => ClientError::InvalidQuery(m),
        other => ClientError::Server {
            status: 500,
            message: format!("the local copy failed: {other}"),
        },
    }
}

impl Source {
    fn build(
        remote: Option<Client>,
        cache: Option<Cache>,
        local: Option<Arc<LocalStore>>,
        offline: bool,
    ) -> Source {
        Source {
            inner: Arc::new(Inner {
                remote,
                cache,
                local,
                offline: AtomicBool::new(offline),
                retrying: AtomicBool::new(false),
                on_link: Mutex::new(None),
            }),
        }
    }

    /// The server, falling back to `cache` (if any) when it cannot be reached.
    pub fn remote(client: Client, cache: Option<Cache>) -> Source {
        let local = cache.as_ref().map(|c| c.store().clone());
        Source::build(Some(client), cache, local, false)
    }

    /// The cache alone (`--offline`): the server is never asked.
    pub fn offline(cache: Cache) -> Source {
        let local = Some(cache.store().clone());
        Source::build(None, Some(cache), local, true)
    }

    /// A local store loaded from an export file.
    pub fn file(store: Arc<LocalStore>) -> Source {
        Source::build(None, None, Some(store), true)
    }

    /// The server's client, when there is one.
    pub fn client(&self) -> Option<&Client> {
        self.inner.remote.as_ref()
    }

    /// The offline cache behind a server, if there is one.
    pub fn cache(&self) -> Option<&Cache> {
        self.inner.cache.as_ref()
    }

    /// Keeps entries that arrived another way (live) in the cache, if there is one.
    pub fn keep(&self, entries: &[crate::model::Entry]) {
        if let Some(cache) = &self.inner.cache {
            cache.write(entries.to_vec());
        }
    }

    /// Where link changes (offline, back online) are reported.
    pub fn attach(&self, on_link: impl Fn(Link) + Send + Sync + 'static) {
        *self.inner.on_link.lock().unwrap_or_else(|p| p.into_inner()) = Some(Box::new(on_link));
    }

    /// Whether answers now come from the local copy.
    pub fn is_offline(&self) -> bool {
        self.inner.offline.load(Ordering::SeqCst)
    }

    /// The link as the header should state it now.
    pub fn link(&self) -> Link {
        if self.is_offline() && self.inner.cache.is_some() {
            Link::Offline {
                synced: self.inner.cache.as_ref().and_then(Cache::synced_at),
            }
        } else {
            Link::Online
        }
    }

    fn report(&self, link: Link) {
        if let Some(on_link) = &*self.inner.on_link.lock().unwrap_or_else(|p| p.into_inner()) {
            on_link(link);
        }
    }

    /// A cache worth falling back to: one that holds entries.
    fn usable_cache(&self) -> bool {
        self.inner
            .cache
            .as_ref()
            .is_some_and(|c| c.store().is_empty().is_ok_and(|empty| !empty))
    }

    /// The server failed with `e`: go offline if it is the network and the cache can answer.
    fn fall_back(&self, e: &ClientError) -> bool {
        if !e.is_transient() || !self.usable_cache() {
            return false;
        }
        if !self.inner.offline.swap(true, Ordering::SeqCst) {
            tracing::warn!("the server cannot be reached ({e}); working on the cache");
            self.report(self.link());
        }
        self.retry_in_background();
        true
    }

    /// Asks the server with backoff until it answers again, then says so.
    fn retry_in_background(&self) {
        let Some(client) = self.inner.remote.clone() else {
            return;
        };
        if self.inner.retrying.swap(true, Ordering::SeqCst) {
            return;
        }
        let me = self.clone();
        tokio::spawn(async move {
            let mut wait = RETRY_FIRST;
            loop {
                tokio::time::sleep(wait).await;
                if client.health().await.is_ok() {
                    me.inner.offline.store(false, Ordering::SeqCst);
                    me.inner.retrying.store(false, Ordering::SeqCst);
                    tracing::info!("the server answers again");
                    me.report(Link::Online);
                    return;
                }
                wait = (wait * 2).min(RETRY_MAX);
            }
        });
    }

    /// Whether the server answers (`None` when there is no server, or the cache answers and
    /// the background retry watches for its return). A failure that the cache can take over
    /// switches to it, as any other request's would.
    pub async fn probe(&self) -> Option<Result<(), ClientError>> {
        let client = self.inner.remote.as_ref()?;
        if self.is_offline() {
            return None;
        }
        match client.health().await {
            Ok(()) => Some(Ok(())),
            Err(e) if self.fall_back(&e) => None,
            Err(e) => Some(Err(e)),
        }
    }

    /// Runs `f` on the local store, off the async threads.
    async fn local<T: Send + 'static>(
        &self,
        f: impl FnOnce(&LocalStore, &str) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, ClientError> {
        let Some(store) = self.inner.local.clone() else {
            return Err(ClientError::Unreachable {
                url: "the cache".into(),
                reason: "there is no local copy".into(),
            });
        };
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

    /// One page, newest first (the server's `GET /v1/events`).
    pub async fn events(
        &self,
        q: &Query,
        cursor: Option<&str>,
        limit: usize,
    ) -> Result<Page, ClientError> {
        if let (false, Some(client)) = (self.is_offline(), &self.inner.remote) {
            match client.events(q, cursor, limit).await {
                Ok(page) => {
                    if let Some(cache) = &self.inner.cache {
                        cache.write(page.entries.clone());
                    }
                    return Ok(page);
                }
                Err(e) if self.fall_back(&e) => {}
                Err(e) => return Err(e),
            }
        }
        let (q, cursor) = (q.clone(), cursor.map(str::to_string));
        self.local(move |s, tenant| {
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

    /// The count and histogram (`GET /v1/stats`).
    pub async fn stats(&self, q: &Query, buckets: usize) -> Result<Stats, ClientError> {
        if let (false, Some(client)) = (self.is_offline(), &self.inner.remote) {
            match client.stats(q, buckets).await {
                Err(e) if self.fall_back(&e) => {}
                other => return other,
            }
        }
        let q = q.clone();
        self.local(move |s, tenant| {
            s.store()
                .stats(tenant, &q, buckets.clamp(1, 1000), Utc::now())
        })
        .await
    }

    /// A field's values under the filter (`GET /v1/facets`).
    pub async fn facets(
        &self,
        field: FacetField,
        q: &Query,
        limit: usize,
    ) -> Result<Facets, ClientError> {
        if let (false, Some(client)) = (self.is_offline(), &self.inner.remote) {
            match client.facets(field, q, limit).await {
                Err(e) if self.fall_back(&e) => {}
                other => return other,
            }
        }
        let q = q.clone();
        self.local(move |s, tenant| s.store().facets(tenant, field, &q, limit, Utc::now()))
            .await
    }

    /// Retention settings: only the server knows them.
    pub async fn retention(&self) -> Result<crate::model::Retention, ClientError> {
        match (self.is_offline(), &self.inner.remote) {
            (false, Some(client)) => client.retention().await,
            _ => Err(ClientError::NotFound(
                "retention settings are on the server, and this is a local copy".into(),
            )),
        }
    }

    /// The export history: the server keeps it.
    pub async fn exports(&self) -> Result<crate::model::ExportList, ClientError> {
        match (self.is_offline(), &self.inner.remote) {
            (false, Some(client)) => client.exports(200).await,
            _ => Err(ClientError::NotFound(
                "the export history is on the server, and this is a local copy".into(),
            )),
        }
    }

    /// True when exports come from the server, which proves them (the local copy cannot).
    pub fn proves_exports(&self) -> bool {
        !self.is_offline() && self.inner.remote.is_some()
    }

    /// Streams an export into `sink`: from the server, or written here from the local copy
    /// with the same writers the server uses. `trailer` asks the server to end a CSV or NDJSON
    /// export with its proof (see [`Source::proves_exports`]); a local copy has none to give.
    pub async fn export(
        &self,
        q: &Query,
        format: Format,
        trailer: bool,
        sink: &mut Sink<'_>,
    ) -> Result<u64, DownloadError> {
        self.export_named(q, format, None, trailer, sink).await
    }

    /// [`Source::export`] under a name for the server's export history (a local copy keeps
    /// no history, so there the name goes nowhere).
    pub async fn export_named(
        &self,
        q: &Query,
        format: Format,
        name: Option<&str>,
        trailer: bool,
        sink: &mut Sink<'_>,
    ) -> Result<u64, DownloadError> {
        if let (false, Some(client)) = (self.is_offline(), &self.inner.remote) {
            return client.export_named(q, format, name, trailer, sink).await;
        }
        // The rows are produced on a blocking thread and handed over in chunks, so the file
        // is written as the scan goes and never held whole.
        let (tx, rx) = tokio::sync::mpsc::channel::<Vec<u8>>(8);
        let q = q.clone();
        let scan = self.local(move |s, tenant| {
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

    /// Any pack request (custom, named, a re-run); the server builds it.
    pub async fn pack(
        &self,
        request: &crate::model::PackRequest,
        sink: &mut Sink<'_>,
    ) -> Result<u64, DownloadError> {
        match (self.is_offline(), &self.inner.remote) {
            (false, Some(client)) => client.pack(request, sink).await,
            _ => Err(DownloadError::Client(ClientError::NotFound(
                "evidence packs are built by the server; this works when it can be reached".into(),
            ))),
        }
    }

    /// Evidence packs are assembled and signed off by the server.
    pub async fn evidence_pack(
        &self,
        kind: &str,
        from: &str,
        to: &str,
        sink: &mut Sink<'_>,
    ) -> Result<u64, DownloadError> {
        match (self.is_offline(), &self.inner.remote) {
            (false, Some(client)) => client.evidence_pack(kind, from, to, sink).await,
            _ => Err(DownloadError::Client(ClientError::NotFound(
                "evidence packs are built by the server; this works when it can be reached".into(),
            ))),
        }
    }
}

fn io_invalid(e: std::io::Error) -> StoreError {
    StoreError::Invalid(format!("the export could not be written: {e}"))
}
