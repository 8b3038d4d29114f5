//! The single writer: assigns `seq`, chains hashes, and commits many waiting batches in one
//! durable transaction (group commit). A batch is acknowledged only after its commit.
//! Maintenance (prune, pseudonymise, signing a checkpoint) runs here too, alone, between append
//! groups; what every piece of work shares, the heads, is [`super::heads::Writer`].

use super::WriterStats;
use super::heads::Writer;
pub use super::heads::{Job, Reply};
use super::{indexer, prune, pseudonymise, sign};
use crate::store::StoreError;
use rusqlite::Connection;
use std::sync::Arc;
use std::sync::mpsc::{Receiver, RecvTimeoutError, SyncSender};

/// The most entries one transaction takes before it commits and the rest wait for the next.
const MAX_ENTRIES_PER_COMMIT: usize = 50_000;
/// How often the planner's statistics are refreshed (and once at start).
const ANALYZE_EVERY: std::time::Duration = std::time::Duration::from_secs(600);

/// Refreshes the planner's statistics, sampled (milliseconds on a large log). Without them
/// SQLite may walk a whole index for a filter on a column that holds one value everywhere
/// (every target a ticket) — seconds instead of a millisecond. It writes `sqlite_stat1`, so it
/// runs here, on the one write connection, between commits: never a lock against the writer.
fn refresh_statistics(conn: &Connection) {
    if let Err(e) = conn.execute_batch("PRAGMA analysis_limit=1000; PRAGMA optimize=0x10002;") {
        tracing::warn!("refreshing the planner's statistics failed: {e}");
    }
}

/// What the writer thread is asked to do. Maintenance runs alone, between append groups.
pub enum Work {
    Append(Job),
    Prune(prune::PruneJob),
    Pseudonymise(pseudonymise::PseudonymiseJob),
    Checkpoint(Box<sign::CheckpointJob>),
    /// A small write of the store's own settings (retention, tokens): on the one write
    /// connection, so there is never a second writer to lock against. The closure answers.
    Run(Box<dyn FnOnce(&Connection) + Send>),
}

/// A failed maintenance transaction rolled back: the writer's cached chain heads may be ahead
/// of the database, so they are read again.
fn after_maintenance<T>(
    w: &mut Writer,
    conn: &Connection,
    result: Result<T, StoreError>,
) -> Result<T, StoreError> {
    if result.is_err() {
        w.reload(conn);
    }
    result
}

/// Owns the write connection; runs until every sender is dropped and the queue is drained.
pub fn run(
    mut conn: Connection,
    rx: Receiver<Work>,
    stats: Arc<WriterStats>,
    committed: tokio::sync::watch::Sender<u64>,
    ready: SyncSender<()>,
    owner: bool,
) {
    // Live streams look again after every commit; a watch holds one number, so the writer never
    // waits on, or queues for, a reader however slow it is.
    let signal = || committed.send_modify(|n| *n += 1);
    let started = std::time::Instant::now();
    let loaded = Writer::load(&conn);
    // The store is handed out only once the tree of what is already there exists: a read
    // before that would see a database with entries and no tree, i.e. a tampered one.
    let _ = ready.send(());
    let mut w = match loaded {
        Ok((w, built)) => {
            if built > 0 {
                tracing::info!(
                    leaves = built,
                    seconds = started.elapsed().as_secs_f64(),
                    "built the Merkle tree of the entries already in the database"
                );
            }
            w
        }
        Err(e) => return refuse_all(&conn, rx, &e),
    };
    let mut pending: Option<Work> = None;
    if owner {
        refresh_statistics(&conn);
    }
    let mut analyzed = std::time::Instant::now();
    // Entries committed but not yet in the deferred indexes (`indexer`): indexed once there
    // are a batch's worth, or when no work has come for a moment. Only by the file's owner: a
    // short command beside a running server must not hold the write lock for an index step.
    let mut unindexed = if owner {
        indexer::pending(&conn).unwrap_or(0)
    } else {
        0
    };
    stats.record_pending(unindexed);
    loop {
        if owner && analyzed.elapsed() >= ANALYZE_EVERY {
            refresh_statistics(&conn);
            analyzed = std::time::Instant::now();
        }
        let work = match pending.take() {
            Some(work) => work,
            None => match next(&rx, unindexed > 0) {
                Ok(work) => work,
                Err(RecvTimeoutError::Timeout) => {
                    unindexed = indexer::run_step(&mut conn);
                    stats.record_pending(unindexed);
                    continue;
                }
                Err(RecvTimeoutError::Disconnected) => break,
            },
        };
        let Some(first) = maintain(&mut w, &mut conn, work, &signal) else {
            continue;
        };
        let jobs = gather(&rx, first, &mut pending);
        let appended = commit(&mut w, &mut conn, jobs, &stats, &signal);
        if owner {
            unindexed += appended;
        }
        if unindexed >= indexer::BATCH {
            unindexed = indexer::run_step(&mut conn);
        }
        stats.record_pending(unindexed);
    }
    // Leave nothing pending after a clean shutdown (a failed step stops it: the entries stay
    // readable, and the next start indexes them).
    while unindexed > 0 {
        let left = indexer::run_step(&mut conn);
        if left >= unindexed {
            break;
        }
        unindexed = left;
    }
    // Fold the WAL back so the file is complete on its own after a clean shutdown.
    // Only the file's owner: TRUNCATE holds off other writers while it waits for readers, and a
    // short command beside a running server must not do that to it.
    if owner {
        let _ = conn.execute_batch("PRAGMA wal_checkpoint(TRUNCATE)");
    }
}

