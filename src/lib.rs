//! trailscope: an append-only, hash-chained audit server and a terminal UI for reading it.
#![forbid(unsafe_code)]

pub mod client;
pub mod config;
pub mod demo;
pub mod export;
pub mod model;
pub mod proof;
pub mod server;
pub mod store;
pub mod text;
pub mod tui;
pub mod witness;
