//! `trailscope cache info|clear|pull`: the offline cache from the command line.

use super::context::{Progress, RemoteArgs, Threads, UsageError, load_config, runtime};
use super::output::{errln, outln};
use super::tui::TuiArgs;
use anyhow::anyhow;
use clap::Subcommand;
use std::path::{Path, PathBuf};
use trailscope::client::Client;
use trailscope::client::cache::{CacheConfig, SYNCED_AT, synced_at};
use trailscope::model::format_ts;
use trailscope::store::sqlite::{Durability, LocalStore};
use trailscope::tui::views::header::thousands;

/// `trailscope cache …`.
#[derive(Debug, Subcommand)]
pub enum CacheCommand {
    /// Where the caches are, their size, entries and last sync.
    Info,
    /// Delete the cache of one profile (or server), or every cache.
    Clear {
        /// The profile (or server URL) whose cache to delete [default: all of them].
        #[arg(long)]
        profile: Option<String>,
    },
    /// Fetch everything matching a filter into the cache ahead of time; an interrupted pull
    /// resumes where it stopped when run again with the same filter.
    Pull {
        #[command(flatten)]
        remote: RemoteArgs,
        /// Only entries matching this filter [default: the profile's, else the last 7 days].
        #[arg(long)]
        filter: Option<String>,
    },
}

/// Runs a `cache` subcommand.
pub fn run(cmd: CacheCommand) -> anyhow::Result<()> {
    let (config, _) = load_config()?;
    let cfg = config.cache;
    match cmd {
        CacheCommand::Info => info(&cfg),
        CacheCommand::Clear { profile } => clear(&cfg, profile.as_deref()),
        CacheCommand::Pull { remote, filter } => pull(remote, filter),
    }
}

fn cache_dir(cfg: &CacheConfig) -> anyhow::Result<PathBuf> {
    cfg.dir().ok_or_else(|| {
        anyhow!("there is no cache directory on this system: set `dir` under [cache]")
    })
}

/// The cache files in the directory, by name.
fn cache_files(dir: &Path) -> anyhow::Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    match std::fs::read_dir(dir) {
        Ok(rd) => {
            for e in rd {
                let p = e?.path();
                if p.extension().is_some_and(|x| x == "db") {
                    out.push(p);
                }
            }
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(anyhow!("cannot read {}: {e}", dir.display())),
    }
    out.sort();
    Ok(out)
}

/// The database and its -wal and -shm files.
fn with_sidecars(db: &Path) -> [PathBuf; 3] {
    let s = db.as_os_str().to_owned();
    let side = |suffix: &str| {
        let mut s = s.clone();
        s.push(suffix);
        PathBuf::from(s)
    };
    [db.to_path_buf(), side("-wal"), side("-shm")]
}

fn mib(bytes: u64) -> String {
    format!("{:.1} MiB", trailscope::text::ratio(bytes, 1024 * 1024))
}

fn info(cfg: &CacheConfig) -> anyhow::Result<()> {
    let dir = cache_dir(cfg)?;
    outln!(
        "cache directory: {} (cap {} MiB per profile)",
        dir.display(),
        cfg.max_size_mb
    );
    let files = cache_files(&dir)?;
    if files.is_empty() {
        outln!("no caches yet: they fill as the TUI reads, or with `trailscope cache pull`");
    }
    for f in files {
        let bytes: u64 = with_sidecars(&f)
            .iter()
            .filter_map(|p| std::fs::metadata(p).ok())
            .map(|m| m.len())
            .sum();
        let name = f
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        let store = LocalStore::open(&f, Durability::Cache)
            .map_err(|e| anyhow!("cannot read the cache {}: {e}", f.display()))?;
        let synced = synced_at(&store).map_or("never".to_string(), |t| format_ts(&t));
        let pending = match store.meta(PULL)? {
            Some(_) => " (an interrupted pull can be resumed)",
            None => "",
        };
        outln!(
            "{name}  {}  {} entries  synced {synced}{pending}",
            mib(bytes),
            thousands(store.count()?)
        );
    }
    Ok(())
}

