//! `trailscope evidence`: fetches an evidence pack (zip), a configured kind over a period or
//! everything a filter matches, and checks it against its own manifest once it is in.

use super::context::{Progress, RemoteArgs, Threads, UsageError, parse_filter, runtime};
use super::export::save_failure;
use super::output::errln;
use anyhow::anyhow;
use clap::Args;
use std::path::PathBuf;
use trailscope::client::save::{Download, save};
use trailscope::client::source::Source;
use trailscope::model::PackRequest;
use trailscope::text::human_bytes;

/// `trailscope evidence`: a configured kind over a period, or (`--filter`) a pack of
/// everything a filter matches.
#[derive(Debug, Args)]
#[command(group = clap::ArgGroup::new("what").required(true).args(["kind", "filter"]))]
pub struct EvidenceArgs {
    #[command(flatten)]
    pub remote: RemoteArgs,
    /// access_review, change_management or incident_response (needs --from and --to).
    #[arg(long, value_enum)]
    pub kind: Option<PackKind>,
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

/// `--kind`: the configured evidence packs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
#[value(rename_all = "snake_case")]
pub enum PackKind {
    AccessReview,
    ChangeManagement,
    IncidentResponse,
}

impl PackKind {
    /// The name the server knows the kind by.
    pub fn as_str(self) -> &'static str {
        match self {
            PackKind::AccessReview => "access_review",
            PackKind::ChangeManagement => "change_management",
            PackKind::IncidentResponse => "incident_response",
        }
    }
}

/// `trailscope evidence`.
pub fn run(args: EvidenceArgs) -> anyhow::Result<()> {
    let request = match (&args.kind, &args.filter) {
        (Some(kind), _) => {
            let kind = kind.as_str();
            let (Some(from), Some(to)) = (&args.from, &args.to) else {
                return Err(
                    UsageError(format!("a {kind} pack needs a period: --from and --to")).into(),
                );
            };
            PackRequest {
                kind: kind.to_string(),
                from: Some(from.clone()),
                to: Some(to.clone()),
                name: args.name.clone(),
                ..PackRequest::default()
            }
        }
        (None, Some(filter)) => {
            parse_filter(Some(filter))?;
            PackRequest {
                kind: trailscope::export::evidence::CUSTOM.into(),
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
    let client = args.remote.client()?;
    let progress = Progress::download();
    let result = runtime(Threads::One)?.block_on(save(
        &Source::from(client),
        &Download::Pack(request),
        &args.output,
        args.force,
        &mut |bytes, _| progress.bytes(bytes, None),
    ));
    progress.clear();
    let saved = result.map_err(save_failure)?;
    // `save` checks every pack it saves against its manifest, so a saved pack has one.
    let manifest = saved
        .manifest
        .ok_or_else(|| anyhow!("the pack arrived without its manifest"))?;
    errln!(
        "wrote the {} pack, {} entries from {} to {} ({}), to {}",
        trailscope::text::inert(match &manifest.title {
            Some(title) if manifest.kind == trailscope::export::evidence::CUSTOM => title,
            _ => &manifest.kind,
        }),
        manifest.rows,
        manifest.from,
        manifest.to,
        human_bytes(saved.bytes),
        args.output.display()
    );
    Ok(())
}
