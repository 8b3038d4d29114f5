//! A download written under a temporary name beside its final one: it takes the final name only
//! when complete, so an interrupted or cancelled download never leaves a file that looks finished.

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

/// The file being written; dropped without [`StagedFile::commit`], it removes itself.
pub struct StagedFile {
    file: Option<BufWriter<File>>,
    temp: PathBuf,
    target: PathBuf,
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
    /// Starts `target`'s temporary twin; refuses when `target` exists unless `overwrite`.
    pub fn create(target: &Path, overwrite: bool) -> Result<StagedFile, StageError> {
        if target.exists() && !overwrite {
            return Err(StageError::Exists(target.to_path_buf()));
        }
        let name = target
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let temp = target.with_file_name(format!(".{name}.partial-{}", std::process::id()));
        // Exports hold personal data: readable by their owner only, like the cache (0600).
        let mut open = std::fs::OpenOptions::new();
        open.write(true).create(true).truncate(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut open, 0o600);
        open.read(true);
        let file = open.open(&temp).map_err(|source| StageError::Io {
            path: temp.clone(),
            source,
        })?;
        Ok(StagedFile {
            file: Some(BufWriter::new(file)),
            temp,
            target: target.to_path_buf(),
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
        let file = f.get_mut();
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

    /// Flushes, fsyncs and moves the file to its final name.
    pub fn commit(mut self) -> Result<PathBuf, StageError> {
        let io = |path: &Path| {
            let path = path.to_path_buf();
            move |source| StageError::Io { path, source }
        };
        let file = self.file.take().expect("a staged file is committed once");
        let file = file.into_inner().map_err(|e| StageError::Io {
            path: self.temp.clone(),
            source: e.into_error(),
        })?;
        file.sync_all().map_err(io(&self.temp))?;
        std::fs::rename(&self.temp, &self.target).map_err(io(&self.target))?;
        Ok(self.target.clone())
    }
}

impl Drop for StagedFile {
    fn drop(&mut self) {
        if self.file.take().is_some() {
            let _ = std::fs::remove_file(&self.temp);
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
}
