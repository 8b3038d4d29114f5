//! What the writer keeps between commits: every tenant's chain head and tree, and appending
//! onto them inside a transaction. The writer's loop ([`super::writer`]) and the maintenance it
//! runs (prune, pseudonymise, signing) all work through [`Writer`].

use super::row;
use super::tree::{self, TreeState};
use crate::model::{Appended, Entry, NewEvent};
use crate::store::StoreError;
use crate::store::chain::{Commitments, Tip};
use crate::store::proofs::{hash_bytes, row_blob};
use crate::store::rollup::Tally;
use rand::SeedableRng;
use rand::rngs::StdRng;
use rusqlite::{Connection, OptionalExtension, params};
use std::collections::{HashMap, HashSet};

/// Where the writer sends a job's answer: the async side awaits it without holding a thread.
pub type Reply<T> = tokio::sync::oneshot::Sender<Result<T, StoreError>>;

/// One batch waiting to be written, and where to send its result.
pub struct Job {
    pub tenant: String,
    pub events: Vec<NewEvent>,
    pub reply: Reply<Vec<Appended>>,
}

#[derive(Clone)]
pub(super) struct Head {
    tip: Tip,
    tree: TreeState,
}

impl Head {
    fn genesis() -> Head {
        Head {
            tip: Tip::genesis(),
            tree: TreeState::new(),
        }
    }
}

/// What the writer keeps between commits.
pub(super) struct Writer {
    heads: HashMap<String, Head>,
    /// Tenants whose tree could not be loaded (the database was changed behind the server's
    /// back): their appends are refused with this reason rather than growing a wrong tree.
    broken: HashMap<String, String>,
    known_actions: HashSet<(String, String)>,
    ulids: ulid::Generator,
    /// Salts come from a CSPRNG seeded once by the OS: a system call per personal field would
    /// cost more than the insert itself.
    rng: StdRng,
}

/// Per job: its appends, or why it was refused; and how many entries the group appended.
pub(super) type GroupResult = (Vec<Result<Vec<Appended>, StoreError>>, u64);

/// What a batch appended: the acknowledgements, the new head, and how many entries are new.
type Applied = (Vec<Appended>, Head, u64);

/// The prepared statements one batch appends with.
struct Statements<'c> {
    insert: rusqlite::CachedStatement<'c>,
    find_key: rusqlite::CachedStatement<'c>,
    add_action: rusqlite::CachedStatement<'c>,
    add_leaf: rusqlite::CachedStatement<'c>,
    /// The batch's rollup counts, written after its last entry.
    tally: Tally,
}

impl<'c> Statements<'c> {
    fn prepare(tx: &'c Connection) -> rusqlite::Result<Statements<'c>> {
        Ok(Statements {
            // Pending: the secondary and trigram indexes take it later (`super::indexer`).
            insert: tx.prepare_cached(&row::INSERT_PENDING)?,
            find_key: tx.prepare_cached(
                "SELECT id, seq, hash FROM entries WHERE tenant = ?1 AND idempotency_key = ?2",
            )?,
            add_action: tx
                .prepare_cached("INSERT OR IGNORE INTO actions (tenant, action) VALUES (?1, ?2)")?,
            add_leaf: tx.prepare_cached(
                "INSERT INTO tree_rows (tenant, leaf, hashes) VALUES (?1, ?2, ?3)",
            )?,
            tally: Tally::default(),
        })
    }
}

impl Writer {
    /// The heads and trees as stored (building the trees a database from before them lacks);
    /// with how many leaves were built.
    pub(super) fn load(conn: &Connection) -> Result<(Writer, u64), StoreError> {
        let (heads, broken, built) = load_state(conn)?;
        let w = Writer {
            heads,
            broken,
            known_actions: HashSet::new(),
            ulids: ulid::Generator::new(),
            rng: StdRng::from_os_rng(),
        };
        Ok((w, built))
    }

    /// Rereads the heads after a failed commit: they advanced in memory for work that never
    /// became durable.
    pub(super) fn reload(&mut self, conn: &Connection) {
        match load_state(conn) {
            Ok((heads, broken, _)) => {
                self.heads = heads;
                self.broken = broken;
            }
            Err(e) => {
                // Nothing can be appended safely until the state can be read again.
                tracing::error!("cannot reread the chain heads: {e}");
                for t in self.heads.keys() {
                    self.broken.insert(t.clone(), e.to_string());
                }
            }
        }
        self.known_actions.clear();
    }

