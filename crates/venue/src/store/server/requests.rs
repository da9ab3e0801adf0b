//! Data requests and the check-ins that answer them, in the server database: the
//! matching check-ins of every counter are streamed through a cursor, a batch at a time,
//! so memory stays flat however many there are.

use postgres::{Client, GenericClient};

use super::venue_rows::append_audit;
use crate::store::*;

/// Rows fetched from the cursor at a time.
const BATCH: i32 = 512;

pub fn decided(
    c: &mut impl GenericClient,
    request_id: &[u8],
) -> Result<Option<(String, Option<i64>)>, StoreError> {
    Ok(c.query_opt(
        "SELECT status, decided_at FROM requests WHERE request_id = $1 AND status <> 'seen'",
        &[&request_id],
    )?
    .map(|r| (r.get(0), r.get(1))))
}

const MATCHING: &str = "c.area_id = ANY($4) AND c.checked_in_at < $2
    AND COALESCE(c.checked_out_at, $3) > $1";

pub fn count_matching(
    c: &mut impl GenericClient,
    m: &Matching<'_>,
    key_id: i64,
) -> Result<(u64, u64), StoreError> {
    let r = c.query_one(
        &format!(
            "SELECT COUNT(*), COUNT(*) FILTER (WHERE c.venue_key_id <> $5) FROM checkins c
             WHERE {MATCHING}"
        ),
        &[&m.from, &m.until, &m.now, &m.areas, &key_id],
    )?;
    Ok((r.get::<_, i64>(0) as u64, r.get::<_, i64>(1) as u64))
}

pub fn count_matching_for_key(
    c: &mut impl GenericClient,
    m: &Matching<'_>,
    key_id: i64,
) -> Result<u64, StoreError> {
    let r = c.query_one(
        &format!("SELECT COUNT(*) FROM checkins c WHERE {MATCHING} AND c.venue_key_id = $5"),
        &[&m.from, &m.until, &m.now, &m.areas, &key_id],
    )?;
    Ok(r.get::<_, i64>(0) as u64)
}

pub fn for_each_matching(
    c: &mut Client,
    m: &Matching<'_>,
    key_id: i64,
    f: &mut dyn FnMut(MatchingRow) -> Result<(), crate::Error>,
) -> Result<(), crate::Error> {
    let store = |e: postgres::Error| crate::Error::Store(e.into());
    let mut tx = c
        .build_transaction()
        .read_only(true)
        .isolation_level(postgres::IsolationLevel::RepeatableRead)
        .start()
        .map_err(store)?;
    let st = tx
        .prepare(&format!(
            "SELECT c.id, l.name, a.name, c.area_id, c.checked_in_at, c.checked_out_at,
                    c.seal_version, c.guest_seal, c.table_seal
             FROM checkins c JOIN areas a ON a.id = c.area_id JOIN locations l ON l.id = a.location_id
             WHERE {MATCHING} AND c.venue_key_id = $5 ORDER BY c.checked_in_at, c.id"
        ))
        .map_err(store)?;
    let portal = tx
        .bind(&st, &[&m.from, &m.until, &m.now, &m.areas, &key_id])
        .map_err(store)?;
    loop {
        let rows = tx.query_portal(&portal, BATCH).map_err(store)?;
        if rows.is_empty() {
            break;
        }
        for r in rows {
            f(MatchingRow {
                id: r.get(0),
                location: r.get(1),
                area: r.get(2),
                area_id: r.get(3),
                checked_in_at: r.get(4),
                checked_out_at: r.get(5),
                seal_version: u8::try_from(r.get::<_, i16>(6)).unwrap_or(0),
                guest_seal: r.get(7),
                table_seal: r.get(8),
            })?;
        }
    }
    tx.commit().map_err(store)
}

pub fn seen(
    c: &mut impl GenericClient,
    request_id: &[u8],
    office_id: &str,
    case: &str,
    note: &AuditNote<'_>,
) -> Result<bool, StoreError> {
    let new = c.execute(
        "INSERT INTO requests(request_id, office_id, case_reference, status, seen_at)
         VALUES ($1, $2, $3, 'seen', $4) ON CONFLICT DO NOTHING",
        &[&request_id, &office_id, &case, &note.at],
    )? > 0;
    if new {
        append_audit(c, note)?;
    }
    Ok(new)
}

pub fn decide(
    c: &mut impl GenericClient,
    d: &Decision<'_>,
    note: &AuditNote<'_>,
) -> Result<(), StoreError> {
    c.execute(
        "INSERT INTO requests(request_id, office_id, case_reference, status, seen_at, decided_at, decision)
         VALUES ($1, $2, $3, $4, $5, $5, $6)
         ON CONFLICT(request_id) DO UPDATE SET status = $4, decided_at = $5, decision = $6",
        &[&d.request_id, &d.office_id, &d.case_reference, &d.status, &d.now, &d.decision],
    )?;
    append_audit(c, note)
}
