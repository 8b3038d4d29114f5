//! `tokio_postgres` and pool errors as [`StoreError`]s: what the operator can fix without a
//! restart (space, a lost connection, a read-only or restarting server) is `Unavailable`.

use crate::store::{StoreError, WriteBlocker};

/// Why PostgreSQL cannot take writes now, from the error's SQLSTATE, when that is the cause.
fn blocker(e: &tokio_postgres::Error) -> Option<WriteBlocker> {
    let Some(code) = e.code() else {
        // No SQLSTATE: the connection itself failed (refused, reset, closed).
        return Some(WriteBlocker::ConnectionLost);
    };
    let c = code.code();
    match c {
        "53100" => Some(WriteBlocker::ServerDiskFull),
        "53200" => Some(WriteBlocker::OutOfMemory),
        "25006" => Some(WriteBlocker::ReadOnly),
        "57P01" | "57P02" | "57P03" => Some(WriteBlocker::Restarting),
        _ if c.starts_with("53") => Some(WriteBlocker::OutOfResource),
        _ if c.starts_with("08") => Some(WriteBlocker::ConnectionLost),
        _ => None,
    }
}

/// A driver error as a store error.
pub fn db_error(e: tokio_postgres::Error) -> StoreError {
    match blocker(&e) {
        Some(why) => StoreError::unavailable(why, &e),
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
        other => StoreError::unavailable(WriteBlocker::NoConnection, other),
    }
}
