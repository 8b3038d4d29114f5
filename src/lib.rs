//! trailscope: an append-only, hash-chained audit server and a terminal UI for reading it.
#![forbid(unsafe_code)]

pub mod cli;
pub mod client;
pub mod commands;
pub mod config;
pub mod demo;
pub mod export;
pub mod export_command;
pub mod ingest_command;
pub mod keyfile;
pub mod model;
pub mod offline;
pub mod proof;
pub mod server;
pub mod store;
pub mod tail_command;
pub mod text;
pub mod tui;
pub mod tui_command;
pub mod verify_file;
pub mod witness;
pub mod witness_command;
