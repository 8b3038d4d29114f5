//! Why a store call failed, typed: callers act on the variant (and on an outage's
//! [`WriteBlocker`]) and never read a message back.

use std::sync::Arc;

/// Why a store call failed. Messages are sentences a person can act on; none names a driver.
#[derive(Debug, Clone, thiserror::Error)]
pub enum StoreError {
    /// The caller's input is wrong (→ 400/422).
    #[error("{0}")]
    Invalid(String),
    /// What was asked for is not there (a seq, a tree size beyond the log) (→ 404).
    #[error("{0}")]
    NotFound(String),
    /// The request does not make sense (a seq outside the tree size it names) (→ 400).
    #[error("{0}")]
    BadRequest(String),
    /// The database no longer matches what was signed: the store refuses rather than bless it.
    #[error("{0}")]
    Tampered(String),
    /// The database cannot write now (disk full, read-only, gone, connection lost): nothing was
    /// stored, and the same call may succeed once the cause is fixed, without a restart.
    #[error("the database cannot write: {}", unavailable_sentence(.why, .detail))]
    Unavailable {
        /// The outside cause, which callers act on (a 503, `/healthz` degraded).
        why: WriteBlocker,
        /// What the driver or the file system said, for the log.
        detail: String,
    },
    /// The store is shutting down.
    #[error("the store is shutting down and takes no more writes")]
    Closed,
    /// A long read stopped half way because nobody waits for its answer any more (the client
    /// went away).
    #[error("given up: nobody waits for the answer any more")]
    Abandoned,
    /// The database could not be opened, connected to or migrated.
    #[error("could not open the database: {0}")]
    Open(String),
    /// Anything else that failed inside the store (a commit, a driver error, an archive that
    /// could not be written) (→ 500). The message says what failed.
    #[error("{0}")]
    Internal(String),
}

impl StoreError {
    /// [`StoreError::Unavailable`] for `why`, with what the driver or the system said.
    pub fn unavailable(why: WriteBlocker, detail: impl std::fmt::Display) -> StoreError {
        StoreError::Unavailable {
            why,
            detail: detail.to_string(),
        }
    }

    /// Whether the store could not write for a reason outside it (see [`StoreError::Unavailable`]).
    pub fn is_unavailable(&self) -> bool {
        self.unavailable_reason().is_some()
    }

    /// The outside cause, when the store could not write for a reason outside it; its
    /// `Display` says it in a few words ("the disk is full").
    pub fn unavailable_reason(&self) -> Option<WriteBlocker> {
        match self {
            StoreError::Unavailable { why, .. } => Some(*why),
            _ => None,
        }
    }
}

/// Why a database cannot write now: a cause outside the store that an operator can fix without
/// a restart. `Display` is the cause in a few words, which the API's 503 and `/healthz` show.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum WriteBlocker {
    /// The local disk under a SQLite file.
    #[error("the disk is full")]
    DiskFull,
    /// The database server's disk (PostgreSQL).
    #[error("the database's disk is full")]
    ServerDiskFull,
    #[error("the database is out of memory")]
    OutOfMemory,
    /// Another resource of the database server ran out (connections, locks, …).
    #[error("the database has run out of a resource")]
    OutOfResource,
    #[error("the database is read-only")]
    ReadOnly,
    /// The file system failed a write (an I/O error).
    #[error("the database file could not be written")]
    WriteFailed,
    #[error("the database file cannot be opened")]
    CannotOpen,
    #[error("the database file may not be written")]
    PermissionDenied,
    #[error("the database is shutting down or starting")]
    Restarting,
    #[error("the database connection was lost")]
    ConnectionLost,
    /// The pool could not hand out a connection (timeout, no server).
    #[error("no database connection could be had")]
    NoConnection,
    /// The signer's state file cannot be written: it signs nothing it could not remember.
    #[error("the signer cannot remember what it signs")]
    SignerState,
}

/// The sentence after "the database cannot write: ".
fn unavailable_sentence(why: &WriteBlocker, detail: &str) -> String {
    match why {
        WriteBlocker::SignerState => format!("{why} ({detail}), so it signs nothing"),
        _ => format!("{why} ({detail})"),
    }
}

/// Why a store reports itself degraded on `/healthz` (see [`Store::write_health`]).
#[derive(Debug, Clone, thiserror::Error)]
pub enum Degraded {
    /// A write failed for a reason outside the store, and it has not been probed again yet
    /// (probes are rationed).
    #[error("{0}")]
    Write(StoreError),
    /// A probe failed, with no write failing before it.
    #[error("{0}")]
    Probe(ProbeFailure),
    /// A write failed, and a fresh probe still fails.
    #[error("{write}; {probe}")]
    StillFailing {
        write: StoreError,
        probe: ProbeFailure,
    },
}

/// What a fresh write probe found.
#[derive(Debug, Clone, thiserror::Error)]
pub enum ProbeFailure {
    /// The disk under a SQLite file refused a probe file.
    #[error("a write probe still fails: {0}")]
    Disk(Arc<std::io::Error>),
    /// The database refused the probe.
    #[error("{0}")]
    Database(StoreError),
    /// The probe's task ended without an answer (it panicked or was cancelled); the detail is
    /// the runtime's.
    #[error("the write probe failed: {0}")]
    Aborted(String),
    /// The database did not answer the probe in time.
    #[error("the database did not answer within {} s", .0.as_secs())]
    NoAnswer(std::time::Duration),
}
