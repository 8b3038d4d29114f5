//! `trailscope key show`: the verifier key that auditors and witnesses pin.

use super::keyfile;
use super::output::outln;
use clap::Subcommand;
use std::path::PathBuf;

/// `trailscope key …`.
#[derive(Debug, Subcommand)]
pub enum KeyCommand {
    /// Print the verifier key (the public half) that auditors and witnesses pin.
    Show {
        /// The signing key file (what `serve --signing-key` uses, by default <db>.key).
        #[arg(long)]
        signing_key: PathBuf,
        /// The tenant whose log's key to print: named by its origin, `trailscope/<tenant>` (as
        /// the server states it). Without it, the key under the name `trailscope`; both open
        /// every checkpoint of this key.
        #[arg(long)]
        tenant: Option<String>,
    },
}

/// `trailscope key show`: the verifier key to pin.
pub fn run(cmd: KeyCommand) -> anyhow::Result<()> {
    match cmd {
        KeyCommand::Show {
            signing_key,
            tenant,
        } => {
            let key = keyfile::load(&signing_key)?;
            match tenant {
                Some(t) if !trailscope::store::valid_tenant(&t) => {
                    return Err(super::context::UsageError(format!(
                        "--tenant `{}` is not a tenant name (1–64 letters, digits, `_`, `.` or `-`)",
                        trailscope::text::inert(&t)
                    ))
                    .into());
                }
                Some(t) => outln!("{}", key.verifier_for(&t)),
                None => outln!("{}", key.verifier()),
            }
        }
    }
    Ok(())
}
