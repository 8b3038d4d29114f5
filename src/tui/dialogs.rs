//! The export and evidence-pack dialogs and the info view: their state and what keys do there.
//! Pure: they hand back effects for the event loop and never touch the network themselves.

use super::action::{DownloadEvent, DownloadJob, DownloadKind, Effect};
use super::input;
use crate::client::ClientError;
use crate::export::Format;
use crate::model::{Query, Retention};
use chrono::{DateTime, Utc};
use crossterm::event::{KeyCode, KeyEvent};
use ratatui_textarea::TextArea;
use std::path::PathBuf;

/// Where a download stands, shown in its dialog.
#[derive(Debug, Clone, PartialEq)]
pub enum Stage {
    /// The user is filling the form; `error` says what was wrong with the last try.
    Editing {
        error: Option<String>,
    },
    /// The destination exists: overwrite it?
    Confirm(PathBuf),
    Running {
        bytes: u64,
        rows: Option<u64>,
    },
    Done {
        path: PathBuf,
        bytes: u64,
        rows: u64,
    },
    Failed(String),
}

/// What a key did to a dialog.
pub enum Outcome {
    /// Stay open; run these effects.
    Stay(Vec<Effect>),
    /// Close; run these effects and show this message in the footer, if any.
    Close(Vec<Effect>, Option<String>),
}

/// The export formats, in the order Tab cycles them.
pub const FORMATS: [Format; 3] = [Format::Csv, Format::Json, Format::Ndjson];

/// The evidence-pack kinds, in the order Tab cycles them, with what each holds.
pub const PACK_KINDS: [(&str, &str); 3] = [
    ("access_review", "sign-ins and role changes"),
    ("change_management", "admin, integration and rule changes"),
    (
        "incident_response",
        "sign-in failures, security and rate-limit events",
    ),
];

/// `e`: export the current filter to a file.
pub struct ExportDialog {
    pub format: Format,
    pub path: TextArea<'static>,
    /// What the export history calls it (empty: no name).
    pub name: TextArea<'static>,
    /// Typing goes to the name (↓) rather than the path (↑).
    pub name_focused: bool,
    /// The path is still the one we suggested, so switching format renames it.
    path_untouched: bool,
    pub query: Query,
    /// Entries the export will hold, as the header counts them.
    pub total: Option<u64>,
    pub stage: Stage,
    /// The ids of the entries marked on this server, and whether only they are exported.
    pub marked: Vec<String>,
    pub only_marked: bool,
}

impl ExportDialog {
    /// The dialog offering "marked entries only" (Ctrl-o) when some are marked.
    pub fn with_marked(mut self, marked: Vec<String>) -> ExportDialog {
        self.marked = marked;
        self
    }

    /// What will be exported: the filter, or the marked entries only.
    pub fn export_query(&self) -> Query {
        if self.only_marked {
            Query {
                ids: self.marked.clone(),
                ..Query::default()
            }
        } else {
            self.query.clone()
        }
    }

    /// A dialog for `query`, CSV to `./audit-log-<timestamp>.csv`.
    pub fn new(query: Query, total: Option<u64>, now: DateTime<Utc>) -> ExportDialog {
        let format = Format::Csv;
        ExportDialog {
            format,
            path: input::new(&default_export_path(format, now)),
            name: input::new(""),
            name_focused: false,
            path_untouched: true,
            query,
            total,
            stage: Stage::Editing { error: None },
            marked: Vec::new(),
            only_marked: false,
        }
    }

    /// Handles a key; `now` names a default file.
    pub fn key(&mut self, key: KeyEvent, now: DateTime<Utc>) -> Outcome {
        let overwrite = self.job(true);
        if let Some(out) = common_key(&mut self.stage, key, overwrite) {
            return out;
        }
        match key.code {
            KeyCode::Char('o')
                if key
                    .modifiers
                    .contains(crossterm::event::KeyModifiers::CONTROL)
                    && !self.marked.is_empty() =>
            {
                self.only_marked = !self.only_marked;
                Outcome::Stay(Vec::new())
            }
            KeyCode::Tab | KeyCode::BackTab => {
                let i = FORMATS.iter().position(|f| *f == self.format).unwrap_or(0);
                let step = if key.code == KeyCode::Tab {
                    1
                } else {
                    FORMATS.len() - 1
                };
                self.format = FORMATS[(i + step) % FORMATS.len()];
                if self.path_untouched {
                    self.path = input::new(&default_export_path(self.format, now));
                }
                Outcome::Stay(Vec::new())
            }
            KeyCode::Enter => {
                let job = self.job(false);
                begin(&mut self.stage, job, "the file")
            }
            KeyCode::Down | KeyCode::Up => {
                self.name_focused = key.code == KeyCode::Down;
                Outcome::Stay(Vec::new())
            }
            _ if self.name_focused => {
                if input::edit(&mut self.name, key) == input::Edit::Changed {
                    self.stage = Stage::Editing { error: None };
                }
                Outcome::Stay(Vec::new())
            }
            _ => {
                if input::edit(&mut self.path, key) == input::Edit::Changed {
                    self.path_untouched = false;
                    self.stage = Stage::Editing { error: None };
                }
                Outcome::Stay(Vec::new())
            }
        }
    }

