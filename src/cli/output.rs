//! Lines for the user on stdout and stderr that never panic (`println!` panics when the reader
//! has gone: `trailscope verify | head -1`, or a terminal closed under the TUI).

use std::io::Write;

/// Writes a line to stdout. A reader that went away ends the program the way SIGPIPE ends other
/// Unix tools (exit 141, nothing more printed); any other failure to write exits 1: the
/// output cannot reach anyone, so there is nothing to say it to.
pub fn out_line(args: std::fmt::Arguments<'_>) {
    let mut out = std::io::stdout().lock();
    if let Err(e) = writeln!(out, "{args}").and_then(|()| out.flush()) {
        exit_on_write_error(&e);
    }
}

/// Exits as [`out_line`] does after stdout failed.
pub fn exit_on_write_error(e: &std::io::Error) -> ! {
    std::process::exit(if e.kind() == std::io::ErrorKind::BrokenPipe {
        141
    } else {
        1
    })
}

/// Writes a line to stderr, or nothing when stderr is gone (a closed terminal).
pub fn err_line(args: std::fmt::Arguments<'_>) {
    let _ = writeln!(std::io::stderr().lock(), "{args}");
}

/// `println!` that never panics: see [`out_line`].
macro_rules! outln {
    () => { $crate::cli::output::out_line(format_args!("")) };
    ($($t:tt)*) => { $crate::cli::output::out_line(format_args!($($t)*)) };
}

/// `eprintln!` that never panics: see [`err_line`].
macro_rules! errln {
    ($($t:tt)*) => { $crate::cli::output::err_line(format_args!($($t)*)) };
}

pub(crate) use {errln, outln};
