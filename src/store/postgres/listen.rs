//! The commit feed across replicas: a connection of its own LISTENs on the commit channel and
//! turns each NOTIFY (sent inside the committing transaction, so delivered only after COMMIT)
//! into a tick of the watch that live streams follow. Streams re-read `after_seq` on a tick, so
//! a tick too many costs a query and a lost one is made good by the next: after a reconnect
//! this ticks once, since commits may have gone unheard meanwhile.

use std::sync::Arc;
use tokio::sync::watch;

/// Listens until the task is aborted, reconnecting (once a second) whenever the connection drops.
pub async fn run(config: tokio_postgres::Config, ticks: Arc<watch::Sender<u64>>) {
    let mut first = true;
    loop {
        match config.connect(tokio_postgres::NoTls).await {
            Ok((client, mut conn)) => {
                let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
                // The connection is driven here; its end (None) drops `tx`, which ends the loop.
                let driver = tokio::spawn(async move {
                    while let Some(m) =
                        futures_util::future::poll_fn(|cx| conn.poll_message(cx)).await
                    {
                        let failed = m.is_err();
                        if tx.send(m).is_err() || failed {
                            break;
                        }
                    }
                });
                match client
                    .batch_execute(&format!("LISTEN {}", super::CHANNEL))
                    .await
                {
                    Ok(()) => {
                        if !first {
                            tracing::info!("listening for commits again");
                            ticks.send_modify(|n| *n += 1);
                        }
                        first = false;
                        while let Some(message) = rx.recv().await {
                            match message {
                                Ok(tokio_postgres::AsyncMessage::Notification(_)) => {
                                    ticks.send_modify(|n| *n += 1)
                                }
                                Ok(_) => {}
                                Err(e) => {
                                    tracing::warn!("the commit listener's connection failed: {e}");
                                    break;
                                }
                            }
                        }
                    }
                    Err(e) => tracing::warn!("cannot LISTEN for commits: {e}"),
                }
                driver.abort();
            }
            Err(e) => tracing::warn!("the commit listener cannot connect (will retry): {e}"),
        }
        tokio::time::sleep(std::time::Duration::from_secs(1)).await;
    }
}
