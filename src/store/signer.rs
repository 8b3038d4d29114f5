//! The signer remembers (API.md "Additions": the signer remembers). Whoever can write the
//! database can rewrite entries, rebuild the tree and delete the checkpoints that would show it;
//! the signer therefore keeps the newest checkpoint it signed for each tenant outside the
//! database, in a state file beside its key, and never signs a tree that does not extend it.
//! When the database no longer does (entries cut or rewritten, checkpoints deleted), it refuses
//! to sign that tenant's log and raises an integrity alarm that `/healthz`, `GET /v1/checkpoint`,
//! `/v1/verify` and the server's log show.
//!
//! The file is JSON, replaced whole on every change (a temporary file, fsync, rename, fsync of
//! the folder), so a `kill -9` leaves the old state or the new one, never half of one. Each
//! checkpoint in it is kept as the signed note and checked with the key when the file is read.
//! Several replicas on one PostgreSQL database each keep their own file; a replica takes a
//! checkpoint another one signed (it is in the database, it opens with the shared key, and the
//! tree extends what this replica remembers) as its new memory.

use crate::model::SignedCheckpoint;
use crate::proof::{self, SigningKey};
use crate::store::checkpoint::Remembered;
use crate::store::{Store, StoreError};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

/// The state file's text.
#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct StateFile {
    /// 1.
    version: u32,
    /// The key the checkpoints were signed with: a file written for another key is refused.
    verifier_key: String,
    /// Per tenant, the newest checkpoint signed (or adopted from another replica).
    logs: BTreeMap<String, Kept>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Kept {
    size: u64,
    /// Base64, as in the checkpoint.
    root: String,
    /// The signed note itself: the evidence of what was signed.
    checkpoint: String,
}

/// Why the state file cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum SignerStateError {
    #[error("cannot read the signer state {path}: {why}")]
    Read { path: String, why: String },
    #[error(
        "the signer state {path} can be read or written by other accounts (mode {mode:o}); make it private with `chmod 600 {path}`"
    )]
    Exposed { path: String, mode: u32 },
    #[error("the signer state {path} is damaged: {why}")]
    Damaged { path: String, why: String },
    #[error(
        "the signer state {path} was written for the key {theirs}, not this server's key {ours}"
    )]
    OtherKey {
        path: String,
        theirs: String,
        ours: String,
    },
}

/// The checkpoint signing key with its memory. Cheap to clone (shared).
#[derive(Clone)]
pub struct Signer {
    inner: Arc<Inner>,
}

struct Inner {
    key: SigningKey,
    /// `None`: memory only (tests, the demo, an embedded router).
    path: Option<PathBuf>,
    logs: Mutex<BTreeMap<String, Kept>>,
    /// Serialises writes of the file, so an older memory never overwrites a newer one.
    writing: Mutex<()>,
    /// Tenant → what is wrong with its log, while it is.
    alarms: Mutex<BTreeMap<String, String>>,
}

impl std::fmt::Debug for Signer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Signer({:?}, {:?})", self.inner.key, self.inner.path)
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// `<key>.state`: where the signer's memory lives when nothing else says.
pub fn default_state_path(key: &Path) -> PathBuf {
    let mut name = key.as_os_str().to_os_string();
    name.push(".state");
    PathBuf::from(name)
}

impl Signer {
    /// A signer that remembers only while the process runs.
    pub fn ephemeral(key: SigningKey) -> Signer {
        Signer::with(key, None, BTreeMap::new())
    }

    fn with(key: SigningKey, path: Option<PathBuf>, logs: BTreeMap<String, Kept>) -> Signer {
        Signer {
            inner: Arc::new(Inner {
                key,
                path,
                logs: Mutex::new(logs),
                writing: Mutex::new(()),
                alarms: Mutex::new(BTreeMap::new()),
            }),
        }
    }

