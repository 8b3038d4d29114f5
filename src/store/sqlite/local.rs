//! A local store: the server's schema and query engine over entries stored as received (with
//! their own seq and hash), for the TUI's offline cache and for `trailscope open FILE`.
//!
//! The server's guarantees stay as they are: nothing here updates an entry, and eviction goes
//! through the same one door prune uses (a permit row written and removed inside the deleting
//! transaction, never committed), so the triggers still refuse every other DELETE.

use super::{SqliteDb, connect, row};
use crate::model::Entry;
use crate::store::StoreError;
use rusqlite::{Connection, OptionalExtension, params};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// How hard a local store works to keep a commit on disk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Durability {
    /// The cache: a crash may lose the last commit, never corrupt the file (WAL, NORMAL).
    Cache,
    /// A throw-away store for one file's review: no fsync at all.
    Scratch,
}

/// Entries stored as received, queried with the server's engine (the synchronous
/// [`SqliteDb`] on [`LocalStore::store`], called from the TUI's and the tools' own threads).
pub struct LocalStore {
    store: SqliteDb,
    writer: Mutex<Connection>,
}

/// Key-value notes the local store keeps beside the entries (tenant, last sync, a pull's cursor).
const META: &str = "CREATE TABLE IF NOT EXISTS local_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID";

/// Creates `path` readable and writable by its owner only, before SQLite opens it: an audit
/// trail copied to a laptop must not be readable by other accounts. SQLite gives the -wal and
/// -shm files the database file's mode.
fn create_private(path: &Path) -> Result<(), StoreError> {
    let mut opts = std::fs::OpenOptions::new();
    opts.create(true).append(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    opts.open(path)
        .map_err(|e| StoreError::Open(format!("{}: {e}", path.display())))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))
            .map_err(|e| StoreError::Open(format!("{}: {e}", path.display())))?;
    }
    Ok(())
}

impl LocalStore {
    /// Opens (or creates, mode 0600) the local store at `path`.
    pub fn open(path: impl AsRef<Path>, durability: Durability) -> Result<LocalStore, StoreError> {
        let path = path.as_ref();
        if let Some(dir) = path.parent()
            && !dir.as_os_str().is_empty()
        {
            std::fs::create_dir_all(dir)
                .map_err(|e| StoreError::Open(format!("{}: {e}", dir.display())))?;
        }
        create_private(path)?;
        let writer = connect(path)?;
        writer.execute_batch(META)?;
        writer.execute_batch(match durability {
            // secure_delete: what eviction removes or a pseudonym replaces is zeroed in the file.
            Durability::Cache => {
                "PRAGMA synchronous=NORMAL; PRAGMA cache_size=-32768; PRAGMA secure_delete=ON;"
            }
            Durability::Scratch => "PRAGMA synchronous=OFF; PRAGMA cache_size=-65536;",
        })?;
        // The cache's writer is `writer` below (it analyzes after a pull): the engine only reads.
        let store = SqliteDb::open_beside(path)?;
        Ok(LocalStore {
            store,
            writer: Mutex::new(writer),
        })
    }

    /// The query side: the server's own SQLite engine.
    pub fn store(&self) -> &SqliteDb {
        &self.store
    }

    /// The database file.
    pub fn path(&self) -> PathBuf {
        self.store.path().to_path_buf()
    }

