//! Handing an export from the thread that writes it to the task that sends or saves it.

use std::io::{self, Write};
use tokio::sync::mpsc;

/// Bytes gathered before a chunk is handed on.
pub const CHUNK: usize = 64 * 1024;

/// An `io::Write` for an export's writer on a blocking thread: it gathers [`CHUNK`] bytes and
/// hands each chunk to the async side, waiting while the channel is full (so memory stays at a
/// few chunks). When the receiver is gone — the client left, the download was cancelled —
/// writing fails, and the export stops reading the store.
pub struct ChunkSender<T> {
    tx: mpsc::Sender<T>,
    wrap: fn(Vec<u8>) -> T,
    buf: Vec<u8>,
}

impl<T> ChunkSender<T> {
    /// Sends each chunk as `wrap(chunk)`.
    pub fn new(tx: mpsc::Sender<T>, wrap: fn(Vec<u8>) -> T) -> ChunkSender<T> {
        ChunkSender {
            tx,
            wrap,
            buf: Vec::with_capacity(CHUNK),
        }
    }

    fn send(&mut self) -> io::Result<()> {
        if self.buf.is_empty() {
            return Ok(());
        }
        let chunk = std::mem::replace(&mut self.buf, Vec::with_capacity(CHUNK));
        self.tx.blocking_send((self.wrap)(chunk)).map_err(|_| {
            io::Error::new(
                io::ErrorKind::BrokenPipe,
                "the reader of the export went away",
            )
        })
    }
}

impl<T> Write for ChunkSender<T> {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        self.buf.extend_from_slice(data);
        if self.buf.len() >= CHUNK {
            self.send()?;
        }
        Ok(data.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        self.send()
    }
}
