//! The backends the suite runs against, and a database of one of them: a store on it, and a
//! way to open a second store on the same database (another process, as far as the first one
//! can tell).

use std::sync::Arc;
use trailscope::store::{SqliteStore, Store};

/// A kind of store.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// `SqliteStore` on a file in a temporary directory.
    Sqlite,
    /// `PostgresStore` on a fresh database of the harness's throwaway cluster.
    Postgres,
}

impl Backend {
    pub fn name(self) -> &'static str {
        match self {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgres",
        }
    }

    /// Whether the backend can run here: PostgreSQL needs its binaries (without them the
    /// harness says how to get them, and with `CI=true` fails instead).
    pub fn available(self) -> bool {
        match self {
            Backend::Sqlite => true,
            Backend::Postgres => crate::pg::cluster().is_some(),
        }
    }

    /// Whether a store hears, on its commit feed, what another store on the same database
    /// committed. SQLite: no — its feed is its own writer thread's; one `serve` process owns a
    /// file. (A second store still reads what the first committed; the check asserts both.)
    /// PostgreSQL: yes — every commit NOTIFYs, and every store LISTENs.
    pub fn shared_commit_feed(self) -> bool {
        match self {
            Backend::Sqlite => false,
            Backend::Postgres => true,
        }
    }

    /// A new, empty database and a store on it.
    pub async fn fresh(self) -> Database {
        match self {
            Backend::Sqlite => {
                let dir = tempfile::tempdir().expect("a temporary directory");
                let path = dir.path().join("conformance.db");
                let store = open_sqlite(&path).await;
                Database {
                    backend: self,
                    store,
                    location: path.display().to_string(),
                    others: std::sync::Mutex::new(Vec::new()),
                    _keep: Box::new(dir),
                }
            }
            Backend::Postgres => {
                let cluster = crate::pg::cluster().expect("the PostgreSQL cluster");
                let url = cluster.fresh_database();
                let store = open_postgres(&url).await;
                Database {
                    backend: self,
                    store,
                    location: url,
                    others: std::sync::Mutex::new(Vec::new()),
                    _keep: Box::new(()),
                }
            }
        }
    }
}

async fn open_postgres(url: &str) -> Arc<dyn Store> {
    let store = trailscope::store::postgres::PostgresStore::open(url, 8)
        .await
        .expect("the PostgreSQL store opens");
    Arc::new(store)
}

async fn open_sqlite(path: &std::path::Path) -> Arc<dyn Store> {
    let path = path.to_path_buf();
    // Opening builds a missing tree and starts a thread: not on the runtime's workers.
    let store = tokio::task::spawn_blocking(move || SqliteStore::open(path))
        .await
        .expect("the open task")
        .expect("the SQLite store opens");
    Arc::new(store)
}

/// One database of one backend, with the store the checks use.
pub struct Database {
    pub backend: Backend,
    pub store: Arc<dyn Store>,
    /// The file or URL, for messages and for opening another store on it.
    pub location: String,
    /// Stores opened with [`Database::open_another`], closed with the database.
    others: std::sync::Mutex<Vec<Arc<dyn Store>>>,
    /// Whatever must live as long as the database (a temporary directory, a cluster).
    _keep: Box<dyn std::any::Any + Send + Sync>,
}

impl Database {
    /// Another store on the same database, as a second server process would open it.
    pub async fn open_another(&self) -> Arc<dyn Store> {
        let store = match self.backend {
            Backend::Sqlite => open_sqlite(std::path::Path::new(&self.location)).await,
            Backend::Postgres => open_postgres(&self.location).await,
        };
        self.others.lock().unwrap().push(store.clone());
        store
    }

    /// Runs `sql` on the database behind the store's back, as someone with the file or the
    /// superuser's password would: the append-only guards are bypassed (SQLite: the triggers are
    /// dropped and put back; PostgreSQL: `session_replication_role = replica`).
    pub fn tamper(&self, sql: &str) {
        match self.backend {
            Backend::Sqlite => {
                crate::sqlite_tamper::tamper_sqlite(std::path::Path::new(&self.location), sql)
            }
            Backend::Postgres => {
                let cluster = crate::pg::cluster().expect("the PostgreSQL cluster");
                let db = crate::pg::db_name(&self.location);
                cluster.psql(
                    db,
                    &format!("SET session_replication_role = replica; {sql}"),
                );
            }
        }
    }

    /// A bytes literal of the backend's SQL, from hex digits.
    pub fn blob(&self, hex: &str) -> String {
        match self.backend {
            Backend::Sqlite => format!("x'{hex}'"),
            Backend::Postgres => format!("decode('{hex}', 'hex')"),
        }
    }

    /// Closes every store opened on the database.
    pub async fn close(self) {
        let others = std::mem::take(&mut *self.others.lock().unwrap());
        for s in others {
            s.close().await;
        }
        self.store.close().await;
    }
}
