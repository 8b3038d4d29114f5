//! The keymap commands that open a dialog or an overlay over the table.

use super::{App, Overlay};
use crate::tui::action::Effect;
use crate::tui::dialogs::{EvidenceDialog, ExportDialog, RetentionInfo};
use crate::tui::input;
use crate::tui::keymap::Command;
use crate::tui::link::Link;

impl App {
    /// `/`: the free-text search line, holding the current words.
    pub(super) fn open_search(&mut self) -> Vec<Effect> {
        self.chrome.overlay = Overlay::Search(input::new(&self.query.text.join(" ")));
        Vec::new()
    }

    /// `:`: the query line, holding the current filter.
    pub(super) fn open_query(&mut self) -> Vec<Effect> {
        // A space after the current filter, so what is typed is a new term, not the
        // tail of the last one.
        let mut current = self.query.to_string();
        if !current.is_empty() {
            current.push(' ');
        }
        self.chrome.overlay = Overlay::Query {
            input: input::new(&current),
            error: None,
            recalled: None,
        };
        Vec::new()
    }

    /// `?`: the help overlay, at its top.
    pub(super) fn open_help(&mut self) -> Vec<Effect> {
        self.chrome.overlay = Overlay::Help { scroll: 0 };
        Vec::new()
    }

    /// The export dialog, for the current filter or the marked entries.
    pub(super) fn open_export(&mut self) -> Vec<Effect> {
        self.chrome.overlay = Overlay::Export(Box::new(
            ExportDialog::new(self.query.clone(), self.pager.exact_total(), self.now)
                .with_marked(self.marked_ids()),
        ));
        Vec::new()
    }

    /// The evidence pack dialog, offering this filter, the marked entries and the selected
    /// entry's target.
    pub(super) fn open_evidence(&mut self) -> Vec<Effect> {
        // Evidence packs are built by the server: say so at once, not after the form.
        if self.conn.link != Link::Online {
            self.chrome.flash = Some(
                "evidence packs are built by the server: reconnect to it (this is the offline cache or a file)"
                    .into(),
            );
            return Vec::new();
        }
        let mut dialog = EvidenceDialog::new(self.now).offer(
            "this filter",
            self.query.clone(),
            crate::tui::views::dialogs::in_words(&self.query, self.pager.exact_total()),
        );
        // The case built with `m` / `M` / `*`: what an investigator packs.
        let marked = self.marked_ids();
        if !marked.is_empty() {
            let n = marked.len() as u64;
            dialog = dialog.offer(
                "marked",
                crate::model::Query {
                    ids: marked,
                    ..crate::model::Query::default()
                },
                format!(
                    "the {} marked",
                    crate::tui::views::header::counted(n, "entry", "entries")
                ),
            );
        }
        if let Some(target) = self.current().and_then(|e| e.target_ref()) {
            dialog = dialog.offer(
                "this target",
                crate::model::Query {
                    targets: vec![target.clone()],
                    ..crate::model::Query::default()
                },
                format!("everything about {target}"),
            );
        }
        if self.marked_count() > 0 {
            dialog = dialog.choose("marked", self.now);
        }
        self.chrome.overlay = Overlay::Evidence(Box::new(dialog));
        Vec::new()
    }

    /// The server's past exports, fetched as the overlay opens.
    pub(super) fn open_history(&mut self) -> Vec<Effect> {
        self.chrome.overlay = Overlay::History(Box::default());
        vec![Effect::FetchExports]
    }

    /// The retention settings, fetched as the overlay opens.
    pub(super) fn open_info(&mut self) -> Vec<Effect> {
        // A file has no retention settings: say so rather than ask for them and fail.
        if matches!(self.conn.link, Link::File { .. }) {
            self.chrome.overlay = Overlay::Info(RetentionInfo::Failed(
                "none: this is an export file; retention is the server's setting".into(),
            ));
            return Vec::new();
        }
        self.chrome.overlay = Overlay::Info(RetentionInfo::Loading);
        vec![Effect::FetchRetention]
    }

    /// The line that names the current filter to save it.
    pub(super) fn open_save_view(&mut self) -> Vec<Effect> {
        self.chrome.overlay = Overlay::SaveView(input::new(""));
        Vec::new()
    }

    /// The saved views to pick from, or why there are none.
    pub(super) fn open_views(&mut self) -> Vec<Effect> {
        if self.chrome.views.is_empty() {
            self.chrome.flash = Some(format!(
                "no saved views yet: {} saves the current filter",
                self.chrome.keymap.first(Command::SaveView)
            ));
        } else {
            self.chrome.overlay = Overlay::Views { selected: 0 };
        }
        Vec::new()
    }
}
