//! SQLite's errors as the store's: what the disk refused (space, permissions, a vanished file)
//! is [`StoreError::Unavailable`], which an operator can fix without a restart; anything else
//! failed inside ([`StoreError::Internal`]). No `rusqlite` type leaves this folder.

use crate::store::{StoreError, WriteBlocker};

impl From<rusqlite::Error> for StoreError {
    fn from(e: rusqlite::Error) -> StoreError {
        match write_blocker(&e) {
            Some(why) => StoreError::unavailable(why, &e),
            None => StoreError::Internal(format!("the database failed: {e}")),
        }
    }
}

/// Whether `e` is a write the disk refused.
pub(crate) fn disk_refused(e: &rusqlite::Error) -> bool {
    write_blocker(e).is_some()
}

/// Why SQLite could not write, when the cause lies in the disk rather than in the data.
fn write_blocker(e: &rusqlite::Error) -> Option<WriteBlocker> {
    use rusqlite::ErrorCode as C;
    match e.sqlite_error_code()? {
        C::DiskFull => Some(WriteBlocker::DiskFull),
        C::ReadOnly => Some(WriteBlocker::ReadOnly),
        C::SystemIoFailure => Some(WriteBlocker::WriteFailed),
        C::CannotOpen => Some(WriteBlocker::CannotOpen),
        C::PermissionDenied => Some(WriteBlocker::PermissionDenied),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_full_disk_is_unavailable_and_a_constraint_is_internal() {
        let full = rusqlite::Error::SqliteFailure(
            rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_FULL),
            None,
        );
        let e = StoreError::from(full);
        assert_eq!(e.unavailable_reason(), Some(WriteBlocker::DiskFull), "{e}");
        assert!(
            e.to_string()
                .starts_with("the database cannot write: the disk is full (")
        );
        let constraint = rusqlite::Error::SqliteFailure(
            rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_CONSTRAINT),
            None,
        );
        let e = StoreError::from(constraint);
        assert!(matches!(e, StoreError::Internal(_)), "{e:?}");
        assert!(!e.is_unavailable());
    }
}
