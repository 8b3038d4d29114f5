//! The terminal and the loop: setup and restore (also on panic), one channel for input, ticks
//! and network results, effects run on tokio tasks, and one frame per burst of messages that
//! changed something (an idle tick draws nothing).

use super::action::{Action, Effect};
use super::app::App;
use super::views;
use crate::client::source::Source;
use crossterm::event::{DisableMouseCapture, EnableMouseCapture, Event, EventStream};
use crossterm::execute;
use crossterm::terminal::{
    EnterAlternateScreen, LeaveAlternateScreen, disable_raw_mode, enable_raw_mode,
};
use futures_util::StreamExt;
use ratatui::Terminal;
use ratatui::backend::CrosstermBackend;
use std::io::Write;
use std::path::PathBuf;
use std::time::Duration;
use tokio::sync::mpsc::{UnboundedReceiver, UnboundedSender, unbounded_channel};

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

/// Why the TUI could not run.
#[derive(Debug, thiserror::Error)]
pub enum TuiError {
    #[error("this is not a terminal the TUI can drive ({0})")]
    NotATerminal(std::io::Error),
    #[error("the terminal failed: {0}")]
    Terminal(std::io::Error),
}

/// How often the clock ticks (spinner, relative ages, retries).
const TICK: Duration = Duration::from_millis(250);

/// Puts the terminal back as it was: cooked mode, main screen, no mouse capture, cursor on.
pub fn restore_terminal() {
    let _ = disable_raw_mode();
    let _ = execute!(
        std::io::stdout(),
        DisableMouseCapture,
        LeaveAlternateScreen,
        crossterm::cursor::Show
    );
}

fn install_panic_hook() {
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        restore_terminal();
        tracing::error!("panic: {info}");
        previous(info);
    }));
}

/// Restores the terminal when dropped, whichever way the loop ends.
struct Guard;
impl Drop for Guard {
    fn drop(&mut self) {
        restore_terminal();
    }
}

/// Runs the TUI until the user quits. `config` is where saved views are written; `extra`
/// carries actions from outside the TUI (the demo's loading progress).
pub async fn run(
    client: Source,
    mut app: App,
    config: Option<PathBuf>,
    extra: Option<UnboundedReceiver<Action>>,
) -> Result<(), TuiError> {
    enable_raw_mode().map_err(TuiError::NotATerminal)?;
    let _guard = Guard;
    install_panic_hook();
    execute!(std::io::stdout(), EnterAlternateScreen, EnableMouseCapture)
        .map_err(TuiError::Terminal)?;
    // A 16-colour terminal gets its colours as classic SGR codes (see `sgr16`).
    let out: Box<dyn std::io::Write> =
        if matches!(app.chrome.theme.depth, super::theme::ColorDepth::Ansi16) {
            Box::new(super::sgr16::Sgr16::new(std::io::stdout()))
        } else {
            Box::new(std::io::stdout())
        };
    let mut terminal = Terminal::new(CrosstermBackend::new(out)).map_err(TuiError::Terminal)?;
    terminal.clear().map_err(TuiError::Terminal)?;
    let size = terminal.size().map_err(TuiError::Terminal)?;
    app.update(Action::Resize(size.width, size.height));
    // What earlier runs left (filters applied, marks), read once before the loop starts.
    let state = crate::config::state_dir();
    if let Some(dir) = &state {
        let (history, marks) = super::memory::load(dir);
        app = app.with_memory(super::app::Memory {
            history,
            marks,
            mark_anchor: None,
        });
    }

    let (tx, rx) = unbounded_channel::<Action>();
    let links = tx.clone();
    client.attach(move |link| {
        let _ = links.send(Action::Link(link));
    });
    let input_tx = tx.clone();
    let input = tokio::spawn(async move {
        let mut events = EventStream::new();
        while let Some(ev) = events.next().await {
            let action = match ev {
                Ok(Event::Key(k)) => Action::Key(k),
                Ok(Event::Mouse(m)) => Action::Mouse(m),
                Ok(Event::Resize(w, h)) => Action::Resize(w, h),
                Ok(_) => continue,
                Err(e) => {
                    tracing::error!("terminal input failed: {e}");
                    break;
                }
            };
            if input_tx.send(action).is_err() {
                break;
            }
        }
        // The terminal is gone (closed or failing): with no way left to take a key, leave as on
        // SIGHUP rather than run on unseen.
        let _ = input_tx.send(Action::Terminate);
    });
    let tick_tx = tx.clone();
    let ticker = tokio::spawn(async move {
        let mut interval = tokio::time::interval(TICK);
        loop {
            interval.tick().await;
            if tick_tx.send(Action::Tick(chrono::Utc::now())).is_err() {
                break;
            }
        }
    });

    let signals = tokio::spawn(terminated(tx.clone()));
    let extra_tx = tx.clone();
    let forward = tokio::spawn(async move {
        if let Some(mut extra) = extra {
            while let Some(a) = extra.recv().await {
                if extra_tx.send(a).is_err() {
                    break;
                }
            }
        }
    });

    let result = drive(
        &mut terminal,
        &client,
        app,
        (tx, rx),
        Persist {
            config: config.as_ref(),
            state: state.map(super::memory::writer),
        },
        |_| {},
    )
    .await;
    input.abort();
    ticker.abort();
    signals.abort();
    forward.abort();
    result.map(|_| ()).map_err(TuiError::Terminal)
}

