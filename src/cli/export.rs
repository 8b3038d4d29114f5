//! `trailscope export` and `trailscope evidence`: stream from the server to a file, with a
//! progress line, never overwriting without --force, never leaving half a file behind.

use crate::cli::tui::{UsageError, load_config};
use crate::cli::{EvidenceArgs, ExportArgs, ExportsArgs, RemoteArgs};
use crate::client::{Client, DownloadError};
use crate::export::StagedFile;
use crate::export::{Format, RowCounter, count_json_entries};
use crate::model::{PackRequest, Query};
use crate::text::human_bytes;
use anyhow::{Context, anyhow};
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// The server and token for a command-line client: flags and environment first, then the
/// profile named (or the config's default profile).
pub fn resolve_remote(args: &RemoteArgs) -> anyhow::Result<(String, String)> {
    let (config, path) = load_config()?;
    let where_ = path
        .as_ref()
        .map_or("the config file".to_string(), |p| p.display().to_string());
    let name = args.profile.clone().or(config.default_profile.clone());
    let profile = match &name {
        Some(n) => Some(
            config
                .profiles
                .get(n)
                .cloned()
                .ok_or_else(|| UsageError(format!("there is no profile `{n}` in {where_}")))?,
        ),
        None => None,
    };
    let server = args
        .server
        .clone()
        .or(profile.as_ref().and_then(|p| p.server.clone()))
        .ok_or_else(|| {
            UsageError(format!(
                "say which server: --server URL, TRAILSCOPE_SERVER, or a profile in {where_}"
            ))
        })?;
    let token = match &args.token {
        Some(t) => t.clone(),
        None => profile
            .as_ref()
            .map(|p| p.resolve_token())
            .transpose()?
            .flatten()
            .ok_or_else(|| UsageError("say which token: --token T, TRAILSCOPE_TOKEN, or token / token_file / token_cmd in a profile".into()))?,
    };
    Ok((server, token))
}

/// Starts a staged download, turning "exists" into the CLI's advice.
fn stage(target: &Path, force: bool) -> anyhow::Result<StagedFile> {
    StagedFile::create(target, force).map_err(|e| match e {
        crate::export::StageError::Exists(p) => {
            anyhow!("{} exists; pass --force to overwrite it", p.display())
        }
        other => anyhow!(other),
    })
}

/// A progress line on stderr, only when stderr is a terminal.
struct Progress {
    on: bool,
    start: Instant,
    last: Instant,
}

impl Progress {
    fn new() -> Progress {
        let now = Instant::now();
        Progress {
            on: std::io::stderr().is_terminal(),
            start: now,
            last: now - Duration::from_secs(1),
        }
    }
    fn show(&mut self, bytes: u64, rows: Option<u64>) {
        if !self.on || self.last.elapsed() < Duration::from_millis(200) {
            return;
        }
        self.last = Instant::now();
        let rows = rows.map(|r| format!(", {r} rows")).unwrap_or_default();
        eprint!(
            "\r\x1b[2K↓ {}{rows} in {:.1} s",
            human_bytes(bytes),
            self.start.elapsed().as_secs_f64()
        );
    }
    fn done(&self) {
        if self.on {
            eprint!("\r\x1b[2K");
        }
    }
}

/// `trailscope export`.
pub fn export(args: ExportArgs) -> anyhow::Result<()> {
    let format = Format::parse(&args.format).ok_or_else(|| {
        UsageError(format!(
            "--format {} is not csv, json, ndjson or ocsf",
            args.format
        ))
    })?;
    let query: Query = match &args.filter {
        Some(f) => f
            .parse()
            .map_err(|e| UsageError(format!("--filter: {e}")))?,
        None => Query::default(),
    };
    let (server, token) = resolve_remote(&args.remote)?;
    let client = Client::new(&server, &token)?;
    let to_stdout = args.output.as_deref() == Some(Path::new("-"));
    let target = args
        .output
        .clone()
        .unwrap_or_else(|| PathBuf::from(format.file_name(&chrono::Utc::now())));
    let mut staged = if to_stdout {
        None
    } else {
        Some(stage(&target, args.force)?)
    };
    // Not locked: the sink must be Send; each chunk is large, so the lock per write is noise.
    let mut stdout = std::io::stdout();
    let mut counter = RowCounter::new(format);
    let mut progress = Progress::new();
    let mut received = 0u64;
    // A file gets its proof: JSON embeds it, CSV and NDJSON get `<file>.proof.json` beside.
    let trailer = !to_stdout && format != Format::Json;
    let result = crate::cli::serve::runtime()?.block_on(client.export_named(
        &query,
        format,
        args.name.as_deref(),
        trailer,
        &mut |chunk| {
            counter.feed(chunk);
            received += chunk.len() as u64;
            progress.show(received, counter.rows());
            match &mut staged {
                Some(s) => s.write_all(chunk),
                None => stdout.write_all(chunk),
            }
        },
    ));
    progress.done();
    match result {
        Err(e) => {
            drop(staged);
            Err(download_failure(e))
        }
        Ok(bytes) => {
            let Some(s) = staged else {
                return stdout.flush().map_err(Into::into);
            };
            let mut s = s;
            let mut proved_rows = None;
            let sidecar = if trailer {
                let proof = s
                    .split_proof()
                    .map_err(|e| anyhow!("{e}; nothing was written"))?;
                let parsed: crate::model::ProofFile = serde_json::from_slice(&proof)
                    .map_err(|_| anyhow!("the server's proof is malformed; nothing was written"))?;
                proved_rows = Some(parsed.proof.entries);
                let path = proof_sidecar(&target);
                let mut side = stage(&path, args.force)?;
                side.write_all(&proof)?;
                Some(side)
            } else {
                None
            };
            s.commit()?;
            if let Some(side) = sidecar {
                side.commit()?;
            }
            let rows = match counter.rows() {
                _ if proved_rows.is_some() => proved_rows.unwrap_or_default(),
                Some(r) => r,
                None => count_json_entries(std::fs::File::open(&target)?)
                    .context("the JSON export could not be read back")?,
            };
            eprintln!(
                "wrote {rows} entries ({}) to {}",
                human_bytes(bytes),
                target.display()
            );
            Ok(())
        }
    }
}

