//! `trailscope ingest`: a producer's one-liner, NDJSON from stdin in atomic batches.

use super::context::{RemoteArgs, Threads, runtime};
use super::output::errln;
use anyhow::{Context, anyhow};
use std::io::BufRead;

/// Lines per request: the server's batch limit.
const BATCH_LINES: usize = 1000;
/// Bytes per request, well under the server's 16 MiB limit.
const BATCH_BYTES: usize = 8 << 20;

/// `trailscope ingest < events.ndjson`: posts stdin in batches; each batch is atomic, so on a
/// refusal everything before it is stored and nothing after it, and the message says where.
pub fn run(remote: &RemoteArgs) -> anyhow::Result<()> {
    let client = remote.client()?;
    let rt = runtime(Threads::One)?;
    let stdin = std::io::stdin().lock();
    let mut batch = String::new();
    // The input line number of each event in the batch, for the server's `index`.
    let mut numbers: Vec<usize> = Vec::new();
    let mut stored = 0u64;
    let mut send = |batch: &mut String, numbers: &mut Vec<usize>| -> anyhow::Result<()> {
        if numbers.is_empty() {
            return Ok(());
        }
        let body = std::mem::take(batch);
        match rt.block_on(client.append_ndjson(body)) {
            Ok(r) => {
                stored += r.entries.len() as u64;
                numbers.clear();
                Ok(())
            }
            Err(refused) => {
                let at = refused
                    .index
                    .and_then(|i| numbers.get(i))
                    .map(|n| format!("line {n}: "))
                    .unwrap_or_else(|| {
                        format!("lines {}–{}: ", numbers[0], numbers[numbers.len() - 1])
                    });
                let why = match refused.message {
                    // The server names the batch's event from 0 (`event 3: …`); the line the
                    // user knows is already in front, so its count goes.
                    Some(m) if refused.index.is_some() => match m.split_once(": ") {
                        Some((n, rest))
                            if n.strip_prefix("event ")
                                .is_some_and(|d| d.bytes().all(|b| b.is_ascii_digit())) =>
                        {
                            rest.to_string()
                        }
                        _ => m,
                    },
                    Some(m) => m,
                    None => format!("{}; {}", refused.error, refused.error.advice()),
                };
                Err(anyhow!(
                    "{at}{why}. {stored} events before line {} are stored; nothing from it on",
                    numbers[0]
                ))
            }
        }
    };
    for (i, line) in stdin.lines().enumerate() {
        let line = line.with_context(|| format!("cannot read line {} of the input", i + 1))?;
        if line.trim().is_empty() {
            continue;
        }
        if batch.len() + line.len() + 1 > BATCH_BYTES {
            send(&mut batch, &mut numbers)?;
        }
        batch.push_str(&line);
        batch.push('\n');
        numbers.push(i + 1);
        if numbers.len() == BATCH_LINES {
            send(&mut batch, &mut numbers)?;
        }
    }
    send(&mut batch, &mut numbers)?;
    errln!(
        "stored {stored} {}",
        if stored == 1 { "event" } else { "events" }
    );
    Ok(())
}
