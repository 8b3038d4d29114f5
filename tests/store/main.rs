//! The store conformance suite: one list of checks, each an async fn over a [`Store`], run
//! against every backend. A backend is a [`backend::Backend`]: SQLite on a temporary file, and
//! PostgreSQL on a fresh database of a throwaway cluster (`tests/common/pg.rs`).
//!
//! Each check gets a fresh, empty database. What a backend does not support is said by the
//! backend ([`backend::Backend::shared_commit_feed`]) and asserted as such by the check, never
//! skipped in silence.

#[path = "../common/pg.rs"]
mod pg;
#[path = "../common/sqlite_tamper.rs"]
mod sqlite_tamper;

mod backend;
mod counts;
mod damage;
mod fixtures;
mod log;
mod maintenance;
mod proofs;
mod query;

/// Calls `$suite!($args; check, check, …)` with every check of the suite, module by module.
/// A new check is added here once and runs on every backend.
macro_rules! every_check {
    ($suite:ident!($($args:tt)*)) => {
        $suite!($($args)*;
            log::appends_chain_seqs_and_tree,
            log::idempotency_keys_return_the_first_append,
            log::tenants_are_isolated,
            query::every_filter_matches_the_in_memory_filter,
            query::text_pages_in_both_orders,
            query::keyset_pages_survive_concurrent_inserts_ascending,
            query::keyset_pages_survive_concurrent_inserts_descending,
            query::scan_hands_over_every_match_once,
            query::facets_count_what_the_filter_selects,
            query::stats_count_and_bucket_the_matches,
            query::after_seq_and_the_commit_feed,
            query::a_second_store_on_the_same_database_sees_the_commits,
            counts::rollup_counts_are_the_entries_counts,
            counts::a_common_search_term_is_estimated_and_says_so,
            proofs::verify_finds_nothing_on_a_clean_store,
            proofs::checkpoints_and_their_proofs_verify,
            proofs::export_proof_verifies_offline,
            proofs::the_signer_refuses_a_tree_that_does_not_extend_its_memory,
            proofs::verify_tells_its_progress_and_stops_when_nobody_watches,
            damage::a_hash_that_is_not_hex,
            damage::a_hash_replaced,
            damage::commitments_that_are_not_json,
            damage::a_prev_hash_changed,
            damage::an_entry_deleted,
            damage::a_tree_row_malformed,
            damage::a_tree_row_deleted,
            maintenance::retention_days_round_trip,
            maintenance::prune_archives_then_removes_a_prefix,
            maintenance::a_repeat_of_a_pruned_entry_is_stored_anew,
            maintenance::pseudonymise_keeps_verify_ok,
            maintenance::tokens_create_list_authenticate_revoke,
            maintenance::errors_say_whose_fault_it_is,
            maintenance::metrics_count_appends,
        );
    };
}

/// One `#[tokio::test]` per check for `$backend`, in module `$name`.
macro_rules! suite {
    ($name:ident, $backend:expr; $($module:ident :: $check:ident),* $(,)?) => {
        mod $name {
            use super::*;
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $check() {
                    if !$backend.available() {
                        return;
                    }
                    let db = $backend.fresh().await;
                    $module::$check(&db).await;
                    db.close().await;
                }
            )*
        }
    };
}

every_check!(suite!(sqlite, backend::Backend::Sqlite));
every_check!(suite!(postgres, backend::Backend::Postgres));