/// Where a CSV or NDJSON export's proof goes: `<file>.proof.json`.
pub fn proof_sidecar(file: &Path) -> PathBuf {
    let mut name = file.as_os_str().to_os_string();
    name.push(".proof.json");
    PathBuf::from(name)
}

/// `trailscope evidence`.
pub fn evidence(args: EvidenceArgs) -> anyhow::Result<()> {
    let request = match (&args.kind, &args.filter) {
        (Some(kind), _) => {
            let (Some(from), Some(to)) = (&args.from, &args.to) else {
                return Err(
                    UsageError(format!("a {kind} pack needs a period: --from and --to")).into(),
                );
            };
            PackRequest {
                kind: kind.clone(),
                from: Some(from.clone()),
                to: Some(to.clone()),
                name: args.name.clone(),
                ..PackRequest::default()
            }
        }
        (None, Some(filter)) => {
            filter
                .parse::<Query>()
                .map_err(|e| UsageError(format!("--filter: {e}")))?;
            PackRequest {
                kind: crate::export::evidence::CUSTOM.into(),
                from: args.from.clone(),
                to: args.to.clone(),
                title: args.title.clone(),
                filter: Some(filter.clone()),
                name: args.name.clone(),
            }
        }
        (None, None) => {
            return Err(
                UsageError("say what to pack: --kind KIND or --filter QUERY".into()).into(),
            );
        }
    };
    let (server, token) = resolve_remote(&args.remote)?;
    let client = Client::new(&server, &token)?;
    let mut staged = stage(&args.output, args.force)?;
    let mut progress = Progress::new();
    let mut received = 0u64;
    let result = crate::cli::serve::runtime()?.block_on(client.pack(&request, &mut |chunk| {
        received += chunk.len() as u64;
        progress.show(received, None);
        staged.write_all(chunk)
    }));
    progress.done();
    match result {
        Err(e) => {
            drop(staged);
            Err(download_failure(e))
        }
        Ok(bytes) => {
            staged.commit()?;
            let (manifest, problems) =
                crate::export::evidence::verify_pack(std::fs::File::open(&args.output)?)
                    .map_err(|e| anyhow!(e))?;
            if !problems.is_empty() {
                return Err(anyhow!(
                    "the pack arrived but does not match its own manifest: {}",
                    problems.join("; ")
                ));
            }
            eprintln!(
                "wrote the {} pack, {} entries from {} to {} ({}), to {}",
                crate::text::inert(match &manifest.title {
                    Some(title) if manifest.kind == crate::export::evidence::CUSTOM => title,
                    _ => &manifest.kind,
                }),
                manifest.rows,
                manifest.from,
                manifest.to,
                human_bytes(bytes),
                args.output.display()
            );
            Ok(())
        }
    }
}

/// `trailscope exports`: the export history as a table (or JSON).
pub fn exports(args: ExportsArgs) -> anyhow::Result<()> {
    let (server, token) = resolve_remote(&args.remote)?;
    let client = Client::new(&server, &token)?;
    let list = crate::cli::serve::runtime()?
        .block_on(client.exports(args.limit as usize))
        .map_err(|e| anyhow!("{e}; {}", e.advice()))?;
    let mut out = std::io::stdout().lock();
    if args.json {
        serde_json::to_writer_pretty(&mut out, &list)?;
        writeln!(out)?;
        return Ok(());
    }
    writeln!(
        out,
        "{:<20}  {:<10}  {:<24}  {:<28}  {:<17}  {:>9}  filter",
        "when (UTC)", "status", "who", "name", "what", "rows"
    )?;
    for r in &list.exports {
        let who = r
            .actor
            .name
            .clone()
            .or(r.actor.id.clone())
            .unwrap_or_else(|| r.actor.kind.as_str().to_string());
        let what = match (&r.format, &r.kind) {
            (Some(f), _) => format!("export {f}"),
            (None, Some(k)) => format!("pack {k}"),
            _ => r.what.clone(),
        };
        writeln!(
            out,
            "{:<20}  {:<10}  {:<24}  {:<28}  {:<17}  {:>9}  {}",
            r.at.format("%Y-%m-%d %H:%M:%S"),
            r.status.as_str(),
            cell(&who, 24),
            cell(r.name.as_deref().or(r.title.as_deref()).unwrap_or("-"), 28),
            cell(&what, 17),
            r.rows.map_or("-".to_string(), |n| n.to_string()),
            crate::text::inert(if r.filter.is_empty() {
                "(everything)"
            } else {
                &r.filter
            }),
        )?;
    }
    if list.exports.is_empty() {
        writeln!(out, "(no exports or evidence packs yet)")?;
    }
    Ok(())
}

/// Attacker-controlled text in a fixed-width column: made inert, then cut.
fn cell(text: &str, width: usize) -> String {
    let inert = crate::text::inert(text);
    if inert.chars().count() <= width {
        return inert.into_owned();
    }
    let mut cut: String = inert.chars().take(width - 1).collect();
    cut.push('…');
    cut
}

fn download_failure(e: DownloadError) -> anyhow::Error {
    match e {
        DownloadError::Client(c) => anyhow!("{c}; {}", c.advice()),
        other => anyhow!("{other}; nothing was written"),
    }
}