    /// The tenant's tree as the writer holds it.
    pub(super) fn tree(&self, tenant: &str) -> Option<&TreeState> {
        self.heads.get(tenant).map(|h| &h.tree)
    }

    /// Appends `events` inside the caller's transaction and records the new head: for entries
    /// the store writes itself (a prune's record of itself).
    pub(super) fn append_within(
        &mut self,
        tx: &Connection,
        tenant: &str,
        events: &[NewEvent],
    ) -> rusqlite::Result<Vec<Appended>> {
        let head = self
            .heads
            .get(tenant)
            .cloned()
            .unwrap_or_else(Head::genesis);
        let (out, head, _) = self.apply(
            tx,
            tenant,
            events,
            head,
            chrono::Utc::now().timestamp_millis(),
        )?;
        tx.prepare_cached("INSERT OR REPLACE INTO chain_heads (tenant, seq, hash, received_at) VALUES (?1, ?2, ?3, ?4)")?
            .execute(params![tenant, head.tip.seq, head.tip.hash, head.tip.received_ms])?;
        self.heads.insert(tenant.to_string(), head);
        Ok(out)
    }

    /// Writes every job in one transaction, each inside its own savepoint so a failing batch
    /// leaves no trace while the others commit.
    pub(super) fn commit_group(
        &mut self,
        conn: &mut Connection,
        jobs: &[Job],
    ) -> rusqlite::Result<GroupResult> {
        let mut results = Vec::with_capacity(jobs.len());
        let mut appended = 0u64;
        let now_ms = chrono::Utc::now().timestamp_millis();
        let mut tx = conn.transaction()?;
        for job in jobs {
            let head = self
                .heads
                .get(&job.tenant)
                .cloned()
                .unwrap_or_else(Head::genesis);
            let sp = tx.savepoint()?;
            match self.apply(&sp, &job.tenant, &job.events, head, now_ms) {
                Ok((out, head, n)) => {
                    sp.commit()?;
                    self.heads.insert(job.tenant.clone(), head);
                    appended += n;
                    results.push(Ok(out));
                }
                // A full or read-only disk may have rolled the whole transaction back: the
                // group as a whole is refused, never committed piecemeal behind its back.
                Err(e) if super::disk_refused(&e) => return Err(e),
                Err(e) => {
                    drop(sp); // rolls the savepoint back
                    results.push(Err(StoreError::from(e)));
                }
            }
        }
        let touched: HashSet<&str> = jobs.iter().map(|j| j.tenant.as_str()).collect();
        {
            let mut put = tx.prepare_cached("INSERT OR REPLACE INTO chain_heads (tenant, seq, hash, received_at) VALUES (?1, ?2, ?3, ?4)")?;
            for t in touched {
                if let Some(h) = self.heads.get(t) {
                    put.execute(params![t, h.tip.seq, h.tip.hash, h.tip.received_ms])?;
                }
            }
        }
        tx.commit()?;
        Ok((results, appended))
    }

    /// Appends one batch: assigns seq, id and received_at, chains the hashes, inserts.
    fn apply(
        &mut self,
        tx: &Connection,
        tenant: &str,
        events: &[NewEvent],
        mut head: Head,
        now_ms: i64,
    ) -> rusqlite::Result<Applied> {
        let mut out = Vec::with_capacity(events.len());
        let mut in_batch: HashMap<&str, Appended> = HashMap::new();
        let mut st = Statements::prepare(tx)?;
        if let Some(why) = self.broken.get(tenant) {
            return Err(refused(format!(
                "the log of tenant {tenant} takes no entries until it is repaired: {why}"
            )));
        }
        if head.tree.frontier.size() == 0 {
            tx.prepare_cached("INSERT OR IGNORE INTO trees (tenant, first_seq) VALUES (?1, ?2)")?
                .execute(params![tenant, head.tree.first_seq])?;
        }
        let mut n = 0;
        for ev in events {
            if let Some(key) = ev.idempotency_key.as_deref()
                && let Some(a) = existing(&mut st, &in_batch, tenant, key)?
            {
                out.push(a);
                continue;
            }
            let (entry, commitments) =
                head.tip
                    .seal_next(ev, tenant, now_ms, &mut self.ulids, &mut self.rng);
            self.insert(&mut st, &mut head, &entry, &commitments)?;
            let appended = head.tip.advance(entry);
            if let Some(key) = ev.idempotency_key.as_deref() {
                in_batch.insert(key, appended.clone());
            }
            out.push(appended);
            n += 1;
        }
        super::write_counts(tx, &mut st.tally)?;
        Ok((out, head, n))
    }

