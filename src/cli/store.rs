//! Which store a command opens: a SQLite file (`--db`) or a PostgreSQL database
//! (`--database-url`), one or the other.

use anyhow::anyhow;
use std::path::PathBuf;
use std::sync::Arc;
use trailscope::store::postgres::{DEFAULT_POOL_SIZE, PartitionUnit, PostgresStore};
use trailscope::store::{SqliteStore, Store};

/// Where the audit log lives.
#[derive(Debug, Clone)]
pub enum StoreAt {
    Sqlite(PathBuf),
    Postgres {
        url: String,
        pool_size: usize,
        /// Set the database's partition length first (`serve` only).
        partition: Option<PartitionUnit>,
    },
}

impl StoreAt {
    /// From `--db` and `--database-url` (each possibly from the config file): exactly one.
    pub fn choose(
        db: Option<PathBuf>,
        url: Option<String>,
        pool_size: Option<usize>,
    ) -> anyhow::Result<StoreAt> {
        match (db, url) {
            (Some(_), Some(_)) => Err(anyhow!(
                "say one database: --db PATH (SQLite) or --database-url postgres://… (PostgreSQL), not both"
            )),
            (Some(db), None) => Ok(StoreAt::Sqlite(db)),
            (None, Some(url)) => Ok(StoreAt::Postgres {
                url,
                pool_size: pool_size.unwrap_or(DEFAULT_POOL_SIZE),
                partition: None,
            }),
            (None, None) => Err(anyhow!(
                "say where the database lives: --db PATH (SQLite) or --database-url postgres://… \
                 (or `db` / `database_url` under [server] in the config file)"
            )),
        }
    }

    /// How the log names it (never the URL's password).
    pub fn describe(&self) -> String {
        match self {
            StoreAt::Sqlite(p) => p.display().to_string(),
            StoreAt::Postgres { url, .. } => match url.parse::<tokio_postgres::Config>() {
                Ok(c) => format!(
                    "postgres database {} on {:?}",
                    c.get_dbname().unwrap_or("(default)"),
                    c.get_hosts()
                ),
                Err(_) => "a postgres database".into(),
            },
        }
    }
}

/// Opens the store (inside a runtime: PostgreSQL connects asynchronously) to serve it: a SQLite
/// file's upkeep (statistics, WAL truncation) is this process's job.
pub async fn open_store(at: &StoreAt) -> anyhow::Result<Arc<dyn Store>> {
    open(at, SqliteStore::open).await
}

/// Opens the store for one short command beside a server that may be running on it: a SQLite
/// file's upkeep stays the server's, so this writer never holds the server's writer off.
pub async fn open_store_beside(at: &StoreAt) -> anyhow::Result<Arc<dyn Store>> {
    open(at, SqliteStore::open_beside).await
}

async fn open(
    at: &StoreAt,
    sqlite: fn(PathBuf) -> Result<SqliteStore, trailscope::store::StoreError>,
) -> anyhow::Result<Arc<dyn Store>> {
    Ok(match at {
        StoreAt::Sqlite(db) => {
            let db = db.clone();
            Arc::new(tokio::task::spawn_blocking(move || sqlite(db)).await??)
        }
        StoreAt::Postgres {
            url,
            pool_size,
            partition,
        } => Arc::new(PostgresStore::open_with(url, *pool_size, *partition).await?),
    })
}
