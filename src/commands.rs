//! What each subcommand does, at the binary's edge (anyhow errors, printed as one sentence).

use crate::cli::{ServeArgs, TokenCommand};
use crate::config::{ConfigFile, DEFAULT_LISTEN};
use crate::server::{Allowlist, ServerOptions, serve as serve_http, shutdown_signal};
use crate::store::sqlite::TokenAdmin;
use crate::store::{SqliteStore, Store};
use anyhow::{Context, anyhow};
use std::sync::Arc;

/// An error and its causes as one line.
pub fn sentence(e: &anyhow::Error) -> String {
    let mut parts: Vec<String> = Vec::new();
    for cause in e.chain() {
        let s = cause.to_string();
        if !parts.iter().any(|p| p.contains(&s)) {
            parts.push(s);
        }
    }
    parts.join(": ")
}

fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_env("TRAILSCOPE_LOG")
        .unwrap_or_else(|_| "info".into());
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}

/// `trailscope serve`.
pub fn serve(args: ServeArgs) -> anyhow::Result<()> {
    init_logging();
    let file = match &args.config {
        Some(p) => ConfigFile::load(p)?,
        None => ConfigFile::default(),
    };
    let db = args.db.or(file.server.db).ok_or_else(|| {
        anyhow!(
            "say where the database lives: --db PATH (or `db` under [server] in the config file)"
        )
    })?;
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
    let options = ServerOptions {
        allow,
        evidence: file.evidence,
    };
    let store: Arc<dyn Store> = Arc::new(SqliteStore::open(&db)?);
    let rt = tokio::runtime::Runtime::new().context("cannot start the async runtime")?;
    rt.block_on(async move {
        let listener = tokio::net::TcpListener::bind(listen).await.with_context(|| format!("cannot listen on {listen}"))?;
        tracing::info!(address = %listener.local_addr()?, db = %db.display(), "trailscope server listening");
        serve_http(store, options, listener, shutdown_signal()).await.context("the server stopped")?;
        tracing::info!("stopped cleanly");
        Ok(())
    })
}

/// `trailscope token create|list|revoke`.
pub fn token(cmd: TokenCommand) -> anyhow::Result<()> {
    match cmd {
        TokenCommand::Create {
            db,
            role,
            tenant,
            name,
        } => {
            let admin = TokenAdmin::open(&db)?;
            let (record, secret) = admin.create(role, &tenant, name.as_deref())?;
            println!(
                "created {} ({} for tenant {}); it is shown only now:",
                record.id, record.role, record.tenant
            );
            println!("{secret}");
        }
        TokenCommand::List { db } => {
            let admin = TokenAdmin::open(&db)?;
            println!(
                "{:<18} {:<8} {:<16} {:<24} {:<10} name",
                "id", "role", "tenant", "created", "status"
            );
            for t in admin.list()? {
                let status = if t.revoked_at.is_some() {
                    "revoked"
                } else {
                    "active"
                };
                println!(
                    "{:<18} {:<8} {:<16} {:<24} {:<10} {}",
                    t.id,
                    t.role,
                    crate::text::inert(&t.tenant),
                    crate::model::format_ts(&t.created_at),
                    status,
                    crate::text::inert(t.name.as_deref().unwrap_or(""))
                );
            }
        }
        TokenCommand::Revoke { db, id } => {
            let admin = TokenAdmin::open(&db)?;
            if !admin.revoke(&id)? {
                return Err(anyhow!("no active token has the id {id}"));
            }
            println!("revoked {id}");
        }
    }
    Ok(())
}

/// `trailscope verify-pack FILE`: checks an evidence pack against its manifest, offline.
pub fn verify_pack(path: &std::path::Path) -> anyhow::Result<()> {
    let file =
        std::fs::File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
    let (manifest, problems) = crate::export::evidence::verify_pack(file)
        .map_err(|e| anyhow!("{}: {e}", path.display()))?;
    if problems.is_empty() {
        println!(
            "ok: {} pack for {} to {}, {} entries; {} files match the manifest",
            manifest.kind,
            manifest.from,
            manifest.to,
            manifest.rows,
            manifest.files.len()
        );
        return Ok(());
    }
    for p in &problems {
        println!("MISMATCH: {}", crate::text::inert(p));
    }
    Err(anyhow!(
        "{} does not match its manifest ({} problems)",
        path.display(),
        problems.len()
    ))
}
