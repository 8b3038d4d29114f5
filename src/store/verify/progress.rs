//! How far a verify walk has got, for whoever watches it, and how the walk learns that nobody
//! does any more: the walk publishes its count on a [`watch`] channel once per chunk of rows (a
//! few thousand), and stops with [`StoreError::Abandoned`] once every receiver is gone.

use crate::model::VerifyProgress;
use crate::store::StoreError;
use tokio::sync::watch;

/// The walk's side of the channel.
pub struct Progress {
    tx: Option<watch::Sender<VerifyProgress>>,
    at: VerifyProgress,
    /// The hash chain's share of `at.total` (the entries still in the log); the tree's rows
    /// count after it.
    chain: u64,
}

impl Progress {
    /// Publishes on `tx` when given; without one the walk tells nobody and runs to its end.
    pub fn new(tx: Option<watch::Sender<VerifyProgress>>) -> Progress {
        Progress {
            tx,
            at: VerifyProgress::default(),
            chain: 0,
        }
    }

    /// The walk will read `entries` entries in the chain and `leaves` leaves of the tree.
    pub(super) fn expect(&mut self, entries: u64, leaves: u64) -> Result<(), StoreError> {
        self.chain = entries;
        self.at.total = entries.saturating_add(leaves);
        self.publish()
    }

    /// `read` entries of the chain walked (a second walk after a break counts from 0 again and
    /// shows nothing new until it passes the first).
    pub(super) fn chain(&mut self, read: u64) -> Result<(), StoreError> {
        self.reach(read.min(self.chain))
    }

    /// `leaf` leaves of the tree walked.
    pub(super) fn tree(&mut self, leaf: u64) -> Result<(), StoreError> {
        self.reach(self.chain.saturating_add(leaf))
    }

    /// The walk is over: every row counted, whatever a tampered log's counts said.
    pub(super) fn finish(&mut self) {
        self.at.checked = self.at.total;
        if let Some(tx) = &self.tx {
            tx.send_replace(self.at);
        }
    }

    /// Never backwards, never past the total.
    fn reach(&mut self, checked: u64) -> Result<(), StoreError> {
        self.at.checked = checked.min(self.at.total).max(self.at.checked);
        self.publish()
    }

    fn publish(&self) -> Result<(), StoreError> {
        let Some(tx) = &self.tx else {
            return Ok(());
        };
        if tx.is_closed() {
            return Err(StoreError::Abandoned);
        }
        tx.send_replace(self.at);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_the_chain_then_the_tree_never_backwards_and_stops_when_nobody_watches() {
        let (tx, rx) = watch::channel(VerifyProgress::default());
        let mut p = Progress::new(Some(tx));
        p.expect(10, 12).unwrap();
        assert_eq!(
            *rx.borrow(),
            VerifyProgress {
                checked: 0,
                total: 22
            }
        );
        p.chain(4).unwrap();
        // A second walk of the chain after a break, and a tampered log's extra rows.
        p.chain(2).unwrap();
        assert_eq!(rx.borrow().checked, 4);
        p.chain(15).unwrap();
        assert_eq!(rx.borrow().checked, 10);
        p.tree(5).unwrap();
        assert_eq!(rx.borrow().checked, 15);
        p.tree(40).unwrap();
        assert_eq!(rx.borrow().checked, 22);
        drop(rx);
        assert!(matches!(p.tree(41), Err(StoreError::Abandoned)));
        let mut quiet = Progress::new(None);
        quiet.expect(1, 1).unwrap();
        quiet.tree(1).unwrap();
    }
}
