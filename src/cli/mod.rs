//! The command line (API.md "The command line").

pub mod export;
pub mod ingest;
pub mod open;
pub mod serve;
pub mod tail;
pub mod tui;
pub mod verify_file;
pub mod witness;

use crate::store::Role;
use clap::{Args, Parser, Subcommand};
use std::net::SocketAddr;
use std::path::PathBuf;

/// trailscope: an append-only, hash-chained audit log server and a terminal UI to read it.
#[derive(Debug, Parser)]
#[command(name = "trailscope", version, about, long_about = None)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
    #[command(flatten)]
    pub tui: TuiArgs,
}

/// What the TUI (no subcommand) takes.
#[derive(Debug, Args, Default, Clone)]
pub struct TuiArgs {
    /// The server's URL, e.g. https://audit.example.com [default: the profile's].
    // Without a value shown, clap writes `[env: TRAILSCOPE_SERVER]`, not the misleading `…=]`.
    #[arg(long, env = "TRAILSCOPE_SERVER", hide_env_values = true)]
    pub server: Option<String>,
    /// The API token (auditor or admin) [default: the profile's].
    #[arg(long, env = "TRAILSCOPE_TOKEN", hide_env_values = true)]
    pub token: Option<String>,
    /// A profile from the config file [default: its default_profile].
    #[arg(long)]
    pub profile: Option<String>,
    /// The filter to open with, in the query language (e.g. "kind:deleted since:2d").
    #[arg(long)]
    pub filter: Option<String>,
    /// Read the profile's offline cache only; never ask the server.
    #[arg(long)]
    pub offline: bool,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the audit server.
    Serve(ServeArgs),
    /// Create, list or revoke API tokens, straight in the database (also while the server runs).
    #[command(subcommand)]
    Token(TokenCommand),
    /// An embedded server on a loopback port, seeded with a generated 30-day trail, and the TUI on it.
    Demo,
    /// Export the log (or a filtered part of it) as CSV, JSON or NDJSON, streamed to a file.
    Export(ExportArgs),
    /// Fetch an evidence pack (zip): a kind over a period, or everything a filter matches.
    Evidence(EvidenceArgs),
    /// The export history: the newest exports and evidence packs, who made them, and how they ended.
    Exports(ExportsArgs),
    /// Post events from stdin (NDJSON, one event per line) in atomic batches of 1000 (writer).
    Ingest(RemoteArgs),
    /// Print matching entries as they arrive, one line each, resuming after a dropped
    /// connection without loss; Ctrl-C or a closed pipe ends it.
    Tail(TailArgs),
    /// Ask the server to walk the hash chain and the Merkle tree and check every signed
    /// checkpoint; exit 1 if anything no longer matches (auditor or admin).
    Verify(VerifyArgs),
    /// The checkpoint signing key.
    #[command(subcommand)]
    Key(KeyCommand),
    /// Run the retention prune of the token's tenant now (admin).
    Prune(RemoteArgs),
    /// Replace a person's name, email, ip and user agent with a pseudonym in every entry (admin).
    Pseudonymise(PseudonymiseArgs),
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
    Cache(crate::cli::open::CacheCommand),
    /// Review an export file (CSV, JSON or NDJSON) in the TUI, offline.
    Open(crate::cli::open::OpenArgs),
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
    Witness(WitnessArgs),
}

/// `trailscope serve`.
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// The SQLite database file (created if missing).
    #[arg(long, env = "TRAILSCOPE_DB")]
    pub db: Option<PathBuf>,
    /// Address and port to listen on [default: 127.0.0.1:7807].
    #[arg(long)]
    pub listen: Option<SocketAddr>,
    /// Networks allowed to reach the read and admin routes, comma-separated CIDRs or bare
    /// addresses (one host) (default: all).
    #[arg(long, value_delimiter = ',', value_parser = crate::server::parse_net)]
    pub allow_from: Vec<ipnet::IpNet>,
    /// Networks allowed to post events, comma-separated CIDRs or bare addresses (default: all).
    #[arg(long, value_delimiter = ',', value_parser = crate::server::parse_net)]
    pub ingest_allow_from: Vec<ipnet::IpNet>,
    /// Archive pruned entries here (gzip NDJSON and a manifest) before removing them.
    #[arg(long)]
    pub archive_dir: Option<PathBuf>,
    /// A server config file (TOML, see config.example.toml); flags override it.
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// The Ed25519 key that signs checkpoints, kept outside the database; created (mode 0600)
    /// on first start [default: <db>.key].
    #[arg(long, env = "TRAILSCOPE_SIGNING_KEY")]
    pub signing_key: Option<PathBuf>,
}

/// `trailscope key …`.
#[derive(Debug, Subcommand)]
pub enum KeyCommand {
    /// Print the verifier key (the public half) that auditors and witnesses pin.
    Show {
        /// The signing key file (what `serve --signing-key` uses, by default <db>.key).
        #[arg(long)]
        signing_key: PathBuf,
    },
}

/// `trailscope verify`.
#[derive(Debug, Args)]
pub struct VerifyArgs {
    #[command(flatten)]
    pub remote: RemoteArgs,
    /// The verifier key to check every checkpoint's signature with (what `trailscope key show`
    /// printed), instead of trusting the server's own.
    #[arg(long)]
    pub key: Option<String>,
}

