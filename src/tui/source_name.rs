//! What the header calls the data's source: a name, and where it lives when that differs (a
//! profile and its server). Kept apart so a narrow header can drop the place without cutting a
//! string at a guessed separator (a file path may itself hold " (").

use std::fmt;

/// The source's name, and its place when the name alone does not say it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceName {
    /// What a narrow header still shows: a profile's name, a server URL, a file's path.
    pub name: String,
    /// Where it lives (a profile's server URL), shown in brackets when there is room.
    pub place: Option<String>,
}

impl SourceName {
    /// A profile named `name` reading `server`.
    pub fn profile(name: impl Into<String>, server: impl Into<String>) -> SourceName {
        SourceName {
            name: name.into(),
            place: Some(server.into()),
        }
    }
}

impl fmt::Display for SourceName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.place {
            Some(place) => write!(f, "{} ({place})", self.name),
            None => f.write_str(&self.name),
        }
    }
}

/// A source known by one name alone (a server URL, a file).
impl From<String> for SourceName {
    fn from(name: String) -> SourceName {
        SourceName { name, place: None }
    }
}

impl From<&str> for SourceName {
    fn from(name: &str) -> SourceName {
        SourceName::from(name.to_string())
    }
}
