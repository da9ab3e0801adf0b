//! Check-ins in the server database: the scan transaction (shared by live scans and
//! forwarded ones, made idempotent by the scan's event id), check-outs, counts, purge.

use postgres::types::Type;
use postgres::GenericClient;

use crate::store::*;

/// The lock a scan holds on its guest's pseudonym, so that two counters scanning the same
/// guest at once decide one after the other.
fn lock_pseudonym(c: &mut impl GenericClient, pseudonym: &[u8]) -> Result<(), StoreError> {
    let mut key = [0u8; 8];
    for (k, p) in key.iter_mut().zip(pseudonym) {
        *k = *p;
    }
    c.execute_typed(
        "SELECT pg_advisory_xact_lock($1)",
        &[(&i64::from_be_bytes(key), Type::INT8)],
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
/// Statements with their parameter types, so that each is one round trip (no separate
/// prepare): a scan at the counter waits for all of them.
pub fn record_scan(
    c: &mut impl GenericClient,
    event_id: &[u8],
    n: &NewCheckin<'_>,
    area: Option<ScanArea>,
    decide: &mut dyn FnMut(&PriorScan) -> Result<ScanStep, crate::Error>,
) -> Result<Option<ScanStep>, crate::Error> {
    let fresh = c
        .execute_typed(
            "INSERT INTO scan_events(id, at) VALUES ($1, $2) ON CONFLICT DO NOTHING",
            &[(&event_id, Type::BYTEA), (&n.now, Type::INT8)],
        )
        .map_err(StoreError::from)?;
    if fresh == 0 {
        return Ok(None);
    }
    lock_pseudonym(c, n.pseudonym)?;
    c.execute_typed(
        "UPDATE checkins SET checked_out_at = due_at, checkout_reason = 'max-stay'
         WHERE pseudonym = $1 AND checked_out_at IS NULL AND due_at <= $2",
        &[(&n.pseudonym, Type::BYTEA), (&n.now, Type::INT8)],
    )
    .map_err(StoreError::from)?;
    let prior = c
        .query_typed_one(
            "SELECT m.last, o.id, o.area_id, o.checked_in_at
             FROM (SELECT MAX(last_read_at) AS last FROM checkins WHERE pseudonym = $1) m
             LEFT JOIN LATERAL (SELECT id, area_id, checked_in_at FROM checkins
                                WHERE pseudonym = $1 AND checked_out_at IS NULL LIMIT 1) o ON true",
            &[(&n.pseudonym, Type::BYTEA)],
        )
        .map_err(StoreError::from)?;
    let last_read_at: Option<i64> = prior.try_get(0).map_err(StoreError::from)?;
    let open = match prior
        .try_get::<_, Option<Vec<u8>>>(1)
        .map_err(StoreError::from)?
    {
        Some(id) => Some((
            id,
            prior.try_get(2).map_err(StoreError::from)?,
            prior.try_get(3).map_err(StoreError::from)?,
        )),
        None => None,
    };
    let due_at = n.due_at_in(area.as_ref());
    let step = decide(&PriorScan {
        area,
        last_read_at,
        open,
    })?;
    fn close(
        c: &mut impl GenericClient,
        now: i64,
        id: &Vec<u8>,
        reason: &str,
    ) -> Result<(), StoreError> {
        c.execute_typed(
            "UPDATE checkins SET checked_out_at = $1, checkout_reason = $3, last_read_at = $1
             WHERE id = $2",
            &[(&now, Type::INT8), (id, Type::BYTEA), (&reason, Type::TEXT)],
        )?;
        Ok(())
    }
    match &step {
        ScanStep::Ignore => {}
        ScanStep::CheckOut { record } => close(c, n.now, record, "scan")?,
        ScanStep::CheckIn { moved_from } => {
            if let Some(id) = moved_from {
                close(c, n.now, id, "moved")?;
            }
            let due_at = due_at.ok_or_else(|| crate::Error::UnknownArea(format!("#{}", n.area)))?;
            c.execute_typed(
                "INSERT INTO checkins(id, area_id, venue_key_id, checked_in_at, due_at, pseudonym,
                                      last_read_at, guest_seal, table_seal, seal_version)
                 VALUES ($1, $2, $3, $4, $5, $6, $4, $7, $8, $9)",
                &[
                    (&n.record, Type::BYTEA),
                    (&n.area, Type::INT8),
                    (&n.venue_key_id, Type::INT8),
                    (&n.now, Type::INT8),
                    (&due_at, Type::INT8),
                    (&n.pseudonym, Type::BYTEA),
                    (&n.guest_seal, Type::BYTEA),
                    (&n.table_seal, Type::BYTEA),
                    (&i16::from(n.seal_version), Type::INT2),
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
