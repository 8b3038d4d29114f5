//! What the TUI remembers across runs, in the state directory: the filters applied (for
//! `Backspace` and ↑/↓ in the `:` bar) and the marked entries of each server.
//!
//! Both files are small JSON documents, written whole to a temporary file that is then renamed
//! over the old one, so a crash never leaves half a file; the writes run off the event loop,
//! one at a time, the newest winning.

use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use tokio::sync::mpsc::{UnboundedSender, unbounded_channel};

/// How many filters the history keeps.
pub const HISTORY_CAP: usize = 200;

/// The filters applied, oldest first, and where `Backspace` stands in them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct History {
    lines: Vec<String>,
    /// The line of the filter in force; `Backspace` steps to the one before it.
    at: usize,
}

impl History {
    /// A history read back from disk.
    pub fn from_lines(mut lines: Vec<String>) -> History {
        if lines.len() > HISTORY_CAP {
            lines.drain(..lines.len() - HISTORY_CAP);
        }
        History {
            at: lines.len().saturating_sub(1),
            lines,
        }
    }

    /// Every filter kept, oldest first.
    pub fn lines(&self) -> &[String] {
        &self.lines
    }

    /// A filter was applied: it is the newest line (once), and `Backspace` starts from it.
    pub fn push(&mut self, line: String) {
        if self.lines.last() != Some(&line) {
            self.lines.push(line);
            if self.lines.len() > HISTORY_CAP {
                self.lines.remove(0);
            }
        }
        self.at = self.lines.len().saturating_sub(1);
    }

    /// The filter before the one in force, if any, which is then the one in force
    /// (`Backspace` applies it). Lines equal to `current` are stepped over: the filter in force
    /// may have been set another way, or this is a new run.
    pub fn back(&mut self, current: &str) -> Option<String> {
        let mut i = self.at.min(self.lines.len().checked_sub(1)?);
        loop {
            if self.lines[i] != current {
                self.at = i;
                return Some(self.lines[i].clone());
            }
            i = i.checked_sub(1)?;
        }
    }

    /// The line `steps` back from the newest, skipping lines equal to `current` (what the
    /// `:` bar shows on ↑).
    pub fn recall(&self, steps: usize, current: &str) -> Option<&str> {
        self.lines
            .iter()
            .rev()
            .filter(|l| l.as_str() != current)
            .nth(steps)
            .map(String::as_str)
    }
}

/// The marked entries (ids), per server or file the TUI reads.
pub type Marks = BTreeMap<String, BTreeSet<String>>;

/// What is written to disk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Snapshot {
    History(Vec<String>),
    Marks(Marks),
}

#[derive(Serialize, Deserialize, Default)]
struct HistoryFile {
    filters: Vec<String>,
}

#[derive(Serialize, Deserialize, Default)]
struct MarksFile {
    marks: Marks,
}

fn history_path(dir: &Path) -> PathBuf {
    dir.join("history.json")
}

fn marks_path(dir: &Path) -> PathBuf {
    dir.join("marks.json")
}

/// Reads both files; a missing or unreadable one is an empty memory (and a warning in the log:
/// losing a history is no reason to refuse to start).
pub fn load(dir: &Path) -> (History, Marks) {
    fn read<T: for<'de> Deserialize<'de> + Default>(path: &Path) -> T {
        match std::fs::read(path) {
            Ok(bytes) => serde_json::from_slice(&bytes).unwrap_or_else(|e| {
                tracing::warn!("ignoring {}: {e}", path.display());
                T::default()
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => T::default(),
            Err(e) => {
                tracing::warn!("cannot read {}: {e}", path.display());
                T::default()
            }
        }
    }
    let h: HistoryFile = read(&history_path(dir));
    let m: MarksFile = read(&marks_path(dir));
    (History::from_lines(h.filters), m.marks)
}

/// Writes one snapshot: a temporary file beside the target, then a rename.
pub fn write(dir: &Path, snapshot: &Snapshot) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    let (path, bytes) = match snapshot {
        Snapshot::History(lines) => (
            history_path(dir),
            serde_json::to_vec_pretty(&HistoryFile {
                filters: lines.clone(),
            })?,
        ),
        Snapshot::Marks(marks) => (
            marks_path(dir),
            serde_json::to_vec_pretty(&MarksFile {
                marks: marks.clone(),
            })?,
        ),
    };
    let mut tmp = tempfile::NamedTempFile::new_in(dir)?;
    std::io::Write::write_all(&mut tmp, &bytes)?;
    tmp.as_file().sync_all()?;
    tmp.persist(&path).map_err(|e| e.error)?;
    Ok(())
}

/// A writer task: snapshots sent to it are written in order, off the event loop; when several
/// wait, only the newest of each kind is written.
pub fn writer(dir: PathBuf) -> UnboundedSender<Snapshot> {
    let (tx, mut rx) = unbounded_channel::<Snapshot>();
    tokio::spawn(async move {
        while let Some(first) = rx.recv().await {
            let mut batch = vec![first];
            while let Ok(more) = rx.try_recv() {
                batch.push(more);
            }
            let newest_history = batch
                .iter()
                .rposition(|s| matches!(s, Snapshot::History(_)));
            let newest_marks = batch.iter().rposition(|s| matches!(s, Snapshot::Marks(_)));
            let todo: Vec<Snapshot> = [newest_history, newest_marks]
                .into_iter()
                .flatten()
                .map(|i| batch[i].clone())
                .collect();
            let dir = dir.clone();
            let done = tokio::task::spawn_blocking(move || {
                for s in &todo {
                    if let Err(e) = write(&dir, s) {
                        tracing::error!("cannot remember {s:?} in {}: {e}", dir.display());
                    }
                }
            })
            .await;
            if let Err(e) = done {
                tracing::error!("the state writer stopped: {e}");
            }
        }
    });
    tx
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn back_walks_the_filters_applied_and_recall_skips_the_current_one() {
        let mut h = History::default();
        for l in ["since:7d", "channel:auth since:7d", "ip:1.2.3.4 since:7d"] {
            h.push(l.into());
        }
        let back = h.back("ip:1.2.3.4 since:7d").unwrap();
        assert_eq!(back, "channel:auth since:7d");
        assert_eq!(h.back(&back).unwrap(), "since:7d");
        assert_eq!(h.back("since:7d"), None);
        assert_eq!(h.recall(0, "since:7d"), Some("ip:1.2.3.4 since:7d"));
        assert_eq!(h.recall(1, "since:7d"), Some("channel:auth since:7d"));
        assert_eq!(h.recall(2, "since:7d"), None);
        // A new run starts at the newest line.
        let mut again = History::from_lines(h.lines().to_vec());
        assert_eq!(again.back("since:7d").unwrap(), "ip:1.2.3.4 since:7d");
    }

    #[test]
    fn files_round_trip_and_are_replaced_whole() {
        let dir = tempfile::tempdir().unwrap();
        write(dir.path(), &Snapshot::History(vec!["a".into(), "b".into()])).unwrap();
        let mut marks = Marks::new();
        marks.entry("srv".into()).or_default().insert("01X".into());
        write(dir.path(), &Snapshot::Marks(marks.clone())).unwrap();
        let (h, m) = load(dir.path());
        assert_eq!(h.lines(), ["a", "b"]);
        assert_eq!(m, marks);
        let names: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        assert_eq!(names.len(), 2, "no temporary file left: {names:?}");
    }
}
