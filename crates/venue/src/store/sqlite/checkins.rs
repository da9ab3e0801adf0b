//! Check-ins: the scan transaction, check-outs, the counts, and the purge.

use rusqlite::{params, Connection, OptionalExtension};

use super::checkin_log::{drain_log, logged_stay, on_checkin_tables};
use super::log_index::{LogIndex, LoggedCheckin};
use super::{put_meta, requests};
use crate::store::*;

/// Closes check-ins that exceeded their area's maximum stay, at the moment the stay ended.
pub fn close_overdue(conn: &Connection, now: i64) -> Result<u64, StoreError> {
    let mut n = 0;
    for table in super::schema::CHECKIN_TABLES {
        n += close_overdue_in(conn, table, now)?;
    }
    Ok(n)
}

fn close_overdue_in(conn: &Connection, table: &str, now: i64) -> Result<u64, StoreError> {
    // The UPDATE changes the column of its index's condition, so SQLite opens a temporary
    // table for it even when no stay is over, as on nearly every scan: looked up first.
    let any: bool = conn
        .prepare_cached(&format!(
            "SELECT EXISTS (SELECT 1 FROM {table} WHERE checked_out_at IS NULL AND due_at <= ?1)"
        ))?
        .query_row([now], |r| r.get(0))?;
    if !any {
        return Ok(0);
    }
    let n = conn
        .prepare_cached(&format!(
            "UPDATE {table} SET checked_out_at = due_at, checkout_reason = 'max-stay'
             WHERE checked_out_at IS NULL AND due_at <= ?1"
        ))?
        .execute([now])?;
    Ok(n as u64)
}

/// The scan's transaction: BEGIN, COMMIT and ROLLBACK as cached statements (parsed anew,
/// as a `Transaction` does, they cost as much on each scan as one of its queries). Rolls
/// back when dropped without a commit, also while a panic unwinds.
struct ScanTransaction<'a> {
    conn: &'a Connection,
}

impl<'a> ScanTransaction<'a> {
    fn run(conn: &Connection, sql: &str) -> Result<(), crate::Error> {
        conn.prepare_cached(sql)
            .and_then(|mut s| s.execute([]))
            .map(|_| ())
            .map_err(|e| crate::Error::Store(e.into()))
    }

    fn begin(conn: &'a Connection) -> Result<Self, crate::Error> {
        Self::run(conn, "BEGIN IMMEDIATE")?;
        Ok(Self { conn })
    }

    fn commit(self) -> Result<(), crate::Error> {
        Self::run(self.conn, "COMMIT")
    }
}

impl Drop for ScanTransaction<'_> {
    fn drop(&mut self) {
        if !self.conn.is_autocommit() {
            // Cached, so that it cannot fail for want of memory; a failure here leaves
            // SQLite's own rollback of a broken transaction.
            let _ = Self::run(self.conn, "ROLLBACK");
        }
    }
}

pub fn record_scan(
    conn: &mut Connection,
    index: &mut LogIndex,
    c: &NewCheckin<'_>,
    decide: &mut dyn FnMut(&PriorScan) -> Result<ScanStep, crate::Error>,
) -> Result<ScanStep, crate::Error> {
    let tx = ScanTransaction::begin(conn)?;
    let (step, written) = scan_in_transaction(tx.conn, index, c, decide)?;
    // A repeated read writes nothing, not even the stays it found overdue: dropped.
    if step == ScanStep::Ignore {
        return Ok(step);
    }
    tx.commit()?;
    let log_rowid = written.logged;
    index.scanned(
        log_rowid.map(|rowid| LoggedCheckin {
            rowid,
            pseudonym: c.pseudonym,
            due_at: written.due_at,
        }),
        written.closed_overdue_in_log,
    );
    // After the commit: the check-in is kept even if the move fails (a nearly full disk
    // has room for one page, not for the move); the next idle moment tries again.
    if let Some(rowid) = log_rowid.filter(|&rowid| index.log_is_long(rowid)) {
        match drain_log(conn, index) {
            Ok(true) => {}
            Ok(false) => index.move_failed(rowid),
            Err(e) => {
                tracing::warn!("the scans' log was not moved into the indexed table: {e}");
                index.move_failed(rowid);
            }
        }
    }
    Ok(step)
}

