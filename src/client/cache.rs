//! The offline cache (TUI.md "Offline"): the per-profile copy of fetched entries and its
//! write-through. `trailscope cache` manages it (`cli/cache.rs`); the TUI reads it through
//! `client::source` when the server cannot be reached.

use crate::model::Entry;
use crate::store::sqlite::{Durability, LocalStore};
use chrono::{DateTime, Utc};
use serde::Deserialize;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::mpsc;

/// `[cache]` in the TUI's config file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CacheConfig {
    /// The most the cache of one profile may take on disk, in MiB; the oldest entries go first.
    #[serde(default = "default_max_size_mb")]
    pub max_size_mb: u64,
    /// Where the caches live (default: the platform's cache directory).
    pub dir: Option<PathBuf>,
}

fn default_max_size_mb() -> u64 {
    1024
}

impl Default for CacheConfig {
    fn default() -> Self {
        CacheConfig {
            max_size_mb: default_max_size_mb(),
            dir: None,
        }
    }
}

impl CacheConfig {
    /// The cap in bytes.
    pub fn max_bytes(&self) -> u64 {
        self.max_size_mb.saturating_mul(1024 * 1024)
    }

    /// The directory holding one `NAME.db` per profile or server.
    pub fn dir(&self) -> Option<PathBuf> {
        self.dir.clone().or_else(|| {
            directories::ProjectDirs::from("", "", "trailscope")
                .map(|d| d.cache_dir().to_path_buf())
        })
    }

    /// The cache file for a profile name, or for a server URL when no profile is used.
    pub fn path_for(&self, key: &str) -> Option<PathBuf> {
        self.dir().map(|d| d.join(format!("{}.db", file_key(key))))
    }
}

/// A profile name or server URL as a file name: `http://127.0.0.1:7807` → `127.0.0.1_7807`.
pub fn file_key(key: &str) -> String {
    let key = key
        .trim_start_matches("https://")
        .trim_start_matches("http://")
        .trim_end_matches('/');
    let s: String = key
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '.' {
                c
            } else {
                '_'
            }
        })
        .collect();
    if s.is_empty() || s.starts_with('.') {
        format!("_{s}")
    } else {
        s
    }
}

/// The meta key of the last successful sync with the server.
pub const SYNCED_AT: &str = "synced_at";

/// Why the cache could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum CacheError {
    #[error("cannot open the offline cache {}: {source}", path.display())]
    Open {
        path: PathBuf,
        source: crate::store::StoreError,
    },
    #[error("cannot start the offline cache's writer: {0}")]
    Thread(std::io::Error),
}

/// A profile's cache: queried directly, written through a background thread in batches so a
/// fetch never waits on the disk.
#[derive(Clone)]
pub struct Cache {
    store: Arc<LocalStore>,
    tx: mpsc::Sender<Job>,
    /// Set when the server's history no longer extends what this cache saw: from then on the
    /// cached copies are evidence and nothing the server sends is written over or beside them.
    frozen: Arc<std::sync::atomic::AtomicBool>,
}

impl Cache {
    /// Opens (or creates, mode 0600) the cache at `path` with a size cap.
    pub fn open(path: impl Into<PathBuf>, max_bytes: u64) -> Result<Cache, CacheError> {
        let path = path.into();
        let store = Arc::new(
            LocalStore::open(&path, Durability::Cache)
                .map_err(|source| CacheError::Open { path, source })?,
        );
        let (tx, rx) = mpsc::channel::<Job>();
        let writer = store.clone();
        let frozen: Arc<std::sync::atomic::AtomicBool> = Arc::default();
        let stop = frozen.clone();
        std::thread::Builder::new()
            .name("trailscope-cache".into())
            .spawn(move || write_through(&writer, &rx, max_bytes, &stop))
            .map_err(CacheError::Thread)?;
        Ok(Cache { store, tx, frozen })
    }

    /// The local store behind the cache.
    pub fn store(&self) -> &Arc<LocalStore> {
        &self.store
    }

    /// Queues entries fetched from the server; returns at once.
    pub fn write(&self, entries: Vec<Entry>) {
        if self.is_frozen() {
            return;
        }
        let _ = self.tx.send(Job::Entries(entries));
    }

    /// Returns once everything queued before it was written (or, frozen, dropped).
    pub async fn flushed(&self) {
        let (done, wait) = tokio::sync::oneshot::channel();
        if self.tx.send(Job::Flush(done)).is_ok() {
            let _ = wait.await;
        }
    }

    /// Stops every write from now on (see `frozen`).
    pub fn freeze(&self) {
        self.frozen.store(true, std::sync::atomic::Ordering::SeqCst);
    }

    pub fn is_frozen(&self) -> bool {
        self.frozen.load(std::sync::atomic::Ordering::SeqCst)
    }

    /// When the cache last took entries from the server.
    pub fn synced_at(&self) -> Option<DateTime<Utc>> {
        synced_at(&self.store)
    }
}

/// When `store` last took entries from the server.
pub fn synced_at(store: &LocalStore) -> Option<DateTime<Utc>> {
    store
        .meta(SYNCED_AT)
        .ok()
        .flatten()
        .and_then(|s| crate::model::parse_ts(&s))
}

/// Entries written through between refreshes of the planner's statistics.
const ANALYZE_EVERY: usize = 50_000;

/// What the cache thread is asked to do.
enum Job {
    Entries(Vec<Entry>),
    /// Answer once everything before this is done.
    Flush(tokio::sync::oneshot::Sender<()>),
}

/// The cache thread: everything waiting is written in one transaction, then the cap is kept.
/// Nothing is written once the cache is frozen, even what was queued before the freeze.
fn write_through(
    store: &LocalStore,
    rx: &mpsc::Receiver<Job>,
    max_bytes: u64,
    frozen: &std::sync::atomic::AtomicBool,
) {
    // Fresh planner statistics for what earlier sessions cached, then again as the cache grows.
    if let Err(e) = store.analyze() {
        tracing::warn!("the offline cache could not be analysed: {e}");
    }
    let mut since_analyze = 0usize;
    while let Ok(first) = rx.recv() {
        let mut all = Vec::new();
        let mut flushes = Vec::new();
        for job in std::iter::once(first).chain(std::iter::from_fn(|| rx.try_recv().ok())) {
            match job {
                Job::Entries(e) => all.extend(e),
                Job::Flush(done) => flushes.push(done),
            }
        }
        if !all.is_empty() && !frozen.load(std::sync::atomic::Ordering::SeqCst) {
            write_batch(store, &all, max_bytes, &mut since_analyze);
        }
        for done in flushes {
            let _ = done.send(());
        }
    }
}

/// One batch into the cache, then the statistics and the cap.
fn write_batch(store: &LocalStore, all: &[Entry], max_bytes: u64, since_analyze: &mut usize) {
    if let Err(e) = store.insert(all) {
        tracing::warn!(
            "the offline cache could not store {} entries: {e}",
            all.len()
        );
        return;
    }
    let _ = store.set_meta(SYNCED_AT, Some(&crate::model::format_ts(&Utc::now())));
    *since_analyze += all.len();
    if *since_analyze >= ANALYZE_EVERY {
        *since_analyze = 0;
        let _ = store.analyze();
    }
    // Measuring is three pragma reads: cheap enough after every write.
    match store.evict_to(max_bytes) {
        Ok(0) => {}
        Ok(n) => tracing::info!("the offline cache evicted its {n} oldest entries"),
        Err(e) => tracing::warn!("the offline cache could not evict: {e}"),
    }
}
