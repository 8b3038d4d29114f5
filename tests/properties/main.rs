//! Properties of the library without a server: the query language and the chain, a live
//! stream's filter against the store's SQL, and the inputs fuzzing once broke.

#[path = "../common/mod.rs"]
mod common;

mod fuzz_regressions;
mod query_and_chain;
mod stream_filter;