/// Where the loop keeps what outlives it: the config file (saved views) and the state
/// directory's writer (history, marks). Either may be absent (tests, benchmarks, no home).
#[derive(Default)]
pub struct Persist<'a> {
    pub config: Option<&'a PathBuf>,
    pub state: Option<UnboundedSender<super::memory::Snapshot>>,
}

/// The loop proper, over any backend: applies every message waiting, runs the effects, draws
/// one frame when something shown changed, and calls `on_frame` after it; returns the app when it quits or the channel
/// closes. `run` feeds it a terminal; the benchmarks feed it a `TestBackend` and their keys.
pub async fn drive<B: ratatui::backend::Backend + Clipboard>(
    terminal: &mut Terminal<B>,
    client: &Source,
    mut app: App,
    (tx, mut rx): (UnboundedSender<Action>, UnboundedReceiver<Action>),
    persist: Persist<'_>,
    mut on_frame: impl FnMut(&App),
) -> Result<App, B::Error> {
    let mut tasks = Tasks::default();
    let effects = app.start();
    run_effects(terminal, client, &tx, &persist, &mut tasks, effects);
    app.take_dirty();
    terminal.draw(|f| views::render(&app, f))?;
    on_frame(&app);
    while let Some(first) = rx.recv().await {
        let mut effects = app.update(first);
        // Coalesce: everything already waiting is applied before the one frame.
        while let Ok(next) = rx.try_recv() {
            effects.extend(app.update(next));
        }
        run_effects(terminal, client, &tx, &persist, &mut tasks, effects);
        if app.quitting() {
            break;
        }
        if app.take_dirty() {
            terminal.draw(|f| views::render(&app, f))?;
            on_frame(&app);
        }
    }
    // Quitting mid-download cancels it; the partial file goes with the task.
    if let Some(d) = tasks.download.take() {
        d.abort();
        let _ = d.await;
    }
    if let Some(f) = tasks.follow.take() {
        f.abort();
    }
    Ok(app)
}

/// The long-running tasks the loop owns: at most one download and one follower at a time.
#[derive(Default)]
struct Tasks {
    download: Option<tokio::task::JoinHandle<()>>,
    follow: Option<tokio::task::JoinHandle<()>>,
}

/// `client` is the data source: the server, or the cache or a file's store in its place.
fn run_effects<B: ratatui::backend::Backend + Clipboard>(
    terminal: &mut Terminal<B>,
    client: &Source,
    tx: &UnboundedSender<Action>,
    persist: &Persist<'_>,
    tasks: &mut Tasks,
    effects: Vec<Effect>,
) {
    let download = &mut tasks.download;
    for effect in effects {
        let (client, tx) = (client.clone(), tx.clone());
        match effect {
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
            Effect::Download(job) => {
                if let Some(old) = download.take() {
                    old.abort();
                }
                *download = Some(super::download::start(client, job, tx));
            }
            Effect::CancelDownload => {
                if let Some(d) = download.take() {
                    d.abort();
                }
            }
            Effect::Follow {
                follower,
                query,
                after,
            } => {
                if let Some(old) = tasks.follow.take() {
                    old.abort();
                }
                let Some(remote) = client.client().cloned() else {
                    let _ = tx.send(Action::FollowRefused(
                        "following needs the server: this is the offline cache or a file".into(),
                    ));
                    continue;
                };
                tasks.follow = Some(tokio::spawn(async move {
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
            Effect::StopFollow => {
                if let Some(old) = tasks.follow.take() {
                    old.abort();
                }
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
                if let (Some(remote), Some(cache)) =
                    (client.client().cloned(), client.cache().cloned())
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
            // File I/O off the loop: a slow disk never holds a frame.
            Effect::SaveView { name, filter } => match persist.config {
                Some(path) => {
                    let path = path.clone();
                    tokio::task::spawn_blocking(move || {
                        if let Err(e) = crate::config::save_view(&path, &name, &filter) {
                            tracing::error!("saving view {name}: {e}");
                            let _ =
                                tx.send(Action::Notice(format!("could not save the view: {e}")));
                        }
                    });
                }
                None => {
                    let _ = tx.send(Action::Notice(
                        "there is no config directory to save views in".into(),
                    ));
                }
            },
            Effect::Quit => {}
        }
    }
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

/// Waits for SIGTERM, SIGHUP or SIGINT and asks the loop to leave, so the terminal is restored.
#[cfg(unix)]
async fn terminated(tx: UnboundedSender<Action>) {
    use tokio::signal::unix::{SignalKind, signal};
    let (Ok(mut term), Ok(mut hup), Ok(mut int)) = (
        signal(SignalKind::terminate()),
        signal(SignalKind::hangup()),
        signal(SignalKind::interrupt()),
    ) else {
        return;
    };
    tokio::select! {
        _ = term.recv() => {}
        _ = hup.recv() => {}
        _ = int.recv() => {}
    }
    let _ = tx.send(Action::Terminate);
}

/// Waits for Ctrl-C delivered as a signal and asks the loop to leave.
#[cfg(not(unix))]
async fn terminated(tx: UnboundedSender<Action>) {
    if tokio::signal::ctrl_c().await.is_ok() {
        let _ = tx.send(Action::Terminate);
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
