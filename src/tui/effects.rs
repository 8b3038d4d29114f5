//! The effects `update` asks for, run by the loop: requests to the data source on their own
//! tasks (their answers come back as actions), the download and the follower it owns, the
//! clipboard, and what is saved to disk.

use super::action::{Action, Effect};
use crate::client::source::Source;
use crossterm::execute;
use ratatui::Terminal;
use ratatui::backend::CrosstermBackend;
use std::io::Write;
use std::path::PathBuf;
use tokio::sync::mpsc::UnboundedSender;

/// Where the copy command's text goes: OSC 52 written through the backend's own writer, so it
/// is ordered with the frames the backend writes and passes the same filters (`sgr16`). OSC 52
/// reaches the user's own terminal over SSH; tmux forwards it with set-clipboard.
pub trait Clipboard {
    fn copy(&mut self, text: &str) -> std::io::Result<()>;
}

impl<W: Write> Clipboard for CrosstermBackend<W> {
    fn copy(&mut self, text: &str) -> std::io::Result<()> {
        execute!(
            self,
            crossterm::clipboard::CopyToClipboard::to_clipboard_from(text)
        )
    }
}

/// A screen in memory (benchmarks) has no terminal to copy to: it says so.
impl Clipboard for ratatui::backend::TestBackend {
    fn copy(&mut self, _text: &str) -> std::io::Result<()> {
        Err(std::io::Error::new(
            std::io::ErrorKind::Unsupported,
            "a TestBackend has no terminal clipboard",
        ))
    }
}

/// Where the loop keeps what outlives it: the config file (saved views) and the state
/// directory's writer (history, marks). Either may be absent (tests, benchmarks, no home).
#[derive(Default)]
pub struct Persist<'a> {
    pub config: Option<&'a PathBuf>,
    pub state: Option<UnboundedSender<super::memory::Snapshot>>,
}

/// The long-running tasks the loop owns: at most one download and one follower at a time.
#[derive(Default)]
pub struct Tasks {
    download: Option<tokio::task::JoinHandle<()>>,
    follow: Option<tokio::task::JoinHandle<()>>,
}

/// Runs the effects `update` returned. `client` is the data source: the server, or the cache
/// or a file's store in its place.
pub fn run<B: ratatui::backend::Backend + Clipboard>(
    terminal: &mut Terminal<B>,
    client: &Source,
    tx: &UnboundedSender<Action>,
    persist: &Persist<'_>,
    tasks: &mut Tasks,
    effects: Vec<Effect>,
) {
    for effect in effects {
        let (client, tx) = (client.clone(), tx.clone());
        match effect {
            Effect::Download(job) => {
                if let Some(old) = tasks.download.take() {
                    old.abort();
                }
                tasks.download = Some(super::download::start(client, job, tx));
            }
            Effect::CancelDownload => {
                if let Some(d) = tasks.download.take() {
                    d.abort();
                }
            }
            Effect::Follow {
                follower,
                query,
                after,
            } => tasks.follow(client, tx, follower, query, after),
            Effect::StopFollow => {
                if let Some(old) = tasks.follow.take() {
                    old.abort();
                }
            }
            Effect::Copy(text) => {
                if let Err(e) = terminal.backend_mut().copy(&text) {
                    tracing::warn!("the copy did not reach the terminal: {e}");
                }
            }
            Effect::Remember(snapshot) => {
                if let Some(state) = &persist.state {
                    let _ = state.send(snapshot);
                }
            }
            Effect::SaveView { name, filter } => save_view(persist.config, name, filter, tx),
            Effect::Quit => {}
            request => spawn_request(client, tx, request),
        }
    }
}

