//! trailscope: an append-only, hash-chained audit server and a terminal UI for reading it.
#![forbid(unsafe_code)]

pub mod model;
pub mod store;
