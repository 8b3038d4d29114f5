//! `trailscope exports`: the export history, newest first, as a table or the route's JSON.

use super::context::{RemoteArgs, Threads, refused, runtime};
use clap::Args;
use std::io::Write;

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

/// `trailscope exports`: the export history as a table (or JSON).
pub fn run(args: &ExportsArgs) -> anyhow::Result<()> {
    let client = args.remote.client()?;
    let list = runtime(Threads::One)?
        .block_on(client.exports(args.limit as usize))
        .map_err(|e| refused(&e))?;
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
            trailscope::text::inert(if r.filter.is_empty() {
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
    let inert = trailscope::text::inert(text);
    if inert.chars().count() <= width {
        return inert.into_owned();
    }
    let mut cut: String = inert.chars().take(width - 1).collect();
    cut.push('…');
    cut
}
