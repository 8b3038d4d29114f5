//! `trailscope tail`: matching entries as they arrive, one line each, for grep and jq.

use super::context::{RemoteArgs, Threads, parse_filter, runtime};
use super::output::errln;
use anyhow::anyhow;
use clap::Args;
use std::io::{ErrorKind, Write};
use trailscope::client::{Client, Live, follow};
use trailscope::model::{Entry, Outcome, Query, format_ts};
use trailscope::text::inert;

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
    pub format: TailFormat,
    /// Replay every matching entry after this seq first (what a previous tail printed last).
    #[arg(long)]
    pub after_seq: Option<u64>,
}

/// How `tail` prints an entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum TailFormat {
    /// time, kind, action, actor, target, description; made inert for the terminal.
    Text,
    /// The entry as one line of JSON.
    Ndjson,
    /// The entry as one line of OCSF 1.x JSON (docs/ocsf.md), for a SIEM's collector.
    Ocsf,
}

/// Follows the server until Ctrl-C or a closed pipe (both a clean exit), reconnecting and
/// resuming after the last seq printed whenever the connection drops.
pub fn run(args: TailArgs) -> anyhow::Result<()> {
    let client = args.remote.client()?;
    let query = parse_filter(args.filter.as_deref())?.unwrap_or_default();
    let rt = runtime(Threads::One)?;
    let outcome = rt.block_on(async {
        tokio::select! {
            r = print_live(&client, &query, args.after_seq, args.format) => r,
            _ = tokio::signal::ctrl_c() => Ok(()),
        }
    });
    // Leave at once: a runtime shutdown would otherwise wait for a reconnect sleep.
    rt.shutdown_background();
    outcome
}

async fn print_live(
    client: &Client,
    query: &Query,
    after: Option<u64>,
    format: TailFormat,
) -> anyhow::Result<()> {
    let mut failure = None;
    let mut dropped = false;
    let stdout = std::io::stdout();
    follow(client, query, after, |live| match live {
        Live::Connected => {
            if std::mem::take(&mut dropped) {
                errln!("trailscope: reconnected; resuming where the stream broke off");
            }
            true
        }
        Live::Entries(entries) => {
            let mut out = stdout.lock();
            let written = entries
                .iter()
                .try_for_each(|e| write_entry(&mut out, e, format))
                .and_then(|()| out.flush());
            match written {
                Ok(()) => true,
                // The reader went away (`| head`): that is the end, not an error.
                Err(e) if e.kind() == ErrorKind::BrokenPipe => false,
                Err(e) => {
                    failure = Some(anyhow!("cannot write to standard output: {e}"));
                    false
                }
            }
        }
        Live::Dropped { error, retry_in } => {
            dropped = true;
            errln!(
                "trailscope: {error}; reconnecting in {:.1} s",
                retry_in.as_secs_f64()
            );
            true
        }
        Live::Failed(error) => {
            failure = Some(anyhow!("{error}; {}", error.advice()));
            false
        }
    })
    .await;
    failure.map_or(Ok(()), Err)
}

/// One entry as a line of `format`.
pub fn write_entry(out: &mut impl Write, e: &Entry, format: TailFormat) -> std::io::Result<()> {
    match format {
        TailFormat::Ndjson => {
            serde_json::to_writer(&mut *out, e)?;
            out.write_all(b"\n")
        }
        TailFormat::Ocsf => {
            out.write_all(trailscope::export::ocsf::event_text(e).as_bytes())?;
            out.write_all(b"\n")
        }
        TailFormat::Text => writeln!(out, "{}", text_line(e)),
    }
}

/// time, kind (✗ for a failure), action, actor, target, description: every field inert.
pub fn text_line(e: &Entry) -> String {
    let failed = if e.outcome == Outcome::Failure {
        "✗ "
    } else {
        ""
    };
    let actor = match e.actor.label() {
        Some(l) => inert(l).into_owned(),
        None => "[System]".to_string(),
    };
    format!(
        "{}  {failed}{:<7}  {}  {}  {}  {}",
        format_ts(&e.occurred_at),
        e.kind.as_str(),
        inert(&e.action),
        actor,
        inert(&e.target_ref().unwrap_or_else(|| "-".into())),
        inert(e.description.as_deref().unwrap_or("")),
    )
}
