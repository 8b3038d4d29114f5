//! The filter every read route takes, and the shapes of facets, stats and verify answers.

use super::error::ApiError;
use super::event::{Kind, Outcome};
use super::time::TimeBound;
use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

/// A whole filter: AND across fields, OR across the values of one field.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Query {
    /// Exact actions; a trailing `*` makes one a prefix.
    pub actions: Vec<String>,
    /// Actor ids or emails (emails case-insensitive).
    pub actors: Vec<String>,
    /// `type/id` or a bare target id.
    pub targets: Vec<String>,
    pub target_types: Vec<String>,
    pub channels: Vec<String>,
    pub kinds: Vec<Kind>,
    pub outcomes: Vec<Outcome>,
    /// The actor's IP address, exactly.
    pub ips: Vec<String>,
    /// Entry ids, exactly (the TUI's marked entries).
    pub ids: Vec<String>,
    /// Case-insensitive substrings; every one must match (`q`, bare words, quoted phrases).
    pub text: Vec<String>,
    pub from: Option<TimeBound>,
    pub to: Option<TimeBound>,
    /// `around:<time>[/width]`: a window either side of an instant, within `from`/`to` if
    /// those are set too.
    pub around: Option<Around>,
    /// `-field:value`: what must not match (any one excluded value drops an entry).
    pub exclude: Exclude,
}

/// The values a filter excludes, field by field (`-action:…`, `not_action=…`). An excluded
/// actor is matched as an included one is: by id, email or name.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Exclude {
    pub actions: Vec<String>,
    pub actors: Vec<String>,
    pub targets: Vec<String>,
    pub target_types: Vec<String>,
    pub channels: Vec<String>,
    pub kinds: Vec<Kind>,
    pub outcomes: Vec<Outcome>,
    pub ips: Vec<String>,
}

impl Exclude {
    /// True when nothing is excluded.
    pub fn is_empty(&self) -> bool {
        *self == Exclude::default()
    }
}

/// `around:<instant>/<width>`: from `width` before the instant to `width` after it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Around {
    pub at: DateTime<Utc>,
    /// Either side, as the user wrote it (`15m`, `2h`).
    pub amount: u32,
    pub unit: char,
}

impl Around {
    /// The default width: 15 minutes either side.
    pub fn new(at: DateTime<Utc>) -> Around {
        Around {
            at,
            amount: 15,
            unit: 'm',
        }
    }

    /// The same instant with another width either side.
    pub fn widened(self, amount: u32, unit: char) -> Around {
        Around {
            amount,
            unit,
            ..self
        }
    }

    /// The width either side.
    pub fn width(&self) -> Duration {
        let n = i64::from(self.amount);
        match self.unit {
            's' => Duration::seconds(n),
            'm' => Duration::minutes(n),
            'h' => Duration::hours(n),
            'd' => Duration::days(n),
            _ => Duration::weeks(n),
        }
    }

    /// Parses `2026-11-21T09:14:03Z`, `2026-11-21T09:14Z/2h` and the like: an instant and an
    /// optional width (`30s`, `15m`, `2h`, `1d`, `1w`). `None` when it is not that.
    pub fn parse(s: &str) -> Option<Around> {
        let (at, width) = match s.rsplit_once('/') {
            Some((at, w)) => (at, Some(w)),
            None => (s, None),
        };
        let TimeBound::Instant(at) = TimeBound::parse(at)? else {
            return None;
        };
        let mut a = Around::new(at);
        if let Some(w) = width {
            match TimeBound::parse(w)? {
                TimeBound::Ago { amount, unit } if amount > 0 => {
                    a = a.widened(amount, unit);
                }
                _ => return None,
            }
        }
        Some(a)
    }
}

impl std::fmt::Display for Around {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&super::time::format_ts(&self.at))?;
        if (self.amount, self.unit) != (15, 'm') {
            write!(f, "/{}{}", self.amount, self.unit)?;
        }
        Ok(())
    }
}

