//! What a client asks `POST /v1/evidence-packs` for, and what `GET /v1/exports` answers.

use serde::{Deserialize, Serialize};

/// The body of `POST /v1/evidence-packs`: a configured kind over a period (`kind`, `from`,
/// `to`), or `kind: "custom"` with a `title` and a `filter` (a period is then optional).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PackRequest {
    pub kind: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to: Option<String>,
    /// A custom pack's title: its report's heading.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// A custom pack's filter, in the query language.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub filter: Option<String>,
    /// What the export history calls this pack.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

/// How an export or pack ended, as the log recorded it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ExportStatus {
    /// Every matching entry was sent.
    Completed,
    /// It stopped before the end (the client went away, the server stopped), or it has not
    /// finished yet.
    Incomplete,
    /// It failed (the store could not be read, the file could not be written).
    Failed,
}

impl ExportStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            ExportStatus::Completed => super::names::export_status::COMPLETED,
            ExportStatus::Incomplete => super::names::export_status::INCOMPLETE,
            ExportStatus::Failed => super::names::export_status::FAILED,
        }
    }
}

/// One line of the export history (`GET /v1/exports`): an export or an evidence pack, read
/// from the log's own `audit_log.exported`, `audit_log.export_finished` and
/// `evidence_pack.exported` entries.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExportRecord {
    /// The seq of the entry that recorded it (its start, for an export).
    pub seq: u64,
    /// When it was recorded.
    #[serde(with = "super::ts_serde")]
    pub at: chrono::DateTime<chrono::Utc>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Who: the token that asked for it.
    pub actor: super::Actor,
    /// `export` or `evidence_pack`.
    pub what: String,
    /// An export's format (`csv`, `json`, `ndjson`, …).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub format: Option<String>,
    /// A pack's kind (`access_review`, …, `custom`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    /// A pack's title.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// The filter in the query language (a configured pack kind: its filters joined by ` | `).
    pub filter: String,
    /// The period the filter covered, when one was recorded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to: Option<String>,
    /// Entries sent (for an export that did not finish: as far as it is known).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rows: Option<u64>,
    pub status: ExportStatus,
    /// Why it did not complete, when the log says.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// The body of `GET /v1/exports`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExportList {
    /// Newest first.
    pub exports: Vec<ExportRecord>,
}
