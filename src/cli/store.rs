//! Which store a command opens: a SQLite file (`--db`) or a PostgreSQL database
//! (`--database-url`), one or the other.

use anyhow::anyhow;
use std::path::PathBuf;
use std::sync::Arc;
use trailscope::store::postgres::{DEFAULT_POOL_SIZE, PostgresStore};
use trailscope::store::{SqliteStore, Store};

/// Where the audit log lives.
#[derive(Debug, Clone)]
pub enum StoreAt {
    Sqlite(PathBuf),
    Postgres { url: String, pool_size: usize },
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

/// Opens the store (inside a runtime: PostgreSQL connects asynchronously).
pub async fn open_store(at: &StoreAt) -> anyhow::Result<Arc<dyn Store>> {
    Ok(match at {
        StoreAt::Sqlite(db) => {
            let db = db.clone();
            Arc::new(tokio::task::spawn_blocking(move || SqliteStore::open(db)).await??)
        }
        StoreAt::Postgres { url, pool_size } => {
            Arc::new(PostgresStore::open(url, *pool_size).await?)
        }
    })
}
