//! Damaged rows: a log whose rows were changed in the database behind the store's back (an
//! entry's hash, commitments or prev_hash, an entry gone, a tree row malformed or gone). Every
//! store must come to the same thing for the same damage, call by call: an export proof, an
//! inclusion proof, a page read and verify. Each case states it once, for every backend, so a
//! store that answers differently (a 500 where another names the tampering) fails here.

use crate::backend::Database;
use crate::fixtures::{append, base, events};
use chrono::Utc;
use trailscope::model::Query;
use trailscope::proof::SigningKey;
use trailscope::store::{PageRequest, StoreError};

/// Entries in the damaged log, all covered by one signed checkpoint.
const N: u64 = 20;

/// What a store call came to: `ok`, or the kind of its error.
fn kind<T>(r: &Result<T, StoreError>) -> &'static str {
    match r {
        Ok(_) => "ok",
        Err(StoreError::Invalid(_)) => "invalid",
        Err(StoreError::NotFound(_)) => "not_found",
        Err(StoreError::BadRequest(_)) => "bad_request",
        Err(StoreError::Tampered(_)) => "tampered",
        Err(StoreError::Closed) => "closed",
        Err(StoreError::Open(_)) => "open",
        Err(StoreError::Internal(_)) => "internal",
        Err(e) if e.is_unavailable() => "unavailable",
        Err(_) => "other",
    }
}

/// What the store makes of a damaged log.
#[derive(Debug, PartialEq, Eq)]
struct Seen {
    export: &'static str,
    inclusion: &'static str,
    page: &'static str,
    /// `ok`, `<reason> at <seq>`, or the kind of verify's error.
    verify: String,
}

/// A log of [`N`] entries and a checkpoint of all of them, signed with the key returned.
async fn signed_log(db: &Database) -> SigningKey {
    let s = db.store.as_ref();
    append(s, "acme", events(0, N as usize, base(Utc::now()))).await;
    let key = SigningKey::generate();
    s.checkpoint("acme", &key).await.unwrap();
    key
}

/// Exports `export`, proves seq `inclusion` in the tree of [`N`], reads a page and verifies.
async fn seen(db: &Database, key: &SigningKey, export: &[u64], inclusion: u64) -> Seen {
    let s = db.store.as_ref();
    let page = PageRequest::default();
    let verify = match s.verify("acme", Some(key.verifier())).await {
        Ok(v) if v.ok => "ok".to_string(),
        Ok(v) => format!(
            "{} at {}",
            v.reason.unwrap_or_default(),
            v.first_bad_seq.map_or("-".into(), |s| s.to_string())
        ),
        Err(e) => kind::<()>(&Err(e)).to_string(),
    };
    Seen {
        export: kind(&s.export_proof("acme", export, true, key).await),
        inclusion: kind(&s.inclusion_proof("acme", inclusion, N).await),
        page: kind(&s.page("acme", &Query::default(), &page, Utc::now()).await),
        verify,
    }
}

/// Damages a clean signed log with `sql` and checks what every store must make of it; returns
/// the key the log is signed with.
async fn damage(
    db: &Database,
    sql: &str,
    export: &[u64],
    inclusion: u64,
    want: Seen,
) -> SigningKey {
    let key = signed_log(db).await;
    let clean = Seen {
        export: "ok",
        inclusion: "ok",
        page: "ok",
        verify: "ok".into(),
    };
    assert_eq!(
        seen(db, &key, export, inclusion).await,
        clean,
        "before {sql}"
    );
    db.tamper(sql);
    assert_eq!(
        seen(db, &key, export, inclusion).await,
        want,
        "{}: {sql}",
        db.backend.name()
    );
    key
}

/// An entry's hash that is not 64 hex digits: the export over it is refused as tampering.
pub async fn a_hash_that_is_not_hex(db: &Database) {
    let sql = "UPDATE entries SET hash = 'not a hash' WHERE tenant = 'acme' AND seq = 5";
    let want = Seen {
        export: "tampered",
        inclusion: "ok",
        page: "ok",
        verify: "hash_mismatch at 5".into(),
    };
    damage(db, sql, &[3, 7], 5, want).await;
}

/// An entry's hash replaced by another well-formed one: the proof is made (and fails offline,
/// against the signed root); verify names the seq.
pub async fn a_hash_replaced(db: &Database) {
    let sql = format!(
        "UPDATE entries SET hash = '{}' WHERE tenant = 'acme' AND seq = 5",
        "0".repeat(64)
    );
    let want = Seen {
        export: "ok",
        inclusion: "ok",
        page: "ok",
        verify: "hash_mismatch at 5".into(),
    };
    damage(db, &sql, &[3, 7], 5, want).await;
}

/// An entry's commitments that are not JSON: an export of that entry is refused as tampering;
/// one that only spans it (its hash, not its fields) is not.
pub async fn commitments_that_are_not_json(db: &Database) {
    let sql = "UPDATE entries SET commitments = 'not json' WHERE tenant = 'acme' AND seq = 5";
    let want = Seen {
        export: "tampered",
        inclusion: "ok",
        page: "ok",
        verify: "internal".into(),
    };
    let key = damage(db, sql, &[3, 5, 7], 5, want).await;
    let spans = db.store.export_proof("acme", &[4, 6], true, &key).await;
    assert_eq!(kind(&spans), "ok", "{spans:?}");
}

/// An entry's prev_hash changed: the proof carries what is stored; verify names the seq.
pub async fn a_prev_hash_changed(db: &Database) {
    let forged = "1".repeat(64);
    let sql =
        format!("UPDATE entries SET prev_hash = '{forged}' WHERE tenant = 'acme' AND seq = 5");
    let want = Seen {
        export: "ok",
        inclusion: "ok",
        page: "ok",
        verify: "hash_mismatch at 5".into(),
    };
    let key = damage(db, &sql, &[5, 7], 5, want).await;
    let p = db
        .store
        .export_proof("acme", &[5, 7], true, &key)
        .await
        .unwrap();
    assert_eq!(p.proof.prev_hash, forged);
}

/// An entry deleted from the middle of the range an export spans.
pub async fn an_entry_deleted(db: &Database) {
    let sql = "DELETE FROM entries WHERE tenant = 'acme' AND seq = 5";
    let want = Seen {
        export: "tampered",
        inclusion: "ok",
        page: "ok",
        verify: "gap at 5".into(),
    };
    damage(db, sql, &[3, 7], 5, want).await;
}

/// A tree row that is not a whole number of hashes, read by both proofs (seq 6's inclusion
/// path and its range proof hold leaf 4, seq 5).
pub async fn a_tree_row_malformed(db: &Database) {
    let sql = format!(
        "UPDATE tree_rows SET hashes = {} WHERE tenant = 'acme' AND leaf = 4",
        db.blob("00")
    );
    let want = Seen {
        export: "tampered",
        inclusion: "tampered",
        page: "ok",
        verify: "tree_mismatch at 5".into(),
    };
    damage(db, &sql, &[6], 6, want).await;
}

/// A tree row deleted from below the tree's stored size.
pub async fn a_tree_row_deleted(db: &Database) {
    let sql = "DELETE FROM tree_rows WHERE tenant = 'acme' AND leaf = 4";
    let want = Seen {
        export: "tampered",
        inclusion: "tampered",
        page: "ok",
        verify: "tree_mismatch at 5".into(),
    };
    damage(db, sql, &[6], 6, want).await;
}
