//! The `trailscope` binary: parses the command line and dispatches. Nothing else.
#![forbid(unsafe_code)]

use clap::Parser;
use std::process::ExitCode;
use trailscope::cli::{Cli, Command};

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Some(Command::Serve(args)) => trailscope::commands::serve(args),
        Some(Command::Token(cmd)) => trailscope::commands::token(cmd),
        Some(Command::Demo) => trailscope::tui_command::demo(),
        Some(Command::Cache(cmd)) => trailscope::offline::commands::cache(cmd),
        Some(Command::Open(args)) => trailscope::offline::commands::open(args),
        Some(Command::VerifyPack { file, key }) => {
            trailscope::commands::verify_pack(&file, key.as_deref())
        }
        Some(Command::VerifyFile { file, key }) => {
            trailscope::verify_file::verify_file(&file, key.as_deref())
        }
        Some(Command::VerifyArchive { manifest, remote }) => {
            trailscope::commands::verify_archive(&manifest, remote)
        }
        Some(Command::Prune(remote)) => trailscope::commands::prune(remote),
        Some(Command::Ingest(remote)) => trailscope::ingest_command::ingest(remote),
        Some(Command::Tail(args)) => trailscope::tail_command::tail(args),
        Some(Command::Verify(args)) => trailscope::ingest_command::verify(args),
        Some(Command::Key(cmd)) => trailscope::commands::key(cmd),
        Some(Command::Pseudonymise(args)) => trailscope::commands::pseudonymise(args),
        Some(Command::Export(args)) => trailscope::export_command::export(args),
        Some(Command::Evidence(args)) => trailscope::export_command::evidence(args),
        Some(Command::Witness(args)) => trailscope::witness_command::witness(args),
        Some(Command::Exports(args)) => trailscope::export_command::exports(args),
        None => trailscope::tui_command::tui(cli.tui),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("trailscope: {}", trailscope::commands::sentence(&e));
            if e.downcast_ref::<trailscope::tui_command::UsageError>()
                .is_some()
            {
                ExitCode::from(2)
            } else {
                ExitCode::FAILURE
            }
        }
    }
}