/// The next piece of work; when entries wait to be indexed, a timeout after [`indexer::IDLE`]
/// without any.
fn next(rx: &Receiver<Work>, unindexed: bool) -> Result<Work, RecvTimeoutError> {
    if unindexed {
        rx.recv_timeout(indexer::IDLE)
    } else {
        rx.recv().map_err(|_| RecvTimeoutError::Disconnected)
    }
}

/// The heads could not be read: every piece of work that depends on the chain is refused.
fn refuse_all(conn: &Connection, rx: Receiver<Work>, e: &StoreError) {
    tracing::error!("cannot read the chain heads, refusing writes: {e}");
    let refuse = || StoreError::Internal(format!("the chain heads cannot be read: {e}"));
    for work in rx {
        match work {
            Work::Append(job) => drop(job.reply.send(Err(refuse()))),
            Work::Prune(job) => drop(job.reply.send(Err(refuse()))),
            Work::Pseudonymise(job) => drop(job.reply.send(Err(refuse()))),
            Work::Checkpoint(job) => drop(job.reply.send(Err(refuse()))),
            // Settings do not depend on the chain.
            Work::Run(f) => f(conn),
        }
    }
}

/// Does `work` if it is maintenance (and answers it); an append is handed back.
fn maintain(w: &mut Writer, conn: &mut Connection, work: Work, signal: &impl Fn()) -> Option<Job> {
    match work {
        Work::Prune(job) => {
            let result = prune::run(w, conn, &job);
            let _ = job.reply.send(after_maintenance(w, conn, result));
            signal();
        }
        Work::Pseudonymise(job) => {
            let result = pseudonymise::run(w, conn, &job);
            let _ = job.reply.send(after_maintenance(w, conn, result));
            signal();
        }
        Work::Checkpoint(job) => {
            let signed = sign::checkpoint(w, conn, &job);
            let _ = job.reply.send(signed);
        }
        Work::Run(f) => f(conn),
        Work::Append(job) => return Some(job),
    }
    None
}

/// `first` and every append queued behind it, up to a commit's worth; the first other work
/// met is kept in `pending` for after the commit.
fn gather(rx: &Receiver<Work>, first: Job, pending: &mut Option<Work>) -> Vec<Job> {
    let mut n = first.events.len();
    let mut jobs = vec![first];
    while n < MAX_ENTRIES_PER_COMMIT {
        match rx.try_recv() {
            Ok(Work::Append(job)) => {
                n += job.events.len();
                jobs.push(job);
            }
            Ok(other) => {
                *pending = Some(other);
                break;
            }
            Err(_) => break,
        }
    }
    jobs
}

/// Commits `jobs` together and answers each, counted before anyone hears of it; how many
/// entries it appended.
fn commit(
    w: &mut Writer,
    conn: &mut Connection,
    jobs: Vec<Job>,
    stats: &WriterStats,
    signal: &impl Fn(),
) -> u64 {
    match w.commit_group(conn, &jobs) {
        Ok((results, appended)) => {
            stats.record_commit(appended);
            for (job, result) in jobs.into_iter().zip(results) {
                let _ = job.reply.send(result);
            }
            if appended > 0 {
                signal();
            }
            appended
        }
        Err(e) => {
            tracing::error!("commit failed; {} batches are refused: {e}", jobs.len());
            let refusal = match StoreError::from(e) {
                e @ StoreError::Unavailable { .. } => e,
                other => StoreError::Internal(format!("the batch could not be committed: {other}")),
            };
            w.reload(conn);
            for job in jobs {
                let _ = job.reply.send(Err(refusal.clone()));
            }
            0
        }
    }
}
