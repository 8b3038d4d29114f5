//! The TUI as a witness (API.md "Witnesses"): on every connect, in a task of its own, it
//! judges the server's newest checkpoint against those its offline cache saw of that server and
//! tenant, with the same judgement as `trailscope witness`. Its state is what the header shows.

use crate::client::Client;
use crate::client::cache::Cache;
use crate::proof;
use crate::witness::{self, Verdict, WitnessState};

/// What the last connect found. The default says nothing (not checked, or no server).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Witnessed {
    #[default]
    Unknown,
    /// The server's log extends every checkpoint this cache saw (or was seen for the first
    /// time and its key is now pinned).
    Verified { size: u64 },
    /// The server's history no longer extends what this cache saw; the cache is frozen.
    Changed(HistoryChanged),
    /// No verdict: the server signs no checkpoints or could not be asked; never an alarm,
    /// never a tick.
    Unavailable(String),
}

/// What the banner says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HistoryChanged {
    /// What kind of change (`the log shrank (rollback)`).
    pub what: String,
    pub seen_size: u64,
    pub seen_root: String,
    pub now_size: u64,
    pub now_root: String,
}

impl HistoryChanged {
    /// What was found, in one sentence: the banner's text and the footer's message.
    pub fn describe(&self) -> String {
        let short = |root: &str| root.chars().take(12).collect::<String>();
        if self.seen_size == 0 && self.seen_root.is_empty() {
            format!("{}; the cached entries are kept as evidence", self.what)
        } else {
            format!(
                "{}: this cache saw {} entries (root {}…), the server now shows {} (root {}…); the cached entries are kept as evidence",
                self.what,
                self.seen_size,
                short(&self.seen_root),
                self.now_size,
                short(&self.now_root)
            )
        }
    }
}

/// The cache's record of one log (keyed by checkpoint origin: server and tenant, since each
/// cache file is one server or profile).
fn meta_key(origin: &str) -> String {
    format!("witness:{origin}")
}

/// Asks the server, judges, records, and freezes the cache on a change. Runs on a task; the
/// blocking SQLite work runs on the blocking pool.
pub async fn check(client: &Client, cache: &Cache) -> Witnessed {
    let now = match client.checkpoint().await {
        Ok(c) => c,
        // The server itself says its log no longer extends what it signed: the loudest case.
        Err(crate::client::ClientError::Integrity(why)) => {
            cache.freeze();
            return Witnessed::Changed(HistoryChanged {
                what: format!(
                    "the server raises an integrity alarm: {}",
                    crate::text::inert(&why)
                ),
                seen_size: 0,
                seen_root: String::new(),
                now_size: 0,
                now_root: String::new(),
            });
        }
        Err(e) => return Witnessed::Unavailable(e.to_string()),
    };
    let origin = match proof::parse_checkpoint(&now.checkpoint) {
        Ok(c) => c.origin,
        Err(e) => return Witnessed::Unavailable(format!("the server's checkpoint: {e}")),
    };
    let store = cache.store().clone();
    let key = meta_key(&origin);
    let saved = tokio::task::spawn_blocking(move || store.meta(&key))
        .await
        .ok()
        .and_then(Result::ok)
        .flatten();
    let state = match saved.map(|text| {
        serde_json::from_str::<WitnessState>(&text)
            .map_err(|e| e.to_string())
            .and_then(|s| s.check().map(|()| s).map_err(|e| e.to_string()))
    }) {
        None => None,
        Some(Ok(s)) => Some(s),
        // A damaged record is not a reason to trust the server afresh: fail closed.
        Some(Err(why)) => {
            cache.freeze();
            return Witnessed::Changed(HistoryChanged {
                what: format!("the cache's record of checkpoints is damaged ({why})"),
                seen_size: 0,
                seen_root: String::new(),
                now_size: now.size,
                now_root: now.root,
            });
        }
    };
    let (verdict, now) = match witness::judge(client, state.as_ref(), now).await {
        Ok(v) => v,
        Err(e) => return Witnessed::Unavailable(e.to_string()),
    };
    let at = crate::model::format_ts(&chrono::Utc::now());
    let next = witness::record(state, client.base(), &verdict, &now, &at);
    let store = cache.store().clone();
    let key = meta_key(&origin);
    let text = serde_json::to_string(&next).unwrap_or_default();
    let saved = tokio::task::spawn_blocking(move || store.set_meta(&key, Some(&text))).await;
    if !matches!(saved, Ok(Ok(()))) {
        tracing::warn!("the offline cache could not keep the checkpoint it saw");
    }
    match verdict {
        Verdict::FirstUse { size, .. } => Witnessed::Verified { size },
        Verdict::Consistent { to, .. } => Witnessed::Verified { size: to },
        Verdict::Changed(c) => {
            cache.freeze();
            tracing::error!("{}", c.message(client.base()));
            Witnessed::Changed(HistoryChanged {
                what: c.kind.as_str().to_string(),
                seen_size: c.seen.size,
                seen_root: c.seen.root,
                now_size: c.now.size,
                now_root: c.now.root,
            })
        }
    }
}