    /// Stores entries as received, in one transaction; ones already present are skipped.
    /// Returns how many were new.
    pub fn insert(&self, entries: &[Entry]) -> Result<usize, StoreError> {
        if entries.is_empty() {
            return Ok(0);
        }
        let mut conn = self.writer.lock().unwrap_or_else(|p| p.into_inner());
        let tx = conn.transaction()?;
        let (mut added, mut rewritten) = (0, 0);
        {
            let mut insert =
                tx.prepare_cached(&row::INSERT.replacen("INSERT", "INSERT OR IGNORE", 1))?;
            let mut index_text =
                tx.prepare_cached("INSERT INTO entries_fts (rowid, text) VALUES (?1, ?2)")?;
            let mut add_action = tx
                .prepare_cached("INSERT OR IGNORE INTO actions (tenant, action) VALUES (?1, ?2)")?;
            // The commitments stay on the server (the API does not send them); the local copy
            // is for reading, and verification is the server's job.
            let none = crate::store::chain::Commitments::new();
            let mut tally = crate::store::rollup::Tally::default();
            let mut last_action: Option<(&str, &str)> = None;
            for e in entries {
                if insert.execute(rusqlite::params_from_iter(row::to_params(e, &none)))? == 0 {
                    // Already here. If the server has since pseudonymised the person, the
                    // copy follows: an erased name must not live on in a laptop's cache.
                    if e.actor.is_pseudonymised() && follow_pseudonym(&tx, e)? {
                        rewritten += 1;
                    }
                    continue;
                }
                added += 1;
                tally.add(e);
                index_text.execute(params![tx.last_insert_rowid(), row::search_text(e)])?;
                if last_action != Some((e.tenant.as_str(), e.action.as_str())) {
                    add_action.execute(params![e.tenant, e.action])?;
                    last_action = Some((e.tenant.as_str(), e.action.as_str()));
                }
            }
            super::write_counts(&tx, &mut tally)?;
            if let Some(last) = entries.last() {
                tx.prepare_cached(
                    "INSERT OR REPLACE INTO local_meta (key, value) VALUES ('tenant', ?1)",
                )?
                .execute([&last.tenant])?;
            }
        }
        if rewritten > 0 {
            // A contentless index only marks replaced text deleted; merge so it is gone.
            tx.execute(
                "INSERT INTO entries_fts (entries_fts) VALUES ('optimize')",
                [],
            )?;
        }
        tx.commit()?;
        Ok(added)
    }

    /// The tenant the stored entries belong to (the last one stored), if any.
    pub fn tenant(&self) -> Result<Option<String>, StoreError> {
        self.meta("tenant")
    }

    /// A note kept beside the entries.
    pub fn meta(&self, key: &str) -> Result<Option<String>, StoreError> {
        let conn = self.writer.lock().unwrap_or_else(|p| p.into_inner());
        Ok(conn
            .prepare_cached("SELECT value FROM local_meta WHERE key = ?1")?
            .query_row([key], |r| r.get(0))
            .optional()?)
    }

    /// Sets (or, with `None`, removes) a note.
    pub fn set_meta(&self, key: &str, value: Option<&str>) -> Result<(), StoreError> {
        let conn = self.writer.lock().unwrap_or_else(|p| p.into_inner());
        match value {
            Some(v) => conn.execute(
                "INSERT OR REPLACE INTO local_meta (key, value) VALUES (?1, ?2)",
                params![key, v],
            )?,
            None => conn.execute("DELETE FROM local_meta WHERE key = ?1", [key])?,
        };
        Ok(())
    }

    /// How many entries are stored.
    pub fn count(&self) -> Result<u64, StoreError> {
        let conn = self.writer.lock().unwrap_or_else(|p| p.into_inner());
        Ok(conn.query_row("SELECT count(*) FROM entries", [], |r| r.get::<_, u64>(0))?)
    }

    /// Refreshes the planner's statistics (sampled, so it takes milliseconds). Without them
    /// SQLite can pick a filter index that does not narrow anything: with one target type in
    /// a million entries, `target:ticket/77` walked the whole target-type index (350 ms
    /// instead of under one).
    pub fn analyze(&self) -> Result<(), StoreError> {
        let conn = self.writer.lock().unwrap_or_else(|p| p.into_inner());
        conn.execute_batch("PRAGMA analysis_limit=1000; ANALYZE;")?;
        Ok(())
    }

    /// Whether no entry is stored (cheaper than counting them).
    pub fn is_empty(&self) -> Result<bool, StoreError> {
        let conn = self.writer.lock().unwrap_or_else(|p| p.into_inner());
        Ok(conn
            .query_row("SELECT 1 FROM entries LIMIT 1", [], |_| Ok(()))
            .optional()?
            .is_none())
    }

    /// Bytes the database's live pages take (free pages left by eviction are reused, not counted).
    pub fn used_bytes(&self) -> Result<u64, StoreError> {
        let conn = self.writer.lock().unwrap_or_else(|p| p.into_inner());
        used_bytes(&conn)
    }