/// What a scan's transaction wrote, for the log's index once it is committed.
#[derive(Default)]
struct ScanWrites {
    /// The rowid of its check-in in the log; also the log's length, as the log's rowids
    /// start at 1 once it is emptied.
    logged: Option<i64>,
    due_at: i64,
    closed_overdue_in_log: bool,
}

fn scan_in_transaction(
    tx: &Connection,
    index: &mut LogIndex,
    c: &NewCheckin<'_>,
    decide: &mut dyn FnMut(&PriorScan) -> Result<ScanStep, crate::Error>,
) -> Result<(ScanStep, ScanWrites), crate::Error> {
    let store = |e: rusqlite::Error| crate::Error::Store(e.into());
    let mut written = ScanWrites::default();
    index.refresh(tx).map_err(store)?;
    // Read here rather than before: no read transaction of its own on the scan path, and
    // an area closed by another process a moment ago is seen closed.
    let area = tx
        .prepare_cached("SELECT name, state, max_stay_secs FROM areas WHERE id = ?1")
        .and_then(|mut s| {
            s.query_row([c.area], |r| {
                Ok(ScanArea {
                    name: r.get(0)?,
                    state: r.get(1)?,
                    max_stay_secs: r.get(2)?,
                })
            })
            .optional()
        })
        .map_err(store)?;
    close_overdue_in(tx, "checkins_indexed", c.now)?;
    if index.may_be_overdue(c.now) {
        written.closed_overdue_in_log = close_overdue_in(tx, "checkins_log", c.now)? > 0;
        if !written.closed_overdue_in_log {
            index.none_overdue(tx).map_err(store)?;
        }
    }
    // The guest's stays of the day (a daily pseudonym): their last read and the open one,
    // from the indexed table and from the log (through its index, not a pass over it).
    let mut last_read_at: Option<i64> = None;
    let mut open: Option<(Vec<u8>, i64, i64)> = None;
    let mut stay = |r: &rusqlite::Row<'_>| -> Result<(), rusqlite::Error> {
        let read: i64 = r.get(4)?;
        last_read_at = Some(last_read_at.map_or(read, |l| l.max(read)));
        if open.is_none() && r.get::<_, bool>(3)? {
            open = Some((r.get(0)?, r.get(1)?, r.get(2)?));
        }
        Ok(())
    };
    {
        let mut st = tx
            .prepare_cached(
                "SELECT id, area_id, checked_in_at, checked_out_at IS NULL, last_read_at
                 FROM checkins_indexed WHERE pseudonym = ?1",
            )
            .map_err(store)?;
        let mut rows = st.query([c.pseudonym]).map_err(store)?;
        while let Some(r) = rows.next().map_err(store)? {
            stay(r).map_err(store)?;
        }
    }
    for &rowid in index.rows_of(c.pseudonym) {
        logged_stay(tx, rowid, c.pseudonym, &mut stay).map_err(store)?;
    }
    let due_at = c.due_at_in(area.as_ref());
    let step = decide(&PriorScan {
        area,
        last_read_at,
        open,
    })?;
    let close = |id: &[u8], reason: &str| {
        on_checkin_tables(
            tx,
            "UPDATE {checkins} SET checked_out_at = ?1, checkout_reason = ?3, last_read_at = ?1 WHERE id = ?2",
            params![c.now, id, reason],
        )
        .map_err(store)
    };
    match &step {
        ScanStep::Ignore => return Ok((step, written)),
        ScanStep::CheckOut { record } => {
            close(record, "scan")?;
        }
        ScanStep::CheckIn { moved_from } => {
            if let Some(id) = moved_from {
                close(id, "moved")?;
            }
            let due_at = due_at.ok_or_else(|| crate::Error::UnknownArea(format!("#{}", c.area)))?;
            tx.prepare_cached(
                "INSERT INTO checkins_log(id, area_id, venue_key_id, checked_in_at, due_at, pseudonym, last_read_at, guest_seal, table_seal, seal_version)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?4, ?7, ?8, ?9)",
            )
            .and_then(|mut s| {
                s.execute(params![
                    c.record,
                    c.area,
                    c.venue_key_id,
                    c.now,
                    due_at,
                    c.pseudonym,
                    c.guest_seal,
                    c.table_seal,
                    c.seal_version
                ])
            })
            .map_err(store)?;
            written.logged = Some(tx.last_insert_rowid());
            written.due_at = due_at;
        }
    }
    if c.note_time {
        put_meta(tx, Meta::ClockSeen, &c.now.to_string())?;
    }
    Ok((step, written))
}