/// Parameters every read route takes besides the filter's own.
const FILTER_PARAMS: [&str; 22] = [
    "id",
    "action",
    "actor",
    "target",
    "target_type",
    "channel",
    "kind",
    "outcome",
    "ip",
    "q",
    "from",
    "to",
    "around",
    "filter",
    "not_action",
    "not_actor",
    "not_target",
    "not_target_type",
    "not_channel",
    "not_kind",
    "not_outcome",
    "not_ip",
];

const KINDS: &str = "one of created, updated, deleted, read, other";

impl Query {
    /// True when nothing is filtered.
    pub fn is_empty(&self) -> bool {
        *self == Query::default()
    }

    /// Builds a filter from URL query pairs. Pairs named in `extra` are handed back for the
    /// route; any other unknown name is an error, so a typo never silently widens a result.
    pub fn from_params<I>(
        pairs: I,
        extra: &[&str],
    ) -> Result<(Query, Vec<(String, String)>), ApiError>
    where
        I: IntoIterator<Item = (String, String)>,
    {
        let pairs: Vec<(String, String)> = pairs.into_iter().collect();
        // A time bound or a filter line given twice is not an OR: one would silently lose.
        for single in ["from", "to", "around", "filter"] {
            let n = pairs.iter().filter(|(k, _)| k == single).count();
            if n > 1 {
                return Err(ApiError::bad_request(format!(
                    "`{single}` is given {n} times; it takes one value"
                ))
                .with_field(single));
            }
        }
        let mut q = Query::default();
        let mut rest = Vec::new();
        for (key, value) in pairs {
            // A NUL cannot be searched for (the store's text search failed on one with a 500):
            // it is refused as a bad query on every route that takes a filter.
            if key.contains('\0') || value.contains('\0') {
                return Err(ApiError::invalid_query(format!(
                    "{}: a parameter may not hold a NUL character (%00)",
                    key.replace('\0', "\\0")
                        .chars()
                        .take(64)
                        .collect::<String>()
                ))
                .with_field(key.replace('\0', "\\0")));
            }
            rest.extend(q.add_param(key, value, extra)?);
        }
        q.check_limits()
            .map_err(|e| ApiError::bad_request(e.message).with_field(e.field))?;
        Ok((q, rest))
    }

    /// Adds one URL query pair to the filter; a pair named in `extra` is handed back.
    fn add_param(
        &mut self,
        key: String,
        value: String,
        extra: &[&str],
    ) -> Result<Option<(String, String)>, ApiError> {
        let bad = |what: &str| {
            ApiError::invalid_query(format!("{key}=`{value}` is not {what}"))
                .with_field(key.clone())
        };
        match key.as_str() {
            "action" => self.actions.push(value),
            "actor" => self.actors.push(value),
            "target" => self.targets.push(value),
            "target_type" => self.target_types.push(value),
            "channel" => self.channels.push(value),
            "ip" => self.ips.push(value),
            "id" => self.ids.push(value),
            "kind" => self
                .kinds
                .push(Kind::parse(&value).ok_or_else(|| bad(KINDS))?),
            "outcome" => self
                .outcomes
                .push(Outcome::parse(&value).ok_or_else(|| bad("one of success, failure"))?),
            "not_action" => self.exclude.actions.push(value),
            "not_actor" => self.exclude.actors.push(value),
            "not_target" => self.exclude.targets.push(value),
            "not_target_type" => self.exclude.target_types.push(value),
            "not_channel" => self.exclude.channels.push(value),
            "not_ip" => self.exclude.ips.push(value),
            "not_kind" => self
                .exclude
                .kinds
                .push(Kind::parse(&value).ok_or_else(|| bad(KINDS))?),
            "not_outcome" => self.exclude.outcomes.push(
                Outcome::parse(&value).ok_or_else(|| bad("one of success, failure"))?,
            ),
            "around" => {
                self.around = Some(Around::parse(&value).ok_or_else(|| {
                    bad("an instant with an optional width either side: 2026-11-21T09:14Z or 2026-11-21T09:14Z/2h")
                })?)
            }
            "q" => {
                if !value.trim().is_empty() {
                    self.text.push(value)
                }
            }
            "from" | "to" => {
                let t = TimeBound::parse(&value).ok_or_else(|| bad("a time: 2026-11-21, 2026-11-21T09:14:03Z, or an age such as 15m, 2h, 7d, 4w"))?;
                if key == "from" {
                    self.from = Some(t)
                } else {
                    self.to = Some(t)
                }
            }
            "filter" => {
                let parsed = Query::parse_terms(&value).map_err(|e: super::QueryParseError| {
                    ApiError::invalid_query(format!("filter: {e}")).with_field("filter")
                })?;
                self.merge(parsed);
            }
            k if extra.contains(&k) => return Ok(Some((key, value))),
            _ => {
                let mut known: Vec<&str> = FILTER_PARAMS.to_vec();
                known.extend_from_slice(extra);
                return Err(ApiError::invalid_query(format!(
                    "unknown parameter `{}`; this route takes {}",
                    key.chars().take(64).collect::<String>(),
                    known.join(", ")
                ))
                .with_field(key));
            }
        }
        Ok(None)
    }

