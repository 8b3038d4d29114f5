//! The filter pane's state: facet lists with counts, type-to-filter, multi-select, times, search.

use super::input::{self, Edit};
use crate::model::{FacetField, FacetValue, Kind, Outcome, Query, TimeBound};
use crossterm::event::{KeyCode, KeyEvent};
use ratatui_textarea::TextArea;

/// A row of the pane's field list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Field {
    List(FacetField),
    From,
    To,
    Search,
}

/// The pane's fields in order, with their labels.
pub const FIELDS: [(&str, Field); 9] = [
    ("Action", Field::List(FacetField::Action)),
    ("User", Field::List(FacetField::Actor)),
    ("Target", Field::List(FacetField::TargetType)),
    ("Channel", Field::List(FacetField::Channel)),
    ("Event", Field::List(FacetField::Kind)),
    ("Outcome", Field::List(FacetField::Outcome)),
    ("From", Field::From),
    ("To", Field::To),
    ("Search", Field::Search),
];

/// What a key in the pane asks the app to do.
#[derive(Debug, PartialEq)]
pub enum PaneOutcome {
    Nothing,
    /// Fetch the facets of this field under the draft.
    NeedFacets(FacetField),
    /// Apply the draft now and keep the pane open.
    Apply,
    /// Apply the draft and close.
    ApplyClose,
    Cancel,
}

/// The facets loaded for a list field: values, or why they are missing.
#[derive(Debug, Clone)]
pub enum FacetState {
    Loading,
    /// The values, most frequent first; `estimate`: their counts are the server's estimates.
    Loaded {
        values: Vec<FacetValue>,
        estimate: bool,
    },
    Failed(String),
}

/// The open filter pane.
pub struct FilterPane {
    pub field: usize,
    pub draft: Query,
    pub facets: Vec<Option<FacetState>>,
    pub typed: TextArea<'static>,
    pub list_cursor: usize,
    pub from: TextArea<'static>,
    pub to: TextArea<'static>,
    pub search: TextArea<'static>,
    pub error: Option<String>,
}

fn selected_values(q: &Query, f: FacetField) -> Vec<String> {
    match f {
        FacetField::Action => q.actions.clone(),
        FacetField::Actor => q.actors.clone(),
        FacetField::TargetType => q.target_types.clone(),
        FacetField::Channel => q.channels.clone(),
        FacetField::Kind => q.kinds.iter().map(|k| k.to_string()).collect(),
        FacetField::Outcome => q.outcomes.iter().map(|o| o.to_string()).collect(),
    }
}

fn bound_text(b: &Option<TimeBound>) -> String {
    // A bound formats as its query term; keep only the value part for the input.
    let q = Query {
        to: b.clone(),
        ..Query::default()
    };
    let s = q.to_string();
    s.split_once(':')
        .map(|(_, v)| v.to_string())
        .unwrap_or_default()
}

impl FilterPane {
    /// A pane editing `query`, focused on `field`.
    pub fn new(query: &Query, field: usize) -> FilterPane {
        let from_q = Query {
            from: query.from.clone(),
            ..Query::default()
        };
        let from_text = from_q
            .to_string()
            .split_once(':')
            .map(|(_, v)| v.to_string())
            .unwrap_or_default();
        FilterPane {
            field: field.min(FIELDS.len() - 1),
            draft: query.clone(),
            facets: vec![None; FIELDS.len()],
            typed: input::new(""),
            list_cursor: 0,
            from: input::new(&from_text),
            to: input::new(&bound_text(&query.to)),
            search: input::new(&query.text.join(" ")),
            error: None,
        }
    }

    /// The focused field.
    pub fn current(&self) -> Field {
        FIELDS[self.field].1
    }

    /// Whether a value is selected in the draft.
    pub fn is_selected(&self, f: FacetField, value: &str) -> bool {
        selected_values(&self.draft, f).iter().any(|v| v == value)
    }

    /// Whether the focused list's counts are estimates.
    pub fn estimated(&self) -> bool {
        matches!(
            &self.facets[self.field],
            Some(FacetState::Loaded { estimate: true, .. })
        )
    }

