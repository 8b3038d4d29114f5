//! `trailscope witness`: checks that the server's log only ever grew since this witness last
//! looked. Made for cron: one line and exit 0 when it did, a loud message and exit 1 when not.

use super::context::{RemoteArgs, Threads, UsageError, refused, runtime};
use super::output::outln;
use anyhow::anyhow;
use clap::Args;
use std::path::PathBuf;
use trailscope::witness::{self, Verdict, WitnessState};

/// `trailscope witness`.
#[derive(Debug, Args)]
pub struct WitnessArgs {
    #[command(flatten)]
    pub remote: RemoteArgs,
    /// The file that keeps the pinned key and every checkpoint seen
    /// [default: <state dir>/witness/<server>.json].
    #[arg(long)]
    pub state: Option<PathBuf>,
    /// The verifier key to pin (from `trailscope key show`, had out of band) instead of
    /// trusting the server's first answer; later runs check it is still the pinned one.
    #[arg(long)]
    pub key: Option<String>,
}

/// Where the state lives when `--state` does not say: one file per server URL, so a server
/// cannot shake off its witness by changing anything it controls (its key, its origin).
fn default_state(server: &str) -> anyhow::Result<PathBuf> {
    let dir = trailscope::config::state_dir().ok_or_else(|| {
        UsageError("there is no state directory here; say where to keep what the witness saw: --state FILE".into())
    })?;
    let name: String = server
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect();
    Ok(dir.join("witness").join(format!("{name}.json")))
}

/// `trailscope witness`.
pub fn run(args: WitnessArgs) -> anyhow::Result<()> {
    let (server, token) = args.remote.resolve()?;
    let path = match args.state {
        Some(p) => p,
        None => default_state(&server)?,
    };
    let given = match &args.key {
        Some(k) => Some(
            trailscope::proof::VerifierKey::parse(k)
                .map_err(|e| UsageError(format!("--key: {e}")))?,
        ),
        None => None,
    };
    let state = WitnessState::load(&path)?;
    if let (Some(s), Some(k)) = (&state, &given)
        && !trailscope::proof::same_verifier_key(&s.verifier_key, k.as_str())
    {
        return Err(UsageError(format!(
            "{} pins {}, not the --key given; a witness never changes its pin (move the state away to start over)",
            path.display(),
            trailscope::text::inert(&s.verifier_key)
        ))
        .into());
    }
    if let Some(s) = &state
        && s.server.trim_end_matches('/') != server.trim_end_matches('/')
    {
        return Err(UsageError(format!(
            "{} witnesses {}, not {server}; pass another --state for this server",
            path.display(),
            trailscope::text::inert(&s.server)
        ))
        .into());
    }
    let client = trailscope::client::Client::new(&server, &token)?;
    let (verdict, now) = runtime(Threads::One)?
        .block_on(witness::look(&client, state.as_ref()))
        .map_err(|e| refused(&e))?;
    if let (Verdict::FirstUse { key, .. }, Some(k)) = (&verdict, &given)
        && !trailscope::proof::same_verifier_key(key, k.as_str())
    {
        return Err(anyhow!(
            "the server presents the key {}, not the one given with --key ({k}); nothing was pinned",
            trailscope::text::inert(key)
        ));
    }
    let at = trailscope::model::format_ts(&chrono::Utc::now());
    let next = witness::record(state, &server, &verdict, &now, &at);
    next.save(&path)
        .map_err(|e| anyhow!("cannot write the witness state {}: {e}", path.display()))?;
    match verdict {
        Verdict::FirstUse { key, size } => {
            outln!(
                "pinned {} on first use; first checkpoint: size {size} (kept in {})",
                trailscope::text::inert(&key),
                path.display()
            );
            Ok(())
        }
        Verdict::Consistent { from, to } => {
            outln!("consistent: size {from} → {to}");
            Ok(())
        }
        Verdict::Changed(c) => Err(anyhow!(
            "{}\n  the refused checkpoint is kept in {}",
            c.message(&server),
            path.display()
        )),
    }
}
