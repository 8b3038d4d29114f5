//! `trailscope serve`: the audit server, from flags over the server config file.

use super::context::{Threads, log_to_stderr, runtime};
use super::keyfile;
use super::store::{StoreAt, open_store};
use anyhow::{Context, anyhow};
use clap::Args;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use trailscope::config::{ConfigFile, DEFAULT_LISTEN};
use trailscope::server::{Allowlist, ServerOptions, serve as serve_http, shutdown_signal};
use trailscope::store::Store;

/// `trailscope serve`.
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// The SQLite database file (created if missing).
    #[arg(long, env = "TRAILSCOPE_DB")]
    pub db: Option<PathBuf>,
    /// A PostgreSQL database instead (`postgres://user@host/db`): several `serve` processes on
    /// one database are replicas behind any load balancer. Needs --signing-key (the replicas
    /// share it).
    #[arg(long, env = "TRAILSCOPE_DATABASE_URL")]
    pub database_url: Option<String>,
    /// With --database-url: how long one partition of the entries is, `month` (a new database's
    /// default) or `day` (for a billion entries a month: retention then drops whole days). Kept
    /// in the database; give every replica the same.
    #[arg(long, value_parser = clap::builder::ValueParser::new(|s: &str| s.parse::<trailscope::store::postgres::PartitionUnit>()))]
    pub partition: Option<trailscope::store::postgres::PartitionUnit>,
    /// Address and port to listen on [default: 127.0.0.1:7807].
    #[arg(long)]
    pub listen: Option<SocketAddr>,
    /// Networks allowed to reach the read and admin routes, comma-separated CIDRs or bare
    /// addresses (one host) (default: all).
    #[arg(long, value_delimiter = ',', value_parser = trailscope::server::parse_net)]
    pub allow_from: Vec<ipnet::IpNet>,
    /// Networks allowed to post events, comma-separated CIDRs or bare addresses (default: all).
    #[arg(long, value_delimiter = ',', value_parser = trailscope::server::parse_net)]
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
    /// Where the signer remembers the newest checkpoint it signed for each tenant, outside the
    /// database (mode 0600, replaced atomically); give each replica its own [default:
    /// <signing key>.state].
    #[arg(long, env = "TRAILSCOPE_SIGNER_STATE")]
    pub signer_state: Option<PathBuf>,
    /// Serve HTTPS with this PEM certificate chain (with --tls-key); SIGHUP reloads both files,
    /// and a pair that does not load leaves the old one serving.
    #[arg(
        long,
        value_name = "PEM",
        requires = "tls_key",
        env = "TRAILSCOPE_TLS_CERT"
    )]
    pub tls_cert: Option<PathBuf>,
    /// The PEM private key of --tls-cert.
    #[arg(
        long,
        value_name = "PEM",
        requires = "tls_cert",
        env = "TRAILSCOPE_TLS_KEY"
    )]
    pub tls_key: Option<PathBuf>,
}

