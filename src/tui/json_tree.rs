//! A JSON value as flattened rows with per-node folding, jless style.

use serde_json::Value;
use std::collections::HashSet;

/// A JSON string as the panes show it: in quotes, `"` and `\` escaped as JSON does, and every
/// control or bidi character in the one form every view uses (`\x1b`, `\u{202e}`, by
/// [`crate::text::inert`]), rather than JSON's own `\u001b`.
pub fn quoted(s: &str) -> String {
    let escaped = s.replace('\\', "\\\\").replace('"', "\\\"");
    format!("\"{}\"", crate::text::inert(&escaped))
}

/// A scalar as the panes show it: strings by [`quoted`], the rest as JSON writes them.
pub fn scalar_text(v: &Value) -> String {
    match v {
        Value::String(s) => quoted(s),
        other => other.to_string(),
    }
}

/// What one row of the tree shows.
#[derive(Debug, Clone, PartialEq)]
pub enum RowKind {
    /// `key: {` or `[` opening an unfolded container.
    Open { bracket: char },
    /// A folded container: `key: {…} 3 keys`.
    Folded { bracket: char, len: usize },
    /// The closing bracket of an unfolded container.
    Close { bracket: char },
    /// A scalar value.
    Scalar(Value),
}

/// One visible row.
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    pub depth: usize,
    /// The object key or array index leading the row, if any.
    pub key: Option<String>,
    pub kind: RowKind,
    /// The node's path (`/details/after`), the identity folding is keyed by.
    pub path: String,
    /// Whether a comma follows (not the last member).
    pub comma: bool,
}

/// The tree and which containers are folded.
#[derive(Debug, Clone)]
pub struct JsonTree {
    value: Value,
    folded: HashSet<String>,
    rows: Vec<Row>,
}

fn is_container(v: &Value) -> bool {
    matches!(v, Value::Object(_) | Value::Array(_))
}

impl JsonTree {
    /// A tree with everything unfolded.
    pub fn new(value: Value) -> JsonTree {
        let mut t = JsonTree {
            value,
            folded: HashSet::new(),
            rows: Vec::new(),
        };
        t.rebuild();
        t
    }

    /// A tree with the same containers folded as `other` (those it has).
    pub fn with_folds_of(value: Value, other: &JsonTree) -> JsonTree {
        let mut t = JsonTree {
            value,
            folded: other.folded.clone(),
            rows: Vec::new(),
        };
        t.rebuild();
        t
    }

    /// The visible rows.
    pub fn rows(&self) -> &[Row] {
        &self.rows
    }

    /// The value the tree shows.
    pub fn value(&self) -> &Value {
        &self.value
    }

    fn rebuild(&mut self) {
        let mut rows = Vec::new();
        flatten(
            &self.value,
            None,
            0,
            String::new(),
            false,
            &self.folded,
            &mut rows,
        );
        self.rows = rows;
    }

    /// The container a row belongs to for folding: itself, or the closing row's opener.
    fn container_at(&self, row: usize) -> Option<String> {
        let r = self.rows.get(row)?;
        match r.kind {
            RowKind::Scalar(_) => None,
            _ => Some(r.path.clone()),
        }
    }

    /// Folds or unfolds the container at `row`; returns the row the cursor should move to.
    pub fn set_folded(&mut self, row: usize, fold: bool) -> usize {
        let Some(path) = self.container_at(row).or_else(|| self.parent_path(row)) else {
            return row;
        };
        if path.is_empty() && fold {
            return row; // the root stays open: a folded root shows nothing useful
        }
        if fold {
            self.folded.insert(path.clone());
        } else {
            self.folded.remove(&path);
        }
        self.rebuild();
        self.rows
            .iter()
            .position(|r| r.path == path)
            .unwrap_or(row.min(self.rows.len().saturating_sub(1)))
    }

    fn parent_path(&self, row: usize) -> Option<String> {
        let r = self.rows.get(row)?;
        r.path.rfind('/').map(|i| r.path[..i].to_string())
    }

    /// Toggles the fold of the container at `row`.
    pub fn toggle(&mut self, row: usize) -> usize {
        match self.rows.get(row).map(|r| &r.kind) {
            Some(RowKind::Folded { .. }) => self.set_folded(row, false),
            Some(RowKind::Open { .. }) | Some(RowKind::Close { .. }) => self.set_folded(row, true),
            _ => row,
        }
    }

    /// Folds every container below the root.
    pub fn fold_all(&mut self) {
        let mut paths = Vec::new();
        collect_containers(&self.value, String::new(), &mut paths);
        self.folded = paths.into_iter().filter(|p| !p.is_empty()).collect();
        self.rebuild();
    }

    /// Unfolds everything.
    pub fn unfold_all(&mut self) {
        self.folded.clear();
        self.rebuild();
    }
}

fn collect_containers(v: &Value, path: String, out: &mut Vec<String>) {
    match v {
        Value::Object(m) => {
            for (k, c) in m {
                collect_containers(c, format!("{path}/{k}"), out);
            }
            out.push(path);
        }
        Value::Array(a) => {
            for (i, c) in a.iter().enumerate() {
                collect_containers(c, format!("{path}/{i}"), out);
            }
            out.push(path);
        }
        _ => {}
    }
}

fn flatten(
    v: &Value,
    key: Option<String>,
    depth: usize,
    path: String,
    comma: bool,
    folded: &HashSet<String>,
    out: &mut Vec<Row>,
) {
    let (bracket, close, len) = match v {
        Value::Object(m) => ('{', '}', m.len()),
        Value::Array(a) => ('[', ']', a.len()),
        scalar => {
            out.push(Row {
                depth,
                key,
                kind: RowKind::Scalar(scalar.clone()),
                path,
                comma,
            });
            return;
        }
    };
    if folded.contains(&path) || len == 0 {
        out.push(Row {
            depth,
            key,
            kind: RowKind::Folded { bracket, len },
            path,
            comma,
        });
        return;
    }
    out.push(Row {
        depth,
        key,
        kind: RowKind::Open { bracket },
        path: path.clone(),
        comma: false,
    });
    match v {
        Value::Object(m) => {
            for (i, (k, c)) in m.iter().enumerate() {
                let p = format!("{path}/{k}");
                flatten(c, Some(k.clone()), depth + 1, p, i + 1 < len, folded, out);
            }
        }
        Value::Array(a) => {
            for (i, c) in a.iter().enumerate() {
                let p = format!("{path}/{i}");
                flatten(c, None, depth + 1, p, i + 1 < len, folded, out);
            }
        }
        _ => {}
    }
    out.push(Row {
        depth,
        key: None,
        kind: RowKind::Close { bracket: close },
        path,
        comma,
    });
}

/// Whether a value is a container (for callers choosing between tree and scalar views).
pub fn container(v: &Value) -> bool {
    is_container(v)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn folds_and_unfolds() {
        let mut t = JsonTree::new(json!({"a": 1, "b": {"c": [1, 2]}}));
        assert_eq!(t.rows().len(), 9);
        let b = t.rows().iter().position(|r| r.path == "/b").unwrap();
        let at = t.toggle(b);
        assert_eq!(at, b);
        assert_eq!(t.rows().len(), 4);
        t.unfold_all();
        assert_eq!(t.rows().len(), 9);
        t.fold_all();
        assert_eq!(t.rows().len(), 4);
        assert!(container(t.value()));
    }
}
