//! The append-only, hash-chained audit log: every data request seen, refused, approved or
//! declined, and the operator's security-relevant changes. Each entry's hash covers the
//! previous entry's hash, so removing or altering an entry breaks the chain; the head is
//! also kept apart to detect a removed last entry. Database triggers refuse updates and
//! deletes, except of entries up to the *base*: after the retention period the oldest
//! entries are deleted, the last deleted entry's number and hash become the base the chain
//! continues from, and a `purged` entry records it.

use rusqlite::{params, Connection, OptionalExtension};
use serde::Serialize;

use crate::crypto;
use crate::store::StoreError;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AuditEntry {
    pub seq: i64,
    pub at: i64,
    pub event: String,
    pub request_id: String,
    pub office: String,
    pub detail: String,
    #[serde(skip)]
    pub hash: Vec<u8>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuditError {
    #[error("the audit log is broken at entry {seq}: {why}")]
    Broken { seq: i64, why: String },
    #[error(transparent)]
    Store(#[from] StoreErrorMessage),
}

/// A store error as text (store errors are not `Clone`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct StoreErrorMessage(pub String);

impl From<rusqlite::Error> for AuditError {
    fn from(e: rusqlite::Error) -> Self {
        AuditError::Store(StoreErrorMessage(StoreError::from(e).to_string()))
    }
}

fn entry_hash(prev: &[u8], e: &AuditEntry) -> [u8; 32] {
    let field = |s: &str| {
        let mut v = (s.len() as u32).to_be_bytes().to_vec();
        v.extend_from_slice(s.as_bytes());
        v
    };
    crypto::sha256(&[
        b"tresen/audit/v1\0",
        prev,
        &e.seq.to_be_bytes(),
        &e.at.to_be_bytes(),
        &field(&e.event),
        &field(&e.request_id),
        &field(&e.office),
        &field(&e.detail),
    ])
}

/// Appends an entry (within the caller's transaction, if any).
pub fn append(
    conn: &Connection,
    at: i64,
    event: &str,
    request_id: &str,
    office: &str,
    detail: &str,
) -> Result<(), AuditError> {
    let last: Option<(i64, Vec<u8>)> = conn
        .query_row(
            "SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?;
    let (seq, prev) = match last {
        Some((s, h)) => (s + 1, h),
        None => {
            let (s, h) = base(conn)?;
            (s + 1, h)
        }
    };
    let mut e = AuditEntry {
        seq,
        at,
        event: event.into(),
        request_id: request_id.into(),
        office: office.into(),
        detail: detail.into(),
        hash: Vec::new(),
    };
    e.hash = entry_hash(&prev, &e).to_vec();
    conn.execute(
        "INSERT INTO audit_log(seq, at, event, request_id, office, detail, hash) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        params![e.seq, e.at, e.event, e.request_id, e.office, e.detail, e.hash],
    )?;
    conn.execute(
        "INSERT INTO meta(key, value) VALUES ('audit_head', ?1)
         ON CONFLICT(key) DO UPDATE SET value = excluded.value",
        [format!("{}:{}", e.seq, crate::trust::hex(&e.hash))],
    )?;
    Ok(())
}

pub fn entries(conn: &Connection) -> Result<Vec<AuditEntry>, AuditError> {
    let mut st = conn.prepare(
        "SELECT seq, at, event, request_id, office, detail, hash FROM audit_log ORDER BY seq",
    )?;
    let rows = st.query_map([], |r| {
        Ok(AuditEntry {
            seq: r.get(0)?,
            at: r.get(1)?,
            event: r.get(2)?,
            request_id: r.get(3)?,
            office: r.get(4)?,
            detail: r.get(5)?,
            hash: r.get(6)?,
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

const BASE: &str = "audit_base";

/// The entry the chain continues from after a purge: (its number, its hash).
fn base(conn: &Connection) -> Result<(i64, Vec<u8>), AuditError> {
    let v: Option<String> = conn
        .query_row("SELECT value FROM meta WHERE key = ?1", [BASE], |r| {
            r.get(0)
        })
        .optional()?;
    let Some(v) = v else {
        return Ok((0, vec![0u8; 32]));
    };
    let broken = || AuditError::Broken {
        seq: 0,
        why: "the record of the purged entries is damaged".into(),
    };
    let (seq, hash) = v.split_once(':').ok_or_else(broken)?;
    let hash: Vec<u8> = (0..hash.len())
        .step_by(2)
        .map(|i| {
            hash.get(i..i + 2)
                .and_then(|h| u8::from_str_radix(h, 16).ok())
        })
        .collect::<Option<_>>()
        .ok_or_else(broken)?;
    Ok((seq.parse().map_err(|_| broken())?, hash))
}

/// Deletes the oldest entries, up to the first one made at or after `cutoff` (never the
/// newest one): entries are in the order they were made, and an entry dated before the
/// cutoff behind a newer one (a clock set back) stays with it. Keeps the last deleted
/// entry's number and hash as the base the chain continues from, and appends a `purged`
/// entry. Returns the number of entries deleted.
pub fn purge(conn: &Connection, cutoff: i64, now: i64) -> Result<u64, AuditError> {
    let last_old: Option<(i64, Vec<u8>)> = conn
        .query_row(
            "SELECT seq, hash FROM audit_log
             WHERE seq < COALESCE((SELECT MIN(seq) FROM audit_log WHERE at >= ?1),
                                  (SELECT MAX(seq) FROM audit_log))
             ORDER BY seq DESC LIMIT 1",
            [cutoff],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?;
    let Some((seq, hash)) = last_old else {
        return Ok(0);
    };
    conn.execute(
        "INSERT INTO meta(key, value) VALUES (?1, ?2)
         ON CONFLICT(key) DO UPDATE SET value = excluded.value",
        params![BASE, format!("{seq}:{}", crate::trust::hex(&hash))],
    )?;
    let n = conn.execute("DELETE FROM audit_log WHERE seq <= ?1", [seq])?;
    append(
        conn,
        now,
        "purged",
        "",
        "",
        &format!("{n} entries up to entry {seq} deleted after the retention period; the chain continues from that entry's hash"),
    )?;
    Ok(n as u64)
}

/// Recomputes the chain; returns the number of entries if it is intact.
pub fn verify(conn: &Connection) -> Result<usize, AuditError> {
    let all = entries(conn)?;
    let (base_seq, mut prev) = base(conn)?;
    for (i, e) in all.iter().enumerate() {
        let want_seq = base_seq + i as i64 + 1;
        if e.seq != want_seq {
            return Err(AuditError::Broken {
                seq: want_seq,
                why: "an entry was removed".into(),
            });
        }
        if entry_hash(&prev, e).as_slice() != e.hash.as_slice() {
            return Err(AuditError::Broken {
                seq: e.seq,
                why: "the entry was altered, or one before it was removed".into(),
            });
        }
        prev = e.hash.clone();
    }
    let head: Option<String> = conn
        .query_row("SELECT value FROM meta WHERE key = 'audit_head'", [], |r| {
            r.get(0)
        })
        .optional()?;
    let actual = all
        .last()
        .map(|e| format!("{}:{}", e.seq, crate::trust::hex(&e.hash)));
    if head != actual {
        return Err(AuditError::Broken {
            seq: base_seq + all.len() as i64 + 1,
            why: "the last entries were removed".into(),
        });
    }
    Ok(all.len())
}
