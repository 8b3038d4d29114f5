//! `trailscope verify`: the server walks the chain and the tree and checks every checkpoint;
//! exit 1 when anything no longer matches.

use super::context::{Progress, RemoteArgs, Threads, UsageError, refused, runtime};
use super::output::outln;
use anyhow::anyhow;
use clap::Args;

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

/// `trailscope verify`: the server walks the chain and the tree and checks every checkpoint
/// (with the pinned key when given); exit 1 when anything no longer matches.
pub fn run(args: &VerifyArgs) -> anyhow::Result<()> {
    let key = match &args.key {
        Some(k) => Some(
            trailscope::proof::VerifierKey::parse(k)
                .map_err(|e| UsageError(format!("--key: {e}")))?,
        ),
        None => None,
    };
    let client = args.remote.client()?;
    // The bar appears once the server says how much there is to walk (and only on a terminal).
    let mut bar: Option<Progress> = None;
    let mut show = |p: trailscope::model::VerifyProgress| {
        if p.total > 0 {
            bar.get_or_insert_with(|| Progress::walk(p.total)).walked(p);
        }
    };
    let answer = runtime(Threads::One)?
        .block_on(client.verify_watched(key.as_ref().map(|k| k.as_str()), &mut show));
    if let Some(bar) = &bar {
        bar.clear();
    }
    let report = answer.map_err(|e| refused(&e))?;
    let from = report
        .from_seq
        .map(|s| format!(" from seq {s} (the chain's anchor after a prune)"))
        .unwrap_or_default();
    let signed = match (&report.verifier_key, report.checkpoints) {
        (_, 0) => "; no checkpoint signed yet".to_string(),
        (Some(k), n) => format!("; {n} checkpoints signed by {}", trailscope::text::inert(k)),
        (None, n) => format!("; {n} checkpoints (signatures not checked: no key)"),
    };
    if report.ok {
        let head = report
            .head
            .map(|h| format!("; head seq {} hash {}", h.seq, h.hash))
            .unwrap_or_default();
        outln!(
            "the chain is intact: {} entries checked{from}{head}; tree of {} entries{signed}",
            report.checked,
            report.tree_size
        );
        return Ok(());
    }
    for p in &report.problems {
        outln!("MISMATCH: {}", trailscope::text::inert(p));
    }
    if report.reason.as_deref() == Some("unsigned") {
        return Err(anyhow!(
            "the log holds {} entries but no checkpoint signed by {}, so nothing proves it is the history that was signed",
            report.tree_size,
            trailscope::text::inert(report.verifier_key.as_deref().unwrap_or("the key"))
        ));
    }
    let at = report
        .first_bad_seq
        .map(|s| format!(" at seq {s}"))
        .unwrap_or_default();
    let checkpoint = report
        .first_bad_checkpoint
        .map(|c| format!("; the earliest checkpoint that no longer holds is {c}"))
        .unwrap_or_default();
    Err(anyhow!(
        "the log no longer matches{at} ({}): {} entries before it check out{from}{checkpoint}",
        report
            .reason
            .as_deref()
            .unwrap_or("unknown reason")
            .replace('_', " "),
        report.checked
    ))
}
