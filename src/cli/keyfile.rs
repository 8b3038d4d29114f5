//! The checkpoint signing key's file: beside the database, never in it, readable by its owner
//! only. Created on the server's first start.

use anyhow::{Context, anyhow, bail};
use std::io::Write;
use std::path::{Path, PathBuf};
use trailscope::proof::SigningKey;

/// `<db>.key`: where the key lives when `--signing-key` does not say.
pub fn default_path(db: &Path) -> PathBuf {
    let mut name = db.as_os_str().to_os_string();
    name.push(".key");
    PathBuf::from(name)
}

/// Reads the key at `path`; refuses a file other accounts can read, or one that is not a key.
pub fn load(path: &Path) -> anyhow::Result<SigningKey> {
    let meta = std::fs::metadata(path)
        .with_context(|| format!("cannot read the signing key {}", path.display()))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = meta.permissions().mode() & 0o777;
        if mode & 0o077 != 0 {
            bail!(
                "the signing key {} can be read by other accounts (mode {mode:o}); make it private with `chmod 600 {}`",
                path.display(),
                path.display()
            );
        }
    }
    #[cfg(not(unix))]
    let _ = meta;
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read the signing key {}", path.display()))?;
    SigningKey::parse(&text).map_err(|e| anyhow!("{} is not usable: {e}", path.display()))
}

/// Reads the key at `path`, creating a new one (mode 0600) if there is no file yet. Says
/// whether it was created.
pub fn load_or_create(path: &Path) -> anyhow::Result<(SigningKey, bool)> {
    if path.exists() {
        return Ok((load(path)?, false));
    }
    let key = SigningKey::generate();
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let mut f = opts
        .open(path)
        .with_context(|| format!("cannot create the signing key {}", path.display()))?;
    f.write_all(format!("{}\n", key.to_text()).as_bytes())
        .and_then(|()| f.sync_all())
        .with_context(|| format!("cannot write the signing key {}", path.display()))?;
    if let Some(dir) = path.parent()
        && let Ok(d) = std::fs::File::open(if dir.as_os_str().is_empty() {
            Path::new(".")
        } else {
            dir
        })
    {
        let _ = d.sync_all();
    }
    Ok((key, true))
}
