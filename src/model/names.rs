//! The names the log gives its own entries: the actions trailscope records about itself, the
//! channels it files them under, and the states an export's record goes through. One place, so
//! the writer of an entry and everything that reads it back (the export history, verify, the
//! pack checker) cannot drift apart; the wire keeps these exact strings.

/// Actions of the entries trailscope writes about itself.
pub mod action {
    /// A saved search was run (`POST /v1/searches/{id}/run`).
    pub const SEARCHED: &str = "audit_log.searched";
    /// An export started (written before its first byte).
    pub const EXPORTED: &str = "audit_log.exported";
    /// An export ended: completed, incomplete or failed.
    pub const EXPORT_FINISHED: &str = "audit_log.export_finished";
    /// An evidence pack was built (written before it is sent).
    pub const PACK_EXPORTED: &str = "evidence_pack.exported";
    /// Retention removed entries.
    pub const PRUNED: &str = "retention.pruned";
    /// Retention removed nothing: the archive could not be written.
    pub const PRUNE_FAILED: &str = "retention.prune_failed";
    /// Someone's personal data was replaced with a pseudonym.
    pub const PSEUDONYMISED: &str = "gdpr.pseudonymised";
    /// The database's schema was changed behind trailscope's back.
    pub const SCHEMA_CHANGED: &str = "integrity.schema_changed";
    /// An imported record no mapping knew.
    pub const IMPORT_UNMAPPED: &str = "import.unmapped";
}

/// Channels of the entries trailscope writes about itself.
pub mod channel {
    /// Reads of the log: exports, packs, searches.
    pub const AUDIT: &str = "audit";
    /// The log's own upkeep: retention.
    pub const SYSTEM: &str = "system";
    /// Data-protection requests.
    pub const COMPLIANCE: &str = "compliance";
    /// Tampering found.
    pub const SECURITY: &str = "security";
}

/// `status` in an export's records (see [`crate::model::ExportStatus`] for the last three).
pub mod export_status {
    /// In [`super::action::EXPORTED`]: recorded before the first byte.
    pub const STARTED: &str = "started";
    pub const COMPLETED: &str = "completed";
    pub const INCOMPLETE: &str = "incomplete";
    pub const FAILED: &str = "failed";
}
