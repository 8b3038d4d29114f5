//! Colours: truecolor, 256- and 16-colour fallbacks, and NO_COLOR (modifiers only).

use crate::model::Kind;
use ratatui::style::{Color, Modifier, Style};

/// How many colours the terminal can show.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ColorDepth {
    /// NO_COLOR: no colours at all, only bold/reverse/underline.
    None,
    Ansi16,
    Ansi256,
    TrueColor,
}

impl ColorDepth {
    /// Reads NO_COLOR, COLORTERM and TERM the way most terminal programs do.
    pub fn detect() -> ColorDepth {
        let var = |k: &str| std::env::var(k).unwrap_or_default();
        if std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty()) {
            return ColorDepth::None;
        }
        let colorterm = var("COLORTERM").to_ascii_lowercase();
        if colorterm == "truecolor" || colorterm == "24bit" {
            return ColorDepth::TrueColor;
        }
        let term = var("TERM");
        if term == "dumb" {
            ColorDepth::None
        } else if term.contains("256") {
            ColorDepth::Ansi256
        } else {
            ColorDepth::Ansi16
        }
    }
}

/// The styles every view draws with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Theme {
    pub depth: ColorDepth,
}

/// One colour in three depths: (r, g, b), the xterm-256 index, the 16-colour fallback.
struct Tone(u8, u8, u8, u8, Color);

const EMERALD: Tone = Tone(52, 211, 153, 42, Color::Green);
const SKY: Tone = Tone(56, 189, 248, 39, Color::Blue);
const ROSE: Tone = Tone(251, 113, 133, 204, Color::Red);
const MAGENTA: Tone = Tone(232, 121, 249, 177, Color::Magenta);
const SLATE: Tone = Tone(148, 163, 184, 247, Color::Gray);
const AMBER: Tone = Tone(251, 191, 36, 214, Color::Yellow);
const CYAN: Tone = Tone(34, 211, 238, 44, Color::Cyan);
const DIM: Tone = Tone(100, 116, 139, 243, Color::DarkGray);

impl Theme {
    /// A theme for the given depth.
    pub fn new(depth: ColorDepth) -> Theme {
        Theme { depth }
    }

    fn fg(&self, t: Tone) -> Style {
        match self.depth {
            ColorDepth::None => Style::new(),
            ColorDepth::Ansi16 => Style::new().fg(t.4),
            ColorDepth::Ansi256 => Style::new().fg(Color::Indexed(t.3)),
            ColorDepth::TrueColor => Style::new().fg(Color::Rgb(t.0, t.1, t.2)),
        }
    }

    /// The event badge of a kind.
    pub fn kind(&self, k: Kind) -> Style {
        match k {
            Kind::Created => self.fg(EMERALD),
            Kind::Updated => self.fg(SKY),
            Kind::Deleted => self.fg(ROSE),
            Kind::Read => self.fg(MAGENTA),
            Kind::Other => self.fg(SLATE),
        }
    }

    /// A failed entry's mark: bold in every depth, rose where there is colour.
    pub fn failure(&self) -> Style {
        self.fg(ROSE).add_modifier(Modifier::BOLD)
    }
    /// The `[System]` actor badge.
    pub fn system(&self) -> Style {
        self.fg(AMBER)
    }
    /// The `[pseudonym]` badge of an actor erased by a GDPR request: italic in every depth.
    pub fn pseudonym(&self) -> Style {
        self.fg(SLATE).add_modifier(Modifier::ITALIC)
    }
    /// Titles, the brand, column headers.
    pub fn title(&self) -> Style {
        Style::new().add_modifier(Modifier::BOLD)
    }
    /// Secondary text: borders, hints, unchanged diff lines.
    pub fn dim(&self) -> Style {
        match self.depth {
            ColorDepth::None => Style::new(),
            _ => self.fg(DIM),
        }
    }
    /// Keys in hints and help.
    pub fn key(&self) -> Style {
        self.fg(CYAN).add_modifier(Modifier::BOLD)
    }
    /// The selected row.
    pub fn selected(&self) -> Style {
        Style::new().add_modifier(Modifier::REVERSED)
    }
    /// A row that just arrived live, and the counter of new rows: a green wash where there
    /// is colour, bold where there is none.
    pub fn fresh(&self) -> Style {
        match self.depth {
            ColorDepth::None => Style::new().add_modifier(Modifier::BOLD),
            ColorDepth::Ansi16 => Style::new().bg(Color::Green).fg(Color::Black),
            ColorDepth::Ansi256 => Style::new().bg(Color::Indexed(22)),
            ColorDepth::TrueColor => Style::new().bg(Color::Rgb(6, 78, 59)),
        }
    }
    /// Error messages.
    pub fn error(&self) -> Style {
        self.fg(ROSE).add_modifier(Modifier::BOLD)
    }
    /// Live/connected status.
    pub fn ok(&self) -> Style {
        self.fg(EMERALD)
    }
    /// Warnings and the spinner.
    pub fn warn(&self) -> Style {
        self.fg(AMBER)
    }
    /// The activity sparkline.
    pub fn spark(&self) -> Style {
        self.fg(SKY)
    }
    /// JSON object keys.
    pub fn json_key(&self) -> Style {
        self.fg(SKY)
    }
    /// JSON strings.
    pub fn json_string(&self) -> Style {
        self.fg(EMERALD)
    }
    /// JSON numbers.
    pub fn json_number(&self) -> Style {
        self.fg(AMBER)
    }
    /// JSON true/false/null.
    pub fn json_literal(&self) -> Style {
        self.fg(MAGENTA)
    }
    /// A line the diff adds.
    pub fn added(&self) -> Style {
        self.fg(EMERALD)
    }
    /// A line the diff removes.
    pub fn removed(&self) -> Style {
        self.fg(ROSE)
    }
}
