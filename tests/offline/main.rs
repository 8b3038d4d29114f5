//! Working without the server: the client-side cache, export files opened as a log, and the
//! `cache`/`open` commands, through the library and the real binary.

#[path = "../common/mod.rs"]
mod common;

mod cache;
mod cli;
mod e2e;
mod formats;
mod open;