    /// Writes one sealed entry, its leaf (the tree grows in the same transaction: leaf
    /// `seq - first_seq`) and its action.
    fn insert(
        &mut self,
        st: &mut Statements<'_>,
        head: &mut Head,
        entry: &Entry,
        commitments: &Commitments,
    ) -> rusqlite::Result<()> {
        let tenant = entry.tenant.as_str();
        let leaf = head.tree.frontier.size();
        if entry.seq != head.tree.first_seq + leaf {
            return Err(refused(format!(
                "the tree of tenant {tenant} is out of step with its chain (leaf {leaf} for seq {}); run verify",
                entry.seq
            )));
        }
        let bytes = hash_bytes(&entry.hash).expect("the writer's own hash is 64 hex digits");
        let row = head.tree.frontier.push(&bytes);
        st.add_leaf.execute(params![tenant, leaf, row_blob(&row)])?;
        st.insert
            .execute(rusqlite::params_from_iter(row::to_params(
                entry,
                commitments,
            )))?;
        st.tally.add(entry);
        if self
            .known_actions
            .insert((tenant.to_string(), entry.action.clone()))
        {
            st.add_action.execute(params![tenant, entry.action])?;
        }
        Ok(())
    }
}

/// The first append of idempotency key `key`, in this batch or stored.
fn existing(
    st: &mut Statements<'_>,
    in_batch: &HashMap<&str, Appended>,
    tenant: &str,
    key: &str,
) -> rusqlite::Result<Option<Appended>> {
    if let Some(a) = in_batch.get(key) {
        return Ok(Some(Appended {
            existing: true,
            ..a.clone()
        }));
    }
    st.find_key
        .query_row(params![tenant, key], |r| {
            Ok(Appended {
                id: r.get(0)?,
                seq: r.get::<_, u64>(1)?,
                hash: r.get(2)?,
                existing: true,
            })
        })
        .optional()
}

/// A refusal inside a transaction, as the error type the statements use.
fn refused(why: String) -> rusqlite::Error {
    rusqlite::Error::UserFunctionError(why.into())
}

type State = (HashMap<String, Head>, HashMap<String, String>, u64);

/// The chain heads and each tenant's tree, building the trees a database from before them lacks
/// (in one transaction). A tenant whose tree cannot be loaded is listed with the reason.
fn load_state(conn: &Connection) -> Result<State, StoreError> {
    let mut heads = load_heads(conn)?;
    let mut broken = HashMap::new();
    let tx = conn.unchecked_transaction()?;
    let mut built = 0;
    for (tenant, head) in heads.iter_mut() {
        match tree::load_or_build(&tx, tenant, head.tip.seq) {
            Ok((state, n)) => {
                head.tree = state;
                built += n;
            }
            Err(e) => {
                tracing::error!("{e}");
                broken.insert(tenant.clone(), e.to_string());
            }
        }
    }
    tx.commit()?;
    Ok((heads, broken, built))
}

fn load_heads(conn: &Connection) -> rusqlite::Result<HashMap<String, Head>> {
    let mut stmt = conn.prepare("SELECT tenant, seq, hash, received_at FROM chain_heads")?;
    let rows = stmt.query_map([], |r| {
        Ok((
            r.get::<_, String>(0)?,
            Head {
                tip: Tip {
                    seq: r.get::<_, u64>(1)?,
                    hash: r.get(2)?,
                    received_ms: r.get(3)?,
                },
                tree: TreeState::new(),
            },
        ))
    })?;
    rows.collect()
}
