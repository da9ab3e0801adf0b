//! Check-ins in the server database: the scan transaction (shared by live scans and
//! forwarded ones, made idempotent by the scan's event id), check-outs, counts, purge.

use postgres::GenericClient;

use crate::store::*;

/// The lock a scan holds on its guest's pseudonym, so that two counters scanning the same
/// guest at once decide one after the other.
fn lock_pseudonym(c: &mut impl GenericClient, pseudonym: &[u8]) -> Result<(), StoreError> {
    let mut key = [0u8; 8];
    for (k, p) in key.iter_mut().zip(pseudonym) {
        *k = *p;
    }
    c.execute(
        "SELECT pg_advisory_xact_lock($1)",
        &[&i64::from_be_bytes(key)],
    )?;
    Ok(())
}

pub fn close_overdue(c: &mut impl GenericClient, now: i64) -> Result<u64, StoreError> {
    Ok(c.execute(
        "UPDATE checkins SET checked_out_at = due_at, checkout_reason = 'max-stay'
         WHERE checked_out_at IS NULL AND due_at <= $1",
        &[&now],
    )?)
}

/// A scan in the caller's transaction: false (nothing done) if this event was applied
/// before. Otherwise closes the guest's own overdue stay, looks up the pseudonym, lets
/// `decide` choose and writes the step.
pub fn record_scan(
    c: &mut impl GenericClient,
    event_id: &[u8],
    n: &NewCheckin<'_>,
    decide: &mut dyn FnMut(&PriorScan) -> Result<ScanStep, crate::Error>,
) -> Result<Option<ScanStep>, crate::Error> {
    let fresh = c
        .execute(
            "INSERT INTO scan_events(id, at) VALUES ($1, $2) ON CONFLICT DO NOTHING",
            &[&event_id, &n.now],
        )
        .map_err(StoreError::from)?;
    if fresh == 0 {
        return Ok(None);
    }
    lock_pseudonym(c, n.pseudonym)?;
    c.execute(
        "UPDATE checkins SET checked_out_at = due_at, checkout_reason = 'max-stay'
         WHERE pseudonym = $1 AND checked_out_at IS NULL AND due_at <= $2",
        &[&n.pseudonym, &n.now],
    )
    .map_err(StoreError::from)?;
    let last_read_at: Option<i64> = c
        .query_one(
            "SELECT MAX(last_read_at) FROM checkins WHERE pseudonym = $1",
            &[&n.pseudonym],
        )
        .map_err(StoreError::from)?
        .get(0);
    let open = c
        .query_opt(
            "SELECT id, area_id, checked_in_at FROM checkins
             WHERE pseudonym = $1 AND checked_out_at IS NULL LIMIT 1",
            &[&n.pseudonym],
        )
        .map_err(StoreError::from)?
        .map(|r| (r.get(0), r.get(1), r.get(2)));
    let step = decide(&PriorScan { last_read_at, open })?;
    const CLOSE: &str =
        "UPDATE checkins SET checked_out_at = $1, checkout_reason = $3, last_read_at = $1
                         WHERE id = $2";
    match &step {
        ScanStep::Ignore => {}
        ScanStep::CheckOut { record } => {
            c.execute(CLOSE, &[&n.now, record, &"scan"])
                .map_err(StoreError::from)?;
        }
        ScanStep::CheckIn { moved_from } => {
            if let Some(id) = moved_from {
                c.execute(CLOSE, &[&n.now, id, &"moved"])
                    .map_err(StoreError::from)?;
            }
            c.execute(
                "INSERT INTO checkins(id, area_id, venue_key_id, checked_in_at, due_at, pseudonym,
                                      last_read_at, guest_seal, table_seal, seal_version)
                 VALUES ($1, $2, $3, $4, $5, $6, $4, $7, $8, $9)",
                &[
                    &n.record,
                    &n.area,
                    &n.venue_key_id,
                    &n.now,
                    &n.due_at,
                    &n.pseudonym,
                    &n.guest_seal,
                    &n.table_seal,
                    &i16::from(n.seal_version),
                ],
            )
            .map_err(StoreError::from)?;
        }
    }
    Ok(Some(step))
}

pub fn binding(
    c: &mut impl GenericClient,
    record: &[u8],
    open_only: bool,
) -> Result<Option<CheckinBinding>, StoreError> {
    Ok(c.query_opt(
        "SELECT c.area_id, c.checked_in_at, c.seal_version, k.seal_pk, k.fingerprint,
                    c.guest_seal, c.table_seal
             FROM checkins c JOIN venue_keys k ON k.id = c.venue_key_id
             WHERE c.id = $1 AND (NOT $2 OR c.checked_out_at IS NULL)",
        &[&record, &open_only],
    )?
    .map(|r| CheckinBinding {
        area: r.get(0),
        checked_in_at: r.get(1),
        seal_version: u8::try_from(r.get::<_, i16>(2)).unwrap_or(0),
        seal_pk: r.get(3),
        fingerprint: r.get(4),
        guest_seal: r.get(5),
        table_seal: r.get(6),
    }))
}

