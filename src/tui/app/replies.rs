//! What the app does with the answers to its effects: pages, growth, downloads, the history and
//! retention views, the witness and the filter pane's facets.

use super::{App, Overlay, Status};
use crate::client::ClientError;
use crate::model::{ExportList, FacetField, Facets, Page, Retention};
use crate::tui::action::{DownloadEvent, Effect};
use crate::tui::dialogs::RetentionInfo;
use crate::tui::filters::FacetState;
use crate::tui::pager::PageTaken;
use crate::tui::witness::Witnessed;

impl App {
    /// A page arrived: shown, or the next one fetched while loading to the end.
    pub(super) fn on_page(&mut self, load: u64, result: Result<Page, ClientError>) -> Vec<Effect> {
        match self.pager.on_page(load, result) {
            None => Vec::new(),
            Some(Err(e)) => self.failed(e),
            Some(Ok(taken)) => {
                self.conn.status = Status::Connected;
                match taken {
                    PageTaken::ReachedEnd => {
                        self.chrome.flash = None;
                        self.select(self.pager.rows.len().saturating_sub(1))
                    }
                    PageTaken::KeepLoading => self.fetch_next(),
                    PageTaken::Shown => {
                        self.scroll_into_view();
                        let mut fx = self.follow_after_page();
                        fx.extend(self.seek_anchor());
                        fx.extend(self.pager.maybe_prefetch(&self.query));
                        fx
                    }
                }
            }
        }
    }

    /// The trail grew: the top again when the reader is at it, else only the count.
    pub(super) fn on_grew(&mut self) -> Vec<Effect> {
        // While following, the stream brings what was added.
        if self.conn.follow.is_some() {
            return Vec::new();
        }
        if self.pager.rows.is_empty() || (self.pager.selected == 0 && self.pane.detail.is_none()) {
            // Load the top again, but keep showing the old rows until it arrives, so
            // the table does not blink on every batch.
            self.pager.reload_in_place();
            self.first_loads()
        } else {
            vec![self.stats_effect()]
        }
    }

    /// A download's progress, to the dialog that started it.
    pub(super) fn on_download(&mut self, event: DownloadEvent) -> Vec<Effect> {
        match &mut self.chrome.overlay {
            Overlay::Export(d) => crate::tui::dialogs::on_download(&mut d.stage, event),
            Overlay::Evidence(d) => crate::tui::dialogs::on_download(&mut d.stage, event),
            Overlay::History(h) => h.on_download(event),
            _ => {}
        }
        Vec::new()
    }

    /// The export history, to its view if still open.
    pub(super) fn on_exports(&mut self, result: Result<ExportList, ClientError>) -> Vec<Effect> {
        if let Overlay::History(h) = &mut self.chrome.overlay {
            h.loaded(result);
        }
        Vec::new()
    }

    /// The retention settings, to the info view if still open.
    pub(super) fn on_retention(&mut self, result: Result<Retention, ClientError>) -> Vec<Effect> {
        if let Overlay::Info(info) = &mut self.chrome.overlay {
            *info = RetentionInfo::from_result(result);
        }
        Vec::new()
    }

    /// What the witness saw; a changed history is also flashed.
    pub(super) fn on_witness(&mut self, w: Witnessed) -> Vec<Effect> {
        // The banner is cut to the width: the footer repeats the gist, sizes first.
        if let Witnessed::Changed(c) = &w {
            self.chrome.flash = Some(format!(
                "⚠ {}: saw {} entries, server now {}",
                c.what, c.seen_size, c.now_size
            ));
        }
        self.conn.witness = w;
        Vec::new()
    }

    /// A facet list for the filter pane, unless a newer one was asked for since.
    pub(super) fn on_facets(
        &mut self,
        load: u64,
        field: FacetField,
        result: Result<Facets, ClientError>,
    ) -> Vec<Effect> {
        if load != self.chrome.facet_gen {
            return Vec::new();
        }
        if let Overlay::Filters(p) = &mut self.chrome.overlay {
            let state = match result {
                Ok(f) => FacetState::Loaded {
                    values: f.values,
                    estimate: f.estimate,
                },
                Err(e) => FacetState::Failed(e.to_string()),
            };
            p.set_facets(field, state);
        }
        Vec::new()
    }
}
