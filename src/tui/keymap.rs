//! Keys to commands; every binding can be changed under `[keys]` in the config file.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use std::collections::BTreeMap;

/// What a key asks for; the focused view decides what it means there.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Command {
    Quit,
    Down,
    Up,
    PageDown,
    PageUp,
    HalfDown,
    HalfUp,
    Top,
    Bottom,
    Details,
    Close,
    Search,
    Filters,
    Query,
    Clear,
    CycleTime,
    Refresh,
    Help,
    SaveView,
    Views,
    Zoom,
    Prev,
    Next,
    Copy,
    Fold,
    Unfold,
    FoldToggle,
    FoldAll,
    UnfoldAll,
    Diff,
    Focus,
    Export,
    Evidence,
    ExportHistory,
    Info,
    Follow,
    PivotIn,
    PivotOut,
    Around,
    AroundWide,
    Back,
    Mark,
    Marked,
    MarkRange,
    MarkAll,
    UnmarkAll,
    OpenValue,
}

/// Every command with its config name and what it does, in help order.
pub const COMMANDS: [(Command, &str, &str); 47] = [
    (Command::Down, "down", "move down"),
    (Command::Up, "up", "move up"),
    (Command::PageDown, "page_down", "page down"),
    (Command::PageUp, "page_up", "page up"),
    (Command::HalfDown, "half_down", "half a page down"),
    (Command::HalfUp, "half_up", "half a page up"),
    (Command::Top, "top", "first row"),
    (
        Command::Bottom,
        "bottom",
        "last loaded row (twice: load to the end)",
    ),
    (Command::Details, "details", "open the entry's details"),
    (Command::Close, "close", "close the pane / cancel"),
    (
        Command::PivotIn,
        "pivot",
        "filter on one of this entry's values (a menu)",
    ),
    (
        Command::PivotOut,
        "exclude",
        "exclude one of this entry's values",
    ),
    (
        Command::Around,
        "around",
        "what happened ±15 min around this entry",
    ),
    (Command::AroundWide, "around_wide", "the same, ±2 hours"),
    (Command::Back, "back", "back to the previous filter"),
    (
        Command::Mark,
        "mark",
        "mark / unmark the entry (kept per server)",
    ),
    (
        Command::Marked,
        "marked",
        "only the marked entries (the case)",
    ),
    (
        Command::MarkRange,
        "mark_range",
        "mark the rows from the last m to here (again: unmark)",
    ),
    (
        Command::MarkAll,
        "mark_all",
        "mark every entry the filter matches (up to 1,000)",
    ),
    (
        Command::UnmarkAll,
        "unmark_all",
        "unmark every entry the filter matches",
    ),
    (
        Command::Search,
        "search",
        "search text, or field:value terms",
    ),
    (Command::Filters, "filters", "filter pane"),
    (Command::Query, "query", "edit the filter as a query"),
    (
        Command::Clear,
        "clear",
        "clear every filter (back to the last 7 days)",
    ),
    (
        Command::CycleTime,
        "cycle_time",
        "When: UTC / local / relative",
    ),
    (Command::Refresh, "refresh", "reload"),
    (
        Command::Follow,
        "follow",
        "follow live: new entries stream in at the top",
    ),
    (Command::SaveView, "save_view", "save the filter as a view"),
    (
        Command::Export,
        "export",
        "export the filtered log to a file",
    ),
    (
        Command::Evidence,
        "evidence",
        "make an evidence pack for a period",
    ),
    (
        Command::ExportHistory,
        "export_history",
        "export history: list exports and packs, make one again",
    ),
    (
        Command::Info,
        "info",
        "about this log: retention, last prune, badges",
    ),
    (Command::Views, "views", "list saved views"),
    (Command::Prev, "prev", "previous entry (details open)"),
    (Command::Next, "next", "next entry (details open)"),
    (Command::Zoom, "zoom", "details full screen"),
    (Command::Copy, "copy", "copy the entry's JSON (OSC 52)"),
    (
        Command::OpenValue,
        "open_value",
        "the value under the cursor alone, in a pager (also ⏎ in details)",
    ),
    (Command::FoldToggle, "fold_toggle", "fold / unfold"),
    (Command::Fold, "fold", "fold"),
    (Command::Unfold, "unfold", "unfold"),
    (Command::FoldAll, "fold_all", "fold all"),
    (Command::UnfoldAll, "unfold_all", "unfold all"),
    (Command::Diff, "diff", "JSON / before-after diff"),
    (Command::Focus, "focus", "switch focus table / details"),
    (Command::Help, "help", "this help"),
    (Command::Quit, "quit", "quit"),
];

/// The bindings in force.
#[derive(Debug, Clone)]
pub struct Keymap {
    bindings: Vec<(KeyEvent, Command)>,
}