    /// Removes the oldest entries (by `occurred_at`) until the live pages fit in `max_bytes`,
    /// leaving a tenth of headroom so the next few batches do not evict again. Returns how many
    /// entries went.
    pub fn evict_to(&self, max_bytes: u64) -> Result<u64, StoreError> {
        let mut conn = self.writer.lock().unwrap_or_else(|p| p.into_inner());
        if used_bytes(&conn)? <= max_bytes {
            return Ok(0);
        }
        let target = max_bytes - max_bytes / 10;
        let mut removed = 0;
        // Deleting rows frees whole pages only once they empty, so the first estimate can fall
        // short: measure again and go on, never more than a few rounds.
        for _ in 0..8 {
            let used = used_bytes(&conn)?;
            let count: u64 = conn.query_row("SELECT count(*) FROM entries", [], |r| r.get(0))?;
            if used <= target || count == 0 {
                break;
            }
            let per_entry = (used / count).max(1);
            let victims = ((used - target) / per_entry + 1).clamp(1, count);
            removed += evict_oldest(&mut conn, victims)?;
        }
        Ok(removed)
    }
}

/// Rewrites a cached entry's personal fields to the pseudonymised form the server now returns,
/// through the triggers' pseudonymise permit (which lets exactly those fields change). Returns
/// whether anything changed.
fn follow_pseudonym(tx: &Connection, e: &Entry) -> Result<bool, StoreError> {
    let a = &e.actor;
    let stored: Option<(i64, [Option<String>; 4])> = tx
        .prepare_cached(
            "SELECT rowid, actor_name, actor_email, actor_ip, actor_user_agent FROM entries WHERE id = ?1 AND tenant = ?2",
        )?
        .query_row(params![e.id, e.tenant], |r| {
            Ok((r.get(0)?, [r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?]))
        })
        .optional()?;
    let Some((rowid, personal)) = stored else {
        return Ok(false);
    };
    if personal
        == [
            a.name.clone(),
            a.email.clone(),
            a.ip.clone(),
            a.user_agent.clone(),
        ]
    {
        return Ok(false);
    }
    tx.execute(
        "INSERT INTO maintenance (tenant, op, upto) VALUES (?1, 'pseudonymise', 0)",
        [&e.tenant],
    )?;
    tx.prepare_cached(
        "UPDATE entries SET actor_name = ?2, actor_email = ?3, actor_ip = ?4, actor_user_agent = ?5 WHERE rowid = ?1",
    )?
    .execute(params![rowid, a.name, a.email, a.ip, a.user_agent])?;
    tx.prepare_cached("DELETE FROM entries_fts WHERE rowid = ?1")?
        .execute([rowid])?;
    tx.prepare_cached("INSERT INTO entries_fts (rowid, text) VALUES (?1, ?2)")?
        .execute(params![rowid, row::search_text(e)])?;
    tx.execute("DELETE FROM maintenance", [])?;
    Ok(true)
}

/// Deletes the `n` oldest entries (by `occurred_at`, then `seq`) and their search text.
fn evict_oldest(conn: &mut Connection, n: u64) -> Result<u64, StoreError> {
    let tx = conn.transaction()?;
    tx.execute_batch(
        "CREATE TEMP TABLE IF NOT EXISTS evict (rid INTEGER PRIMARY KEY); DELETE FROM evict;",
    )?;
    tx.execute(
        "INSERT INTO evict (rid) SELECT rowid FROM entries ORDER BY occurred_at, seq LIMIT ?1",
        [n],
    )?;
    // The triggers' one door: a permit per tenant for the seqs being removed, gone before commit.
    tx.execute(
        "INSERT INTO maintenance (tenant, op, upto) SELECT tenant, 'prune', max(seq) FROM entries \
         WHERE rowid IN (SELECT rid FROM evict) GROUP BY tenant",
        [],
    )?;
    tx.execute(
        "DELETE FROM entries_fts WHERE rowid IN (SELECT rid FROM evict)",
        [],
    )?;
    // What the rollups counted of them goes with them.
    tx.execute(
        &crate::store::rollup::from_entries_sql("rowid IN (SELECT rid FROM evict)"),
        [-1],
    )?;
    tx.execute(crate::store::rollup::REMOVE_EMPTY, [])?;
    let removed = tx.execute(
        "DELETE FROM entries WHERE rowid IN (SELECT rid FROM evict)",
        [],
    )?;
    tx.execute_batch("DELETE FROM maintenance; DELETE FROM evict;")?;
    tx.commit()?;
    Ok(removed as u64)
}

fn used_bytes(conn: &Connection) -> Result<u64, StoreError> {
    let (pages, free, size): (u64, u64, u64) = conn.query_row(
        "SELECT (SELECT page_count FROM pragma_page_count), (SELECT freelist_count FROM pragma_freelist_count), (SELECT page_size FROM pragma_page_size)",
        [],
        |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
    )?;
    Ok(pages.saturating_sub(free) * size)
}