pub fn binding(
    conn: &Connection,
    record: &[u8],
    open_only: bool,
) -> Result<Option<CheckinBinding>, StoreError> {
    Ok(conn
        .query_row(
            "SELECT c.area_id, c.checked_in_at, c.seal_version, k.seal_pk, k.fingerprint,
                    c.guest_seal, c.table_seal
             FROM checkins c JOIN venue_keys k ON k.id = c.venue_key_id
             WHERE c.id = ?1 AND (?2 = 0 OR c.checked_out_at IS NULL)",
            params![record, open_only],
            |r| {
                Ok(CheckinBinding {
                    area: r.get(0)?,
                    checked_in_at: r.get(1)?,
                    seal_version: r.get(2)?,
                    seal_pk: r.get(3)?,
                    fingerprint: r.get(4)?,
                    guest_seal: r.get(5)?,
                    table_seal: r.get(6)?,
                })
            },
        )
        .optional()?)
}

pub fn set_table_seal(conn: &Connection, record: &[u8], seal: &[u8]) -> Result<(), StoreError> {
    on_checkin_tables(
        conn,
        "UPDATE {checkins} SET table_seal = ?1 WHERE id = ?2",
        params![seal, record],
    )?;
    Ok(())
}

pub fn check_out_record(conn: &Connection, record: &[u8], now: i64) -> Result<bool, StoreError> {
    Ok(on_checkin_tables(
        conn,
        "UPDATE {checkins} SET checked_out_at = ?1, checkout_reason = 'staff', last_read_at = ?1
         WHERE id = ?2 AND checked_out_at IS NULL",
        params![now, record],
    )? > 0)
}

pub fn close_all(
    conn: &Connection,
    area: Option<i64>,
    now: i64,
    note: &dyn Fn(u64) -> String,
) -> Result<u64, StoreError> {
    let tx = conn.unchecked_transaction()?;
    let n = on_checkin_tables(
        &tx,
        "UPDATE {checkins} SET checked_out_at = ?1, checkout_reason = 'closing', last_read_at = ?1
         WHERE checked_out_at IS NULL AND (?2 IS NULL OR area_id = ?2)",
        params![now, area],
    )? as u64;
    let detail = note(n);
    requests::append_audit(&tx, &AuditNote::change(now, "all-checked-out", &detail))?;
    tx.commit()?;
    Ok(n)
}

