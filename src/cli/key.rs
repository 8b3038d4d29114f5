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
    },
}

/// `trailscope key show`: the verifier key to pin.
pub fn run(cmd: KeyCommand) -> anyhow::Result<()> {
    match cmd {
        KeyCommand::Show { signing_key } => {
            let key = keyfile::load(&signing_key)?;
            outln!("{}", key.verifier());
        }
    }
    Ok(())
}
