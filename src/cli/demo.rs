//! `trailscope demo`: a generated trail served on a loopback port in this process, and the TUI
//! on it.

use super::context::{Threads, log_to_file, runtime};
use super::tui::{TuiArgs, resolve, run_resolved};
use anyhow::Context;

/// `trailscope demo`: a generated trail in a temporary database, served on a free loopback
/// port in this process, and the TUI on it. Everything goes away on quit.
/// After the trail, the demo's automation keeps working: alerts, rule dispatches, tickets and
/// write-backs arrive every second or so, for follow mode (`F`) to show.
///
/// The store takes several seconds to index fifty thousand entries, so the TUI opens at once
/// and the trail is appended in the background, newest thousand first so the table is full
/// within a moment: each batch is in time order, and seqs run backwards across batches, as
/// after a backfill. The footer shows progress; the table and count follow each batch.
pub fn run() -> anyhow::Result<()> {
    use std::sync::Arc;
    use trailscope::store::sqlite::TokenAdmin;
    use trailscope::store::{Role, SqliteStore, Store};
    use trailscope::tui::Action;

    log_to_file();
    let started = std::time::Instant::now();
    let dir = tempfile::Builder::new()
        .prefix("trailscope-demo-")
        .tempdir()
        .context("cannot create a temporary directory for the demo database")?;
    let db = dir.path().join("demo.db");
    let (_, token) = TokenAdmin::open(&db)?.create(Role::Admin, "default", Some("demo"))?;
    let sqlite = SqliteStore::open(&db)?;
    let (progress, extra) = tokio::sync::mpsc::unbounded_channel::<Action>();
    // For on-call trying the demo: a token to post with and the key to pin, shown by `i`.
    let (_, writer) =
        TokenAdmin::open(&db)?.create(Role::Writer, "default", Some("demo writer"))?;
    let about = progress.clone();
    // The seeding thread appends through the synchronous engine under the server's store.
    let seeding = {
        let store = sqlite.db().clone();
        std::thread::spawn(move || seed(&store, progress, started))
    };
    let store: Arc<dyn Store> = Arc::new(sqlite);
    let rt = runtime(Threads::PerCore)?;
    let result = rt.block_on(serve_and_browse(
        store,
        about,
        Tokens { token, writer },
        extra,
    ));
    // Quitting while the trail still loads is fine: the process ends with the seeding thread,
    // and the temporary directory goes with `dir` below.
    drop(seeding);
    drop(dir);
    result
}

/// Appends the demo trail in batches of a thousand, newest first, telling the TUI after each;
/// then keeps the automation working ([`live_feed`]).
fn seed(
    store: &trailscope::store::sqlite::SqliteDb,
    progress: tokio::sync::mpsc::UnboundedSender<trailscope::tui::Action>,
    started: std::time::Instant,
) -> anyhow::Result<()> {
    use trailscope::tui::Action;
    let now = chrono::Utc::now();
    let trail = trailscope::demo::trail(now, 42);
    let total = trail.len();
    let last_ticket = trailscope::demo::last_ticket(&trail);
    let mut done = 0;
    for batch in trail.rchunks(1000) {
        store.append("default", batch.to_vec())?;
        done += batch.len();
        let _ = progress.send(Action::Grew);
        let msg = format!(
            "loading the demo trail, newest first: {} of {} entries",
            trailscope::tui::views::header::thousands(done as u64),
            trailscope::tui::views::header::thousands(total as u64)
        );
        let _ = progress.send(Action::Notice(msg));
    }
    tracing::info!(entries = total, took = ?started.elapsed(), "demo trail stored");
    let _ = progress.send(Action::Notice(format!(
        "the demo trail is in: {} entries over 30 days, and the automation keeps working (F follows it). Find the incident: press / and type channel:auth outcome:failure",
        trailscope::tui::views::header::thousands(total as u64)
    )));
    let _ = progress.send(Action::Grew);
    drop(progress);
    live_feed(store, now, last_ticket)
}

/// The demo's two tokens: the admin token the TUI reads with, and a writer token to offer.
struct Tokens {
    token: String,
    writer: String,
}

/// Serves `store` on a free loopback port, and runs the TUI on it until the user quits.
/// `about` gives the TUI's info view the server, the writer token and the key to pin.
async fn serve_and_browse(
    store: std::sync::Arc<dyn trailscope::store::Store>,
    about: tokio::sync::mpsc::UnboundedSender<trailscope::tui::Action>,
    Tokens { token, writer }: Tokens,
    extra: tokio::sync::mpsc::UnboundedReceiver<trailscope::tui::Action>,
) -> anyhow::Result<()> {
    use trailscope::tui::Action;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .context("cannot listen on a loopback port")?;
    let url = format!("http://{}", listener.local_addr()?);
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    // The demo's log lives as long as the process, and so does the key that signs it.
    // Searches are audited as on a real server: the demo's own reads show in its log.
    let key = trailscope::proof::SigningKey::generate();
    let _ = about.send(Action::About(vec![
        ("Server".into(), url.clone()),
        (
            "Writer".into(),
            format!("{writer} (a writer token: POST /v1/events)"),
        ),
        (
            "Verifier".into(),
            format!("{} (the key to pin)", key.verifier_for("default")),
        ),
    ]));
    drop(about);
    let options = trailscope::server::ServerOptions {
        signing_key: Some(key),
        audit_searches: Some(Default::default()),
        ..trailscope::server::Allowlist::default().into()
    };
    let server = tokio::spawn(trailscope::server::serve(
        store,
        options,
        listener,
        async move {
            let _ = stopped.await;
        },
    ));
    let mut resolved = resolve(&TuiArgs {
        server: Some(url),
        token: Some(token),
        profile: None,
        filter: None,
        offline: false,
    })?;
    resolved.source =
        trailscope::tui::source_name::SourceName::profile("demo", resolved.server.clone());
    // The demo's server lives as long as the process: nothing of it is worth caching.
    resolved.cache = None;
    let result = run_resolved(resolved, Some(extra)).await;
    let _ = stop.send(());
    let _ = server.await;
    result
}

/// Appends the automation's next 30 days as they happen, sixty times faster (a pause of at most
/// five seconds), each stamped with the moment it is written. Runs until the process ends.
fn live_feed(
    store: &trailscope::store::sqlite::SqliteDb,
    now: chrono::DateTime<chrono::Utc>,
    last_ticket: u64,
) -> anyhow::Result<()> {
    let feed = trailscope::demo::live_feed(now, 43, last_ticket + 1);
    let mut previous: Option<chrono::DateTime<chrono::Utc>> = None;
    for mut event in feed {
        let at = event.occurred_at;
        if let (Some(prev), Some(at)) = (previous, at) {
            let gap = (at - prev).to_std().unwrap_or_default() / 60;
            std::thread::sleep(gap.min(std::time::Duration::from_secs(5)));
        }
        previous = at;
        event.occurred_at = Some(chrono::Utc::now());
        store.append("default", vec![event])?;
    }
    Ok(())
}
