//! What changed between `details.before` and `details.after`, leaf by leaf.

use serde_json::Value;

/// One line of the diff.
#[derive(Debug, Clone, PartialEq)]
pub enum DiffLine {
    Same { path: String, value: String },
    Removed { path: String, value: String },
    Added { path: String, value: String },
}

/// The before/after pair of an entry's details, when it has both.
pub fn before_after(details: Option<&Value>) -> Option<(&Value, &Value)> {
    let d = details?.as_object()?;
    Some((d.get("before")?, d.get("after")?))
}

fn leaves(v: &Value, path: String, out: &mut Vec<(String, String)>) {
    match v {
        Value::Object(m) if !m.is_empty() => {
            for (k, c) in m {
                let p = if path.is_empty() {
                    k.clone()
                } else {
                    format!("{path}.{k}")
                };
                leaves(c, p, out);
            }
        }
        Value::Array(a) if !a.is_empty() => {
            for (i, c) in a.iter().enumerate() {
                leaves(c, format!("{path}[{i}]"), out);
            }
        }
        // A side that is null as a whole (`before` of something created, `after` of something
        // deleted) has no leaves: everything shows as added, or removed.
        Value::Null if path.is_empty() => {}
        other => out.push((path, crate::tui::json_tree::scalar_text(other))),
    }
}

/// The diff of two values as lines: unchanged, removed (old value), added (new value).
pub fn diff(before: &Value, after: &Value) -> Vec<DiffLine> {
    let (mut b, mut a) = (Vec::new(), Vec::new());
    leaves(before, String::new(), &mut b);
    leaves(after, String::new(), &mut a);
    let mut out = Vec::new();
    for (path, old) in &b {
        match a.iter().find(|(p, _)| p == path) {
            Some((_, new)) if new == old => out.push(DiffLine::Same {
                path: path.clone(),
                value: old.clone(),
            }),
            Some((_, new)) => {
                out.push(DiffLine::Removed {
                    path: path.clone(),
                    value: old.clone(),
                });
                out.push(DiffLine::Added {
                    path: path.clone(),
                    value: new.clone(),
                });
            }
            None => out.push(DiffLine::Removed {
                path: path.clone(),
                value: old.clone(),
            }),
        }
    }
    for (path, new) in &a {
        if !b.iter().any(|(p, _)| p == path) {
            out.push(DiffLine::Added {
                path: path.clone(),
                value: new.clone(),
            });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_created_object_is_all_added_with_no_null_removed() {
        let d = super::diff(
            &serde_json::Value::Null,
            &serde_json::json!({"name": "x", "on": true}),
        );
        assert_eq!(d.len(), 2);
        assert!(
            d.iter()
                .all(|l| matches!(l, super::DiffLine::Added { path, .. } if !path.is_empty()))
        );
    }

    use super::*;
    use serde_json::json;

    #[test]
    fn shows_changes() {
        let d = json!({"before": {"url": "a", "n": 1, "gone": true}, "after": {"url": "b", "n": 1, "new": [1]}});
        let (b, a) = before_after(Some(&d)).unwrap();
        let lines = diff(b, a);
        assert!(lines.contains(&DiffLine::Removed {
            path: "url".into(),
            value: "\"a\"".into()
        }));
        assert!(lines.contains(&DiffLine::Added {
            path: "url".into(),
            value: "\"b\"".into()
        }));
        assert!(lines.contains(&DiffLine::Same {
            path: "n".into(),
            value: "1".into()
        }));
        assert!(lines.contains(&DiffLine::Removed {
            path: "gone".into(),
            value: "true".into()
        }));
        assert!(lines.contains(&DiffLine::Added {
            path: "new[0]".into(),
            value: "1".into()
        }));
        assert!(before_after(Some(&json!({"before": 1}))).is_none());
    }
}
