//! `verify` on SQLite: the walk is backend-neutral ([`crate::store::verify`]); this hands it the
//! rows of one read transaction.

use super::row;
use super::tree;
use crate::model::{ChainHead, Entry, VerifyReport};
use crate::proof::VerifierKey;
use crate::store::StoreError;
use crate::store::chain::Commitments;
use crate::store::verify::{Progress, VerifySource};
use rusqlite::{Connection, OptionalExtension, params};

/// One tenant's rows through one connection (inside the caller's read transaction).
struct Source<'a> {
    conn: &'a Connection,
    tenant: &'a str,
}

impl VerifySource for Source<'_> {
    fn head(&mut self) -> Result<Option<ChainHead>, StoreError> {
        Ok(self
            .conn
            .prepare_cached("SELECT seq, hash FROM chain_heads WHERE tenant = ?1")?
            .query_row([self.tenant], |r| {
                Ok(ChainHead {
                    seq: r.get::<_, u64>(0)?,
                    hash: r.get(1)?,
                })
            })
            .optional()?)
    }

    fn anchor(&mut self) -> Result<Option<(u64, String)>, StoreError> {
        Ok(self
            .conn
            .prepare_cached("SELECT seq, hash FROM chain_anchors WHERE tenant = ?1")?
            .query_row([self.tenant], |r| Ok((r.get::<_, u64>(0)?, r.get(1)?)))
            .optional()?)
    }

    fn entries_after(
        &mut self,
        after: Option<(u64, String)>,
        limit: usize,
    ) -> Result<Vec<(Entry, Commitments)>, StoreError> {
        // (tenant, seq) is unique here, so the seq alone is the keyset.
        let after = after.map_or(0, |(s, _)| s);
        let mut stmt = self.conn.prepare_cached(&format!(
            "SELECT {} FROM entries WHERE tenant = ?1 AND seq > ?2 ORDER BY seq LIMIT ?3",
            row::COLUMNS
        ))?;
        let rows = stmt.query_map(params![self.tenant, after, limit], row::from_row)?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    fn hashes_after(&mut self, after: u64, limit: usize) -> Result<Vec<(u64, String)>, StoreError> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT seq, hash FROM entries WHERE tenant = ?1 AND seq > ?2 ORDER BY seq LIMIT ?3",
        )?;
        let rows = stmt.query_map(params![self.tenant, after, limit], |r| {
            Ok((r.get::<_, u64>(0)?, r.get(1)?))
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    fn tree_rows_after(
        &mut self,
        after: Option<u64>,
        limit: usize,
    ) -> Result<Vec<(u64, Vec<u8>)>, StoreError> {
        let from = after.map_or(0, |a| a + 1);
        let mut stmt = self.conn.prepare_cached(
            "SELECT leaf, hashes FROM tree_rows WHERE tenant = ?1 AND leaf >= ?2 ORDER BY leaf LIMIT ?3",
        )?;
        let rows = stmt.query_map(params![self.tenant, from, limit], |r| {
            Ok((r.get::<_, u64>(0)?, r.get(1)?))
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    fn last_seq(&mut self) -> Result<Option<u64>, StoreError> {
        let max: Option<u64> = self
            .conn
            .prepare_cached("SELECT max(seq) FROM entries WHERE tenant = ?1")?
            .query_row([self.tenant], |r| r.get(0))?;
        Ok(max)
    }

    fn extent(&mut self) -> Result<(u64, u64), StoreError> {
        Ok(tree::extent(self.conn, self.tenant)?)
    }

    fn checkpoints(&mut self) -> Result<Vec<(u64, String)>, StoreError> {
        let mut stmt = self
            .conn
            .prepare_cached("SELECT size, note FROM checkpoints WHERE tenant = ?1 ORDER BY size")?;
        let rows = stmt.query_map([self.tenant], |r| Ok((r.get::<_, u64>(0)?, r.get(1)?)))?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    fn tampering(&mut self) -> Result<Vec<String>, StoreError> {
        Ok(super::schema::tampering(self.conn)?)
    }
}

pub(super) fn run(
    conn: &Connection,
    tenant: &str,
    key: Option<&VerifierKey>,
    remembered: Option<crate::store::checkpoint::Remembered>,
    progress: &mut Progress,
) -> Result<VerifyReport, StoreError> {
    crate::store::verify::run(
        &mut Source { conn, tenant },
        tenant,
        key,
        remembered,
        progress,
    )
}