    /// The focused list's values after type-to-filter, with the selected ones always kept.
    pub fn visible_values(&self) -> Vec<FacetValue> {
        let Field::List(f) = self.current() else {
            return Vec::new();
        };
        let needle = input::text(&self.typed).to_lowercase();
        let mut out: Vec<FacetValue> = match &self.facets[self.field] {
            Some(FacetState::Loaded { values, .. }) => values.clone(),
            _ => Vec::new(),
        };
        // Selected values the server did not list (e.g. typed in the query bar) still show.
        for s in selected_values(&self.draft, f) {
            if !out.iter().any(|v| v.value == s) {
                out.push(FacetValue {
                    value: s,
                    count: 0,
                    label: None,
                });
            }
        }
        out.retain(|v| {
            needle.is_empty()
                || v.value.to_lowercase().contains(&needle)
                || v.label
                    .as_deref()
                    .is_some_and(|l| l.to_lowercase().contains(&needle))
        });
        out
    }

    /// Records facets that arrived for `field`.
    pub fn set_facets(&mut self, field: FacetField, state: FacetState) {
        if let Some(i) = FIELDS.iter().position(|(_, f)| *f == Field::List(field)) {
            self.facets[i] = Some(state);
        }
    }

    fn focus(&mut self, i: usize) -> PaneOutcome {
        self.field = i % FIELDS.len();
        self.list_cursor = 0;
        self.typed = input::new("");
        match self.current() {
            Field::List(f) if self.facets[self.field].is_none() => {
                self.facets[self.field] = Some(FacetState::Loading);
                PaneOutcome::NeedFacets(f)
            }
            _ => PaneOutcome::Nothing,
        }
    }

    /// The facets to fetch when the pane opens.
    pub fn open(&mut self) -> PaneOutcome {
        self.focus(self.field)
    }

    fn toggle(&mut self, f: FacetField, value: &str) {
        let toggle = |v: &mut Vec<String>| {
            if let Some(i) = v.iter().position(|x| x == value) {
                v.remove(i);
            } else {
                v.push(value.to_string());
            }
        };
        let q = &mut self.draft;
        match f {
            FacetField::Action => toggle(&mut q.actions),
            FacetField::Actor => toggle(&mut q.actors),
            FacetField::TargetType => toggle(&mut q.target_types),
            FacetField::Channel => toggle(&mut q.channels),
            FacetField::Kind => {
                if let Some(k) = Kind::parse(value) {
                    match q.kinds.iter().position(|x| *x == k) {
                        Some(i) => {
                            q.kinds.remove(i);
                        }
                        None => q.kinds.push(k),
                    }
                }
            }
            FacetField::Outcome => {
                if let Some(o) = Outcome::parse(value) {
                    match q.outcomes.iter().position(|x| *x == o) {
                        Some(i) => {
                            q.outcomes.remove(i);
                        }
                        None => q.outcomes.push(o),
                    }
                }
            }
        }
        // The other lists count under the new draft now.
        for (i, (_, fld)) in FIELDS.iter().enumerate() {
            if *fld != Field::List(f) {
                self.facets[i] = None;
            }
        }
    }

