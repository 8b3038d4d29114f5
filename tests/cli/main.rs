//! The command line through the real binary: its subcommands against a real server or file,
//! a `serve` process killed like a crashed server, tampering with the file behind it.

#[path = "../common/mod.rs"]
mod common;

mod config_example;
mod durability;
mod export;
mod import;
mod ingest_verify;
mod key;
mod pipes;
mod shell;
mod tail;
mod tamper;
mod tls;
mod tokens;
mod verify_file;
mod witness;
