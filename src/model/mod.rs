//! The contract: one set of types for producers, the server, the wire, the cache and the TUI.

mod cursor;
mod decode;
pub mod details;
mod error;
mod event;
mod integrity;
mod matches;
pub mod names;
mod pack;
mod query;
mod query_lang;
mod query_limits;
mod time;
mod validate;

pub use cursor::{Cursor, Order};
pub use decode::decode_batch;
pub use details::{Details, DetailsError, DuplicateKey, canonicalize};
pub use error::{ApiError, ErrorBody, ErrorCode};
/// Serde for API timestamps (RFC 3339, UTC, milliseconds), for types outside the model.
pub(crate) use event::ts as ts_serde;
pub use event::{
    Actor, ActorType, AppendResponse, Appended, Entry, Kind, NewEvent, Outcome, Page, Target,
    is_pseudonym,
};
pub use integrity::{
    ConsistencyProof, EntryProof, ExportProof, FieldProof, InclusionProof, ProofFile,
    SignedCheckpoint, VerifyLine, VerifyProgress,
};
pub use pack::{ExportList, ExportRecord, ExportStatus, PackRequest};
pub use query::{
    Around, ChainHead, Exclude, FacetField, FacetValue, Facets, PruneReport, PseudonymReport,
    Query, Retention, Stats, StatsBucket, VerifyReport,
};
pub use query_lang::{FIELD_HELP, OPERATOR_HELP, QueryParseError};
pub use query_limits::{
    LimitError, MAX_FIELD_VALUES, MAX_IDS, MAX_TEXT_TERMS, MAX_VALUE_BYTES, MAX_VALUES,
};
pub use time::{TimeBound, format_ts, from_millis, parse_ts, to_millis};
pub use validate::{FieldError, MAX_BATCH, MAX_DETAILS_BYTES, validate_event, validate_event_text};
