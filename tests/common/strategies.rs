//! Proptest strategies shared by the property tests (tests/properties, tests/offline): a query
//! is drawn field by field, each field from whatever vocabulary the test's data has, so every
//! property builds its `Query` (and `Exclude`) the same way.

use proptest::prelude::*;
use std::ops::Range;
use trailscope::model::{Around, Exclude, Kind, Outcome, Query, TimeBound};

/// The terms of one field (actions, actors, …).
pub type Terms = BoxedStrategy<Vec<String>>;

/// `len` kinds, any of them.
pub fn kinds(len: Range<usize>) -> BoxedStrategy<Vec<Kind>> {
    prop::collection::vec(prop::sample::select(Kind::ALL.to_vec()), len).boxed()
}

/// No outcome, or one (or both, the same one twice).
pub fn outcomes() -> BoxedStrategy<Vec<Outcome>> {
    prop::collection::vec(
        prop::sample::select(vec![Outcome::Success, Outcome::Failure]),
        0..2,
    )
    .boxed()
}

/// `len` terms from `vocabulary`.
pub fn terms(vocabulary: Vec<String>, len: Range<usize>) -> Terms {
    prop::collection::vec(prop::sample::select(vocabulary), len).boxed()
}

/// Mostly (3 in 4) no term, else one or two from `vocabulary`: combinations of several
/// fields still find something.
pub fn rare_terms(vocabulary: Vec<String>) -> Terms {
    prop_oneof![3 => Just(Vec::new()), 1 => terms(vocabulary, 1..3)].boxed()
}

/// What each field of a query is drawn from; a field left at its default is empty.
pub struct QueryFields {
    pub actions: Terms,
    pub actors: Terms,
    pub targets: Terms,
    pub target_types: Terms,
    pub channels: Terms,
    pub ips: Terms,
    pub ids: Terms,
    pub text: Terms,
    pub kinds: BoxedStrategy<Vec<Kind>>,
    pub outcomes: BoxedStrategy<Vec<Outcome>>,
    pub from: BoxedStrategy<Option<TimeBound>>,
    pub to: BoxedStrategy<Option<TimeBound>>,
    pub around: BoxedStrategy<Option<Around>>,
    pub exclude: BoxedStrategy<Exclude>,
}

impl Default for QueryFields {
    fn default() -> Self {
        let none = || Just(Vec::new()).boxed();
        QueryFields {
            actions: none(),
            actors: none(),
            targets: none(),
            target_types: none(),
            channels: none(),
            ips: none(),
            ids: none(),
            text: none(),
            kinds: Just(Vec::new()).boxed(),
            outcomes: Just(Vec::new()).boxed(),
            from: Just(None).boxed(),
            to: Just(None).boxed(),
            around: Just(None).boxed(),
            exclude: Just(Exclude::default()).boxed(),
        }
    }
}

impl QueryFields {
    /// Queries with these fields.
    pub fn query(self) -> impl Strategy<Value = Query> {
        (
            (self.actions, self.actors, self.targets),
            (self.target_types, self.channels, self.ips),
            (self.kinds, self.outcomes),
            (self.text, self.ids),
            (self.from, self.to, self.around),
            self.exclude,
        )
            .prop_map(
                |(
                    (actions, actors, targets),
                    (target_types, channels, ips),
                    (kinds, outcomes),
                    (text, ids),
                    (from, to, around),
                    exclude,
                )| Query {
                    actions,
                    actors,
                    targets,
                    target_types,
                    channels,
                    kinds,
                    outcomes,
                    ips,
                    ids,
                    text,
                    from,
                    to,
                    around,
                    exclude,
                },
            )
    }

    /// Exclusions with these fields (an exclusion has no text, ids, times or exclusion).
    pub fn exclude(self) -> impl Strategy<Value = Exclude> {
        (
            (self.actions, self.actors, self.targets),
            (self.target_types, self.channels, self.ips),
            (self.kinds, self.outcomes),
        )
            .prop_map(
                |((actions, actors, targets), (target_types, channels, ips), (kinds, outcomes))| {
                    Exclude {
                        actions,
                        actors,
                        targets,
                        target_types,
                        channels,
                        kinds,
                        outcomes,
                        ips,
                    }
                },
            )
    }
}
