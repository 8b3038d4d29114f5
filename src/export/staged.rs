//! A download written under a temporary name beside its final one: it takes the final name only
//! when complete, so an interrupted or cancelled download never leaves a file that looks finished.

use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};
use tempfile::NamedTempFile;

/// The file being written; dropped without [`StagedFile::commit`], it removes itself
/// (`tempfile` deletes it).
pub struct StagedFile {
    file: Option<BufWriter<NamedTempFile>>,
    target: PathBuf,
    overwrite: bool,
}

/// Why a staged file could not be started or finished.
#[derive(Debug, thiserror::Error)]
pub enum StageError {
    #[error("{0} exists")]
    Exists(PathBuf),
    #[error("cannot write {path}: {source}")]
    Io { path: PathBuf, source: io::Error },
}

impl StagedFile {
    /// Starts `target`'s temporary twin beside it; refuses when `target` exists unless
    /// `overwrite`. (Checked again when it takes the name: see [`StagedFile::commit`].)
    pub fn create(target: &Path, overwrite: bool) -> Result<StagedFile, StageError> {
        if target.exists() && !overwrite {
            return Err(StageError::Exists(target.to_path_buf()));
        }
        let name = target
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let dir = match target.parent() {
            Some(d) if !d.as_os_str().is_empty() => d,
            _ => Path::new("."),
        };
        // Exports hold personal data: readable by their owner only, like the cache (0600),
        // which is also what tempfile creates on unix.
        let file = tempfile::Builder::new()
            .prefix(&format!(".{name}.partial-"))
            .tempfile_in(dir)
            .map_err(|source| StageError::Io {
                path: dir.join(format!(".{name}.partial-…")),
                source,
            })?;
        Ok(StagedFile {
            file: Some(BufWriter::new(file)),
            target: target.to_path_buf(),
            overwrite,
        })
    }

    /// Appends a chunk.
    pub fn write_all(&mut self, chunk: &[u8]) -> io::Result<()> {
        match &mut self.file {
            Some(f) => f.write_all(chunk),
            None => Err(io::Error::other("the file is already finished")),
        }
    }

    /// Takes the proof off the end of a download asked for with `proof=trailer` (see
    /// [`super::PROOF_TRAILER`]): returns the proof's bytes and leaves the file as the rows alone.
    pub fn split_proof(&mut self) -> io::Result<Vec<u8>> {
        use std::io::{Read, Seek, SeekFrom};
        let missing = || io::Error::other("the server sent no proof after the rows");
        let f = self
            .file
            .as_mut()
            .ok_or_else(|| io::Error::other("the file is already finished"))?;
        f.flush()?;
        let file = f.get_mut().as_file_mut();
        let len = file.metadata()?.len();
        let footer_len = super::PROOF_FOOTER_LEN as u64;
        if len < footer_len {
            return Err(missing());
        }
        let mut footer = vec![0u8; super::PROOF_FOOTER_LEN];
        file.seek(SeekFrom::Start(len - footer_len))?;
        file.read_exact(&mut footer)?;
        let proof_len = super::trailer_len(&footer).ok_or_else(missing)?;
        let start = (len - footer_len)
            .checked_sub(proof_len)
            .ok_or_else(missing)?;
        let mut proof = vec![0u8; usize::try_from(proof_len).map_err(|_| missing())?];
        file.seek(SeekFrom::Start(start))?;
        file.read_exact(&mut proof)?;
        file.set_len(start)?;
        file.seek(SeekFrom::End(0))?;
        Ok(proof)
    }

    /// Flushes, fsyncs and moves the file to its final name. Without `overwrite`, the name is
    /// taken only if it is still free (`persist_noclobber`: no window between a check and the
    /// rename in which another file could appear and be replaced).
    pub fn commit(mut self) -> Result<PathBuf, StageError> {
        let target = self.target.clone();
        let Some(file) = self.file.take() else {
            return Err(StageError::Io {
                path: target,
                source: io::Error::other("the file is already finished"),
            });
        };
        let file = file.into_inner().map_err(|e| StageError::Io {
            path: target.clone(),
            source: e.into_error(),
        })?;
        file.as_file().sync_all().map_err(|source| StageError::Io {
            path: file.path().to_path_buf(),
            source,
        })?;
        let persisted = if self.overwrite {
            file.persist(&target)
        } else {
            file.persist_noclobber(&target)
        };
        match persisted {
            Ok(_) => Ok(target),
            Err(e) if e.error.kind() == io::ErrorKind::AlreadyExists => {
                Err(StageError::Exists(target))
            }
            Err(e) => Err(StageError::Io {
                path: target,
                source: e.error,
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(unix)]
    #[test]
    fn an_export_is_readable_by_its_owner_only() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("out.csv");
        let mut f = StagedFile::create(&target, false).unwrap();
        f.write_all(b"id\n").unwrap();
        let path = f.commit().unwrap();
        let mode = std::fs::metadata(path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
    }

    #[test]
    fn a_file_that_appears_while_writing_is_never_replaced_without_overwrite() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("out.csv");
        let mut f = StagedFile::create(&target, false).unwrap();
        f.write_all(b"ours\n").unwrap();
        std::fs::write(&target, b"theirs\n").unwrap();
        assert!(matches!(f.commit(), Err(StageError::Exists(p)) if p == target));
        assert_eq!(std::fs::read(&target).unwrap(), b"theirs\n");
        // And the half-written twin is gone.
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn with_overwrite_the_finished_file_replaces_the_old_one() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("out.csv");
        std::fs::write(&target, b"old\n").unwrap();
        let mut f = StagedFile::create(&target, true).unwrap();
        f.write_all(b"new\n").unwrap();
        f.commit().unwrap();
        assert_eq!(std::fs::read(&target).unwrap(), b"new\n");
    }
}