/// `trailscope token …`.
#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Create a token; the secret is printed once, as the last line of stdout.
    Create {
        /// The server's SQLite database file (the same as `serve --db`).
        #[arg(long)]
        db: PathBuf,
        /// What the token may do.
        #[arg(long, value_enum)]
        role: Role,
        /// The tenant whose entries the token can reach (and no other).
        #[arg(long, default_value = "default")]
        tenant: String,
        /// A label to recognise the token by in `token list`.
        #[arg(long)]
        name: Option<String>,
    },
    /// List tokens (never their secrets).
    List {
        /// The server's SQLite database file.
        #[arg(long)]
        db: PathBuf,
    },
    /// Revoke a token by its id (`tok_…`); it stops working at once.
    Revoke {
        /// The server's SQLite database file.
        #[arg(long)]
        db: PathBuf,
        /// The token's id as `token list` shows it (`tok_…`), not its secret.
        id: String,
    },
}

/// Where a command-line client finds its server: flags, then environment, then a profile.
#[derive(Debug, Args)]
pub struct RemoteArgs {
    /// The server's URL [default: the profile's].
    // Without a value shown, clap writes `[env: TRAILSCOPE_SERVER]`, not the misleading `…=]`.
    #[arg(long, env = "TRAILSCOPE_SERVER", hide_env_values = true)]
    pub server: Option<String>,
    /// The API token; its role must allow the command (ingest: writer; prune, pseudonymise:
    /// admin; the rest: auditor or admin) [default: the profile's].
    #[arg(long, env = "TRAILSCOPE_TOKEN", hide_env_values = true)]
    pub token: Option<String>,
    /// A profile from the config file [default: its default_profile].
    #[arg(long)]
    pub profile: Option<String>,
}

/// `trailscope export`.
#[derive(Debug, Args)]
pub struct ExportArgs {
    #[command(flatten)]
    pub remote: RemoteArgs,
    /// csv, json, ndjson, or ocsf (NDJSON of OCSF 1.x events, for SIEMs).
    #[arg(long, default_value = "csv", value_parser = ["csv", "json", "ndjson", "ocsf"])]
    pub format: String,
    /// Only entries matching this filter, in the query language (e.g. "channel:auth since:30d").
    #[arg(long)]
    pub filter: Option<String>,
    /// The file to write, or - for standard output [default: ./audit-log-<timestamp>.<ext>].
    #[arg(short, long)]
    pub output: Option<PathBuf>,
    /// Overwrite the file if it exists.
    #[arg(long)]
    pub force: bool,
    /// What the export history (`trailscope exports`) calls this export.
    #[arg(long)]
    pub name: Option<String>,
}

/// `trailscope exports`.
#[derive(Debug, Args)]
pub struct ExportsArgs {
    #[command(flatten)]
    pub remote: RemoteArgs,
    /// How many of the newest to list (1-1000).
    #[arg(long, default_value_t = 50, value_parser = clap::value_parser!(u16).range(1..=1000))]
    pub limit: u16,
    /// Print the list as JSON (the route's own answer) instead of a table.
    #[arg(long)]
    pub json: bool,
}

/// `trailscope tail`.
#[derive(Debug, Args)]
pub struct TailArgs {
    #[command(flatten)]
    pub remote: RemoteArgs,
    /// Only entries matching this filter, in the query language (e.g. "channel:auth outcome:failure").
    #[arg(long)]
    pub filter: Option<String>,
    /// text (one readable line each) or ndjson (one entry per line, for jq).
    #[arg(long, value_enum, default_value = "text")]
    pub format: crate::cli::tail::TailFormat,
    /// Replay every matching entry after this seq first (what a previous tail printed last).
    #[arg(long)]
    pub after_seq: Option<u64>,
}

/// `trailscope evidence`: a configured kind over a period, or (`--filter`) a pack of
/// everything a filter matches.
#[derive(Debug, Args)]
#[command(group = clap::ArgGroup::new("what").required(true).args(["kind", "filter"]))]
pub struct EvidenceArgs {
    #[command(flatten)]
    pub remote: RemoteArgs,
    /// access_review, change_management or incident_response (needs --from and --to).
    #[arg(long, value_parser = ["access_review", "change_management", "incident_response"])]
    pub kind: Option<String>,
    /// A custom pack of everything this filter matches, in the query language
    /// (e.g. "target:incident/INC-42").
    #[arg(long, conflicts_with = "kind")]
    pub filter: Option<String>,
    /// The custom pack's title, the heading of its report [default: the filter].
    #[arg(long, requires = "filter")]
    pub title: Option<String>,
    /// The period's first day (2026-10-01) or an age (90d).
    #[arg(long)]
    pub from: Option<String>,
    /// The period's last day (2026-12-31), or today.
    #[arg(long)]
    pub to: Option<String>,
    /// What the export history (`trailscope exports`) calls this pack.
    #[arg(long)]
    pub name: Option<String>,
    /// The zip file to write.
    #[arg(short, long)]
    pub output: PathBuf,
    /// Overwrite the file if it exists.
    #[arg(long)]
    pub force: bool,
}

/// `trailscope pseudonymise`: whom to erase, by exactly one of actor id or email.
#[derive(Debug, Args)]
#[command(group = clap::ArgGroup::new("who").required(true).args(["actor_id", "email"]))]
pub struct PseudonymiseArgs {
    /// The person's actor id as producers send it (e.g. u_17).
    #[arg(long)]
    pub actor_id: Option<String>,
    /// The person's email (matched without regard to case).
    #[arg(long)]
    pub email: Option<String>,
    #[command(flatten)]
    pub remote: RemoteArgs,
}

/// `trailscope witness`.
#[derive(Debug, Args)]
pub struct WitnessArgs {
    #[command(flatten)]
    pub remote: RemoteArgs,
    /// The file that keeps the pinned key and every checkpoint seen
    /// [default: <state dir>/witness/<server>.json].
    #[arg(long)]
    pub state: Option<PathBuf>,
    /// The verifier key to pin (from `trailscope key show`, had out of band) instead of
    /// trusting the server's first answer; later runs check it is still the pinned one.
    #[arg(long)]
    pub key: Option<String>,
}