/// A request to the data source on its own task; its answer comes back as an action.
fn spawn_request(client: Source, tx: UnboundedSender<Action>, request: Effect) {
    match request {
        Effect::FetchPage {
            load,
            query,
            cursor,
            limit,
        } => {
            tokio::spawn(async move {
                let result = client.events(&query, cursor.as_deref(), limit).await;
                let _ = tx.send(Action::Page { load, result });
            });
        }
        Effect::FetchStats {
            load,
            query,
            buckets,
        } => {
            tokio::spawn(async move {
                let result = client.stats(&query, buckets).await;
                let _ = tx.send(Action::Stats { load, result });
            });
        }
        Effect::FetchFacets { load, field, query } => {
            tokio::spawn(async move {
                let result = client.facets(field, &query, 200).await;
                let _ = tx.send(Action::Facets {
                    load,
                    field,
                    result,
                });
            });
        }
        Effect::Probe => {
            tokio::spawn(async move {
                if let Some(result) = client.probe().await {
                    let _ = tx.send(Action::Health(result));
                }
            });
        }
        Effect::CheckWitness => {
            // Only a server with a cache to remember checkpoints in can be witnessed.
            if let (Some(remote), Some(cache)) = (client.client().cloned(), client.cache().cloned())
            {
                tokio::spawn(async move {
                    let w = super::witness::check(&remote, &cache).await;
                    let _ = tx.send(Action::Witness(w));
                });
            }
        }
        Effect::FetchIds {
            load,
            query,
            limit,
            mark,
        } => {
            tokio::spawn(async move {
                let result = matching_ids(&client, &query, limit).await;
                let _ = tx.send(Action::Matched { load, mark, result });
            });
        }
        Effect::FetchExports => {
            tokio::spawn(async move {
                let _ = tx.send(Action::Exports(client.exports().await));
            });
        }
        Effect::FetchRetention => {
            tokio::spawn(async move {
                let _ = tx.send(Action::Retention(client.retention().await));
            });
        }
        // Not requests: `run` runs these on the loop.
        Effect::Download(_)
        | Effect::CancelDownload
        | Effect::Follow { .. }
        | Effect::StopFollow
        | Effect::Copy(_)
        | Effect::Remember(_)
        | Effect::SaveView { .. }
        | Effect::Quit => {}
    }
}

impl Tasks {
    /// Stops both tasks as the loop ends. Quitting mid-download cancels it; the partial file
    /// goes with the task.
    pub async fn end(mut self) {
        if let Some(d) = self.download.take() {
            d.abort();
            let _ = d.await;
        }
        if let Some(f) = self.follow.take() {
            f.abort();
        }
    }

    /// Follows `query` live after `after`, in place of any follower before.
    fn follow(
        &mut self,
        client: Source,
        tx: UnboundedSender<Action>,
        follower: u64,
        query: crate::model::Query,
        after: Option<u64>,
    ) {
        if let Some(old) = self.follow.take() {
            old.abort();
        }
        let Some(remote) = client.client().cloned() else {
            let _ = tx.send(Action::FollowRefused(
                "following needs the server: this is the offline cache or a file".into(),
            ));
            return;
        };
        self.follow = Some(tokio::spawn(async move {
            crate::client::follow(&remote, &query, after, |event| {
                // What was seen live is kept for offline review like any page.
                if let crate::client::Live::Entries(entries) = &event {
                    client.keep(entries);
                }
                tx.send(Action::Live { follower, event }).is_ok()
            })
            .await;
        }));
    }
}

/// Saves a view to the config file, off the loop: a slow disk never holds a frame.
fn save_view(config: Option<&PathBuf>, name: String, filter: String, tx: UnboundedSender<Action>) {
    let Some(path) = config else {
        let _ = tx.send(Action::Notice(
            "there is no config directory to save views in".into(),
        ));
        return;
    };
    let path = path.clone();
    tokio::task::spawn_blocking(move || {
        if let Err(e) = crate::config::save_view(&path, &name, &filter) {
            tracing::error!("saving view {name}: {e}");
            let _ = tx.send(Action::Notice(format!("could not save the view: {e}")));
        }
    });
}

/// The ids of the entries `query` matches, paged through, at most `limit` (`true` with them when
/// there are more: the caller refuses rather than mark part of a filter).
async fn matching_ids(
    client: &Source,
    query: &crate::model::Query,
    limit: usize,
) -> Result<(Vec<String>, bool), crate::client::ClientError> {
    let mut ids = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let page = client
            .events(query, cursor.as_deref(), (limit + 1 - ids.len()).min(1000))
            .await?;
        ids.extend(page.entries.into_iter().map(|e| e.id));
        if ids.len() > limit {
            ids.truncate(limit);
            return Ok((ids, true));
        }
        match page.next_cursor {
            Some(c) => cursor = Some(c),
            None => return Ok((ids, false)),
        }
    }
}

#[cfg(test)]
mod clipboard_tests {
    use super::Clipboard;
    use ratatui::backend::CrosstermBackend;

    /// What the backend writes, kept where the test can read it.
    #[derive(Clone, Default)]
    struct Shared(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

    impl std::io::Write for Shared {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn a_copy_is_osc_52_written_through_the_backend() {
        let out = Shared::default();
        let mut backend = CrosstermBackend::new(out.clone());
        backend.copy("{\"seq\": 60}").unwrap();
        let written = String::from_utf8(out.0.lock().unwrap().clone()).unwrap();
        // base64 of {"seq": 60}
        assert!(
            written.starts_with("\u{1b}]52;c;eyJzZXEiOiA2MH0="),
            "{written:?}"
        );
    }
}