    fn job(&self, overwrite: bool) -> Option<DownloadJob> {
        let path = expand(&input::text(&self.path))?;
        Some(DownloadJob {
            what: DownloadKind::Export {
                query: self.export_query(),
                format: self.format,
                name: Some(input::text(&self.name).trim().to_string()).filter(|n| !n.is_empty()),
            },
            path,
            overwrite,
        })
    }
}

/// `E`: an evidence pack for a period.
pub struct EvidenceDialog {
    /// Index into [`PACK_KINDS`].
    pub kind: usize,
    pub from: TextArea<'static>,
    pub to: TextArea<'static>,
    pub path: TextArea<'static>,
    path_untouched: bool,
    /// What the export history calls the pack (empty: no name).
    pub name: TextArea<'static>,
    /// The report's heading (empty: none; a custom pack suggests one).
    pub title: TextArea<'static>,
    title_untouched: bool,
    /// 0 kind, 1 from, 2 to, 3 path, 4 name, 5 title.
    pub focus: usize,
    pub stage: Stage,
    /// Custom packs offered after the configured kinds: "this filter" (the table's), "marked"
    /// (the entries marked, the case) and "this target" (everything about the selected
    /// entry's target), each with its filter and the title it suggests.
    pub custom: Vec<(&'static str, Query, String)>,
}

/// The most characters a pack's title or name may have (the server's limit).
pub const MAX_LABEL: usize = 200;

/// A title suggested from a filter's words, cut to fit [`MAX_LABEL`].
pub fn suggested_title(words: &str) -> String {
    let mut t: String = words.chars().take(MAX_LABEL).collect();
    if words.chars().count() > MAX_LABEL {
        t = t.chars().take(MAX_LABEL - 1).collect();
        t.push('…');
    }
    t
}

impl EvidenceDialog {
    /// Access review of the last 30 days, to `./evidence-access_review-<timestamp>.zip`.
    pub fn new(now: DateTime<Utc>) -> EvidenceDialog {
        EvidenceDialog {
            kind: 0,
            from: input::new("30d"),
            to: input::new("today"),
            path: input::new(&default_pack_path(PACK_KINDS[0].0, now)),
            path_untouched: true,
            name: input::new(""),
            title: input::new(""),
            title_untouched: true,
            focus: 0,
            stage: Stage::Editing { error: None },
            custom: Vec::new(),
        }
    }

    /// Offers a custom pack of `query` under `label` ("this filter", "marked", "this target"),
    /// suggesting `title` for its report.
    pub fn offer(mut self, label: &'static str, query: Query, title: String) -> EvidenceDialog {
        self.custom.push((label, query, suggested_title(&title)));
        self
    }

    /// Starts on the custom kind `label`, if offered (`E` with marks starts on them).
    pub fn choose(mut self, label: &str, now: DateTime<Utc>) -> EvidenceDialog {
        if let Some(i) = self.custom.iter().position(|(l, _, _)| *l == label) {
            self.kind = PACK_KINDS.len() + i;
            self.chosen(false, now);
        }
        self
    }

    /// The fields that follow the kind: the default path, the period, the suggested title.
    fn chosen(&mut self, was_custom: bool, now: DateTime<Utc>) {
        if self.path_untouched {
            self.path = input::new(&default_pack_path(self.kind_name(), now));
        }
        let suggested = self.chosen_custom().map(|(_, _, t)| t.clone());
        if self.title_untouched {
            self.title = input::new(suggested.as_deref().unwrap_or(""));
        }
        // A custom pack covers its filter's own range unless a period narrows it.
        match (was_custom, suggested.is_some()) {
            (false, true) => {
                self.from = input::new("");
                self.to = input::new("");
            }
            (true, false) => {
                self.from = input::new("30d");
                self.to = input::new("today");
            }
            _ => {}
        }
    }

    /// How many kinds the dialog offers: the configured ones, then the custom ones.
    pub fn kinds(&self) -> usize {
        PACK_KINDS.len() + self.custom.len()
    }

