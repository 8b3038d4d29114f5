//! The directory archive: a prune's removed entries as gzip NDJSON beside a JSON manifest,
//! both synced (and the directory too) before the store removes anything. The format is what
//! [`super::archive::verify_archive`] and `trailscope verify-archive` read.

use super::chain::Commitments;
use super::{ArchiveRef, ArchiveSink, ArchiveWriter, StoreError};
use crate::model::Entry;
use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

/// One archived line: the entry and the commitments its hash was computed with.
#[derive(serde::Serialize, serde::Deserialize)]
pub struct ArchivedEntry {
    pub entry: Entry,
    pub commitments: Commitments,
}

/// An archive's manifest: what it holds and how to check it.
#[derive(Debug, serde::Serialize, serde::Deserialize)]
pub struct ArchiveManifest {
    pub tenant: String,
    pub count: u64,
    pub first_seq: u64,
    pub last_seq: u64,
    /// The `prev_hash` of the first archived entry: where this archive hangs on the chain.
    pub first_prev_hash: String,
    /// The hash of the last archived entry: the live log's anchor after the prune.
    pub last_hash: String,
    /// The archive file's name, beside the manifest, and its SHA-256.
    pub file: String,
    pub sha256: String,
    #[serde(with = "crate::model::ts_serde")]
    pub cutoff: DateTime<Utc>,
}

/// Archives into one directory: `<tenant>-<first seq>-<last seq>.ndjson.gz` and
/// `….manifest.json`, names padded to 12 digits.
#[derive(Debug, Clone)]
pub struct DirArchive {
    dir: PathBuf,
}

impl DirArchive {
    pub fn new(dir: impl Into<PathBuf>) -> DirArchive {
        DirArchive { dir: dir.into() }
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }
}

fn failed(why: String) -> StoreError {
    StoreError::Internal(why)
}

impl ArchiveSink for DirArchive {
    fn begin(
        &self,
        tenant: &str,
        cutoff: DateTime<Utc>,
    ) -> Result<Box<dyn ArchiveWriter>, StoreError> {
        let dir = &self.dir;
        std::fs::create_dir_all(dir)
            .map_err(|e| failed(format!("cannot create {}: {e}", dir.display())))?;
        // The seqs are known only once the entries are read: the data goes to a hidden name
        // first and takes its real one in `finish`, before the manifest names it.
        let partial = dir.join(format!(
            ".{tenant}-{}-{}.ndjson.gz.partial",
            cutoff.timestamp_millis(),
            std::process::id()
        ));
        let file = File::create(&partial)
            .map_err(|e| failed(format!("cannot create {}: {e}", partial.display())))?;
        Ok(Box::new(DirWriter {
            dir: dir.clone(),
            tenant: tenant.to_string(),
            cutoff,
            partial: Some(partial),
            gz: Some(flate2::write::GzEncoder::new(
                BufWriter::new(file),
                flate2::Compression::default(),
            )),
            count: 0,
            first: None,
            last: None,
        }))
    }

    fn location(&self) -> String {
        self.dir.display().to_string()
    }
}

/// An archive being written; an unfinished one leaves no file behind.
struct DirWriter {
    dir: PathBuf,
    tenant: String,
    cutoff: DateTime<Utc>,
    partial: Option<PathBuf>,
    gz: Option<flate2::write::GzEncoder<BufWriter<File>>>,
    count: u64,
    /// (seq, prev_hash) of the first entry written.
    first: Option<(u64, String)>,
    /// (seq, hash) of the last entry written.
    last: Option<(u64, String)>,
}

impl Drop for DirWriter {
    fn drop(&mut self) {
        if let Some(p) = self.partial.take() {
            let _ = std::fs::remove_file(p);
        }
    }
}

impl ArchiveWriter for DirWriter {
    fn write(&mut self, line: &ArchivedEntry) -> Result<(), StoreError> {
        let gz = self
            .gz
            .as_mut()
            .ok_or_else(|| failed("the archive is already finished".into()))?;
        let e = &line.entry;
        if let Some((seq, _)) = &self.last
            && e.seq != seq + 1
        {
            return Err(failed(format!(
                "the archive was handed seq {} after seq {seq}",
                e.seq
            )));
        }
        serde_json::to_writer(&mut *gz, line)
            .map_err(|e| failed(format!("cannot write the archive: {e}")))?;
        gz.write_all(b"\n")
            .map_err(|e| failed(format!("cannot write the archive: {e}")))?;
        if self.first.is_none() {
            self.first = Some((e.seq, e.prev_hash.clone()));
        }
        self.last = Some((e.seq, e.hash.clone()));
        self.count += 1;
        Ok(())
    }