fn k(code: KeyCode) -> KeyEvent {
    KeyEvent::new(code, KeyModifiers::NONE)
}
fn c(ch: char) -> KeyEvent {
    k(KeyCode::Char(ch))
}
fn ctrl(ch: char) -> KeyEvent {
    KeyEvent::new(KeyCode::Char(ch), KeyModifiers::CONTROL)
}

impl Default for Keymap {
    fn default() -> Keymap {
        use Command::*;
        use KeyCode as K;
        let bindings = vec![
            (c('q'), Quit),
            (ctrl('c'), Quit),
            (c('j'), Down),
            (k(K::Down), Down),
            (c('k'), Up),
            (k(K::Up), Up),
            (k(K::PageDown), PageDown),
            (ctrl('f'), PageDown),
            (k(K::PageUp), PageUp),
            (ctrl('b'), PageUp),
            (ctrl('d'), HalfDown),
            (ctrl('u'), HalfUp),
            (c('g'), Top),
            (k(K::Home), Top),
            (c('G'), Bottom),
            (k(K::End), Bottom),
            (k(K::Enter), Details),
            (k(K::Esc), Close),
            (c('/'), Search),
            (c('f'), Filters),
            (c(':'), Query),
            (c('c'), Clear),
            (c('t'), CycleTime),
            (c('r'), Refresh),
            (c('?'), Help),
            (c('s'), SaveView),
            (c('v'), Views),
            (c('z'), Zoom),
            (c('['), Prev),
            (c('p'), Prev),
            (c(']'), Next),
            (c('n'), Next),
            (c('y'), Copy),
            (c('o'), OpenValue),
            (c(' '), FoldToggle),
            (k(K::Left), Fold),
            (c('h'), Fold),
            (k(K::Right), Unfold),
            (c('l'), Unfold),
            // TUI.md's Details section has `-` fold all; "Investigating fast" gives `-` to
            // exclude (also in the detail pane, on the value under the cursor), so fold all
            // moves to `_` (Shift of the same key).
            (c('_'), FoldAll),
            (c('+'), UnfoldAll),
            (c('d'), Diff),
            (k(K::Tab), Focus),
            (c('e'), Export),
            (c('E'), Evidence),
            (c('H'), ExportHistory),
            (c('i'), Info),
            (c('F'), Follow),
            (c('='), PivotIn),
            (c('-'), PivotOut),
            (c('w'), Around),
            (c('W'), AroundWide),
            (k(K::Backspace), Back),
            (c('m'), Mark),
            (c('\''), Marked),
            (c('M'), MarkRange),
            (c('*'), MarkAll),
            (c('U'), UnmarkAll),
        ];
        Keymap { bindings }
    }
}

/// Normalises a key event so `G` typed as Shift+g matches the binding `G`.
fn normal(key: KeyEvent) -> KeyEvent {
    let mut mods = key.modifiers & (KeyModifiers::CONTROL | KeyModifiers::ALT);
    if let KeyCode::Char(ch) = key.code {
        if mods.contains(KeyModifiers::CONTROL) {
            return KeyEvent::new(KeyCode::Char(ch.to_ascii_lowercase()), mods);
        }
        return KeyEvent::new(KeyCode::Char(ch), mods);
    }
    if key.modifiers.contains(KeyModifiers::SHIFT) && key.code == KeyCode::BackTab {
        mods = KeyModifiers::NONE;
    }
    KeyEvent::new(key.code, mods)
}

/// Parses `q`, `G`, `ctrl-d`, `alt-x`, `enter`, `esc`, `space`, `pgdn`, `f5`, ….
pub fn parse_key(s: &str) -> Option<KeyEvent> {
    let mut mods = KeyModifiers::NONE;
    let mut rest = s;
    loop {
        let lower = rest.to_ascii_lowercase();
        if let Some(r) = lower.strip_prefix("ctrl-").or(lower.strip_prefix("c-")) {
            mods |= KeyModifiers::CONTROL;
            rest = &rest[rest.len() - r.len()..];
        } else if let Some(r) = lower.strip_prefix("alt-").or(lower.strip_prefix("m-")) {
            mods |= KeyModifiers::ALT;
            rest = &rest[rest.len() - r.len()..];
        } else {
            break;
        }
    }
    let mut chars = rest.chars();
    let code = match (chars.next(), chars.next()) {
        (Some(ch), None) => KeyCode::Char(ch),
        _ => match rest.to_ascii_lowercase().as_str() {
            "enter" | "return" => KeyCode::Enter,
            "esc" | "escape" => KeyCode::Esc,
            "space" => KeyCode::Char(' '),
            "tab" => KeyCode::Tab,
            "backtab" => KeyCode::BackTab,
            "up" => KeyCode::Up,
            "down" => KeyCode::Down,
            "left" => KeyCode::Left,
            "right" => KeyCode::Right,
            "home" => KeyCode::Home,
            "end" => KeyCode::End,
            "pgup" | "pageup" => KeyCode::PageUp,
            "pgdn" | "pgdown" | "pagedown" => KeyCode::PageDown,
            "backspace" => KeyCode::Backspace,
            "delete" | "del" => KeyCode::Delete,
            f if f.starts_with('f') => KeyCode::F(f[1..].parse().ok().filter(|n| *n >= 1)?),
            _ => return None,
        },
    };
    Some(normal(KeyEvent::new(code, mods)))
}

