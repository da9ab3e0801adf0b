//! Data requests, the check-ins that answer them, and the hash-chained audit log.

use rusqlite::{params, Connection, OptionalExtension};
use tresen_protocol::audit_chain::entry_hash;
use tresen_protocol::encoding::{hex, unhex};

use super::{get_meta, put_meta};
use crate::store::*;

pub fn decided(
    conn: &Connection,
    request_id: &[u8],
) -> Result<Option<(String, Option<i64>)>, StoreError> {
    Ok(conn
        .query_row(
            "SELECT status, decided_at FROM requests WHERE request_id = ?1 AND status <> 'seen'",
            [request_id],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?)
}

/// The condition on `checkins c` for a request's areas and window; the areas are ids the
/// store itself listed, written as numbers.
fn matching_filter(m: &Matching<'_>) -> String {
    let ids = m
        .areas
        .iter()
        .map(i64::to_string)
        .collect::<Vec<_>>()
        .join(",");
    format!("c.area_id IN ({ids}) AND c.checked_in_at < ?2 AND COALESCE(c.checked_out_at, ?3) > ?1")
}

pub fn count_matching(
    conn: &Connection,
    m: &Matching<'_>,
    key_id: i64,
) -> Result<(u64, u64), StoreError> {
    if m.areas.is_empty() {
        return Ok((0, 0));
    }
    Ok(conn.query_row(
        &format!(
            "SELECT COUNT(*), COALESCE(SUM(c.venue_key_id <> ?4), 0) FROM checkins c WHERE {}",
            matching_filter(m)
        ),
        params![m.from, m.until, m.now, key_id],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )?)
}

pub fn count_matching_for_key(
    conn: &Connection,
    m: &Matching<'_>,
    key_id: i64,
) -> Result<u64, StoreError> {
    if m.areas.is_empty() {
        return Ok(0);
    }
    Ok(conn.query_row(
        &format!(
            "SELECT COUNT(*) FROM checkins c WHERE {} AND c.venue_key_id = ?4",
            matching_filter(m)
        ),
        params![m.from, m.until, m.now, key_id],
        |r| r.get(0),
    )?)
}

/// An integer column as stored; a value of another type written by hand is read as what
/// it says, so that the row's seals decide (they do not open: the row is flagged).
fn lenient_int(r: &rusqlite::Row<'_>, i: usize) -> rusqlite::Result<i64> {
    use rusqlite::types::ValueRef;
    Ok(match r.get_ref(i)? {
        ValueRef::Integer(n) => n,
        ValueRef::Real(f) => f as i64,
        _ => i64::MIN,
    })
}

pub fn for_each_matching(
    conn: &Connection,
    m: &Matching<'_>,
    key_id: i64,
    f: &mut dyn FnMut(MatchingRow) -> Result<(), crate::Error>,
) -> Result<(), crate::Error> {
    if m.areas.is_empty() {
        return Ok(());
    }
    let store = |e: rusqlite::Error| crate::Error::Store(e.into());
    let mut st = conn
        .prepare(&format!(
            "SELECT c.id, l.name, a.name, c.area_id, c.checked_in_at, c.checked_out_at,
                    c.seal_version, c.guest_seal, c.table_seal
             FROM checkins c JOIN areas a ON a.id = c.area_id JOIN locations l ON l.id = a.location_id
             WHERE {} AND c.venue_key_id = ?4 ORDER BY c.checked_in_at, c.id",
            matching_filter(m)
        ))
        .map_err(store)?;
    let mut rows = st
        .query(params![m.from, m.until, m.now, key_id])
        .map_err(store)?;
    while let Some(r) = rows.next().map_err(store)? {
        let blob = |i| r.get::<_, Vec<u8>>(i).unwrap_or_default();
        let row = MatchingRow {
            id: blob(0),
            location: r.get(1).unwrap_or_default(),
            area: r.get(2).unwrap_or_default(),
            area_id: lenient_int(r, 3).map_err(store)?,
            checked_in_at: lenient_int(r, 4).map_err(store)?,
            checked_out_at: r.get(5).unwrap_or(None),
            seal_version: r.get(6).unwrap_or(0),
            guest_seal: blob(7),
            table_seal: blob(8),
        };
        f(row)?;
    }
    Ok(())
}

pub fn seen(
    conn: &Connection,
    request_id: &[u8],
    office_id: &str,
    case: &str,
    note: &AuditNote<'_>,
) -> Result<bool, StoreError> {
    let tx = conn.unchecked_transaction()?;
    let new = tx.execute(
        "INSERT OR IGNORE INTO requests(request_id, office_id, case_reference, status, seen_at)
         VALUES (?1, ?2, ?3, 'seen', ?4)",
        params![request_id, office_id, case, note.at],
    )? > 0;
    if new {
        append_audit(&tx, note)?;
    }
    tx.commit()?;
    Ok(new)
}

pub fn decide(conn: &Connection, d: &Decision<'_>, note: &AuditNote<'_>) -> Result<(), StoreError> {
    let tx = conn.unchecked_transaction()?;
    tx.execute(
        "INSERT INTO requests(request_id, office_id, case_reference, status, seen_at, decided_at, decision)
         VALUES (?1, ?2, ?3, ?4, ?5, ?5, ?6)
         ON CONFLICT(request_id) DO UPDATE SET status = ?4, decided_at = ?5, decision = ?6",
        params![d.request_id, d.office_id, d.case_reference, d.status, d.now, d.decision],
    )?;
    append_audit(&tx, note)?;
    tx.commit()?;
    Ok(())
}

/// The entry the chain continues from after a purge: (its number, its hash).
fn base(conn: &Connection) -> Result<(i64, Vec<u8>), StoreError> {
    let Some(v) = get_meta(conn, Meta::AuditBase)? else {
        return Ok((0, vec![0u8; 32]));
    };
    let damaged =
        || StoreError::Corrupt("the record of the purged audit entries is damaged".into());
    let (seq, hash) = v.split_once(':').ok_or_else(damaged)?;
    Ok((
        seq.parse().map_err(|_| damaged())?,
        unhex(hash).ok_or_else(damaged)?,
    ))
}

/// Appends an entry within the caller's transaction.
pub fn append_audit(conn: &Connection, n: &AuditNote<'_>) -> Result<(), StoreError> {
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
    let hash = entry_hash(&prev, seq, n.at, n.event, n.request_id, n.office, n.detail);
    conn.execute(
        "INSERT INTO audit_log(seq, at, event, request_id, office, detail, hash) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        params![seq, n.at, n.event, n.request_id, n.office, n.detail, &hash[..]],
    )?;
    put_meta(conn, Meta::AuditHead, &format!("{seq}:{}", hex(&hash)))?;
    Ok(())
}

pub fn audit_entries(conn: &Connection) -> Result<Vec<AuditRow>, StoreError> {
    let mut st = conn.prepare(
        "SELECT seq, at, event, request_id, office, detail, hash FROM audit_log ORDER BY seq",
    )?;
    let rows = st.query_map([], |r| {
        Ok(AuditRow {
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

pub fn audit_anchors(conn: &Connection) -> Result<AuditAnchors, StoreError> {
    let (base_seq, base_hash) = base(conn)?;
    Ok(AuditAnchors {
        base_seq,
        base_hash,
        head: get_meta(conn, Meta::AuditHead)?,
    })
}

/// Deletes the oldest entries, up to the first one made at or after `cutoff` (never the
/// newest one): entries are in the order they were made, and an entry dated before the
/// cutoff behind a newer one (a clock set back) stays with it. Keeps the last deleted
/// entry's number and hash as the base the chain continues from, and appends a `purged`
/// entry. Returns the number of entries deleted.
pub fn purge_audit(conn: &Connection, cutoff: i64, now: i64) -> Result<u64, StoreError> {
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
    put_meta(conn, Meta::AuditBase, &format!("{seq}:{}", hex(&hash)))?;
    let n = conn.execute("DELETE FROM audit_log WHERE seq <= ?1", [seq])?;
    append_audit(
        conn,
        &AuditNote::change(
            now,
            "purged",
            &crate::audit::detail([("count", n.into()), ("up_to", seq.into())]),
        ),
    )?;
    Ok(n as u64)
}