pub fn open_checkins(
    conn: &Connection,
    area: Option<i64>,
) -> Result<Vec<OpenCheckinRow>, StoreError> {
    let mut st = conn.prepare(
        "SELECT id, area_id, checked_in_at FROM checkins
         WHERE checked_out_at IS NULL AND (?1 IS NULL OR area_id = ?1) ORDER BY checked_in_at DESC",
    )?;
    let rows = st.query_map(params![area], |r| {
        Ok(OpenCheckinRow {
            record: r.get(0)?,
            area: r.get(1)?,
            checked_in_at: r.get(2)?,
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

pub fn arrivals(conn: &Connection, start: i64, now: i64) -> Result<Vec<(i64, u32)>, StoreError> {
    let mut st = conn.prepare_cached(
        "SELECT (checked_in_at - ?1) / 3600, COUNT(*) FROM checkins
         WHERE checked_in_at >= ?1 AND checked_in_at <= ?2 GROUP BY 1",
    )?;
    let rows = st.query_map(params![start, now], |r| Ok((r.get(0)?, r.get(1)?)))?;
    Ok(rows.collect::<Result<_, _>>()?)
}

pub fn purge(
    conn: &Connection,
    plan: &PurgePlan,
    note_time: bool,
) -> Result<PurgeCounts, StoreError> {
    let tx = conn.unchecked_transaction()?;
    let auto_checked_out = close_overdue(&tx, plan.now)?;
    let checkins = on_checkin_tables(
        &tx,
        "DELETE FROM {checkins} WHERE COALESCE(checked_out_at, checked_in_at) < ?1",
        params![plan.cutoff],
    )? as u64;
    let gone = "SELECT id FROM areas WHERE state = 'archived' AND archived_at < ?1
                AND NOT EXISTS (SELECT 1 FROM checkins c WHERE c.area_id = areas.id)";
    tx.execute(
        &format!("DELETE FROM area_tables WHERE area_id IN ({gone})"),
        [plan.cutoff],
    )?;
    let areas = tx.execute(
        &format!("DELETE FROM areas WHERE id IN ({gone})"),
        [plan.cutoff],
    )? as u64;
    let pseudonyms = on_checkin_tables(
        &tx,
        "UPDATE {checkins} SET pseudonym = NULL WHERE pseudonym IS NOT NULL AND last_read_at < ?1",
        params![plan.day_start],
    )? as u64;
    let audit_entries = requests::purge_audit(&tx, plan.audit_cutoff, plan.now)?;
    if note_time {
        put_meta(&tx, Meta::ClockSeen, &plan.now.to_string())?;
    }
    tx.commit()?;
    Ok(PurgeCounts {
        checkins,
        areas,
        pseudonyms,
        auto_checked_out,
        audit_entries,
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    /// A bug that panics inside the scan must not leave the write transaction open: every
    /// later write would run inside it, never committed, and hold the database locked.
    #[test]
    fn a_panic_inside_the_scan_rolls_its_transaction_back() {
        let dir = tempfile::tempdir().unwrap();
        let mut conn = super::super::schema::open(dir.path()).unwrap();
        let mut index = LogIndex::attach(&conn);
        let scan = NewCheckin {
            record: &[1; 16],
            area: 1,
            venue_key_id: 1,
            now: 1_800_000_000,
            due_at: Some(1_800_000_000),
            pseudonym: &[2; 16],
            guest_seal: &[],
            table_seal: &[],
            seal_version: 2,
            note_time: true,
        };
        let unwound = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            record_scan(&mut conn, &mut index, &scan, &mut |_| {
                panic!("a bug in the decision")
            })
        }));
        assert!(unwound.is_err());
        assert!(conn.is_autocommit(), "the transaction was rolled back");
        let refused = record_scan(&mut conn, &mut index, &scan, &mut |_| {
            Err(crate::Error::UnknownArea("#1".into()))
        });
        assert!(refused.is_err());
        assert!(conn.is_autocommit(), "a refusal rolls back too");
        let step = record_scan(&mut conn, &mut index, &scan, &mut |_| {
            Ok(ScanStep::CheckOut {
                record: vec![9; 16],
            })
        })
        .unwrap();
        assert_eq!(
            step,
            ScanStep::CheckOut {
                record: vec![9; 16]
            }
        );
        assert!(conn.is_autocommit(), "committed");
        let seen: String = conn
            .query_row("SELECT value FROM meta WHERE key = 'clock_seen'", [], |r| {
                r.get(0)
            })
            .unwrap();
        assert_eq!(seen, "1800000000");
    }
}