    /// Adds another filter's terms to this one (its time bounds win).
    pub fn merge(&mut self, other: Query) {
        self.actions.extend(other.actions);
        self.actors.extend(other.actors);
        self.targets.extend(other.targets);
        self.target_types.extend(other.target_types);
        self.channels.extend(other.channels);
        self.kinds.extend(other.kinds);
        self.outcomes.extend(other.outcomes);
        self.ips.extend(other.ips);
        self.ids.extend(other.ids);
        self.text.extend(other.text);
        if other.from.is_some() {
            self.from = other.from;
        }
        if other.to.is_some() {
            self.to = other.to;
        }
        if other.around.is_some() {
            self.around = other.around;
        }
        let (x, o) = (&mut self.exclude, other.exclude);
        x.actions.extend(o.actions);
        x.actors.extend(o.actors);
        x.targets.extend(o.targets);
        x.target_types.extend(o.target_types);
        x.channels.extend(o.channels);
        x.kinds.extend(o.kinds);
        x.outcomes.extend(o.outcomes);
        x.ips.extend(o.ips);
    }

    /// The time range in milliseconds since the epoch, resolved against `now`: `from`/`to`,
    /// narrowed to the `around` window when there is one.
    pub fn range_millis(&self, now: DateTime<Utc>) -> (Option<i64>, Option<i64>) {
        let mut from = self
            .from
            .as_ref()
            .map(|b| b.resolve(now, false).timestamp_millis());
        let mut to = self
            .to
            .as_ref()
            .map(|b| b.resolve(now, true).timestamp_millis());
        if let Some(a) = &self.around {
            let w = a.width().num_milliseconds();
            let at = a.at.timestamp_millis();
            from = Some(from.map_or(at - w, |f| f.max(at - w)));
            to = Some(to.map_or(at + w, |t| t.min(at + w)));
        }
        (from, to)
    }

    /// This filter without the terms on one facet's own field (what a facet list counts under).
    pub fn without(&self, field: FacetField) -> Query {
        let mut q = self.clone();
        match field {
            FacetField::Action => q.actions.clear(),
            FacetField::Channel => q.channels.clear(),
            FacetField::Kind => q.kinds.clear(),
            FacetField::Outcome => q.outcomes.clear(),
            FacetField::Actor => q.actors.clear(),
            FacetField::TargetType => q.target_types.clear(),
        }
        q
    }
}

/// A field `GET /v1/facets/{field}` can count.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FacetField {
    Action,
    Channel,
    Kind,
    Outcome,
    Actor,
    TargetType,
}