    /// The signer whose memory is the file at `path` (none yet: it remembers nothing, and the
    /// server's start takes each tenant's newest stored checkpoint that opens with `key`).
    /// Every checkpoint in the file must open with `key` and say what the file says.
    pub fn open(key: SigningKey, path: &Path) -> Result<Signer, SignerStateError> {
        let shown = path.display().to_string();
        let text = match std::fs::read_to_string(path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Ok(Signer::with(key, Some(path.to_path_buf()), BTreeMap::new()));
            }
            Err(e) => {
                return Err(SignerStateError::Read {
                    path: shown,
                    why: e.to_string(),
                });
            }
        };
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(path)
                .map_err(|e| SignerStateError::Read {
                    path: shown.clone(),
                    why: e.to_string(),
                })?
                .permissions()
                .mode()
                & 0o777;
            if mode & 0o077 != 0 {
                return Err(SignerStateError::Exposed { path: shown, mode });
            }
        }
        let damaged = |why: String| SignerStateError::Damaged {
            path: shown.clone(),
            why,
        };
        let file: StateFile = serde_json::from_str(&text).map_err(|e| damaged(e.to_string()))?;
        if file.version != 1 {
            return Err(damaged(format!("version {} is not 1", file.version)));
        }
        let ours = key.verifier().to_string();
        if file.verifier_key != ours {
            return Err(SignerStateError::OtherKey {
                path: shown,
                theirs: crate::text::inert(&file.verifier_key).to_string(),
                ours,
            });
        }
        for (tenant, kept) in &file.logs {
            check_kept(&key, tenant, kept).map_err(|why| damaged(format!("{tenant}: {why}")))?;
        }
        Ok(Signer::with(key, Some(path.to_path_buf()), file.logs))
    }

    pub fn key(&self) -> &SigningKey {
        &self.inner.key
    }

    /// Where the memory is kept (`None`: in memory only).
    pub fn state_path(&self) -> Option<&Path> {
        self.inner.path.as_deref()
    }

    /// The newest checkpoint remembered for `tenant`.
    pub fn remembered(&self, tenant: &str) -> Option<Remembered> {
        let logs = lock(&self.inner.logs);
        let kept = logs.get(tenant)?;
        Some(Remembered {
            size: kept.size,
            root: proof::decode_hash(&kept.root).ok()?,
        })
    }

    /// Tenant → the problem, for every log the signer refuses to sign now.
    pub fn alarms(&self) -> BTreeMap<String, String> {
        lock(&self.inner.alarms).clone()
    }

    /// The problem with `tenant`'s log, if the signer refuses to sign it.
    pub fn alarm(&self, tenant: &str) -> Option<String> {
        lock(&self.inner.alarms).get(tenant).cloned()
    }

    /// The newest checkpoint of `tenant`'s log, signed now if the tree grew: only when the tree
    /// extends both the newest stored checkpoint and the one this signer remembers; it is
    /// remembered (in the file, durably) before it is handed out. A refusal raises the alarm.
    pub async fn checkpoint(
        &self,
        store: &dyn Store,
        tenant: &str,
    ) -> Result<SignedCheckpoint, StoreError> {
        let floor = self.remembered(tenant);
        let signed = match store
            .checkpoint_extending(tenant, &self.inner.key, floor)
            .await
        {
            Ok(s) => s,
            Err(StoreError::Tampered(why)) => {
                self.raise(tenant, &why);
                return Err(StoreError::Tampered(why));
            }
            Err(e) => return Err(e),
        };
        let me = self.clone();
        let (t, s) = (tenant.to_string(), signed.clone());
        tokio::task::spawn_blocking(move || me.remember(&t, &s))
            .await
            .map_err(|e| {
                StoreError::Internal(format!("remembering a checkpoint stopped: {e}"))
            })??;
        lock(&self.inner.alarms).remove(tenant);
        Ok(signed)
    }

    /// At start: every tenant the store has or the signer remembers is held to what the signer
    /// remembers (a tenant it remembers nothing of takes its newest stored checkpoint that opens
    /// with the key, when the tree extends it), and signed. Returns the alarms raised.
    pub async fn check_all(&self, store: &dyn Store) -> BTreeMap<String, String> {
        let mut tenants: Vec<String> = lock(&self.inner.logs).keys().cloned().collect();
        match store.tenants().await {
            Ok(more) => tenants.extend(more),
            Err(e) => tracing::error!("the signer could not list the tenants to check: {e}"),
        }
        tenants.sort();
        tenants.dedup();
        for tenant in &tenants {
            match self.checkpoint(store, tenant).await {
                Ok(_) | Err(StoreError::Tampered(_)) => {}
                Err(e) => tracing::error!(
                    "the signer could not check tenant {tenant}'s log against its memory: {e}"
                ),
            }
        }
        self.alarms()
    }

    fn raise(&self, tenant: &str, why: &str) {
        tracing::error!(
            tenant,
            "INTEGRITY ALARM: the log no longer extends what this server signed; it signs no checkpoint for it: {why}"
        );
        lock(&self.inner.alarms).insert(tenant.to_string(), why.to_string());
    }

    /// Keeps `signed` as the tenant's newest, if it is newer than the one kept; writes the file.
    fn remember(&self, tenant: &str, signed: &SignedCheckpoint) -> Result<(), StoreError> {
        let kept = Kept {
            size: signed.size,
            root: signed.root.clone(),
            checkpoint: signed.checkpoint.clone(),
        };
        check_kept(&self.inner.key, tenant, &kept).map_err(|why| {
            self.raise(tenant, &why.to_string());
            StoreError::Tampered(format!("no checkpoint was served: {why}"))
        })?;
        let _writing = lock(&self.inner.writing);
        let snapshot = {
            let mut logs = lock(&self.inner.logs);
            match logs.get(tenant) {
                Some(old) if old.size > kept.size => return Ok(()),
                Some(old) if old.size == kept.size => {
                    if old.root != kept.root {
                        let why = format!(
                            "checkpoint {} was signed with another root than the tree has now",
                            kept.size
                        );
                        drop(logs);
                        self.raise(tenant, &why);
                        return Err(StoreError::Tampered(why));
                    }
                    return Ok(());
                }
                _ => {}
            }
            let mut next = logs.clone();
            next.insert(tenant.to_string(), kept);
            let snapshot = next.clone();
            *logs = next;
            snapshot
        };
        let Some(path) = &self.inner.path else {
            return Ok(());
        };
        let file = StateFile {
            version: 1,
            verifier_key: self.inner.key.verifier().to_string(),
            logs: snapshot,
        };
        let text =
            serde_json::to_string_pretty(&file).map_err(|e| StoreError::Internal(e.to_string()))?;
        write_atomically(path, text.as_bytes()).map_err(|e| {
            tracing::error!("the signer state {} cannot be written: {e}", path.display());
            StoreError::unavailable(crate::store::WriteBlocker::SignerState, e)
        })
    }
}

