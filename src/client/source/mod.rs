//! Where the TUI's data comes from: the server (writing what it fetches through to the cache),
//! the cache when the server cannot be reached, or a local store loaded from an export file.
//! The event loop runs the same effects against any of them; the answers have the same types.
//! This is the data layer: it knows nothing of the TUI, and reports a change of link through
//! the callback the TUI attaches.

mod local;

pub use local::LocalCopy;

use super::cache::Cache;
use super::{Client, ClientError, DownloadError, Sink};
use crate::export::Format;
use crate::model::{FacetField, Facets, Page, Query, Stats};
use crate::store::sqlite::LocalStore;
use chrono::{DateTime, Utc};
use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// The reads that both the server and a local copy answer, with the same types: the server
/// ([`Client`], online), the offline cache and a file's store ([`LocalCopy`]). [`Source`] picks
/// which one answers each request and falls back from the server to the cache.
pub trait Reads {
    /// One page, newest first (`GET /v1/events`).
    fn events(
        &self,
        q: &Query,
        cursor: Option<&str>,
        limit: usize,
    ) -> impl Future<Output = Result<Page, ClientError>> + Send;
    /// The count and histogram (`GET /v1/stats`).
    fn stats(
        &self,
        q: &Query,
        buckets: usize,
    ) -> impl Future<Output = Result<Stats, ClientError>> + Send;
    /// A field's values under the filter (`GET /v1/facets`).
    fn facets(
        &self,
        field: FacetField,
        q: &Query,
        limit: usize,
    ) -> impl Future<Output = Result<Facets, ClientError>> + Send;
}

impl Reads for Client {
    fn events(
        &self,
        q: &Query,
        cursor: Option<&str>,
        limit: usize,
    ) -> impl Future<Output = Result<Page, ClientError>> + Send {
        Client::events(self, q, cursor, limit)
    }
    fn stats(
        &self,
        q: &Query,
        buckets: usize,
    ) -> impl Future<Output = Result<Stats, ClientError>> + Send {
        Client::stats(self, q, buckets)
    }
    fn facets(
        &self,
        field: FacetField,
        q: &Query,
        limit: usize,
    ) -> impl Future<Output = Result<Facets, ClientError>> + Send {
        Client::facets(self, field, q, limit)
    }
}

/// The first retry after the server went away, and the longest wait between retries.
const RETRY_FIRST: Duration = Duration::from_secs(1);
const RETRY_MAX: Duration = Duration::from_secs(2);

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
    local: Option<LocalCopy>,
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
                local: local.map(LocalCopy::new),
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

    /// One page, newest first (the server's `GET /v1/events`); what the server sends is
    /// written through to the cache.
    pub async fn events(
        &self,
        q: &Query,
        cursor: Option<&str>,
        limit: usize,
    ) -> Result<Page, ClientError> {
        let online = self.online().map(|client| async move {
            let page = Reads::events(client, q, cursor, limit).await?;
            if let Some(cache) = &self.inner.cache {
                cache.write(page.entries.clone());
            }
            Ok(page)
        });
        self.answer(online, |local| async move {
            local.events(q, cursor, limit).await
        })
        .await
    }

    /// The count and histogram (`GET /v1/stats`).
    pub async fn stats(&self, q: &Query, buckets: usize) -> Result<Stats, ClientError> {
        let online = self.online().map(|c| Reads::stats(c, q, buckets));
        self.answer(online, |local| async move { local.stats(q, buckets).await })
            .await
    }

    /// A field's values under the filter (`GET /v1/facets`).
    pub async fn facets(
        &self,
        field: FacetField,
        q: &Query,
        limit: usize,
    ) -> Result<Facets, ClientError> {
        let online = self.online().map(|c| Reads::facets(c, field, q, limit));
        self.answer(online, |local| async move {
            local.facets(field, q, limit).await
        })
        .await
    }

    /// The server, while it is the one answering.
    fn online(&self) -> Option<&Client> {
        self.inner.remote.as_ref().filter(|_| !self.is_offline())
    }

    /// The local copy: the cache, or a file's store.
    fn local_copy(&self) -> Result<&LocalCopy, ClientError> {
        self.inner
            .local
            .as_ref()
            .ok_or_else(|| ClientError::Unreachable {
                url: "the cache".into(),
                reason: "there is no local copy".into(),
            })
    }

    /// Asks the server (`online`, when it is the one answering); when it cannot be reached and
    /// the cache can answer, or when there is no server, asks the local copy.
    async fn answer<'a, T, Off>(
        &'a self,
        online: Option<impl Future<Output = Result<T, ClientError>>>,
        local: impl FnOnce(&'a LocalCopy) -> Off,
    ) -> Result<T, ClientError>
    where
        Off: Future<Output = Result<T, ClientError>>,
    {
        if let Some(asked) = online {
            match asked.await {
                Err(e) if self.fall_back(&e) => {}
                other => return other,
            }
        }
        local(self.local_copy()?).await
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
        if let Some(client) = self.online() {
            return client.export_named(q, format, name, trailer, sink).await;
        }
        self.local_copy()
            .map_err(DownloadError::Client)?
            .export(q, format, sink)
            .await
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
