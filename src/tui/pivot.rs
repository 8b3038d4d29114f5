//! Pivots (`=` / `-`, TUI.md "Investigating fast"): filter on, or exclude, one of the selected
//! entry's values, or the value under the cursor in the detail pane, without typing a query.

use crate::model::{Entry, Kind, Outcome, Query};
use serde_json::Value;

/// A field a pivot filters on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Field {
    Action,
    Actor,
    Target,
    Channel,
    Kind,
    Outcome,
    Ip,
}

impl Field {
    /// The menu's letter for the field.
    pub fn letter(self) -> char {
        match self {
            Field::Action => 'a',
            Field::Actor => 'u',
            Field::Target => 't',
            Field::Channel => 'c',
            Field::Kind => 'k',
            Field::Outcome => 'o',
            Field::Ip => 'i',
        }
    }

    /// The menu's word for the field.
    pub fn label(self) -> &'static str {
        match self {
            Field::Action => "action",
            Field::Actor => "user",
            Field::Target => "target",
            Field::Channel => "channel",
            Field::Kind => "event",
            Field::Outcome => "outcome",
            Field::Ip => "IP",
        }
    }
}

/// One term a pivot adds: a field's value, or (from the detail pane) a text to search for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Term {
    Field(Field, String),
    Text(String),
}

/// One line of the pivot menu: the letter, the term, and how the value shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Choice {
    pub letter: char,
    pub term: Term,
    /// What the user recognises (the actor's name rather than the id the term uses).
    pub shown: String,
}

/// The open menu: filter on (`exclude` false) or exclude one of the row's values.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PivotMenu {
    pub exclude: bool,
    pub choices: Vec<Choice>,
}

impl PivotMenu {
    /// The menu for an entry: every field it has a value for.
    pub fn for_entry(e: &Entry, exclude: bool) -> PivotMenu {
        let mut choices = Vec::new();
        let mut add = |field: Field, value: Option<String>, shown: Option<String>| {
            if let Some(v) = value.filter(|v| !v.is_empty()) {
                choices.push(Choice {
                    letter: field.letter(),
                    shown: shown.unwrap_or_else(|| v.clone()),
                    term: Term::Field(field, v),
                });
            }
        };
        add(Field::Action, Some(e.action.clone()), None);
        let who = e
            .actor
            .id
            .clone()
            .or_else(|| e.actor.email.clone())
            .or_else(|| e.actor.name.clone());
        let shown = e.actor.label().map(|l| match e.actor.id.as_deref() {
            Some(id) if id != l => format!("{l} ({id})"),
            _ => l.to_string(),
        });
        add(Field::Actor, who, shown);
        add(Field::Target, e.target_ref(), None);
        add(Field::Channel, Some(e.channel.clone()), None);
        add(Field::Kind, Some(e.kind.as_str().to_string()), None);
        add(Field::Outcome, Some(e.outcome.as_str().to_string()), None);
        add(Field::Ip, e.actor.ip.clone(), None);
        PivotMenu { exclude, choices }
    }

    /// The choice a key picks.
    pub fn pick(&self, key: char) -> Option<&Choice> {
        self.choices.iter().find(|c| c.letter == key)
    }
}

/// The term for the JSON node at `path` (`/actor/ip`) with `value`: a known field becomes its
/// term, any other scalar a text search for it. `None` for a container or a null.
pub fn term_for_node(path: &str, value: &Value, entry: &Entry) -> Option<Term> {
    let text = match value {
        Value::String(s) => s.clone(),
        Value::Number(n) => n.to_string(),
        Value::Bool(b) => b.to_string(),
        _ => return None,
    };
    let field = match path {
        "/action" => Some(Field::Action),
        "/actor/id" | "/actor/email" | "/actor/name" => Some(Field::Actor),
        "/actor/ip" => Some(Field::Ip),
        "/channel" => Some(Field::Channel),
        "/kind" => Some(Field::Kind),
        "/outcome" => Some(Field::Outcome),
        // A target is `type/id`: the id alone could name another type's target.
        "/target/id" | "/target/type" => {
            return entry.target_ref().map(|t| Term::Field(Field::Target, t));
        }
        _ => None,
    };
    Some(match field {
        Some(f) => Term::Field(f, text),
        None => Term::Text(text),
    })
}

/// `q` with `term` applied: included, the field is narrowed to that one value (a pivot goes to
/// the value, it does not widen an OR); excluded, the value joins the field's exclusions. Text
/// can only be searched for, not excluded: `None` then.
pub fn apply(q: &Query, term: &Term, exclude: bool) -> Option<Query> {
    let mut q = q.clone();
    let one = |list: &mut Vec<String>, v: &str| {
        list.retain(|x| x != v);
        if exclude {
            list.push(v.to_string());
        } else {
            list.clear();
            list.push(v.to_string());
        }
    };
    match term {
        Term::Text(t) => {
            if exclude {
                return None;
            }
            if !q.text.contains(t) {
                q.text.push(t.clone());
            }
        }
        Term::Field(field, v) => {
            let x = &mut q.exclude;
            match (field, exclude) {
                (Field::Action, false) => one(&mut q.actions, v),
                (Field::Action, true) => one(&mut x.actions, v),
                (Field::Actor, false) => one(&mut q.actors, v),
                (Field::Actor, true) => one(&mut x.actors, v),
                (Field::Target, false) => one(&mut q.targets, v),
                (Field::Target, true) => one(&mut x.targets, v),
                (Field::Channel, false) => one(&mut q.channels, v),
                (Field::Channel, true) => one(&mut x.channels, v),
                (Field::Ip, false) => one(&mut q.ips, v),
                (Field::Ip, true) => one(&mut x.ips, v),
                (Field::Kind, _) => {
                    let k = Kind::parse(v)?;
                    let list = if exclude { &mut x.kinds } else { &mut q.kinds };
                    list.retain(|o| *o != k);
                    if !exclude {
                        list.clear();
                    }
                    list.push(k);
                }
                (Field::Outcome, _) => {
                    let o = Outcome::parse(v)?;
                    let list = if exclude {
                        &mut x.outcomes
                    } else {
                        &mut q.outcomes
                    };
                    list.retain(|x| *x != o);
                    if !exclude {
                        list.clear();
                    }
                    list.push(o);
                }
            }
        }
    }
    Some(q)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pivot_narrows_and_an_exclusion_adds() {
        let q: Query = "channel:auth,admin since:7d".parse().unwrap();
        let t = Term::Field(Field::Channel, "auth".into());
        assert_eq!(
            apply(&q, &t, false).unwrap().to_string(),
            "channel:auth since:7d"
        );
        assert_eq!(
            apply(&q, &t, true).unwrap().to_string(),
            "channel:auth channel:admin -channel:auth since:7d"
        );
        let ip = Term::Field(Field::Ip, "198.51.100.77".into());
        assert_eq!(
            apply(&Query::default(), &ip, false).unwrap().to_string(),
            "ip:198.51.100.77"
        );
        assert!(apply(&q, &Term::Text("x".into()), true).is_none());
    }
}
