//! The one-line prompts' keys (search, query, save view) and the saved-views list: Esc closes,
//! Enter applies, anything else edits the line.

use super::{App, Overlay};
use crate::model::{Query, QueryParseError};
use crate::tui::action::Effect;
use crate::tui::input;
use crossterm::event::{KeyCode, KeyEvent};
use ratatui_textarea::TextArea;

impl App {
    /// `/`: Enter searches for the words typed.
    pub(super) fn search_key(&mut self, mut t: TextArea<'static>, key: KeyEvent) -> Vec<Effect> {
        match key.code {
            KeyCode::Esc => Vec::new(),
            KeyCode::Enter => {
                let mut q = self.query.clone();
                crate::tui::filters::search_into(&mut q, &input::text(&t));
                self.apply_recorded(q)
            }
            _ => {
                input::edit(&mut t, key);
                self.chrome.overlay = Overlay::Search(t);
                Vec::new()
            }
        }
    }

    /// `:`: Enter applies the filter typed, or keeps the line open with why it does not parse.
    pub(super) fn query_key(
        &mut self,
        mut input: TextArea<'static>,
        error: Option<QueryParseError>,
        recalled: Option<usize>,
        key: KeyEvent,
    ) -> Vec<Effect> {
        match key.code {
            KeyCode::Esc => Vec::new(),
            KeyCode::Enter => match input::text(&input).parse::<Query>() {
                Ok(q) => self.apply_recorded(q),
                Err(e) => {
                    self.chrome.overlay = Overlay::Query {
                        input,
                        error: Some(e),
                        recalled,
                    };
                    Vec::new()
                }
            },
            KeyCode::Up | KeyCode::Down => {
                self.query_recall(input, recalled, key.code == KeyCode::Up);
                Vec::new()
            }
            _ => {
                let changed = input::edit(&mut input, key) == input::Edit::Changed;
                let error = if changed { None } else { error };
                self.chrome.overlay = Overlay::Query {
                    input,
                    error,
                    recalled,
                };
                Vec::new()
            }
        }
    }

    /// ↑ / ↓ on the query line walk the filters applied before, newest first; ↓ past the newest
    /// comes back to the filter in force.
    fn query_recall(&mut self, mut input: TextArea<'static>, recalled: Option<usize>, up: bool) {
        let want = match (up, recalled) {
            (true, None) => Some(0),
            (true, Some(n)) => Some(n + 1),
            (false, Some(0) | None) => None,
            (false, Some(n)) => Some(n - 1),
        };
        let (line, recalled) = match want {
            Some(n) => match self.recall(n) {
                Some(line) => (Some(line), Some(n)),
                None => (None, recalled),
            },
            None => (Some(format!("{} ", self.query)), None),
        };
        if let Some(line) = line {
            input = input::new(line.trim_start());
        }
        self.chrome.overlay = Overlay::Query {
            input,
            error: None,
            recalled,
        };
    }

    /// The save-view line: Enter saves the current filter under the name typed (replacing a
    /// view of that name).
    pub(super) fn save_view_key(&mut self, mut t: TextArea<'static>, key: KeyEvent) -> Vec<Effect> {
        match key.code {
            KeyCode::Esc => Vec::new(),
            KeyCode::Enter => {
                let name = input::text(&t).trim().to_string();
                if name.is_empty() {
                    self.chrome.overlay = Overlay::SaveView(t);
                    return Vec::new();
                }
                let filter = self.query.to_string();
                self.chrome.views.retain(|(n, _)| *n != name);
                self.chrome.views.push((name.clone(), filter.clone()));
                self.chrome.flash = Some(format!("saved the view “{name}”"));
                vec![Effect::SaveView { name, filter }]
            }
            _ => {
                input::edit(&mut t, key);
                self.chrome.overlay = Overlay::SaveView(t);
                Vec::new()
            }
        }
    }

    /// The saved views: ↑ / ↓ pick, Enter applies.
    pub(super) fn views_key(&mut self, selected: usize, key: KeyEvent) -> Vec<Effect> {
        let n = self.chrome.views.len();
        match key.code {
            KeyCode::Esc | KeyCode::Char('q') | KeyCode::Char('v') => Vec::new(),
            KeyCode::Down | KeyCode::Char('j') => {
                self.chrome.overlay = Overlay::Views {
                    selected: (selected + 1).min(n.saturating_sub(1)),
                };
                Vec::new()
            }
            KeyCode::Up | KeyCode::Char('k') => {
                self.chrome.overlay = Overlay::Views {
                    selected: selected.saturating_sub(1),
                };
                Vec::new()
            }
            KeyCode::Enter => match self
                .chrome
                .views
                .get(selected)
                .map(|(n, f)| (n.clone(), f.parse::<Query>()))
            {
                Some((_, Ok(q))) => self.apply_recorded(q),
                Some((name, Err(e))) => {
                    self.chrome.flash = Some(format!("the view “{name}” does not parse: {e}"));
                    Vec::new()
                }
                None => Vec::new(),
            },
            _ => {
                self.chrome.overlay = Overlay::Views { selected };
                Vec::new()
            }
        }
    }
}
