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
    /// SIGTERM, SIGHUP or SIGINT: leave cleanly so the terminal is restored.
    Terminate,
    /// A message for the footer (e.g. a view could not be saved).
    Notice(String),
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
    /// Put text on the clipboard with OSC 52.
    Copy(String),
    /// Store a saved view in the config file.
    SaveView {
        name: String,
        filter: String,
    },
    Quit,
}
