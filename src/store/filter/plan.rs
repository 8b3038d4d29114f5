//! A [`Query`] as what a row must meet, in no database's words: the filter's AST. Both stores
//! compile the same plan (see [`super::Filter`]), so a filter means one thing everywhere.

use crate::model::Query;
use chrono::{DateTime, Utc};
use std::collections::HashMap;

/// A column a filter reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Column {
    Id,
    Action,
    ActorId,
    ActorEmail,
    ActorName,
    ActorIp,
    TargetId,
    TargetType,
    Channel,
    Kind,
    Outcome,
}

impl Column {
    /// The column's name in both schemas.
    pub fn name(self) -> &'static str {
        match self {
            Column::Id => "id",
            Column::Action => "action",
            Column::ActorId => "actor_id",
            Column::ActorEmail => "actor_email",
            Column::ActorName => "actor_name",
            Column::ActorIp => "actor_ip",
            Column::TargetId => "target_id",
            Column::TargetType => "target_type",
            Column::Channel => "channel",
            Column::Kind => "kind",
            Column::Outcome => "outcome",
        }
    }
}

/// One way a value can match a row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Atom {
    /// The column holds exactly this.
    Eq(Column, String),
    /// The column holds this in any case.
    EqNoCase(Column, String),
    /// `target_type/target_id`.
    Target { kind: String, id: String },
    /// Every row (`action:*`).
    Any,
}

impl Atom {
    /// Whether the rollups keep what this atom tests ([`crate::store::rollup`]).
    pub fn in_rollups(&self) -> bool {
        match self {
            Atom::Eq(col, _) => matches!(
                col,
                Column::Action
                    | Column::Channel
                    | Column::Kind
                    | Column::Outcome
                    | Column::TargetType
            ),
            Atom::Any => true,
            Atom::EqNoCase(..) | Atom::Target { .. } => false,
        }
    }
}

/// The AST of a filter: every `include` group met (each an OR of its atoms), no `exclude`
/// group's atom met, every text term a substring (ignoring case), inside the time range.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    /// One group per filtered field. An empty group matches nothing (an action prefix that no
    /// action has).
    pub include: Vec<Vec<Atom>>,
    /// One group per field with excluded values; an empty one excludes nothing.
    pub exclude: Vec<Vec<Atom>>,
    /// Lowercased search terms.
    pub text: Vec<String>,
    /// Inclusive bounds on `occurred_at`, in ms.
    pub from: Option<i64>,
    pub to: Option<i64>,
}

/// The tenant's known actions under each `action:prefix*` of a query (what a store looks up
/// before it plans: see [`action_prefixes`]).
pub type KnownActions = HashMap<String, Vec<String>>;

/// The prefixes of the query's `action:prefix*` terms (included and excluded), which a store
/// expands to the tenant's known actions so that each is an index range.
pub fn action_prefixes(query: &Query) -> Vec<String> {
    let mut out: Vec<String> = query
        .actions
        .iter()
        .chain(&query.exclude.actions)
        .filter_map(|a| a.strip_suffix('*'))
        .filter(|p| !p.is_empty())
        .map(str::to_string)
        .collect();
    out.sort();
    out.dedup();
    out
}

/// How a field's values become atoms.
#[derive(Debug, Clone, Copy)]
enum Field {
    /// Exact actions; `prefix*` expands to the tenant's known actions.
    Action,
    /// By id, email (with an `@`) or name, the last two in any case.
    Actor,
    /// `type/id` or a bare id.
    Target,
    /// One column, exactly.
    Exact(Column),
}

fn atoms(field: Field, values: &[String], known: &KnownActions) -> Vec<Atom> {
    let mut atoms = Vec::new();
    for v in values {
        match field {
            Field::Action => match v.strip_suffix('*') {
                Some("") => return vec![Atom::Any],
                Some(prefix) => atoms.extend(
                    known
                        .get(prefix)
                        .into_iter()
                        .flatten()
                        .map(|a| Atom::Eq(Column::Action, a.clone())),
                ),
                None => atoms.push(Atom::Eq(Column::Action, v.clone())),
            },
            Field::Actor => {
                atoms.push(Atom::Eq(Column::ActorId, v.clone()));
                if v.contains('@') {
                    atoms.push(Atom::EqNoCase(Column::ActorEmail, v.clone()));
                }
                atoms.push(Atom::EqNoCase(Column::ActorName, v.clone()));
            }
            Field::Target => {
                if let Some((kind, id)) = v.split_once('/') {
                    atoms.push(Atom::Target {
                        kind: kind.to_string(),
                        id: id.to_string(),
                    });
                }
                atoms.push(Atom::Eq(Column::TargetId, v.clone()));
            }
            Field::Exact(col) => atoms.push(Atom::Eq(col, v.clone())),
        }
    }
    atoms
}