    /// The custom pack chosen, if the kind is one.
    pub fn chosen_custom(&self) -> Option<&(&'static str, Query, String)> {
        self.kind
            .checked_sub(PACK_KINDS.len())
            .and_then(|i| self.custom.get(i))
    }

    /// The kind's wire name.
    fn kind_name(&self) -> &'static str {
        match self.chosen_custom() {
            Some(_) => crate::export::evidence::CUSTOM,
            None => PACK_KINDS[self.kind].0,
        }
    }

    /// Handles a key.
    pub fn key(&mut self, key: KeyEvent, now: DateTime<Utc>) -> Outcome {
        let overwrite = self.job(true);
        if let Some(out) = common_key(&mut self.stage, key, overwrite) {
            return out;
        }
        match key.code {
            KeyCode::Tab | KeyCode::Down => {
                self.focus = (self.focus + 1) % 6;
                Outcome::Stay(Vec::new())
            }
            KeyCode::BackTab | KeyCode::Up => {
                self.focus = (self.focus + 5) % 6;
                Outcome::Stay(Vec::new())
            }
            KeyCode::Left | KeyCode::Right | KeyCode::Char(' ') if self.focus == 0 => {
                let n = self.kinds();
                let was_custom = self.chosen_custom().is_some();
                let step = if key.code == KeyCode::Left { n - 1 } else { 1 };
                self.kind = (self.kind + step) % n;
                self.chosen(was_custom, now);
                Outcome::Stay(Vec::new())
            }
            KeyCode::Enter => {
                let (from, to) = (input::text(&self.from), input::text(&self.to));
                let custom = self.chosen_custom().is_some();
                let bad = [("from", &from), ("to", &to)].into_iter().find(|(_, v)| {
                    !(custom && v.trim().is_empty()) && crate::model::TimeBound::parse(v).is_none()
                });
                if let Some((field, v)) = bad {
                    self.stage = Stage::Editing {
                        error: Some(format!(
                            "{field} `{}` is not a date, time or age such as 2026-10-01 or 30d",
                            crate::text::inert(v)
                        )),
                    };
                    return Outcome::Stay(Vec::new());
                }
                if let Some(error) = self.refusal() {
                    self.stage = Stage::Editing { error: Some(error) };
                    return Outcome::Stay(Vec::new());
                }
                let job = self.job(false);
                begin(&mut self.stage, job, "the pack")
            }
            _ => {
                let field = match self.focus {
                    1 => &mut self.from,
                    2 => &mut self.to,
                    3 => &mut self.path,
                    4 => &mut self.name,
                    5 => &mut self.title,
                    _ => return Outcome::Stay(Vec::new()),
                };
                if input::edit(field, key) == input::Edit::Changed {
                    if self.focus == 3 {
                        self.path_untouched = false;
                    }
                    if self.focus == 5 {
                        self.title_untouched = false;
                    }
                    self.stage = Stage::Editing { error: None };
                }
                Outcome::Stay(Vec::new())
            }
        }
    }

    fn job(&self, overwrite: bool) -> Option<DownloadJob> {
        let path = expand(&input::text(&self.path))?;
        let (from, to) = (
            input::text(&self.from).trim().to_string(),
            input::text(&self.to).trim().to_string(),
        );
        let name = Some(input::text(&self.name).trim().to_string()).filter(|n| !n.is_empty());
        let title = Some(input::text(&self.title).trim().to_string()).filter(|n| !n.is_empty());
        let what = match self.chosen_custom() {
            Some((_, query, _)) => {
                let filter = query.to_string();
                DownloadKind::Pack(crate::model::PackRequest {
                    kind: crate::export::evidence::CUSTOM.into(),
                    from: (!from.is_empty()).then_some(from),
                    to: (!to.is_empty()).then_some(to),
                    title,
                    filter: Some(filter),
                    name,
                })
            }
            None if name.is_some() || title.is_some() => {
                DownloadKind::Pack(crate::model::PackRequest {
                    kind: PACK_KINDS[self.kind].0.to_string(),
                    from: Some(from),
                    to: Some(to),
                    name,
                    title,
                    ..Default::default()
                })
            }
            None => DownloadKind::Evidence {
                kind: PACK_KINDS[self.kind].0.to_string(),
                from,
                to,
            },
        };
        Some(DownloadJob {
            what,
            path,
            overwrite,
        })
    }
}

