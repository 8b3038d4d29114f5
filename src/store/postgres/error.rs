//! `tokio_postgres` and pool errors as [`StoreError`]s: what the operator can fix without a
//! restart (space, a lost connection, a read-only or restarting server) is `Unavailable`.

use crate::store::StoreError;

/// Why PostgreSQL cannot take writes now, from the error's SQLSTATE, when that is the cause.
fn blocker(e: &tokio_postgres::Error) -> Option<&'static str> {
    let Some(code) = e.code() else {
        // No SQLSTATE: the connection itself failed (refused, reset, closed).
        return Some("the database connection was lost");
    };
    let c = code.code();
    match c {
        "53100" => Some("the database's disk is full"),
        "53200" => Some("the database is out of memory"),
        "25006" => Some("the database is read-only"),
        "57P01" | "57P02" | "57P03" => Some("the database is shutting down or starting"),
        _ if c.starts_with("53") => Some("the database has run out of a resource"),
        _ if c.starts_with("08") => Some("the database connection was lost"),
        _ => None,
    }
}

/// A driver error as a store error.
pub fn db_error(e: tokio_postgres::Error) -> StoreError {
    match blocker(&e) {
        Some(why) => StoreError::Unavailable(format!("{why} ({e})")),
        None => match e.as_db_error() {
            Some(db) => super::internal(format!("the database refused: {}", db.message())),
            None => super::internal(format!("the database failed: {e}")),
        },
    }
}

/// A pool error (no connection could be had) as a store error.
pub fn pool_error(e: deadpool_postgres::PoolError) -> StoreError {
    match e {
        deadpool_postgres::PoolError::Backend(e) => db_error(e),
        deadpool_postgres::PoolError::Closed => StoreError::Closed,
        other => StoreError::Unavailable(format!("no database connection could be had ({other})")),
    }
}
