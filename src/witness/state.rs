//! What a witness remembers between runs: the pinned key and every checkpoint it accepted,
//! in a JSON file that is checked whole on every load.

use crate::proof::{self, VerifierKey};
use serde::{Deserialize, Serialize};
use std::io::Write;
use std::path::{Path, PathBuf};

/// The version of the file's layout.
pub const FORMAT: u32 = 1;

/// A checkpoint the witness accepted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Seen {
    pub size: u64,
    /// The root, base64.
    pub root: String,
    /// The signed note as the server sent it: the evidence.
    pub checkpoint: String,
    pub seen_at: String,
}

/// A checkpoint the witness refused, kept as evidence of what the server showed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rejected {
    pub seen_at: String,
    pub reason: String,
    pub size: u64,
    pub root: String,
    pub checkpoint: String,
    pub verifier_key: String,
}

/// One log as one witness saw it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WitnessState {
    pub format: u32,
    /// The server's URL, as given.
    pub server: String,
    /// The checkpoint origin (`trailscope/<tenant>`).
    pub origin: String,
    /// Pinned on first use; never replaced by the witness itself.
    pub verifier_key: String,
    /// Every checkpoint accepted, oldest first (sizes never fall).
    pub checkpoints: Vec<Seen>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub rejected: Vec<Rejected>,
}

/// Why a state file cannot be used. Never answered by pinning again.
#[derive(Debug, thiserror::Error)]
#[error(
    "the witness state {path} cannot be used ({why}); it is left as it is and nothing is pinned again: restore it from a backup, or, only if you trust the server's present key, move it away"
)]
pub struct StateError {
    pub path: String,
    pub why: String,
}

/// What is wrong inside a witness state file (checkpoints counted from 1).
#[derive(Debug, thiserror::Error)]
pub enum StateFault {
    #[error("layout version {0} is not {FORMAT}")]
    Layout(u32),
    #[error("{0}")]
    Key(proof::KeyError),
    #[error("it holds no checkpoint")]
    Empty,
    #[error("checkpoint {0}: {1}")]
    Unopened(usize, proof::CheckpointError),
    #[error("checkpoint {0} does not say what its size and root say")]
    SaysOtherwise(usize),
    #[error("checkpoint {0} is smaller than the one before")]
    Shrinks(usize),
}

impl WitnessState {
    /// The last checkpoint accepted.
    pub fn last(&self) -> Option<&Seen> {
        self.checkpoints.last()
    }

    /// The pinned key.
    pub fn key(&self) -> Result<VerifierKey, proof::KeyError> {
        VerifierKey::parse(&self.verifier_key)
    }

    /// Checks the whole file is what a witness wrote: the key parses, every checkpoint carries
    /// its signature, matches its own size and root and names the same log, and sizes never
    /// fall. An edited file fails here rather than teaching the witness a false past.
    pub fn check(&self) -> Result<(), StateFault> {
        if self.format != FORMAT {
            return Err(StateFault::Layout(self.format));
        }
        let key = self.key().map_err(StateFault::Key)?;
        if self.checkpoints.is_empty() {
            return Err(StateFault::Empty);
        }
        let mut last = 0;
        for (i, c) in self.checkpoints.iter().enumerate() {
            let n = i + 1;
            let opened = key
                .open(&c.checkpoint)
                .map_err(|e| StateFault::Unopened(n, e))?;
            if opened.origin != self.origin
                || opened.size != c.size
                || proof::encode_hash(&opened.root) != c.root
            {
                return Err(StateFault::SaysOtherwise(n));
            }
            if c.size < last {
                return Err(StateFault::Shrinks(n));
            }
            last = c.size;
        }
        Ok(())
    }

    /// Reads and checks a state file; `Ok(None)` when there is none yet.
    pub fn load(path: &Path) -> Result<Option<WitnessState>, StateError> {
        let fail = |why: String| StateError {
            path: path.display().to_string(),
            why,
        };
        let text = match std::fs::read_to_string(path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(fail(e.to_string())),
        };
        let state: WitnessState =
            serde_json::from_str(&text).map_err(|e| fail(format!("not a witness state: {e}")))?;
        state.check().map_err(|e| fail(e.to_string()))?;
        Ok(Some(state))
    }

    /// Writes the file whole (a temporary file renamed over it), readable by its owner only.
    pub fn save(&self, path: &Path) -> std::io::Result<()> {
        let dir = match path.parent() {
            Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
            _ => PathBuf::from("."),
        };
        std::fs::create_dir_all(&dir)?;
        let mut tmp = tempfile::NamedTempFile::new_in(&dir)?;
        serde_json::to_writer_pretty(&mut tmp, self)?;
        tmp.write_all(b"\n")?;
        tmp.as_file().sync_all()?;
        tmp.persist(path).map_err(|e| e.error)?;
        Ok(())
    }
}
