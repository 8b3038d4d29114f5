//! A witness (API.md "Witnesses"): remembers the checkpoints a server signed and checks that
//! each newer one extends them. The command line's `trailscope witness` and the TUI use the
//! same judgement, so they cannot disagree about what "history changed" means.
//!
//! What it adds to `verify`: `verify` runs on the server, over the database, so whoever can
//! write the database and holds the signing key can make it pass on a rewritten history. A
//! witness keeps its own copy of what was signed, somewhere the operator cannot reach, and a
//! rewritten history cannot be proven consistent with it.

pub mod state;

pub use state::{Rejected, Seen, StateError, WitnessState};

use crate::client::{Client, ClientError};
use crate::model::SignedCheckpoint;
use crate::proof::{self, VerifierKey};

/// How the server's history no longer extends what was seen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChangeKind {
    /// The server now presents another verifier key.
    KeyChanged,
    /// The checkpoint is not validly signed by the pinned key, or says something else than
    /// the route's own size and root.
    BadSignature,
    /// The checkpoint is of another log (origin).
    OtherLog,
    /// The log is smaller than a checkpoint already signed: entries were cut off.
    Rollback,
    /// Same size, another root; or the older tree is not a prefix of the newer one: history
    /// was rewritten (or the server shows different histories to different people).
    Fork,
}

impl ChangeKind {
    /// A few words for the headline.
    pub fn as_str(self) -> &'static str {
        match self {
            ChangeKind::KeyChanged => "the signing key changed",
            ChangeKind::BadSignature => "the checkpoint is not signed by the pinned key",
            ChangeKind::OtherLog => "the server now signs another log",
            ChangeKind::Rollback => "the log shrank (rollback)",
            ChangeKind::Fork => "the history was rewritten (fork)",
        }
    }
}

/// What one look at the server found.
#[derive(Debug, Clone, PartialEq)]
pub enum Verdict {
    /// Nothing was seen before: the server's key is pinned now (trust on first use).
    FirstUse { key: String, size: u64 },
    /// The log only grew (or stayed the same).
    Consistent { from: u64, to: u64 },
    /// The server's history no longer extends what was seen.
    Changed(Change),
}

/// What was seen, what the server says now, and why the two cannot both be true.
#[derive(Debug, Clone, PartialEq)]
pub struct Change {
    pub kind: ChangeKind,
    pub seen: Seen,
    pub seen_key: String,
    pub now: SignedCheckpoint,
    pub detail: String,
}

impl Change {
    /// The loud message: both sizes and roots, the keys when they differ, and what it means.
    /// Server-sent text is made inert: it goes to a terminal.
    pub fn message(&self, server: &str) -> String {
        let t = |s: &str| crate::text::inert(s).into_owned();
        let mut out = format!(
            "HISTORY CHANGED at {}: {}.\n  seen before: size {}, root {} (at {})\n  server now:  size {}, root {}\n",
            t(server),
            self.kind.as_str(),
            self.seen.size,
            t(&self.seen.root),
            t(&self.seen.seen_at),
            self.now.size,
            t(&self.now.root),
        );
        if self.kind == ChangeKind::KeyChanged {
            out.push_str(&format!(
                "  pinned key:  {}\n  server key:  {}\n",
                t(&self.seen_key),
                t(&self.now.verifier_key)
            ));
        }
        out.push_str(&format!("  {}", t(&self.detail)));
        out
    }
}

/// Judges a checkpoint against what was seen, asking the server for a consistency proof when
/// the log grew. `Err` only when the server cannot answer; every disagreement is a verdict.
pub async fn look(
    client: &Client,
    seen: Option<&WitnessState>,
) -> Result<(Verdict, SignedCheckpoint), ClientError> {
    let now = client.checkpoint().await?;
    judge(client, seen, now).await
}

/// [`look`] with the server's newest checkpoint already fetched (the TUI needs its origin
/// first, to find what it saw of that log).
pub async fn judge(
    client: &Client,
    seen: Option<&WitnessState>,
    now: SignedCheckpoint,
) -> Result<(Verdict, SignedCheckpoint), ClientError> {
    let Some(state) = seen else {
        return Ok((first_use(&now)?, now));
    };
    let last = state
        .last()
        .cloned()
        .expect("a checked state holds a checkpoint");
    let verdict = match signed_as_seen(state, &now) {
        Ok(root) => extends(client, &last, &now, root).await?,
        Err(broken) => Err(broken),
    };
    let v = verdict.unwrap_or_else(|(kind, detail)| {
        Verdict::Changed(Change {
            kind,
            seen: last,
            seen_key: state.verifier_key.clone(),
            now: now.clone(),
            detail,
        })
    });
    Ok((v, now))
}

/// What a changed history is, and why this witness says so.
type Broken = (ChangeKind, String);

