//! The `trailscope` binary: parses the command line and dispatches. Nothing else.
#![forbid(unsafe_code)]
// The house rules for shipped code (issue 16): no unwrap, and no cast that silently loses a
// value; a loss that is the point (a ratio for display) is allowed in place, with why.
#![deny(clippy::unwrap_used)]
#![warn(
    clippy::cast_possible_truncation,
    clippy::cast_sign_loss,
    clippy::cast_possible_wrap,
    clippy::cast_precision_loss,
    // Issue 26: a long function says why beside it (threshold in clippy.toml).
    clippy::too_many_lines
)]

mod cli;

use clap::Parser;
use cli::{Cli, Command, context};
use std::process::ExitCode;

fn main() -> ExitCode {
    let cli = Cli::parse();
    if let Some(path) = &cli.ca_cert {
        let trusted = std::fs::read(path)
            .map_err(anyhow::Error::from)
            .and_then(|pem| trailscope::client::trust_only(&pem).map_err(Into::into));
        if let Err(e) = trusted {
            eprintln!("trailscope: --ca-cert {}: {e}", path.display());
            return ExitCode::from(2);
        }
    }
    let result = match cli.command {
        Some(Command::Serve(args)) => cli::serve::run(args),
        Some(Command::Token(cmd)) => cli::token::run(cmd),
        Some(Command::Demo) => cli::demo::run(),
        Some(Command::Cache(cmd)) => cli::cache::run(cmd),
        Some(Command::Open(args)) => cli::open::run(args),
        Some(Command::VerifyPack { file, key }) => cli::verify_pack::run(&file, key.as_deref()),
        Some(Command::VerifyFile { file, key }) => cli::verify_file::run(&file, key.as_deref()),
        Some(Command::VerifyArchive { manifest, remote }) => {
            cli::verify_archive::run(&manifest, &remote)
        }
        Some(Command::Prune(remote)) => cli::prune::run(&remote),
        Some(Command::Ingest(remote)) => cli::ingest::run(&remote),
        Some(Command::Import(args)) => cli::import::run(args),
        Some(Command::Tail(args)) => cli::tail::run(args),
        Some(Command::Verify(args)) => cli::verify::run(&args),
        Some(Command::Key(cmd)) => cli::key::run(cmd),
        Some(Command::Pseudonymise(args)) => cli::pseudonymise::run(args),
        Some(Command::Export(args)) => cli::export::run(args),
        Some(Command::Evidence(args)) => cli::evidence::run(args),
        Some(Command::Witness(args)) => cli::witness::run(args),
        Some(Command::Exports(args)) => cli::exports::run(&args),
        Some(Command::Completions { shell }) => cli::shell::completions(shell),
        Some(Command::Man) => cli::shell::man(),
        None => cli::tui::run(&cli.tui),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        // The reader of stdout went away (`| head`): end as SIGPIPE ends other tools.
        Err(e) if broken_pipe(&e) => ExitCode::from(141),
        Err(e) => {
            cli::output::err_line(format_args!("trailscope: {}", context::sentence(&e)));
            if context::is_usage(&e) {
                ExitCode::from(2)
            } else {
                ExitCode::FAILURE
            }
        }
    }
}

/// Whether a command failed only because stdout's reader closed the pipe.
fn broken_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|c| {
        c.downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
}
