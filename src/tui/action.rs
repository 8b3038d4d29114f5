//! Messages into `update` (input, ticks, network results) and effects out of it.

use crate::client::ClientError;
use crate::model::{FacetField, Facets, Page, Query, Stats};
use chrono::{DateTime, Utc};
use crossterm::event::{KeyEvent, MouseEvent};

/// Everything that can change the state, all arriving on one channel.
#[derive(Debug)]
pub enum Action {
    Key(KeyEvent),
    Mouse(MouseEvent),
    Resize(u16, u16),
    /// The clock moved on (spinner, relative ages, retries).
    Tick(DateTime<Utc>),
    /// A page of entries for load generation `load`.
    Page {
        load: u64,
        result: Result<Page, ClientError>,
    },
    /// The count and histogram for load generation `load`.
    Stats {
        load: u64,
        result: Result<Stats, ClientError>,
    },
    /// A facet list for the filter pane.
    Facets {
        load: u64,
        field: FacetField,
        result: Result<Facets, ClientError>,
    },
    /// Entries were added (the demo trail is loading): reload if the reader is at the top and
    /// not reading an entry, else only refresh the count and histogram.
    Grew,
    /// How far the running export or evidence pack has come, or how it ended.
    Download(DownloadEvent),
    /// The tenant's retention settings, for the info view.
    Retention(Result<crate::model::Retention, ClientError>),
    /// The export history, for its view.
    Exports(Result<crate::model::ExportList, ClientError>),
    /// What the live follower of generation `follower` reports.
    Live {
        follower: u64,
        event: crate::client::Live,
    },
    /// Follow mode cannot run here (no server: the offline cache or a file), and why.
    FollowRefused(String),
    /// SIGTERM, SIGHUP or SIGINT: leave cleanly so the terminal is restored.
    Terminate,
    /// A message for the footer (e.g. a view could not be saved).
    Notice(String),
    /// The data source went offline, came back, or a file's load stopped early.
    Link(super::link::Link),
    /// Whether the server answered the last health probe.
    Health(Result<(), ClientError>),
    /// What the witness check of this connect found.
    Witness(super::witness::Witnessed),
    /// Facts about the server for the info view (`i`), label and text: the demo gives its
    /// writer token and verifier key this way.
    About(Vec<(String, String)>),
    /// The ids of every entry load `load`'s filter matched, to mark (or unmark); `true` with
    /// them when there were more than asked for (then the list is not whole).
    Matched {
        load: u64,
        mark: bool,
        result: Result<(Vec<String>, bool), ClientError>,
    },
}

/// Work `update` asks the event loop to do; results come back as actions.
#[derive(Debug, Clone, PartialEq)]
pub enum Effect {
    FetchPage {
        load: u64,
        query: Query,
        cursor: Option<String>,
        limit: usize,
    },
    FetchStats {
        load: u64,
        query: Query,
        buckets: usize,
    },
    FetchFacets {
        load: u64,
        field: FacetField,
        query: Query,
    },
    /// Stream an export or evidence pack to a file (one at a time).
    Download(DownloadJob),
    /// Stop the running download; its partial file is removed.
    CancelDownload,
    /// `GET /v1/retention` for the info view.
    FetchRetention,
    /// Judge the server's newest checkpoint against what the cache saw (on every connect).
    CheckWitness,
    /// `GET /v1/exports` for the export history.
    FetchExports,
    /// Follow the log live under `query` after `after` (from now on when `None`), replacing any
    /// follower already running; its reports come back as [`Action::Live`] with `follower`.
    Follow {
        follower: u64,
        query: Query,
        after: Option<u64>,
    },
    /// Stop following.
    StopFollow,
    /// Ask the server whether it is there (`/healthz`), so a dead server shows with no key
    /// pressed; the answer comes back as [`Action::Health`].
    Probe,
    /// List the ids of every entry `query` matches, up to `limit`, to mark or unmark them; the
    /// answer comes back as [`Action::Matched`].
    FetchIds {
        load: u64,
        query: Query,
        limit: usize,
        mark: bool,
    },
    /// Put text on the clipboard with OSC 52.
    Copy(String),
    /// Write what is remembered across runs (history, marks) to the state directory.
    Remember(super::memory::Snapshot),
    /// Store a saved view in the config file.
    SaveView {
        name: String,
        filter: String,
    },
    Quit,
}

/// A download the event loop runs: what to fetch and where to put it.
#[derive(Debug, Clone, PartialEq)]
pub struct DownloadJob {
    pub what: DownloadKind,
    pub path: std::path::PathBuf,
    /// Replace an existing file (the user confirmed).
    pub overwrite: bool,
}

/// An export of the filtered log, or an evidence pack for a period.
#[derive(Debug, Clone, PartialEq)]
// One value per download started: the size of the filter it carries costs nothing worth a box.
#[allow(clippy::large_enum_variant)]
pub enum DownloadKind {
    Export {
        query: Query,
        format: crate::export::Format,
        /// What the export history calls it.
        name: Option<String>,
    },
    /// Any pack request: a custom pack, a named one, a re-run from the history.
    Pack(crate::model::PackRequest),
    Evidence {
        kind: String,
        from: String,
        to: String,
    },
}

/// Progress and the end of a download.
#[derive(Debug, Clone, PartialEq)]
pub enum DownloadEvent {
    Progress {
        bytes: u64,
        rows: Option<u64>,
    },
    Done {
        path: std::path::PathBuf,
        bytes: u64,
        rows: u64,
    },
    /// The destination exists and overwriting was not confirmed.
    Exists(std::path::PathBuf),
    Failed(String),
}
