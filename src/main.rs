//! The `trailscope` binary: parses the command line and dispatches. Nothing else.
#![forbid(unsafe_code)]

use clap::Parser;
use std::process::ExitCode;
use trailscope::cli::{Cli, Command};

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Some(Command::Serve(args)) => trailscope::cli::serve::serve(args),
        Some(Command::Token(cmd)) => trailscope::cli::serve::token(cmd),
        Some(Command::Demo) => trailscope::cli::tui::demo(),
        Some(Command::Cache(cmd)) => trailscope::cli::open::cache(cmd),
        Some(Command::Open(args)) => trailscope::cli::open::open(args),
        Some(Command::VerifyPack { file, key }) => {
            trailscope::cli::serve::verify_pack(&file, key.as_deref())
        }
        Some(Command::VerifyFile { file, key }) => {
            trailscope::cli::verify_file::verify_file(&file, key.as_deref())
        }
        Some(Command::VerifyArchive { manifest, remote }) => {
            trailscope::cli::serve::verify_archive(&manifest, remote)
        }
        Some(Command::Prune(remote)) => trailscope::cli::serve::prune(remote),
        Some(Command::Ingest(remote)) => trailscope::cli::ingest::ingest(remote),
        Some(Command::Tail(args)) => trailscope::cli::tail::tail(args),
        Some(Command::Verify(args)) => trailscope::cli::ingest::verify(args),
        Some(Command::Key(cmd)) => trailscope::cli::serve::key(cmd),
        Some(Command::Pseudonymise(args)) => trailscope::cli::serve::pseudonymise(args),
        Some(Command::Export(args)) => trailscope::cli::export::export(args),
        Some(Command::Evidence(args)) => trailscope::cli::export::evidence(args),
        Some(Command::Witness(args)) => trailscope::cli::witness::witness(args),
        Some(Command::Exports(args)) => trailscope::cli::export::exports(args),
        None => trailscope::cli::tui::tui(cli.tui),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("trailscope: {}", trailscope::cli::serve::sentence(&e));
            if e.downcast_ref::<trailscope::cli::tui::UsageError>()
                .is_some()
            {
                ExitCode::from(2)
            } else {
                ExitCode::FAILURE
            }
        }
    }
}
