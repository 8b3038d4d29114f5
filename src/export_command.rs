//! `trailscope export` and `trailscope evidence`: stream from the server to a file, with a
//! progress line, never overwriting without --force, never leaving half a file behind.

use crate::cli::{EvidenceArgs, ExportArgs, RemoteArgs};
use crate::client::{Client, DownloadError};
use crate::export::{Format, RowCounter, count_json_entries};
use crate::model::Query;
use crate::tui_command::{UsageError, load_config};
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

/// A file being written under a temporary name beside its final one; it takes the final name
/// only when complete, so an interrupted download leaves nothing that looks finished.
struct Staged {
    file: std::io::BufWriter<std::fs::File>,
    temp: PathBuf,
    target: PathBuf,
}

impl Staged {
    fn create(target: &Path, force: bool) -> anyhow::Result<Staged> {
        if target.exists() && !force {
            return Err(anyhow!(
                "{} exists; pass --force to overwrite it",
                target.display()
            ));
        }
        let name = target
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let temp = target.with_file_name(format!(".{name}.partial-{}", std::process::id()));
        let file = std::fs::File::create(&temp)
            .with_context(|| format!("cannot write {}", temp.display()))?;
        Ok(Staged {
            file: std::io::BufWriter::new(file),
            temp,
            target: target.to_path_buf(),
        })
    }

    fn commit(self) -> anyhow::Result<()> {
        let file = self
            .file
            .into_inner()
            .map_err(|e| anyhow!("cannot write {}: {}", self.temp.display(), e.error()))?;
        file.sync_all()?;
        std::fs::rename(&self.temp, &self.target).with_context(|| {
            format!(
                "cannot move the file into place at {}",
                self.target.display()
            )
        })
    }

    fn abandon(self) {
        drop(self.file);
        let _ = std::fs::remove_file(&self.temp);
    }
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

/// `12.3 MB`.
pub fn human_bytes(n: u64) -> String {
    match n {
        n if n >= 1 << 30 => format!("{:.1} GB", n as f64 / (1u64 << 30) as f64),
        n if n >= 1 << 20 => format!("{:.1} MB", n as f64 / (1u64 << 20) as f64),
        n if n >= 1 << 10 => format!("{:.1} KB", n as f64 / 1024.0),
        n => format!("{n} B"),
    }
}

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")
}

/// `trailscope export`.
pub fn export(args: ExportArgs) -> anyhow::Result<()> {
    let format = Format::parse(&args.format).ok_or_else(|| {
        UsageError(format!(
            "--format {} is not csv, json or ndjson",
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
        Some(Staged::create(&target, args.force)?)
    };
    let mut stdout = std::io::stdout().lock();
    let mut counter = RowCounter::new(format);
    let mut progress = Progress::new();
    let mut received = 0u64;
    let result = runtime()?.block_on(client.export(&query, format, &mut |chunk| {
        counter.feed(chunk);
        received += chunk.len() as u64;
        progress.show(received, counter.rows());
        match &mut staged {
            Some(s) => s.file.write_all(chunk),
            None => stdout.write_all(chunk),
        }
    }));
    progress.done();
    match result {
        Err(e) => {
            if let Some(s) = staged {
                s.abandon();
            }
            Err(download_failure(e))
        }
        Ok(bytes) => {
            let Some(s) = staged else {
                return stdout.flush().map_err(Into::into);
            };
            s.commit()?;
            let rows = match counter.rows() {
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

/// `trailscope evidence`.
pub fn evidence(args: EvidenceArgs) -> anyhow::Result<()> {
    let (server, token) = resolve_remote(&args.remote)?;
    let client = Client::new(&server, &token)?;
    let mut staged = Staged::create(&args.output, args.force)?;
    let mut progress = Progress::new();
    let mut received = 0u64;
    let result =
        runtime()?.block_on(
            client.evidence_pack(&args.kind, &args.from, &args.to, &mut |chunk| {
                received += chunk.len() as u64;
                progress.show(received, None);
                staged.file.write_all(chunk)
            }),
        );
    progress.done();
    match result {
        Err(e) => {
            staged.abandon();
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
                manifest.kind,
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

fn download_failure(e: DownloadError) -> anyhow::Error {
    match e {
        DownloadError::Client(c) => anyhow!("{c}; {}", c.advice()),
        other => anyhow!("{other}; nothing was written"),
    }
}
