//! What each subcommand does, at the binary's edge (anyhow errors, printed as one sentence).

use crate::cli::{ServeArgs, TokenCommand};
use crate::config::{ConfigFile, DEFAULT_LISTEN};
use crate::server::{Allowlist, ServerOptions, serve as serve_http, shutdown_signal};
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
    // Colour only for a person at a terminal: a log redirected to a file stays plain text.
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
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
    let mut retention = file.retention;
    if let Some(dir) = args.archive_dir {
        retention.archive_dir = Some(dir);
    }
    retention
        .check()
        .map_err(|e| anyhow!("{e} (in [retention] of the config file)"))?;
    let key_path = args
        .signing_key
        .unwrap_or_else(|| crate::keyfile::default_path(&db));
    let (key, created) = crate::keyfile::load_or_create(&key_path)?;
    if created {
        tracing::info!(path = %key_path.display(), "created a new checkpoint signing key");
    }
    let options = ServerOptions {
        allow,
        evidence: file.evidence,
        retention,
        schedule_prune: true,
        signing_key: Some(key),
        audit_searches: file
            .server
            .audit_searches
            .unwrap_or(true)
            .then(Default::default),
    };
    let store: Arc<dyn Store> = Arc::new(SqliteStore::open(&db)?);
    let rt = tokio::runtime::Runtime::new().context("cannot start the async runtime")?;
    rt.block_on(async move {
        // Before the address is announced: whoever waits for that line may signal at once.
        let shutdown = shutdown_signal();
        let listener = tokio::net::TcpListener::bind(listen).await.with_context(|| format!("cannot listen on {listen}"))?;
        tracing::info!(address = %listener.local_addr()?, db = %db.display(), "trailscope server listening");
        serve_http(store, options, listener, shutdown).await.context("the server stopped")?;
        tracing::info!("stopped cleanly");
        Ok(())
    })
}

/// `trailscope key show`: the verifier key to pin.
pub fn key(cmd: crate::cli::KeyCommand) -> anyhow::Result<()> {
    match cmd {
        crate::cli::KeyCommand::Show { signing_key } => {
            let key = crate::keyfile::load(&signing_key)?;
            println!("{}", key.verifier());
        }
    }
    Ok(())
}

/// `trailscope token create|list|revoke`, through the store's own token admin (it works while a
/// server runs on the same database).
pub fn token(cmd: TokenCommand) -> anyhow::Result<()> {
    match cmd {
        TokenCommand::Create {
            db,
            role,
            tenant,
            name,
        } => {
            let (new, secret) = crate::store::NewToken::generate(role, &tenant, name.as_deref());
            let record = with_store(&db, async |s| s.create_token(new).await)?;
            println!(
                "created {} ({} for tenant {}); it is shown only now:",
                record.id, record.role, record.tenant
            );
            println!("{secret}");
        }
        TokenCommand::List { db } => {
            let mut rows =
                vec![["id", "role", "tenant", "created", "status", "name"].map(String::from)];
            for t in with_store(&db, async |s| s.list_tokens().await)? {
                let status = if t.revoked_at.is_some() {
                    "revoked"
                } else {
                    "active"
                };
                rows.push([
                    t.id.clone(),
                    t.role.as_str().to_string(),
                    crate::text::inert(&t.tenant).to_string(),
                    crate::model::format_ts(&t.created_at),
                    status.to_string(),
                    crate::text::inert(t.name.as_deref().unwrap_or("")).to_string(),
                ]);
            }
            print!("{}", columns(&rows));
        }
        TokenCommand::Revoke { db, id } => {
            if !with_store(&db, async |s| s.revoke_token(&id).await)? {
                return Err(anyhow!("no active token has the id {id}"));
            }
            println!("revoked {id}");
        }
    }
    Ok(())
}

/// Runs `f` on a store opened on `db` for the length of one command, then closes it.
fn with_store<T>(
    db: &std::path::Path,
    f: impl AsyncFnOnce(&dyn Store) -> Result<T, crate::store::StoreError>,
) -> anyhow::Result<T> {
    let store = SqliteStore::open_beside(db)?;
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    rt.block_on(async {
        let out = f(&store).await;
        store.close().await;
        Ok(out?)
    })
}

/// `trailscope verify-pack FILE`: checks an evidence pack against its manifest, offline.
pub fn verify_pack(path: &std::path::Path, key: Option<&str>) -> anyhow::Result<()> {
    let pinned = crate::verify_file::pinned_key(key)?;
    let file =
        std::fs::File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
    let (manifest, mut problems) = crate::export::evidence::verify_pack(file)
        .map_err(|e| anyhow!("{}: {e}", path.display()))?;
    // The proof: the pack's JSON file is in the signed log, entry by entry.
    let proved = match crate::export::evidence::pack_proof_parts(path, &manifest.kind) {
        Err(e) => {
            problems.push(e);
            None
        }
        Ok((json_name, json, proof)) => {
            match crate::verify_file::check_bytes(&json_name, &json, pinned.as_ref(), |_| {
                Ok((crate::export::evidence::PROOF_FILE.to_string(), proof))
            }) {
                Ok(v) => Some(v.line),
                Err(e) => {
                    problems.push(format!("proof.json: {}", sentence(&e)));
                    None
                }
            }
        }
    };
    if problems.is_empty() {
        println!(
            "ok: {} pack for {} to {}, {} entries; {} files match the manifest; {}",
            manifest.kind,
            manifest.from,
            manifest.to,
            manifest.rows,
            manifest.files.len(),
            proved
                .as_deref()
                .unwrap_or_default()
                .trim_start_matches("ok: ")
        );
        return Ok(());
    }
    for p in &problems {
        println!("MISMATCH: {}", crate::text::inert(p));
    }
    Err(anyhow!(
        "{} does not match its manifest or its proof ({} problems)",
        path.display(),
        problems.len()
    ))
}

