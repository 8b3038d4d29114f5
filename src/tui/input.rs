//! One-line text inputs on ratatui-textarea, with shell editing keys.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui_textarea::TextArea;

/// Whether an edit changed the text.
#[derive(Debug, PartialEq, Eq)]
pub enum Edit {
    Changed,
    Unchanged,
}

/// A one-line input holding `text`, cursor at the end.
pub fn new(text: &str) -> TextArea<'static> {
    let mut t = TextArea::new(vec![text.to_string()]);
    t.set_cursor_line_style(ratatui::style::Style::new());
    t.move_cursor(ratatui_textarea::CursorMove::End);
    t
}

/// The input's text.
pub fn text(t: &TextArea<'_>) -> String {
    t.lines().first().cloned().unwrap_or_default()
}

/// Applies a key as a shell line editor would; Enter and Esc are the caller's.
pub fn edit(t: &mut TextArea<'static>, key: KeyEvent) -> Edit {
    let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
    let changed = match key.code {
        // A one-line input: newlines never enter it.
        KeyCode::Enter | KeyCode::Esc | KeyCode::Tab | KeyCode::BackTab => false,
        KeyCode::Char('m' | 'j') if ctrl => false,
        // Ctrl-u deletes to the start of the line, as in a shell (the textarea's default is undo).
        KeyCode::Char('u') if ctrl => t.delete_line_by_head(),
        KeyCode::Char('k') if ctrl => t.delete_line_by_end(),
        _ => t.input(key),
    };
    if changed {
        Edit::Changed
    } else {
        Edit::Unchanged
    }
}
