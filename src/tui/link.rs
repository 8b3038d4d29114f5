//! How the app takes a change of link (online, offline on the cache, or a file; the data
//! layer, `client::source`, reports it), and how the header words it.

use super::action::Effect;
use super::app::{App, Status};
pub use crate::client::source::Link;
use chrono::{DateTime, Utc};

impl App {
    /// The source went offline, came back, or a file's load stopped: say so, keep the user's place.
    pub fn on_link(&mut self, link: Link) -> Vec<Effect> {
        let was = std::mem::replace(&mut self.conn.link, link.clone());
        // A probe that the cache answered in the server's place reports nothing: the link's
        // change is its answer, and probing starts again when the server is back.
        self.conn.probing = false;
        match link {
            Link::Online => {
                self.conn.status = Status::Connected;
                if matches!(was, Link::Offline { .. }) {
                    // The count and histogram were the cache's; the rows stay where they are.
                    // A reconnect is a connect: the witness looks again.
                    let mut fx = self.server_back();
                    if self.conn.down_since.is_none() && self.chrome.flash.is_none() {
                        self.chrome.flash =
                            Some("the server answers again: back online, where you were".into());
                    }
                    fx.extend([
                        Effect::FetchStats {
                            load: self.generation(),
                            query: self.query.clone(),
                            buckets: (self.size.width as usize).saturating_sub(2).clamp(10, 400),
                        },
                        Effect::CheckWitness,
                    ]);
                    return fx;
                }
                Vec::new()
            }
            Link::Offline { .. } => {
                self.conn.status = Status::Connected;
                if !matches!(was, Link::Offline { .. }) {
                    self.server_down(self.now, None);
                    self.chrome.flash = Some(format!(
                        "the server stopped answering at {}: reading the cache, retrying in the background",
                        super::outage::clock(self.conn.down_since.unwrap_or(self.now))
                    ));
                }
                Vec::new()
            }
            Link::File { warning, .. } => {
                if let Some(w) = warning {
                    self.chrome.flash = Some(w);
                }
                Vec::new()
            }
        }
    }
}

/// "synced 5 min ago" and the like, for the offline header.
pub fn synced_phrase(synced: Option<DateTime<Utc>>, now: DateTime<Utc>) -> String {
    let Some(t) = synced else {
        return "never synced".into();
    };
    let secs = (now - t).num_seconds().max(0);
    let ago = match secs {
        0..60 => "just now".to_string(),
        60..3600 => format!("{} min ago", secs / 60),
        3600..86400 => format!("{} h ago", secs / 3600),
        _ => format!("{} days ago", secs / 86400),
    };
    format!("synced {ago}")
}
