//! `trailscope pseudonymise`: a GDPR erasure request, carried out on the server.

use super::context::{RemoteArgs, Threads, refused, runtime};
use super::output::outln;
use clap::Args;

/// `trailscope pseudonymise`: whom to erase, by exactly one of actor id or email.
#[derive(Debug, Args)]
#[command(group = clap::ArgGroup::new("who").required(true).args(["actor_id", "email"]))]
pub struct PseudonymiseArgs {
    /// The person's actor id as producers send it (e.g. u_17).
    #[arg(long)]
    pub actor_id: Option<String>,
    /// The person's email (matched without regard to case).
    #[arg(long)]
    pub email: Option<String>,
    #[command(flatten)]
    pub remote: RemoteArgs,
}

/// `trailscope pseudonymise`: a GDPR erasure request, carried out on the server.
pub fn run(args: PseudonymiseArgs) -> anyhow::Result<()> {
    let who = match (args.actor_id, args.email) {
        (Some(id), _) => trailscope::store::Identity::ActorId(id),
        (None, Some(email)) => trailscope::store::Identity::Email(email),
        (None, None) => {
            anyhow::bail!("say whose data to pseudonymise: --actor-id ID or --email EMAIL")
        }
    };
    let client = args.remote.client()?;
    let rt = runtime(Threads::One)?;
    let report = rt
        .block_on(client.pseudonymise(&who))
        .map_err(|e| refused(&e))?;
    match report.pseudonym {
        Some(p) => outln!(
            "{} entries now show {p} instead of the person's name, email, ip and user agent; the chain still verifies",
            report.entries
        ),
        None => outln!("no entry still names that person; nothing was changed"),
    }
    Ok(())
}