/// `trailscope prune`: runs the retention prune of the token's tenant now, on the server.
pub fn prune(remote: crate::cli::RemoteArgs) -> anyhow::Result<()> {
    let (server, token) = crate::export_command::resolve_remote(&remote)?;
    let client = crate::client::Client::new(&server, &token)?;
    let rt = runtime()?;
    let report = rt
        .block_on(client.prune())
        .map_err(|e| anyhow!("{e}; {}", e.advice()))?;
    println!(
        "pruned {} entries received before {}{}{}",
        report.removed,
        crate::model::format_ts(&report.cutoff),
        report
            .anchor
            .map(|a| format!("; the chain now starts after seq {}", a.seq))
            .unwrap_or_default(),
        report
            .archive
            .map(|a| format!("; archived first, see {}", crate::text::inert(&a)))
            .unwrap_or_default(),
    );
    Ok(())
}

/// `trailscope pseudonymise`: a GDPR erasure request, carried out on the server.
pub fn pseudonymise(args: crate::cli::PseudonymiseArgs) -> anyhow::Result<()> {
    let who = match (args.actor_id, args.email) {
        (Some(id), _) => crate::store::Identity::ActorId(id),
        (None, Some(email)) => crate::store::Identity::Email(email),
        (None, None) => {
            anyhow::bail!("say whose data to pseudonymise: --actor-id ID or --email EMAIL")
        }
    };
    let (server, token) = crate::export_command::resolve_remote(&args.remote)?;
    let client = crate::client::Client::new(&server, &token)?;
    let rt = runtime()?;
    let report = rt
        .block_on(client.pseudonymise(&who))
        .map_err(|e| anyhow!("{e}; {}", e.advice()))?;
    match report.pseudonym {
        Some(p) => println!(
            "{} entries now show {p} instead of the person's name, email, ip and user agent; the chain still verifies",
            report.entries
        ),
        None => println!("no entry still names that person; nothing was changed"),
    }
    Ok(())
}

/// `trailscope verify-archive MANIFEST [--server URL --token T]`.
pub fn verify_archive(
    manifest_path: &std::path::Path,
    remote: crate::cli::RemoteArgs,
) -> anyhow::Result<()> {
    let (manifest, mut problems) =
        crate::store::archive::verify_archive(manifest_path).map_err(|e| anyhow!(e))?;
    let mut linked = String::new();
    if remote.server.is_some() || remote.profile.is_some() {
        let (server, token) = crate::export_command::resolve_remote(&remote)?;
        let client = crate::client::Client::new(&server, &token)?;
        let rt = runtime()?;
        let oldest = rt
            .block_on(client.oldest())
            .map_err(|e| anyhow!("{e}; {}", e.advice()))?;
        match oldest {
            Some(e) if e.seq == manifest.last_seq + 1 && e.prev_hash == manifest.last_hash => {
                linked = format!("; the live log continues from it at seq {}", e.seq);
            }
            Some(e) if e.seq == manifest.last_seq + 1 => problems.push(format!(
                "the live log's seq {} does not link to this archive's last hash",
                e.seq
            )),
            Some(e) => {
                linked = format!(
                    "; the live log now starts at seq {} (a later prune removed what followed this archive)",
                    e.seq
                )
            }
            None => problems.push("the live log holds no entries to link this archive to".into()),
        }
    }
    if problems.is_empty() {
        println!(
            "ok: {} entries, seq {} to {}, verify{linked}",
            manifest.count, manifest.first_seq, manifest.last_seq
        );
        return Ok(());
    }
    for p in &problems {
        println!("MISMATCH: {}", crate::text::inert(p));
    }
    Err(anyhow!(
        "{} does not verify ({} problems)",
        manifest_path.display(),
        problems.len()
    ))
}

/// A single-threaded runtime for a command's few requests.
pub fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")
}

/// Rows as left-aligned columns as wide as their widest cell (by display width, so a tenant
/// or name in any script keeps the columns straight), two spaces apart; the last is not padded.
fn columns<const N: usize>(rows: &[[String; N]]) -> String {
    use unicode_width::UnicodeWidthStr;
    let mut widths = [0usize; N];
    for row in rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.width());
        }
    }
    let mut out = String::new();
    for row in rows {
        for (i, cell) in row.iter().enumerate() {
            out.push_str(cell);
            if i + 1 < N {
                out.push_str(&" ".repeat(widths[i] - cell.width() + 2));
            }
        }
        out.push('\n');
    }
    out
}