pub fn set_table_seal(
    c: &mut impl GenericClient,
    record: &[u8],
    seal: &[u8],
) -> Result<bool, StoreError> {
    Ok(c.execute(
        "UPDATE checkins SET table_seal = $1 WHERE id = $2",
        &[&seal, &record],
    )? > 0)
}

pub fn check_out_record(
    c: &mut impl GenericClient,
    record: &[u8],
    now: i64,
) -> Result<bool, StoreError> {
    Ok(c.execute(
        "UPDATE checkins SET checked_out_at = $1, checkout_reason = 'staff', last_read_at = $1
         WHERE id = $2 AND checked_out_at IS NULL",
        &[&now, &record],
    )? > 0)
}

pub fn close_all(
    c: &mut impl GenericClient,
    area: Option<i64>,
    now: i64,
) -> Result<u64, StoreError> {
    Ok(c.execute(
        "UPDATE checkins SET checked_out_at = $1, checkout_reason = 'closing', last_read_at = $1
         WHERE checked_out_at IS NULL AND ($2::BIGINT IS NULL OR area_id = $2)",
        &[&now, &area],
    )?)
}

pub fn open_checkins(
    c: &mut impl GenericClient,
    area: Option<i64>,
) -> Result<Vec<OpenCheckinRow>, StoreError> {
    Ok(c.query(
        "SELECT id, area_id, checked_in_at FROM checkins
             WHERE checked_out_at IS NULL AND ($1::BIGINT IS NULL OR area_id = $1)
             ORDER BY checked_in_at DESC",
        &[&area],
    )?
    .iter()
    .map(|r| OpenCheckinRow {
        record: r.get(0),
        area: r.get(1),
        checked_in_at: r.get(2),
    })
    .collect())
}

pub fn arrivals(
    c: &mut impl GenericClient,
    start: i64,
    now: i64,
) -> Result<Vec<(i64, u32)>, StoreError> {
    Ok(c.query(
        "SELECT (checked_in_at - $1) / 3600, COUNT(*) FROM checkins
             WHERE checked_in_at >= $1 AND checked_in_at <= $2 GROUP BY 1",
        &[&start, &now],
    )?
    .iter()
    .map(|r| {
        (
            r.get::<_, i64>(0),
            u32::try_from(r.get::<_, i64>(1)).unwrap_or(u32::MAX),
        )
    })
    .collect())
}

pub fn latest_read(c: &mut impl GenericClient) -> Result<Option<i64>, StoreError> {
    Ok(c.query_one("SELECT MAX(last_read_at) FROM checkins", &[])?
        .get(0))
}

/// The purge, once per venue: a second PC that starts it while one runs skips it.
pub fn purge(c: &mut impl GenericClient, plan: &PurgePlan) -> Result<PurgeCounts, StoreError> {
    let ours: bool = c
        .query_one("SELECT pg_try_advisory_xact_lock(7075726765)", &[])?
        .get(0);
    if !ours {
        return Ok(PurgeCounts::default());
    }
    let auto_checked_out = close_overdue(c, plan.now)?;
    let checkins = c.execute(
        "DELETE FROM checkins WHERE COALESCE(checked_out_at, checked_in_at) < $1",
        &[&plan.cutoff],
    )?;
    c.execute("DELETE FROM scan_events WHERE at < $1", &[&plan.cutoff])?;
    let gone = "SELECT id FROM areas WHERE state = 'archived' AND archived_at < $1
                AND NOT EXISTS (SELECT 1 FROM checkins c WHERE c.area_id = areas.id)";
    c.execute(
        &format!("DELETE FROM area_tables WHERE area_id IN ({gone})"),
        &[&plan.cutoff],
    )?;
    let areas = c.execute(
        &format!("DELETE FROM areas WHERE id IN ({gone})"),
        &[&plan.cutoff],
    )?;
    let pseudonyms = c.execute(
        "UPDATE checkins SET pseudonym = NULL WHERE pseudonym IS NOT NULL AND last_read_at < $1",
        &[&plan.day_start],
    )?;
    let audit_entries = super::venue_rows::purge_audit(c, plan.audit_cutoff, plan.now)?;
    Ok(PurgeCounts {
        checkins,
        areas,
        pseudonyms,
        auto_checked_out,
        audit_entries,
    })
}
