//! The export history view: the tenant's exports and evidence packs, newest first, as
//! `GET /v1/exports` lists them; Enter makes the selected one again (same filter, same format
//! or kind, same name) into a new file. Pure, like the dialogs: it hands back effects.

use super::action::{DownloadEvent, DownloadJob, DownloadKind, Effect};
use super::dialogs::{Outcome, Stage, default_export_path, default_pack_path, on_download};
use crate::client::ClientError;
use crate::export::Format;
use crate::model::{ExportList, ExportRecord, PackRequest, Query};
use chrono::{DateTime, Utc};
use crossterm::event::{KeyCode, KeyEvent};
use std::path::PathBuf;

/// What the view holds.
pub enum Listing {
    Loading,
    Loaded(Vec<ExportRecord>),
    Failed(String),
}

pub struct ExportHistory {
    pub listing: Listing,
    pub selected: usize,
    /// A re-run in progress or finished, and where it goes.
    pub rerun: Option<Stage>,
}

impl Default for ExportHistory {
    fn default() -> Self {
        ExportHistory {
            listing: Listing::Loading,
            selected: 0,
            rerun: None,
        }
    }
}

impl ExportHistory {
    /// The answer of `GET /v1/exports`.
    pub fn loaded(&mut self, result: Result<ExportList, ClientError>) {
        self.listing = match result {
            Ok(list) => Listing::Loaded(list.exports),
            Err(e) => Listing::Failed(format!("{e}; {}", e.advice())),
        };
        self.selected = 0;
    }

    /// A re-run's progress or end.
    pub fn on_download(&mut self, event: DownloadEvent) {
        if let Some(stage) = &mut self.rerun {
            on_download(stage, event);
        }
    }

    fn records(&self) -> &[ExportRecord] {
        match &self.listing {
            Listing::Loaded(r) => r,
            _ => &[],
        }
    }

    /// Handles a key; `now` names the new file.
    pub fn key(&mut self, key: KeyEvent, now: DateTime<Utc>) -> Outcome {
        match (&self.rerun, key.code) {
            (Some(Stage::Running { .. }), KeyCode::Esc) => {
                return Outcome::Close(
                    vec![Effect::CancelDownload],
                    Some("cancelled; nothing was written under the file's name".into()),
                );
            }
            (Some(Stage::Running { .. }), _) => return Outcome::Stay(Vec::new()),
            (Some(_), _) => {
                // A finished or failed re-run: any key goes back to the list, which has grown.
                self.rerun = None;
                self.listing = Listing::Loading;
                return Outcome::Stay(vec![Effect::FetchExports]);
            }
            (None, _) => {}
        }
        let n = self.records().len();
        match key.code {
            KeyCode::Esc | KeyCode::Char('q') => Outcome::Close(Vec::new(), None),
            KeyCode::Down | KeyCode::Char('j') if n > 0 => {
                self.selected = (self.selected + 1).min(n - 1);
                Outcome::Stay(Vec::new())
            }
            KeyCode::Up | KeyCode::Char('k') => {
                self.selected = self.selected.saturating_sub(1);
                Outcome::Stay(Vec::new())
            }
            KeyCode::Char('r') => {
                self.listing = Listing::Loading;
                Outcome::Stay(vec![Effect::FetchExports])
            }
            KeyCode::Enter if n > 0 => match rerun_job(&self.records()[self.selected], now) {
                Ok(job) => {
                    self.rerun = Some(Stage::Running {
                        bytes: 0,
                        rows: None,
                    });
                    Outcome::Stay(vec![Effect::Download(job)])
                }
                Err(why) => {
                    self.rerun = Some(Stage::Failed(why.to_string()));
                    Outcome::Stay(Vec::new())
                }
            },
            _ => Outcome::Stay(Vec::new()),
        }
    }
}

/// Why an export or pack of the history cannot be made again.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum RerunError {
    /// The format, made safe to show.
    #[error("this export was made as {0}, which this version cannot make")]
    UnknownFormat(String),
    #[error("its filter no longer parses: {0}")]
    Filter(crate::model::QueryParseError),
    /// The kind, made safe to show.
    #[error("the log names the kind {0}, which this version cannot make")]
    UnknownKind(String),
    #[error("the log does not say what this was made as")]
    Unsaid,
}

/// The download that makes `r` again into a new file in the working directory.
pub fn rerun_job(r: &ExportRecord, now: DateTime<Utc>) -> Result<DownloadJob, RerunError> {
    let what = match (&r.format, &r.kind) {
        (Some(format), _) => {
            let format = Format::parse(format)
                .ok_or_else(|| RerunError::UnknownFormat(crate::text::inert(format).into()))?;
            let query: Query = r.filter.parse().map_err(RerunError::Filter)?;
            DownloadKind::Export {
                query,
                format,
                name: r.name.clone(),
            }
        }
        (None, Some(kind)) => {
            let custom = kind == crate::export::evidence::CUSTOM;
            // The kind names the new file: only the kinds this version knows.
            if !custom && !crate::export::evidence::KINDS.contains(&kind.as_str()) {
                return Err(RerunError::UnknownKind(crate::text::inert(kind).into()));
            }
            DownloadKind::Pack(PackRequest {
                kind: kind.clone(),
                from: r.from.clone(),
                to: r.to.clone(),
                title: if custom { r.title.clone() } else { None },
                filter: custom.then(|| r.filter.clone()),
                name: r.name.clone(),
            })
        }
        _ => return Err(RerunError::Unsaid),
    };
    let path = match &what {
        DownloadKind::Export { format, .. } => default_export_path(*format, now),
        DownloadKind::Pack(p) => default_pack_path(&p.kind, now),
        DownloadKind::Evidence { kind, .. } => default_pack_path(kind, now),
    };
    Ok(DownloadJob {
        what,
        path: PathBuf::from(path),
        overwrite: false,
    })
}