impl FacetField {
    /// Every facet field.
    pub const ALL: [FacetField; 6] = [
        FacetField::Action,
        FacetField::Channel,
        FacetField::Kind,
        FacetField::Outcome,
        FacetField::Actor,
        FacetField::TargetType,
    ];
    /// The path segment and query-language name.
    pub fn as_str(self) -> &'static str {
        match self {
            FacetField::Action => "action",
            FacetField::Channel => "channel",
            FacetField::Kind => "kind",
            FacetField::Outcome => "outcome",
            FacetField::Actor => "actor",
            FacetField::TargetType => "target_type",
        }
    }
    /// Parses the path segment.
    pub fn parse(s: &str) -> Option<FacetField> {
        FacetField::ALL.into_iter().find(|f| f.as_str() == s)
    }
}

/// One value of a facet and how many entries under the filter carry it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FacetValue {
    pub value: String,
    pub count: u64,
    /// A readable name for the value where one exists (the actor's name for an actor id).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
}

/// The body of `GET /v1/facets/{field}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Facets {
    pub field: FacetField,
    pub values: Vec<FacetValue>,
    /// True when the counts are estimates: a search term common in the log, counted in the
    /// newest matches of the rest of the filter and scaled to all of them (API.md, "Counts").
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub estimate: bool,
}

/// One bar of the activity histogram.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatsBucket {
    #[serde(with = "super::event::ts")]
    pub start: DateTime<Utc>,
    pub count: u64,
}

/// The body of `GET /v1/stats`: the count under the filter and the activity over its range.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Stats {
    pub total: u64,
    #[serde(default, with = "super::event::opt_ts")]
    pub from: Option<DateTime<Utc>>,
    #[serde(default, with = "super::event::opt_ts")]
    pub to: Option<DateTime<Utc>>,
    pub bucket_seconds: u64,
    pub buckets: Vec<StatsBucket>,
    /// True when `total` and the bars are estimates (see [`Facets::estimate`]).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub estimate: bool,
}

/// The chain's last entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChainHead {
    pub seq: u64,
    pub hash: String,
}

/// The body of `GET /v1/verify`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct VerifyReport {
    pub ok: bool,
    pub checked: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub head: Option<ChainHead>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_bad_seq: Option<u64>,
    /// `hash_mismatch`, `gap`, `reordered`, `leaf_mismatch`, `tree_mismatch`, `missing_tail`,
    /// `checkpoint_mismatch`, `bad_signature`, `unrecorded_prune`, `unrecorded_pseudonym`,
    /// `schema_changed` or `permit_open`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// The first seq verified, when retention has pruned the chain's beginning (it then starts
    /// from the anchor: the last pruned entry's hash).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from_seq: Option<u64>,
    /// Leaves in the Merkle tree (every entry ever appended, pruned ones included).
    #[serde(default)]
    pub tree_size: u64,
    /// Signed checkpoints whose signature and root were checked.
    #[serde(default)]
    pub checkpoints: u64,
    /// The size of the earliest signed checkpoint that no longer holds for the log.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_bad_checkpoint: Option<u64>,
    /// The verifier key the checkpoints' signatures were checked with.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verifier_key: Option<String>,
    /// Every finding, one sentence each, in seq order; empty when `ok`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub problems: Vec<String>,
}

/// The body of `GET /v1/retention`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Retention {
    /// Entries older than this many days (by `received_at`) are pruned.
    pub days: u32,
    /// The server's floor: no tenant may keep less.
    pub floor_days: u32,
    /// The last prune of this tenant, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_prune: Option<PruneReport>,
}

/// What a prune did: the body of `POST /v1/retention/prune` and the details of `retention.pruned`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PruneReport {
    /// Entries received before this instant were removed.
    #[serde(with = "super::event::ts")]
    pub cutoff: DateTime<Utc>,
    pub removed: u64,
    /// The last removed entry: where verification of the remaining chain starts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub anchor: Option<ChainHead>,
    /// The archive the removed entries were written to first.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub archive: Option<String>,
    #[serde(with = "super::event::ts")]
    pub pruned_at: DateTime<Utc>,
}

/// The body of `POST /v1/pseudonymise`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PseudonymReport {
    /// `pseudonym-<8 hex>`, or none when no entry named the person (any more).
    pub pseudonym: Option<String>,
    /// Entries rewritten.
    pub entries: u64,
}
