//! `trailscope verify-file FILE [--key VKEY]`: an export against its proof, offline. The
//! checking is the library's (`export::verify`); this prints its line or its sentence.

use super::output::outln;
use std::path::Path;

/// `trailscope verify-file`: exit 0 and one line when it holds; 1 naming what does not; 2 when
/// the file cannot be read or `--key` is no key.
pub fn run(file: &Path, key: Option<&str>) -> anyhow::Result<()> {
    let v = trailscope::export::verify::check(file, key)?;
    outln!("{}", v.line);
    Ok(())
}