fn clear(cfg: &CacheConfig, profile: Option<&str>) -> anyhow::Result<()> {
    let dir = cache_dir(cfg)?;
    let files = match profile {
        Some(p) => {
            let path = cfg.path_for(p).unwrap_or_else(|| dir.join(p));
            if !path.exists() {
                return Err(UsageError(format!(
                    "there is no cache for `{p}` in {}",
                    dir.display()
                ))
                .into());
            }
            vec![path]
        }
        None => cache_files(&dir)?,
    };
    for f in &files {
        for p in with_sidecars(f) {
            match std::fs::remove_file(&p) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(anyhow!("cannot delete {}: {e}", p.display())),
            }
        }
    }
    outln!(
        "deleted {} cache{} from {}",
        files.len(),
        if files.len() == 1 { "" } else { "s" },
        dir.display()
    );
    Ok(())
}

/// The meta key where a pull keeps its place: `{"filter": …, "cursor": …, "done": n}`.
const PULL: &str = "pull";

/// Rows per page while pulling.
const PULL_PAGE: usize = 1000;

fn pull(remote: RemoteArgs, filter: Option<String>) -> anyhow::Result<()> {
    let resolved = super::tui::resolve(&TuiArgs {
        server: remote.server,
        token: remote.token,
        profile: remote.profile,
        filter,
        offline: false,
    })?;
    let (path, max) = resolved.cache.clone().ok_or_else(|| {
        anyhow!("there is no cache directory on this system: set `dir` under [cache]")
    })?;
    let store = LocalStore::open(&path, Durability::Cache)
        .map_err(|e| anyhow!("cannot open the offline cache {}: {e}", path.display()))?;
    let client = Client::new(&resolved.server, &resolved.token)?;
    let query = resolved.query;
    let filter = query.to_string();
    let rt = runtime(Threads::One)?;
    rt.block_on(async move {
        // Resume where an interrupted pull of the same filter stopped.
        let saved: Option<serde_json::Value> = store
            .meta(PULL)?
            .and_then(|s| serde_json::from_str(&s).ok())
            .filter(|v: &serde_json::Value| v["filter"] == filter.as_str());
        let mut cursor = saved
            .as_ref()
            .and_then(|v| v["cursor"].as_str().map(str::to_string));
        let mut done = saved.as_ref().and_then(|v| v["done"].as_u64()).unwrap_or(0);
        if cursor.is_some() {
            errln!(
                "resuming the pull of `{filter}` after {} entries",
                thousands(done)
            );
        }
        let total = client.stats(&query, 1).await.map(|s| s.total).ok();
        let progress = Progress::entries(total);
        let mut added = 0u64;
        loop {
            let page = client
                .events(&query, cursor.as_deref(), PULL_PAGE)
                .await
                .map_err(|e| {
                    anyhow!("{e}; {} (run the same command again to resume)", e.advice())
                })?;
            added += store.insert(&page.entries)? as u64;
            done += page.entries.len() as u64;
            cursor = page.next_cursor;
            // The place is saved only after the page is committed, so a pull killed anywhere
            // resumes without a gap.
            match &cursor {
                Some(c) => store.set_meta(
                    PULL,
                    Some(
                        &serde_json::json!({"filter": filter, "cursor": c, "done": done})
                            .to_string(),
                    ),
                )?,
                None => store.set_meta(PULL, None)?,
            }
            progress.entries_done(done);
            if cursor.is_none() {
                break;
            }
        }
        store.set_meta(SYNCED_AT, Some(&format_ts(&chrono::Utc::now())))?;
        let evicted = store.evict_to(max)?;
        store.analyze()?;
        progress.finish();
        outln!(
            "pulled {} entries matching `{filter}` ({} new) into {}",
            thousands(done),
            thousands(added),
            path.display()
        );
        if evicted > 0 {
            outln!(
                "the cache is at its cap of {} MiB: the {} oldest entries were evicted",
                max / (1024 * 1024),
                thousands(evicted)
            );
        }
        Ok(())
    })
}
