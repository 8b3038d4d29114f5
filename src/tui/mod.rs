//! The terminal UI (TUI.md): state and update in `app`, drawing in `views`, the loop in `event_loop`.

pub mod action;
pub mod app;
pub mod detail;
pub mod dialogs;
pub mod diff;
pub mod download;
pub mod effects;
pub mod event_loop;
pub mod filters;
pub mod follow;
pub mod histogram;
pub mod history;
pub mod input;
pub mod json_tree;
pub mod keymap;
pub mod layout;
pub mod link;
pub mod marks;
pub mod memory;
pub mod outage;
pub mod pager;
pub mod pivot;
pub mod rows;
pub mod sgr16;
pub mod source_name;
pub mod theme;
pub mod value_view;
pub mod views;
pub mod witness;

pub use action::{Action, Effect};
pub use app::{App, Settings, default_query};
pub use views::render;