/// A kept checkpoint must open with the key, name the tenant's log, and say its size and root.
fn check_kept(key: &SigningKey, tenant: &str, kept: &Kept) -> Result<(), KeptFault> {
    let opened = key
        .verifier()
        .open(&kept.checkpoint)
        .map_err(KeptFault::Unopened)?;
    if opened.origin != proof::checkpoint_origin(tenant)
        || opened.size != kept.size
        || proof::encode_hash(&opened.root) != kept.root
    {
        return Err(KeptFault::SignsElse(kept.size));
    }
    Ok(())
}

/// Why a kept checkpoint is not one this key signed for this log.
#[derive(Debug, thiserror::Error)]
enum KeptFault {
    #[error("{0}")]
    Unopened(proof::CheckpointError),
    #[error("the checkpoint kept for size {0} signs something else")]
    SignsElse(u64),
}

/// Replaces `path` with `bytes` so that a crash at any point leaves the old file or the new one:
/// a private temporary file in the same folder, fsync, rename over, fsync the folder.
fn write_atomically(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    // Per process: two servers given one state file (which they should not be) never write
    // into each other's temporary file.
    let mut tmp_name = path.file_name().unwrap_or_default().to_os_string();
    tmp_name.push(format!(".{}.tmp", std::process::id()));
    let tmp = dir.join(tmp_name);
    // A temporary file left by a crash is only ever a half-written copy.
    match std::fs::remove_file(&tmp) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(e),
    }
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let mut f = opts.open(&tmp)?;
    f.write_all(bytes)?;
    f.sync_all()?;
    drop(f);
    std::fs::rename(&tmp, path)?;
    std::fs::File::open(&dir)?.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn signed(key: &SigningKey, tenant: &str, size: u64, leaf: u8) -> SignedCheckpoint {
        let root = proof::entry_leaf(&[leaf; 32]);
        SignedCheckpoint {
            size,
            root: proof::encode_hash(&root),
            checkpoint: key
                .sign_checkpoint(&proof::checkpoint_origin(tenant), size, root)
                .unwrap(),
            verifier_key: key.verifier().to_string(),
        }
    }

    #[test]
    fn the_memory_survives_a_reopen_only_grows_and_is_private() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("audit.db.key.state");
        let key = SigningKey::generate();
        let s = Signer::open(key.clone(), &path).unwrap();
        assert_eq!(s.remembered("acme"), None);
        s.remember("acme", &signed(&key, "acme", 5, 1)).unwrap();
        s.remember("acme", &signed(&key, "acme", 9, 2)).unwrap();
        // An older one arriving late (a concurrent request) changes nothing.
        s.remember("acme", &signed(&key, "acme", 7, 3)).unwrap();
        s.remember("globex", &signed(&key, "globex", 2, 4)).unwrap();
        let again = Signer::open(key.clone(), &path).unwrap();
        let r = again.remembered("acme").unwrap();
        assert_eq!(r.size, 9);
        assert_eq!(r.root, proof::entry_leaf(&[2; 32]));
        assert_eq!(again.remembered("globex").unwrap().size, 2);
        let left: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(left, vec![std::ffi::OsString::from("audit.db.key.state")]);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o600);
        }
        // The same size with another root is an alarm, not a new memory.
        assert!(matches!(
            again.remember("acme", &signed(&key, "acme", 9, 5)),
            Err(StoreError::Tampered(_))
        ));
        assert!(again.alarm("acme").is_some());
    }

    #[test]
    fn a_damaged_foreign_or_exposed_file_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.state");
        let key = SigningKey::generate();
        let s = Signer::open(key.clone(), &path).unwrap();
        s.remember("acme", &signed(&key, "acme", 5, 1)).unwrap();
        let good = std::fs::read_to_string(&path).unwrap();
        // A half-written file (what a crash without the rename would leave) is not read.
        std::fs::write(&path, &good[..good.len() / 2]).unwrap();
        assert!(matches!(
            Signer::open(key.clone(), &path),
            Err(SignerStateError::Damaged { .. })
        ));
        // A root edited by hand no longer matches its signed note.
        let edited = good.replacen("\"size\": 5", "\"size\": 4", 1);
        std::fs::write(&path, &edited).unwrap();
        assert!(matches!(
            Signer::open(key.clone(), &path),
            Err(SignerStateError::Damaged { .. })
        ));
        std::fs::write(&path, &good).unwrap();
        assert!(matches!(
            Signer::open(SigningKey::generate(), &path),
            Err(SignerStateError::OtherKey { .. })
        ));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
            assert!(matches!(
                Signer::open(key.clone(), &path),
                Err(SignerStateError::Exposed { .. })
            ));
        }
    }

    #[test]
    fn a_temporary_file_left_by_a_crash_is_replaced() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.state");
        let tmp = format!("s.state.{}.tmp", std::process::id());
        std::fs::write(dir.path().join(&tmp), "half").unwrap();
        let key = SigningKey::generate();
        let s = Signer::open(key.clone(), &path).unwrap();
        s.remember("acme", &signed(&key, "acme", 3, 1)).unwrap();
        assert!(!dir.path().join(&tmp).exists());
        assert_eq!(
            Signer::open(key, &path)
                .unwrap()
                .remembered("acme")
                .unwrap()
                .size,
            3
        );
    }
}