    fn finish(
        mut self: Box<Self>,
        first_prev_hash: &str,
        last_hash: &str,
    ) -> Result<ArchiveRef, StoreError> {
        let (Some((first_seq, first_prev)), Some((last_seq, last))) =
            (self.first.clone(), self.last.clone())
        else {
            return Err(failed("an archive of no entries is not written".into()));
        };
        if first_prev != first_prev_hash || last != last_hash {
            return Err(failed(
                "the archived entries do not end where the store says they do".into(),
            ));
        }
        let partial = self.partial.clone().unwrap_or_default();
        let gz = self
            .gz
            .take()
            .ok_or_else(|| failed("the archive is already finished".into()))?;
        let buffered = gz
            .finish()
            .map_err(|e| failed(format!("cannot write {}: {e}", partial.display())))?;
        let file = buffered
            .into_inner()
            .map_err(|e| failed(e.error().to_string()))?;
        file.sync_all()
            .map_err(|e| failed(format!("cannot sync {}: {e}", partial.display())))?;
        drop(file);
        let stem = format!("{}-{first_seq:012}-{last_seq:012}", self.tenant);
        let data_path = self.dir.join(format!("{stem}.ndjson.gz"));
        let manifest_path = self.dir.join(format!("{stem}.manifest.json"));
        std::fs::rename(&partial, &data_path)
            .map_err(|e| failed(format!("cannot name {}: {e}", data_path.display())))?;
        self.partial = Some(data_path.clone());
        let sha256 =
            hex::encode(Sha256::digest(std::fs::read(&data_path).map_err(|e| {
                failed(format!("cannot read {}: {e}", data_path.display()))
            })?));
        let manifest = ArchiveManifest {
            tenant: self.tenant.clone(),
            count: self.count,
            first_seq,
            last_seq,
            first_prev_hash: first_prev,
            last_hash: last,
            file: data_path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default(),
            sha256,
            cutoff: self.cutoff,
        };
        let text = serde_json::to_vec_pretty(&manifest).map_err(|e| failed(e.to_string()))?;
        let mut m = File::create(&manifest_path)
            .map_err(|e| failed(format!("cannot create {}: {e}", manifest_path.display())))?;
        m.write_all(&text)
            .and_then(|()| m.sync_all())
            .map_err(|e| failed(format!("cannot write {}: {e}", manifest_path.display())))?;
        // The names must be durable too, not just the bytes.
        if let Ok(d) = File::open(&self.dir) {
            let _ = d.sync_all();
        }
        // Finished: the data file stays.
        self.partial = None;
        Ok(ArchiveRef(manifest_path.display().to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(seq: u64, prev: &str, hash: &str) -> ArchivedEntry {
        let at = crate::model::format_ts(&Utc::now());
        let entry: Entry = serde_json::from_value(serde_json::json!({
            "id": format!("e{seq}"), "seq": seq, "tenant": "acme", "occurred_at": at,
            "received_at": at, "action": "user.login", "kind": "other", "channel": "default",
            "outcome": "success", "actor": {"type": "system"}, "prev_hash": prev, "hash": hash,
        }))
        .unwrap();
        ArchivedEntry {
            entry,
            commitments: Commitments::new(),
        }
    }

    fn files(dir: &Path) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }

    #[test]
    fn an_unfinished_or_refused_archive_leaves_no_file() {
        let dir = tempfile::tempdir().unwrap();
        let sink = DirArchive::new(dir.path());
        let mut w = sink.begin("acme", Utc::now()).unwrap();
        w.write(&line(1, "g", "h1")).unwrap();
        drop(w);
        assert!(files(dir.path()).is_empty(), "{:?}", files(dir.path()));
        // A writer told a different end than it was given fails closed.
        let mut w = sink.begin("acme", Utc::now()).unwrap();
        w.write(&line(1, "g", "h1")).unwrap();
        w.write(&line(2, "h1", "h2")).unwrap();
        let e = w
            .finish("g", "h9")
            .expect_err("a wrong last hash is refused");
        assert!(matches!(e, StoreError::Internal(_)), "{e:?}");
        assert!(files(dir.path()).is_empty(), "{:?}", files(dir.path()));
        // Nothing to archive is not an archive, and seqs must follow each other.
        let w = sink.begin("acme", Utc::now()).unwrap();
        assert!(w.finish("g", "g").is_err());
        let mut w = sink.begin("acme", Utc::now()).unwrap();
        w.write(&line(1, "g", "h1")).unwrap();
        assert!(w.write(&line(3, "h1", "h3")).is_err(), "a gap is refused");
    }

    #[test]
    fn a_finished_archive_is_named_by_its_seqs() {
        let dir = tempfile::tempdir().unwrap();
        let sink = DirArchive::new(dir.path().join("nested"));
        let mut w = sink.begin("acme", Utc::now()).unwrap();
        for (seq, prev, hash) in [(7, "h6", "h7"), (8, "h7", "h8")] {
            w.write(&line(seq, prev, hash)).unwrap();
        }
        let ArchiveRef(at) = w.finish("h6", "h8").unwrap();
        let nested = dir.path().join("nested");
        assert_eq!(
            files(&nested),
            [
                "acme-000000000007-000000000008.manifest.json",
                "acme-000000000007-000000000008.ndjson.gz"
            ]
        );
        assert_eq!(
            at,
            nested
                .join("acme-000000000007-000000000008.manifest.json")
                .display()
                .to_string()
        );
        let m: ArchiveManifest = serde_json::from_slice(&std::fs::read(&at).unwrap()).unwrap();
        assert_eq!((m.count, m.first_seq, m.last_seq), (2, 7, 8));
        assert_eq!(
            (m.first_prev_hash.as_str(), m.last_hash.as_str()),
            ("h6", "h8")
        );
        let data = std::fs::read(nested.join(&m.file)).unwrap();
        assert_eq!(m.sha256, hex::encode(Sha256::digest(&data)));
    }
}
