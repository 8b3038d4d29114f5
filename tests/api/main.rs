//! The HTTP API through the real server on a loopback port over a real SQLite file: one test
//! binary for every route, so a library edit relinks it once instead of once per file.

#[path = "../common/mod.rs"]
mod common;

mod auth;
mod deferred;
mod evidence;
mod evidence_custom;
mod evidence_report;
mod exact;
mod export;
mod exports;
mod filter_fuzz;
mod hostile;
mod ingest;
mod integrity;
mod limits;
mod ocsf;
mod openapi;
mod proofs;
mod pseudonymise;
mod query;
mod retention;
mod robustness;
mod searches;
mod stream;
mod vectors;
mod verify_edges;
mod verify_progress;