/// How a key shows in help and hints.
pub fn key_name(key: &KeyEvent) -> String {
    let mut s = String::new();
    if key.modifiers.contains(KeyModifiers::CONTROL) {
        s.push_str("Ctrl-");
    }
    if key.modifiers.contains(KeyModifiers::ALT) {
        s.push_str("Alt-");
    }
    match key.code {
        KeyCode::Char(' ') => s.push_str("Space"),
        KeyCode::Char(ch) => s.push(ch),
        KeyCode::Enter => s.push('⏎'),
        KeyCode::Esc => s.push_str("Esc"),
        KeyCode::Tab => s.push_str("Tab"),
        KeyCode::Up => s.push('↑'),
        KeyCode::Down => s.push('↓'),
        KeyCode::Left => s.push('←'),
        KeyCode::Right => s.push('→'),
        KeyCode::Home => s.push_str("Home"),
        KeyCode::End => s.push_str("End"),
        KeyCode::PageUp => s.push_str("PgUp"),
        KeyCode::PageDown => s.push_str("PgDn"),
        KeyCode::F(n) => s.push_str(&format!("F{n}")),
        KeyCode::Backspace => s.push_str("Backspace"),
        other => s.push_str(&format!("{other:?}")),
    }
    s
}

/// A `[keys]` setting the TUI cannot use.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeymapError {
    #[error("[keys] has an unknown command `{0}`")]
    UnknownCommand(String),
    #[error("[keys] {command}: `{key}` is not a key")]
    NotAKey { command: String, key: String },
}

impl Keymap {
    /// The defaults with the config's `[keys]` applied: a command named there loses its
    /// default keys and takes the given ones. Unknown names and keys are reported.
    pub fn with_overrides(
        overrides: &BTreeMap<String, Vec<String>>,
    ) -> Result<Keymap, KeymapError> {
        let mut map = Keymap::default();
        for (name, keys) in overrides {
            let cmd = COMMANDS
                .iter()
                .find(|(_, n, _)| n == name)
                .map(|(c, _, _)| *c)
                .ok_or_else(|| KeymapError::UnknownCommand(name.clone()))?;
            let parsed = keys
                .iter()
                .map(|s| {
                    parse_key(s).ok_or_else(|| KeymapError::NotAKey {
                        command: name.clone(),
                        key: s.clone(),
                    })
                })
                .collect::<Result<Vec<_>, _>>()?;
            map.bindings
                .retain(|(key, c)| *c != cmd && !parsed.contains(key));
            map.bindings
                .extend(parsed.into_iter().map(|key| (key, cmd)));
        }
        Ok(map)
    }

    /// The command bound to a key, if any.
    pub fn lookup(&self, key: KeyEvent) -> Option<Command> {
        let key = normal(key);
        self.bindings
            .iter()
            .find(|(b, _)| *b == key)
            .map(|(_, c)| *c)
    }

    /// The keys bound to a command, for help and hints.
    pub fn keys_for(&self, cmd: Command) -> Vec<String> {
        self.bindings
            .iter()
            .filter(|(_, c)| *c == cmd)
            .map(|(k, _)| key_name(k))
            .collect()
    }

    /// The first key bound to a command, for the footer.
    pub fn first(&self, cmd: Command) -> String {
        self.keys_for(cmd)
            .into_iter()
            .next()
            .unwrap_or_else(|| "—".into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_overrides() {
        assert_eq!(parse_key("ctrl-d"), Some(ctrl('d')));
        assert_eq!(parse_key("G"), Some(c('G')));
        assert_eq!(parse_key("pgdn"), Some(k(KeyCode::PageDown)));
        assert_eq!(parse_key("nonsense"), None);
        let mut o = BTreeMap::new();
        o.insert("quit".to_string(), vec!["x".to_string()]);
        let m = Keymap::with_overrides(&o).unwrap();
        assert_eq!(m.lookup(c('x')), Some(Command::Quit));
        assert_eq!(m.lookup(c('q')), None);
        let shifted = KeyEvent::new(KeyCode::Char('G'), KeyModifiers::SHIFT);
        assert_eq!(m.lookup(shifted), Some(Command::Bottom));
        o.insert("nope".to_string(), vec![]);
        assert!(Keymap::with_overrides(&o).is_err());
    }
}
