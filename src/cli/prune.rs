//! `trailscope prune`: the retention prune of the token's tenant, now, on the server.

use super::context::{RemoteArgs, Threads, refused, runtime};
use super::output::outln;

/// `trailscope prune`: runs the retention prune of the token's tenant now, on the server.
pub fn run(remote: &RemoteArgs) -> anyhow::Result<()> {
    let client = remote.client()?;
    let rt = runtime(Threads::One)?;
    let report = rt.block_on(client.prune()).map_err(|e| refused(&e))?;
    outln!(
        "pruned {} entries received before {}{}{}",
        report.removed,
        trailscope::model::format_ts(&report.cutoff),
        report
            .anchor
            .map(|a| format!("; the chain now starts after seq {}", a.seq))
            .unwrap_or_default(),
        report
            .archive
            .map(|a| format!("; archived first, see {}", trailscope::text::inert(&a)))
            .unwrap_or_default(),
    );
    Ok(())
}