impl EvidenceDialog {
    /// What the server would refuse, said here before asking: a title or name over
    /// [`MAX_LABEL`] characters, more marked entries than a pack carries.
    fn refusal(&self) -> Option<String> {
        for (field, text) in [("title", &self.title), ("name", &self.name)] {
            let n = input::text(text).trim().chars().count();
            if n > MAX_LABEL {
                return Some(format!(
                    "the {field} has {n} characters; at most {MAX_LABEL}: shorten it"
                ));
            }
        }
        if let Some((_, q, _)) = self.chosen_custom()
            && q.ids.len() > super::marks::MAX_MARKS
        {
            return Some(format!(
                "a pack carries at most {} marked entries and {} are marked: unmark some",
                super::marks::MAX_MARKS,
                q.ids.len()
            ));
        }
        None
    }
}

/// Starts `job`, or says a destination is needed when the path is blank.
fn begin(stage: &mut Stage, job: Option<DownloadJob>, what: &str) -> Outcome {
    match job {
        Some(job) => {
            *stage = Stage::Running {
                bytes: 0,
                rows: None,
            };
            Outcome::Stay(vec![Effect::Download(job)])
        }
        None => {
            *stage = Stage::Editing {
                error: Some(format!("say where to save {what}")),
            };
            Outcome::Stay(Vec::new())
        }
    }
}

/// Keys that mean the same in both download dialogs: confirm, cancel, close when finished.
/// `None` when the form itself should handle the key.
fn common_key(
    stage: &mut Stage,
    key: KeyEvent,
    overwrite_job: Option<DownloadJob>,
) -> Option<Outcome> {
    match stage {
        Stage::Editing { .. } if key.code == KeyCode::Esc => Some(Outcome::Close(Vec::new(), None)),
        Stage::Editing { .. } => None,
        Stage::Confirm(_) => Some(match key.code {
            KeyCode::Char('y' | 'Y') => begin(stage, overwrite_job, "the file"),
            _ => {
                *stage = Stage::Editing {
                    error: Some("not overwritten: choose another name".into()),
                };
                Outcome::Stay(Vec::new())
            }
        }),
        Stage::Running { .. } => Some(if key.code == KeyCode::Esc {
            Outcome::Close(
                vec![Effect::CancelDownload],
                Some("cancelled; nothing was written under the file's name".into()),
            )
        } else {
            Outcome::Stay(Vec::new())
        }),
        Stage::Failed(_) if key.code == KeyCode::Enter => {
            *stage = Stage::Editing { error: None };
            Some(Outcome::Stay(Vec::new()))
        }
        Stage::Failed(_) | Stage::Done { .. } => Some(Outcome::Close(Vec::new(), None)),
    }
}

/// Applies a download's progress or end to a dialog's stage.
pub fn on_download(stage: &mut Stage, event: DownloadEvent) {
    // A late progress message after a cancel or failure changes nothing.
    *stage = match (
        std::mem::replace(stage, Stage::Editing { error: None }),
        event,
    ) {
        (Stage::Running { .. }, DownloadEvent::Progress { bytes, rows }) => {
            Stage::Running { bytes, rows }
        }
        (Stage::Running { .. }, DownloadEvent::Done { path, bytes, rows }) => {
            Stage::Done { path, bytes, rows }
        }
        (Stage::Running { .. }, DownloadEvent::Exists(p)) => Stage::Confirm(p),
        (Stage::Running { .. }, DownloadEvent::Failed(e)) => Stage::Failed(e),
        (other, _) => other,
    };
}

/// `./audit-log-20261121T091403Z.csv`: the name the server's Content-Disposition also uses.
pub fn default_export_path(format: Format, now: DateTime<Utc>) -> String {
    format!("./{}", format.file_name(&now))
}

pub fn default_pack_path(kind: &str, now: DateTime<Utc>) -> String {
    format!("./evidence-{kind}-{}.zip", now.format("%Y%m%dT%H%M%SZ"))
}

/// The typed path, with a leading `~/` meaning the home directory; `None` when blank.
fn expand(text: &str) -> Option<PathBuf> {
    let text = text.trim();
    if text.is_empty() {
        return None;
    }
    match (text.strip_prefix("~/"), directories::BaseDirs::new()) {
        (Some(rest), Some(dirs)) => Some(dirs.home_dir().join(rest)),
        _ => Some(PathBuf::from(text)),
    }
}

/// What the info view shows about retention.
#[derive(Debug, Clone, PartialEq)]
pub enum RetentionInfo {
    Loading,
    Loaded(Retention),
    /// Only admins may read retention settings.
    NotAdmin,
    Failed(String),
}

impl RetentionInfo {
    /// The state for an answer from `GET /v1/retention`.
    pub fn from_result(result: Result<Retention, ClientError>) -> RetentionInfo {
        match result {
            Ok(r) => RetentionInfo::Loaded(r),
            Err(ClientError::Forbidden(_)) => RetentionInfo::NotAdmin,
            Err(e) => RetentionInfo::Failed(format!("{e}; {}", e.advice())),
        }
    }
}