/// Trust on first use, but only a checkpoint that its own key opens and that says what the
/// route says.
fn first_use(now: &SignedCheckpoint) -> Result<Verdict, ClientError> {
    let key = VerifierKey::parse(&now.verifier_key)
        .map_err(|e| ClientError::Decode(format!("the server's verifier key: {e}")))?;
    let opened = key
        .open(&now.checkpoint)
        .map_err(|e| ClientError::Decode(format!("the server's checkpoint: {e}")))?;
    if opened.size != now.size || proof::encode_hash(&opened.root) != now.root {
        return Err(ClientError::Decode(
            "the server's checkpoint does not say what its size and root say".into(),
        ));
    }
    Ok(Verdict::FirstUse {
        key: now.verifier_key.clone(),
        size: now.size,
    })
}

/// The checkpoint is signed by the pinned key, says what the route says, and is of the log this
/// witness keeps; its signed root when so.
fn signed_as_seen(state: &WitnessState, now: &SignedCheckpoint) -> Result<proof::Hash, Broken> {
    if !proof::same_verifier_key(&now.verifier_key, &state.verifier_key) {
        return Err((ChangeKind::KeyChanged, "a new key can sign any history; whoever changed it must say why, and the new key must be pinned on purpose (move the state away)".into()));
    }
    let key = state
        .key()
        .map_err(|e| (ChangeKind::BadSignature, e.to_string()))?;
    let opened = key
        .open(&now.checkpoint)
        .map_err(|e| (ChangeKind::BadSignature, e.to_string()))?;
    if opened.size != now.size || proof::encode_hash(&opened.root) != now.root {
        return Err((
            ChangeKind::BadSignature,
            "the signed checkpoint says another size or root than the route's own fields".into(),
        ));
    }
    if opened.origin != state.origin {
        return Err((
            ChangeKind::OtherLog,
            format!(
                "this witness keeps the log `{}`, the server signed `{}`; another tenant's token needs its own --state",
                state.origin, opened.origin
            ),
        ));
    }
    Ok(opened.root)
}

/// The log now (signed `root`) begins with the log last seen: same size and root, or grown
/// with a consistency proof the server gives.
async fn extends(
    client: &Client,
    last: &Seen,
    now: &SignedCheckpoint,
    root: proof::Hash,
) -> Result<Result<Verdict, Broken>, ClientError> {
    let (from, to) = (last.size, now.size);
    if to < from {
        return Ok(Err((
            ChangeKind::Rollback,
            format!(
                "entries {} to {from} were signed and are no longer in the log",
                to + 1
            ),
        )));
    }
    if to == from {
        if now.root != last.root {
            return Ok(Err((
                ChangeKind::Fork,
                "the same number of entries with another root: at least one was changed".into(),
            )));
        }
        return Ok(Ok(Verdict::Consistent { from, to }));
    }
    if from == 0 {
        return Ok(Ok(Verdict::Consistent { from, to }));
    }
    let p = client.consistency(from, to).await?;
    let hashes: Result<Vec<_>, _> = p.proof.iter().map(|h| proof::decode_hash(h)).collect();
    let seen_root = proof::decode_hash(&last.root);
    let ok = match (hashes, seen_root) {
        (Ok(h), Ok(seen_root)) if p.from == from && p.to == to => {
            proof::check_consistency(&h, from, seen_root, to, root).is_ok()
        }
        _ => false,
    };
    if !ok {
        return Ok(Err((
            ChangeKind::Fork,
            format!(
                "the server cannot prove that its log of {to} entries begins with the {from} this witness saw: they were rewritten"
            ),
        )));
    }
    Ok(Ok(Verdict::Consistent { from, to }))
}

/// The state after a verdict: a first use pins; a consistent look adds the checkpoint when the
/// log grew; a change keeps everything seen and adds the refused checkpoint as evidence.
pub fn record(
    state: Option<WitnessState>,
    server: &str,
    verdict: &Verdict,
    now: &SignedCheckpoint,
    at: &str,
) -> WitnessState {
    let seen = Seen {
        size: now.size,
        root: now.root.clone(),
        checkpoint: now.checkpoint.clone(),
        seen_at: at.to_string(),
    };
    match (state, verdict) {
        (None, _) => WitnessState {
            format: state::FORMAT,
            server: server.to_string(),
            origin: proof::parse_checkpoint(&now.checkpoint)
                .map(|c| c.origin)
                .unwrap_or_default(),
            verifier_key: now.verifier_key.clone(),
            checkpoints: vec![seen],
            rejected: Vec::new(),
        },
        (Some(mut s), Verdict::Consistent { from, to }) => {
            if to > from {
                s.checkpoints.push(seen);
            }
            s
        }
        (Some(mut s), Verdict::Changed(c)) => {
            let last = s.rejected.last();
            // A cron witness sees the same bad checkpoint every run: keep it once.
            if last.is_none_or(|r| r.checkpoint != now.checkpoint) {
                s.rejected.push(Rejected {
                    seen_at: at.to_string(),
                    reason: c.kind.as_str().to_string(),
                    size: now.size,
                    root: now.root.clone(),
                    checkpoint: now.checkpoint.clone(),
                    verifier_key: now.verifier_key.clone(),
                });
            }
            s
        }
        (Some(s), Verdict::FirstUse { .. }) => s,
    }
}