impl Plan {
    /// The plan of `query` at `now` (relative times resolve against it), with `action:prefix*`
    /// expanded to `known` (a prefix missing from it has no actions).
    pub fn new(query: &Query, now: DateTime<Utc>, known: &KnownActions) -> Plan {
        let x = &query.exclude;
        let kinds = |v: &[crate::model::Kind]| -> Vec<String> {
            v.iter().map(|k| k.as_str().to_string()).collect()
        };
        let outcomes = |v: &[crate::model::Outcome]| -> Vec<String> {
            v.iter().map(|o| o.as_str().to_string()).collect()
        };
        let fields: [(Field, &[String], &[String]); 9] = [
            (Field::Action, &query.actions, &x.actions),
            (Field::Actor, &query.actors, &x.actors),
            (Field::Target, &query.targets, &x.targets),
            (
                Field::Exact(Column::TargetType),
                &query.target_types,
                &x.target_types,
            ),
            (Field::Exact(Column::Channel), &query.channels, &x.channels),
            (
                Field::Exact(Column::Kind),
                &kinds(&query.kinds),
                &kinds(&x.kinds),
            ),
            (
                Field::Exact(Column::Outcome),
                &outcomes(&query.outcomes),
                &outcomes(&x.outcomes),
            ),
            (Field::Exact(Column::ActorIp), &query.ips, &x.ips),
            (Field::Exact(Column::Id), &query.ids, &[]),
        ];
        let mut include = Vec::new();
        let mut exclude = Vec::new();
        for (field, inc, exc) in fields {
            if !inc.is_empty() {
                include.push(atoms(field, inc, known));
            }
            if !exc.is_empty() {
                let out = atoms(field, exc, known);
                if !out.is_empty() {
                    exclude.push(out);
                }
            }
        }
        let (from, to) = query.range_millis(now);
        Plan {
            include,
            exclude,
            text: query.text.iter().map(|t| t.to_lowercase()).collect(),
            from,
            to,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan(filter: &str, known: &[(&str, &[&str])]) -> Plan {
        let known = known
            .iter()
            .map(|(p, a)| (p.to_string(), a.iter().map(|s| s.to_string()).collect()))
            .collect();
        Plan::new(&filter.parse().unwrap(), Utc::now(), &known)
    }

    #[test]
    fn an_actor_is_an_id_an_email_or_a_name() {
        let p = plan("actor:ana@example.com", &[]);
        assert_eq!(
            p.include,
            vec![vec![
                Atom::Eq(Column::ActorId, "ana@example.com".into()),
                Atom::EqNoCase(Column::ActorEmail, "ana@example.com".into()),
                Atom::EqNoCase(Column::ActorName, "ana@example.com".into()),
            ]]
        );
    }

    #[test]
    fn prefixes_expand_to_known_actions_and_an_unknown_one_matches_nothing() {
        let p = plan(
            "action:user.* -action:rule.*",
            &[("user.", &["user.login"])],
        );
        assert_eq!(
            p.include,
            vec![vec![Atom::Eq(Column::Action, "user.login".into())]]
        );
        // An excluded prefix with no actions excludes nothing.
        assert!(p.exclude.is_empty());
        assert_eq!(plan("action:rule.*", &[]).include, vec![Vec::<Atom>::new()]);
        assert_eq!(plan("action:*", &[]).include, vec![vec![Atom::Any]]);
        let q: Query = "action:user.* -action:rule.* action:user.*"
            .parse()
            .unwrap();
        assert_eq!(action_prefixes(&q), vec!["rule.", "user."]);
    }

    #[test]
    fn a_target_is_a_pair_or_a_bare_id_and_text_is_lowercased() {
        let p = plan("target:printer/p-1 Printer", &[]);
        assert_eq!(
            p.include,
            vec![vec![
                Atom::Target {
                    kind: "printer".into(),
                    id: "p-1".into()
                },
                Atom::Eq(Column::TargetId, "printer/p-1".into()),
            ]]
        );
        assert_eq!(p.text, vec!["printer"]);
    }
}
