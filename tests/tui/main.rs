//! The TUI: ratatui TestBackend snapshots of every view (from `fixtures`), and the real binary
//! in tmux against a real server.

#[path = "../common/mod.rs"]
mod common;
mod fixtures;

mod config;
mod dialogs;
mod e2e;
mod e2e_investigate;
mod follow;
mod hangup;
mod history;
mod investigate;
mod offline_render;
mod render;
mod witness;