/// `trailscope serve`.
pub fn run(args: ServeArgs) -> anyhow::Result<()> {
    log_to_stderr();
    let file = match &args.config {
        Some(p) => ConfigFile::load(p)?,
        None => ConfigFile::default(),
    };
    let at = store_at(
        args.db.or(file.server.db),
        args.database_url.or(file.server.database_url),
        args.partition.or(file.server.partition),
        file.server.pool_size,
    )?;
    let listen = args
        .listen
        .or(file.server.listen)
        .unwrap_or_else(|| DEFAULT_LISTEN.parse().expect("the default address parses"));
    let allow = Allowlist {
        audit: if args.allow_from.is_empty() {
            file.server.allow_from
        } else {
            args.allow_from
        },
        ingest: if args.ingest_allow_from.is_empty() {
            file.server.ingest_allow_from
        } else {
            args.ingest_allow_from
        },
    };
    file.evidence
        .check()
        .map_err(|e| anyhow!("{e} (in [evidence] of the config file)"))?;
    let mut retention = file.retention;
    if let Some(dir) = args.archive_dir {
        retention.archive_dir = Some(dir);
    }
    retention
        .check()
        .map_err(|e| anyhow!("{e} (in [retention] of the config file)"))?;
    let signer = signer(args.signing_key, args.signer_state, &at)?;
    let tls = match (args.tls_cert, args.tls_key) {
        (Some(cert), Some(key)) => {
            Some(trailscope::server::tls::TlsFiles::open(cert, key).map_err(|e| anyhow!("{e}"))?)
        }
        _ => None,
    };
    let tls_in_force = tls.as_ref().map(|(_, t)| t.clone());
    let options = ServerOptions {
        allow,
        evidence: file.evidence,
        retention,
        schedule_prune: true,
        signing_key: None,
        signer: Some(signer),
        audit_searches: file
            .server
            .audit_searches
            .unwrap_or(true)
            .then(Default::default),
        stream_keep_alive: None,
        first_byte_deadline: None,
        tls: tls_in_force,
    };
    let rt = runtime(Threads::PerCore)?;
    rt.block_on(async move {
        let store: Arc<dyn Store> = open_store(&at).await?;
        let scheme = if tls.is_some() { "https" } else { "http" };
        if let Some((files, _)) = tls {
            files.reload_on_sighup().context("cannot listen for SIGHUP")?;
        }
        // Before the address is announced: whoever waits for that line may signal at once.
        let shutdown = shutdown_signal();
        let listener = tokio::net::TcpListener::bind(listen).await.with_context(|| format!("cannot listen on {listen}"))?;
        tracing::info!(address = %listener.local_addr()?, scheme, db = %at.describe(), "trailscope server listening");
        serve_http(store, options, listener, shutdown).await.context("the server stopped")?;
        tracing::info!("stopped cleanly");
        Ok(())
    })
}

/// Where the entries are kept: a SQLite file or a PostgreSQL database (only the latter has
/// partitions).
fn store_at(
    db: Option<PathBuf>,
    database_url: Option<String>,
    partition: Option<trailscope::store::postgres::PartitionUnit>,
    pool_size: Option<usize>,
) -> anyhow::Result<StoreAt> {
    let mut at = StoreAt::choose(db, database_url, pool_size)?;
    match (&mut at, partition) {
        (StoreAt::Postgres { partition, .. }, unit) => *partition = unit,
        (StoreAt::Sqlite(_), Some(_)) => {
            return Err(anyhow!(
                "--partition is for PostgreSQL (--database-url): a SQLite file has no partitions"
            ));
        }
        (StoreAt::Sqlite(_), None) => {}
    }
    Ok(at)
}

/// The checkpoint signer: its key (created on first start beside a SQLite file; named
/// explicitly for PostgreSQL, whose replicas share it) and its state file.
fn signer(
    signing_key: Option<PathBuf>,
    signer_state: Option<PathBuf>,
    at: &StoreAt,
) -> anyhow::Result<trailscope::store::signer::Signer> {
    let key_path = match (signing_key, at) {
        (Some(k), _) => k,
        (None, StoreAt::Sqlite(db)) => keyfile::default_path(db),
        (None, StoreAt::Postgres { .. }) => {
            return Err(anyhow!(
                "with --database-url, say where the checkpoint signing key lives: --signing-key PATH \
                 (every replica signs with the same key)"
            ));
        }
    };
    let (key, created) = keyfile::load_or_create(&key_path)?;
    if created {
        tracing::info!(path = %key_path.display(), "created a new checkpoint signing key");
    }
    let state_path =
        signer_state.unwrap_or_else(|| trailscope::store::signer::default_state_path(&key_path));
    let fresh = !state_path.exists();
    let signer = trailscope::store::signer::Signer::open(key, &state_path)?;
    if fresh {
        tracing::info!(
            path = %state_path.display(),
            "no signer state yet: each tenant's newest stored checkpoint that opens with the key (and that its tree extends) is taken as what was signed"
        );
    }
    Ok(signer)
}
