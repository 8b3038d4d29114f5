//! The command line (API.md "The command line"): the binary's edge, compiled into the binary
//! and not the library. One file per subcommand, each with its arguments; what they share
//! (config, profiles, `--filter`, runtime, logging, progress, errors) is in `context.rs`.
//! Nothing in the library depends on anything here.

pub mod cache;
pub mod context;
pub mod demo;
pub mod evidence;
pub mod export;
pub mod exports;
pub mod import;
pub mod ingest;
pub mod key;
pub mod keyfile;
pub mod open;
pub mod output;
pub mod prune;
pub mod pseudonymise;
pub mod serve;
pub mod shell;
pub mod store;
pub mod tail;
pub mod token;
pub mod tui;
pub mod verify;
pub mod verify_archive;
pub mod verify_file;
pub mod verify_pack;
pub mod witness;

use clap::{Parser, Subcommand};
use context::RemoteArgs;
use std::path::PathBuf;
pub use tui::TuiArgs;

/// trailscope: an append-only, hash-chained audit log server and a terminal UI to read it.
#[derive(Debug, Parser)]
#[command(name = "trailscope", version, about, long_about = None)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
    #[command(flatten)]
    pub tui: TuiArgs,
    /// Trust only this CA (PEM; a bundle is fine) for HTTPS to the server: a private CA, or a
    /// self-signed certificate. For every command that talks to a server, the TUI included.
    #[arg(
        long,
        global = true,
        value_name = "PEM",
        env = "TRAILSCOPE_CA_CERT",
        hide_env_values = true
    )]
    pub ca_cert: Option<PathBuf>,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the audit server.
    Serve(serve::ServeArgs),
    /// Create, list or revoke API tokens, straight in the database (also while the server runs).
    #[command(subcommand)]
    Token(token::TokenCommand),
    /// An embedded server on a loopback port, seeded with a generated 30-day trail, and the TUI on it.
    Demo,
    /// Export the log (or a filtered part of it) as CSV, JSON or NDJSON, streamed to a file.
    Export(export::ExportArgs),
    /// Fetch an evidence pack (zip): a kind over a period, or everything a filter matches.
    Evidence(evidence::EvidenceArgs),
    /// The export history: the newest exports and evidence packs, who made them, and how they ended.
    Exports(exports::ExportsArgs),
    /// Post another system's audit log (Kubernetes, CloudTrail, GitHub) into the log, keyed by
    /// the source's own ids so that a re-run adds nothing (writer).
    Import(import::ImportArgs),
    /// Post events from stdin (NDJSON, one event per line) in atomic batches of 1000 (writer).
    Ingest(RemoteArgs),
    /// Print matching entries as they arrive, one line each, resuming after a dropped
    /// connection without loss; Ctrl-C or a closed pipe ends it.
    Tail(tail::TailArgs),
    /// Ask the server to walk the hash chain and the Merkle tree and check every signed
    /// checkpoint; exit 1 if anything no longer matches (auditor or admin).
    Verify(verify::VerifyArgs),
    /// The checkpoint signing key.
    #[command(subcommand)]
    Key(key::KeyCommand),
    /// Run the retention prune of the token's tenant now (admin).
    Prune(RemoteArgs),
    /// Replace a person's name, email, ip and user agent with a pseudonym in every entry (admin).
    Pseudonymise(pseudonymise::PseudonymiseArgs),
    /// Check a prune's archive against its manifest and its hash chain; with --server, also
    /// that it ends where the live log's chain now starts.
    VerifyArchive {
        /// The archive's manifest (`…manifest.json`).
        manifest: PathBuf,
        #[command(flatten)]
        remote: RemoteArgs,
    },
    /// The offline cache: what it holds, clearing it, pulling a range ahead of time.
    #[command(subcommand)]
    Cache(cache::CacheCommand),
    /// Review an export file (CSV, JSON or NDJSON) in the TUI, offline.
    Open(open::OpenArgs),
    /// Check an evidence pack (zip) against its manifest and its proof, offline: hashes, row
    /// counts, and that its entries are in the signed log.
    VerifyPack {
        /// The pack file.
        file: PathBuf,
        /// The verifier key to pin for the pack's proof (or a file holding it); without it,
        /// the key named in the proof is used.
        #[arg(long, value_name = "VKEY")]
        key: Option<String>,
    },
    /// Check an export file against its proof, offline: the checkpoint's signature, every
    /// entry's hash, and that the entries are in the signed tree. Exit 0 and one line when it
    /// holds, 1 naming the first entry that does not, 2 on usage errors.
    VerifyFile {
        /// The export (CSV, JSON or NDJSON); a CSV or NDJSON file's proof is `FILE.proof.json`.
        file: PathBuf,
        /// The verifier key to pin (or a file holding it); without it, the key in the proof is
        /// used, which proves the file matches the log but not who signed it.
        #[arg(long, value_name = "VKEY")]
        key: Option<String>,
    },
    /// Check that the server's log only ever grew since the last look: pins the verifier key on
    /// first use, keeps every checkpoint seen, and asks for a consistency proof. Exit 0 and one
    /// line when it grew; exit 1 and a loud message on rollback, fork, rewrite or key change.
    Witness(witness::WitnessArgs),
    /// Print a shell completion script: `trailscope completions bash > /etc/bash_completion.d/trailscope`.
    Completions {
        #[arg(value_enum)]
        shell: shell::CompletionShell,
    },
    /// Print the man page (roff): `trailscope man > trailscope.1`, then `man ./trailscope.1`.
    Man,
}
