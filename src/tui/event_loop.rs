//! The terminal and the loop: setup and restore (also on panic), one channel for input, ticks
//! and network results, effects run on tokio tasks, and one frame per burst of messages that
//! changed something (an idle tick draws nothing).

use super::action::Action;
use super::app::App;
use super::effects;
// What `drive` takes, where its callers have always found them.
pub use super::effects::{Clipboard, Persist};
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
use std::path::PathBuf;
use std::time::Duration;
use tokio::sync::mpsc::{UnboundedReceiver, UnboundedSender, unbounded_channel};

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

/// The terminal the TUI draws on: a 16-colour terminal gets its colours as classic SGR codes
/// (see `sgr16`).
type Screen = Terminal<CrosstermBackend<Box<dyn std::io::Write>>>;

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
    let mut terminal = open_screen(&app).map_err(TuiError::Terminal)?;
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
    let feeds = [
        tokio::spawn(read_input(tx.clone())),
        tokio::spawn(tick(tx.clone())),
        tokio::spawn(terminated(tx.clone())),
        tokio::spawn(forward(extra, tx.clone())),
    ];

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
    for feed in feeds {
        feed.abort();
    }
    result.map(|_| ()).map_err(TuiError::Terminal)
}

/// The alternate screen with the mouse captured, cleared.
fn open_screen(app: &App) -> std::io::Result<Screen> {
    execute!(std::io::stdout(), EnterAlternateScreen, EnableMouseCapture)?;
    let out: Box<dyn std::io::Write> =
        if matches!(app.chrome.theme.depth, super::theme::ColorDepth::Ansi16) {
            Box::new(super::sgr16::Sgr16::new(std::io::stdout()))
        } else {
            Box::new(std::io::stdout())
        };
    let mut terminal = Terminal::new(CrosstermBackend::new(out))?;
    terminal.clear()?;
    Ok(terminal)
}

/// Keys, the mouse and resizes from the terminal, as actions.
async fn read_input(tx: UnboundedSender<Action>) {
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
        if tx.send(action).is_err() {
            break;
        }
    }
    // The terminal is gone (closed or failing): with no way left to take a key, leave as on
    // SIGHUP rather than run on unseen.
    let _ = tx.send(Action::Terminate);
}

/// The clock, every `TICK`.
async fn tick(tx: UnboundedSender<Action>) {
    let mut interval = tokio::time::interval(TICK);
    loop {
        interval.tick().await;
        if tx.send(Action::Tick(chrono::Utc::now())).is_err() {
            break;
        }
    }
}

/// The actions from outside the TUI, onto the loop's channel.
async fn forward(extra: Option<UnboundedReceiver<Action>>, tx: UnboundedSender<Action>) {
    if let Some(mut extra) = extra {
        while let Some(a) = extra.recv().await {
            if tx.send(a).is_err() {
                break;
            }
        }
    }
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
    let mut tasks = effects::Tasks::default();
    let effects = app.start();
    effects::run(terminal, client, &tx, &persist, &mut tasks, effects);
    app.take_dirty();
    terminal.draw(|f| views::render(&app, f))?;
    on_frame(&app);
    while let Some(first) = rx.recv().await {
        let mut effects = app.update(first);
        // Coalesce: everything already waiting is applied before the one frame.
        while let Ok(next) = rx.try_recv() {
            effects.extend(app.update(next));
        }
        effects::run(terminal, client, &tx, &persist, &mut tasks, effects);
        if app.quitting() {
            break;
        }
        if app.take_dirty() {
            terminal.draw(|f| views::render(&app, f))?;
            on_frame(&app);
        }
    }
    tasks.end().await;
    Ok(app)
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
