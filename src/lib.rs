//! trailscope: an append-only, hash-chained audit server and a terminal UI for reading it.
#![forbid(unsafe_code)]
// The house rules for shipped code (issue 16): no unwrap, and no cast that silently loses a
// value; a loss that is the point (a ratio for display) is allowed in place, with why.
#![deny(clippy::unwrap_used)]
#![warn(
    clippy::cast_possible_truncation,
    clippy::cast_sign_loss,
    clippy::cast_possible_wrap,
    clippy::cast_precision_loss,
    // Issue 26: a long function says why beside it (threshold in clippy.toml).
    clippy::too_many_lines
)]

pub mod client;
pub mod config;
pub mod demo;
pub mod export;
pub mod import;
pub mod model;
pub mod proof;
pub mod server;
pub mod store;
pub mod text;
pub mod tui;
pub mod witness;
