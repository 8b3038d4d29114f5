//! The TUI: ratatui TestBackend snapshots of every view (from `fixtures`), and the real binary
//! in tmux against a real server.

#[path = "../common/mod.rs"]
mod common;
mod fixtures;

mod config;
mod dialogs;
mod e2e;
mod e2e_investigate;
mod e2e_outage;
mod follow;
mod hangup;
mod history;
mod investigate;
mod long_value;
mod marks;
mod offline_render;
mod render;
mod witness;
