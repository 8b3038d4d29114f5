//! OR-ing many conditions without a deep expression.

/// `parts` joined with OR as a balanced tree, in their order (so bound parameters keep theirs).
/// SQLite refuses an expression more than 1,000 deep, and a chain of n ORs is n deep: an
/// `action:prefix*` that expands to a thousand actions, or a thousand marked ids, must still run.
pub(super) fn any_of(parts: &[&str]) -> String {
    match parts {
        [] => String::from("false"),
        [one] => (*one).to_string(),
        _ => {
            let (left, right) = parts.split_at(parts.len() / 2);
            format!("({} OR {})", any_of(left), any_of(right))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::any_of;

    #[test]
    fn keeps_the_order_and_stays_shallow() {
        assert_eq!(any_of(&["a"]), "a");
        assert_eq!(any_of(&["a", "b", "c"]), "(a OR (b OR c))");
        let many: Vec<String> = (0..4096).map(|i| format!("x = {i}")).collect();
        let refs: Vec<&str> = many.iter().map(String::as_str).collect();
        let sql = any_of(&refs);
        let (mut depth, mut deepest) = (0i32, 0i32);
        for c in sql.chars() {
            depth += i32::from(c == '(') - i32::from(c == ')');
            deepest = deepest.max(depth);
        }
        assert!(deepest <= 13, "{deepest}");
        let order: Vec<&str> = sql
            .split(" OR ")
            .map(|p| p.trim_matches(|c| c == '(' || c == ')'))
            .collect();
        assert_eq!(order, refs);
    }
}