    /// Reads From, To and Search into the draft; an unreadable time is an error in place.
    pub fn commit_text(&mut self) -> bool {
        let parse = |t: &TextArea<'static>, name: &str| -> Result<Option<TimeBound>, String> {
            let s = input::text(t);
            if s.trim().is_empty() {
                return Ok(None);
            }
            TimeBound::parse(&s).map(Some).ok_or_else(|| {
                format!("{name}: `{s}` is not a time; try 2026-11-01, 2026-11-01T08:00Z, 7d, 2h, yesterday, today")
            })
        };
        let from = parse(&self.from, "From");
        let to = parse(&self.to, "To");
        match (from, to) {
            (Ok(f), Ok(t)) => {
                self.draft.from = f;
                self.draft.to = t;
                search_into(&mut self.draft, &input::text(&self.search));
                self.error = None;
                true
            }
            (Err(e), _) | (_, Err(e)) => {
                self.error = Some(e);
                false
            }
        }
    }

    /// Handles one key.
    pub fn key(&mut self, key: KeyEvent) -> PaneOutcome {
        match key.code {
            KeyCode::Esc => return PaneOutcome::Cancel,
            KeyCode::Enter => {
                return if self.commit_text() {
                    PaneOutcome::ApplyClose
                } else {
                    PaneOutcome::Nothing
                };
            }
            KeyCode::Tab => return self.focus(self.field + 1),
            KeyCode::BackTab => return self.focus(self.field + FIELDS.len() - 1),
            _ => {}
        }
        match self.current() {
            Field::List(f) => {
                let n = self.visible_values().len();
                match key.code {
                    KeyCode::Down => {
                        self.list_cursor = (self.list_cursor + 1).min(n.saturating_sub(1))
                    }
                    KeyCode::Up => self.list_cursor = self.list_cursor.saturating_sub(1),
                    KeyCode::PageDown => {
                        self.list_cursor = (self.list_cursor + 10).min(n.saturating_sub(1))
                    }
                    KeyCode::PageUp => self.list_cursor = self.list_cursor.saturating_sub(10),
                    KeyCode::Char(' ') => {
                        if let Some(v) = self.visible_values().get(self.list_cursor) {
                            let value = v.value.clone();
                            self.toggle(f, &value);
                            return PaneOutcome::Apply;
                        }
                    }
                    _ => {
                        if input::edit(&mut self.typed, key) == Edit::Changed {
                            self.list_cursor = 0;
                        }
                    }
                }
            }
            Field::From | Field::To | Field::Search => match key.code {
                KeyCode::Down => return self.focus(self.field + 1),
                KeyCode::Up => return self.focus(self.field + FIELDS.len() - 1),
                _ => {
                    let t = match self.current() {
                        Field::From => &mut self.from,
                        Field::To => &mut self.to,
                        _ => &mut self.search,
                    };
                    input::edit(t, key);
                }
            },
        }
        PaneOutcome::Nothing
    }
}

/// What Search (`/`, or the pane's field) puts into a filter: its text as a substring, or, written
/// in the query language, the fields it names.
pub fn search_into(query: &mut Query, search: &str) {
    let s = search.trim();
    match as_query(s) {
        Some(q) => merge(query, q),
        None if s.is_empty() => query.text = Vec::new(),
        None => query.text = vec![s.to_string()],
    }
}

/// Search text written in the query language (`channel:auth outcome:failure`): what a user
/// who types field terms into Search means, rather than a substring with colons in it. Only
/// when the whole text parses and names at least one field; anything else (`09:00`, a URL,
/// `"channel:auth"` quoted) stays a substring.
fn as_query(s: &str) -> Option<Query> {
    let q: Query = s.parse().ok()?;
    let words_only = Query {
        text: q.text.clone(),
        ..Query::default()
    };
    (q != words_only).then_some(q)
}

/// The fields `q` names replace the draft's; its words become the search.
fn merge(draft: &mut Query, q: Query) {
    let Query {
        actions,
        actors,
        targets,
        target_types,
        channels,
        kinds,
        outcomes,
        ips,
        ids,
        text,
        from,
        to,
        around,
        exclude,
    } = q;
    fn take<T>(into: &mut Vec<T>, v: Vec<T>) {
        if !v.is_empty() {
            *into = v;
        }
    }
    take(&mut draft.actions, actions);
    take(&mut draft.actors, actors);
    take(&mut draft.targets, targets);
    take(&mut draft.target_types, target_types);
    take(&mut draft.channels, channels);
    take(&mut draft.kinds, kinds);
    take(&mut draft.outcomes, outcomes);
    take(&mut draft.ips, ips);
    take(&mut draft.ids, ids);
    draft.text = text;
    draft.from = from.or(draft.from.take());
    draft.to = to.or(draft.to.take());
    draft.around = around.or(draft.around.take());
    if exclude != crate::model::Exclude::default() {
        draft.exclude = exclude;
    }
}
