//! The PostgreSQL store through its own tests: the throwaway-cluster harness, the database's
//! refusal to change history, and replicas on one database. (The conformance suite runs the
//! PostgreSQL store through every check the SQLite one passes.)

#[path = "../common/mod.rs"]
mod common;

mod harness;
mod outage;
mod replicas;
mod schedule;
mod tamper;
