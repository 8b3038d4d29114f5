//! Fan-out for live streams: one reader per tenant follows the writer's commits, reads each new
//! entry from the store once, serialises it once, and broadcasts it to every stream of that
//! tenant. A hundred clients cost one read and one encoding per entry, not a hundred.
//!
//! The broadcast never waits: a stream that falls more than the channel's length behind is told
//! it lagged and catches up from the store by seq (`stream.rs`), so no client slows the writer,
//! the reader or another client, and none silently loses an entry.

use crate::model::{Entry, Query};
use crate::store::Store;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::broadcast;

/// Batches kept for streams that are a little behind; past this a stream catches up from the store.
const CHANNEL: usize = 256;
/// Entries read from the store at a time.
const READ: usize = 500;
/// A batch is cut at about this many bytes of JSON, so what the channel retains stays bounded
/// (entries may carry up to 256 KiB of details each).
const BATCH_BYTES: usize = 256 * 1024;
/// How often an idle reader checks whether anyone still listens.
const IDLE_CHECK: Duration = Duration::from_secs(30);

/// An entry as a stream sends it: parsed for the filter, encoded once for every client.
#[derive(Debug)]
pub struct LiveEntry {
    pub entry: Entry,
    pub json: String,
}

impl LiveEntry {
    /// Encodes `entry` for the wire.
    pub fn new(entry: Entry) -> LiveEntry {
        // Our own Entry always serialises; compact JSON holds no newline.
        let json = serde_json::to_string(&entry).unwrap_or_default();
        LiveEntry { entry, json }
    }
}

/// Consecutive entries of one tenant, in seq order.
pub type Batch = Arc<Vec<Arc<LiveEntry>>>;

/// The tenants' live readers.
#[derive(Default)]
pub struct Hub {
    tenants: Mutex<HashMap<String, broadcast::Sender<Batch>>>,
}

impl Hub {
    /// Every entry of `tenant` committed from now on, in seq order. Everything committed
    /// before this call returns is in the store; everything after comes through the receiver.
    pub async fn subscribe(
        self: &Arc<Self>,
        store: &Arc<dyn Store>,
        tenant: &str,
    ) -> Result<broadcast::Receiver<Batch>, crate::store::StoreError> {
        if let Some(tx) = self.lock().get(tenant) {
            return Ok(tx.subscribe());
        }
        // Watch the commits before reading the head: a commit in between wakes the reader.
        let commits = store.commits();
        let head = store.head_at(tenant, None).await?.map_or(0, |h| h.seq);
        let mut tenants = self.lock();
        if let Some(tx) = tenants.get(tenant) {
            return Ok(tx.subscribe());
        }
        let (tx, rx) = broadcast::channel(CHANNEL);
        tenants.insert(tenant.to_string(), tx.clone());
        tokio::spawn(read(
            self.clone(),
            store.clone(),
            tenant.to_string(),
            head,
            commits,
            tx,
        ));
        Ok(rx)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, broadcast::Sender<Batch>>> {
        self.tenants.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Ends `tenant`'s reader if nobody listens; true when it should stop.
    fn retire_if_idle(&self, tenant: &str, tx: &broadcast::Sender<Batch>) -> bool {
        let mut tenants = self.lock();
        if tx.receiver_count() == 0 {
            tenants.remove(tenant);
            return true;
        }
        false
    }
}

/// One tenant's reader: after each commit, reads what is new and broadcasts it.
async fn read(
    hub: Arc<Hub>,
    store: Arc<dyn Store>,
    tenant: String,
    mut last: u64,
    mut commits: tokio::sync::watch::Receiver<u64>,
    tx: broadcast::Sender<Batch>,
) {
    loop {
        commits.borrow_and_update();
        loop {
            let now = chrono::Utc::now();
            let read = store
                .after_seq(&tenant, &Query::default(), last, READ, now)
                .await;
            let entries = match read {
                Ok(entries) => entries,
                Err(e) => {
                    tracing::error!(tenant, "the live reader could not read the store: {e}");
                    tokio::time::sleep(Duration::from_secs(1)).await;
                    continue;
                }
            };
            let Some(newest) = entries.last().map(|e| e.seq) else {
                break;
            };
            last = newest;
            let full = entries.len() == READ;
            let mut batch = Vec::new();
            let mut bytes = 0;
            for e in entries {
                let live = Arc::new(LiveEntry::new(e));
                bytes += live.json.len();
                batch.push(live);
                if bytes >= BATCH_BYTES {
                    let _ = tx.send(Arc::new(std::mem::take(&mut batch)));
                    bytes = 0;
                }
            }
            if !batch.is_empty() {
                // No receiver is not an error: the idle check below retires the reader.
                let _ = tx.send(Arc::new(batch));
            }
            if !full {
                break;
            }
        }
        tokio::select! {
            changed = commits.changed() => {
                if changed.is_err() {
                    hub.lock().remove(&tenant);
                    return; // the store closed: the streams end with the sender
                }
            }
            _ = tokio::time::sleep(IDLE_CHECK) => {}
        }
        if hub.retire_if_idle(&tenant, &tx) {
            return;
        }
    }
}
