//! Why a record does not fit its format's mapping. Its `Display` is the `reason` the
//! `import.unmapped` entry records, so these sentences are part of what an import writes.

use crate::model::DetailsError;

/// Why a record could not be mapped to an event.
#[derive(Debug, thiserror::Error)]
pub enum Unfit {
    #[error("`{0}` is missing")]
    Missing(String),
    #[error("`{0}` is not a string")]
    NotAString(String),
    #[error("`{0}` is not an RFC 3339 time")]
    NotATime(String),
    #[error("`{0}` is not a time in milliseconds")]
    NotMillis(String),
    /// Neither of two fields that could carry the same thing.
    #[error("neither `{0}` nor `{1}` is set")]
    NeitherSet(&'static str, &'static str),
    /// A source id too long for an idempotency key once prefixed (`max` is the id's room).
    #[error("`{field}` is longer than {max} characters")]
    TooLong { field: &'static str, max: usize },
    /// A Kubernetes record of another kind.
    #[error("kind is `{0}`, not a Kubernetes audit `Event`")]
    NotAnEvent(String),
    /// The record's text cannot be kept as an event's details.
    #[error("{0}")]
    Details(#[from] DetailsError),
}
