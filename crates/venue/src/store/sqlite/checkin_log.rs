//! The scans' log: where a scan writes its check-in (one page to sync), and its move into
//! the indexed table behind the view `checkins` (schema 5).

use rusqlite::Connection;

use super::schema::{CHECKIN_TABLES, DRAIN_CHECKIN_LOG};
use crate::store::*;

/// From this many check-ins in the scans' log, a scan moves the log into the indexed table
/// itself: where no idle moment comes (a batch), the log's unindexed lookups stay short.
pub(super) const LOG_ROWS_BEFORE_SCAN_DRAINS: i64 = 256;

/// Runs a write on check-ins (`{checkins}` in `sql`) on both tables behind the view, and
/// counts the rows it changed.
pub(super) fn on_checkin_tables(
    conn: &Connection,
    sql: &str,
    params: &[&dyn rusqlite::ToSql],
) -> Result<usize, rusqlite::Error> {
    let mut n = 0;
    for table in CHECKIN_TABLES {
        n += conn
            .prepare_cached(&sql.replace("{checkins}", table))?
            .execute(params)?;
    }
    Ok(n)
}

/// Moves the scans' log into the indexed table, if it holds anything: for idle moments.
/// It does not wait for another process's write, and a full disk leaves the log as it is
/// (safe, and read as before): both are tried again in the next idle moment.
pub(super) fn drain_log(conn: &Connection) -> Result<(), StoreError> {
    let any: bool = conn
        .prepare_cached("SELECT EXISTS (SELECT 1 FROM checkins_log)")?
        .query_row([], |r| r.get(0))?;
    if !any {
        return Ok(());
    }
    conn.busy_timeout(std::time::Duration::ZERO)?;
    let moved =
        rusqlite::Transaction::new_unchecked(conn, rusqlite::TransactionBehavior::Immediate)
            .and_then(|tx| {
                tx.execute_batch(DRAIN_CHECKIN_LOG)?;
                tx.commit()
            });
    conn.busy_timeout(super::schema::BUSY_TIMEOUT)?;
    match moved.map_err(super::err) {
        Ok(()) | Err(StoreError::Busy) | Err(StoreError::DiskFull) => Ok(()),
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use rusqlite::params;

    use super::super::checkins::*;
    use super::*;

    const AT: i64 = 1_800_000_000;

    fn venue_with_an_area(conn: &Connection) {
        conn.execute_batch(
            "INSERT INTO venue_keys(id, seal_pk, sign_pk, fingerprint, created_at)
                 VALUES (1, x'00', x'00', x'01', 0);
             INSERT INTO locations(id, name, created_at) VALUES (1, 'L', 0);
             INSERT INTO areas(id, location_id, name, max_stay_secs, created_at)
                 VALUES (1, 1, 'A', 36000, 0);",
        )
        .unwrap();
    }

    fn scan<'a>(record: &'a [u8], pseudonym: &'a [u8], now: i64) -> NewCheckin<'a> {
        NewCheckin {
            record,
            area: 1,
            venue_key_id: 1,
            now,
            due_at: Some(AT + 36_000),
            pseudonym,
            guest_seal: &[1; 64],
            table_seal: &[2; 64],
            seal_version: 2,
            note_time: false,
        }
    }

    fn pseudonym(i: u32) -> Vec<u8> {
        [&i.to_be_bytes()[..], &[8; 12]].concat()
    }

    fn check_in(conn: &mut Connection, i: u32) {
        let (record, pseudonym) = (record(i), pseudonym(i));
        let scan = scan(&record, &pseudonym, AT + i64::from(i));
        let step = record_scan(conn, &scan, &mut |prior| {
            assert!(prior.open.is_none() && prior.last_read_at.is_none());
            Ok(ScanStep::CheckIn { moved_from: None })
        })
        .unwrap();
        assert_eq!(step, ScanStep::CheckIn { moved_from: None });
    }

    fn count(conn: &Connection, table: &str) -> i64 {
        conn.query_row(&format!("SELECT COUNT(*) FROM {table}"), [], |r| r.get(0))
            .unwrap()
    }

    fn record(i: u32) -> Vec<u8> {
        [&i.to_be_bytes()[..], &[7; 12]].concat()
    }

    /// Without idle moments (a batch) the scans' log is moved into the indexed table by a
    /// scan once it is long; every check-in is seen, and changed, wherever it is.
    #[test]
    fn check_ins_in_the_scans_log_are_seen_and_changed_like_the_others() {
        let dir = tempfile::tempdir().unwrap();
        let mut conn = super::super::schema::open(dir.path()).unwrap();
        venue_with_an_area(&conn);
        for i in 0..600 {
            check_in(&mut conn, i);
        }
        assert_eq!(count(&conn, "checkins"), 600);
        assert_eq!(count(&conn, "checkins_log"), 600 - 512);
        // A guest's second scan finds the stay in the log and in the indexed table.
        for i in [3u32, 599] {
            let pseudonym = pseudonym(i);
            let scan = scan(&[9; 16], &pseudonym, AT + 1_000);
            record_scan(&mut conn, &scan, &mut |prior| {
                assert_eq!(prior.last_read_at, Some(AT + i64::from(i)));
                let (id, _, _) = prior.open.clone().unwrap();
                assert_eq!(id, record(i));
                Ok(ScanStep::CheckOut { record: id })
            })
            .unwrap();
        }
        assert!(!check_out_record(&conn, &record(3), AT + 2_000).unwrap());
        assert!(check_out_record(&conn, &record(598), AT + 2_000).unwrap());
        assert!(check_out_record(&conn, &record(4), AT + 2_000).unwrap());
        set_table_seal(&conn, &record(597), &[5; 64]).unwrap();
        let open = open_checkins(&conn, None).unwrap();
        assert_eq!(open.len(), 596);
        assert_eq!(open[0].record, record(597), "newest first, from the log");

        drain_log(&conn).unwrap();
        assert_eq!(count(&conn, "checkins_log"), 0);
        assert_eq!(count(&conn, "checkins_indexed"), 600);
        assert_eq!(open_checkins(&conn, None).unwrap().len(), 596);
        let seal: Vec<u8> = conn
            .query_row(
                "SELECT table_seal FROM checkins WHERE id = ?1",
                [record(597)],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(seal, vec![5; 64]);
        check_in(&mut conn, 600);
        let closed = close_all(&conn, None, AT + 3_000, &|n| n.to_string()).unwrap();
        assert_eq!(closed, 597, "596 in the indexed table and one in the log");
    }

    /// A scan whose move of the log fails (here: a record id already in the indexed
    /// table; in the field, a disk with room for one page and not for the move) still
    /// keeps its check-in, and so do the scans after it.
    #[test]
    fn a_failed_move_of_the_log_does_not_fail_the_scan() {
        let dir = tempfile::tempdir().unwrap();
        let mut conn = super::super::schema::open(dir.path()).unwrap();
        venue_with_an_area(&conn);
        conn.execute(
            "INSERT INTO checkins_indexed(id, area_id, venue_key_id, checked_in_at, due_at,
                 last_read_at, guest_seal, table_seal)
             VALUES (?1, 1, 1, 0, 0, 0, x'00', x'00')",
            [record(0)],
        )
        .unwrap();
        for i in 0..300 {
            check_in(&mut conn, i);
        }
        assert_eq!(count(&conn, "checkins_log"), 300);
        assert_eq!(count(&conn, "checkins"), 301);
        assert!(conn.is_autocommit());
        assert!(drain_log(&conn).is_err(), "the idle moment reports it");
        assert_eq!(count(&conn, "checkins_log"), 300, "and changes nothing");
    }

    /// The purge deletes old check-ins from the log as from the indexed table.
    #[test]
    fn the_purge_reaches_the_scans_log() {
        let dir = tempfile::tempdir().unwrap();
        let mut conn = super::super::schema::open(dir.path()).unwrap();
        venue_with_an_area(&conn);
        for i in 0..300 {
            check_in(&mut conn, i);
        }
        assert_eq!(count(&conn, "checkins_log"), 300 - 256);
        let purged = purge(
            &conn,
            &PurgePlan {
                now: AT + 40_000,
                cutoff: AT + 36_001,
                day_start: AT + 40_000,
                audit_cutoff: 0,
            },
            false,
        )
        .unwrap();
        assert_eq!(purged.auto_checked_out, 300);
        assert_eq!(purged.checkins, 300);
        assert_eq!(count(&conn, "checkins"), 0);
    }

    /// A database from before the log (schema 4) keeps its check-ins, now in the indexed
    /// table, and new scans go to the log.
    #[test]
    fn a_database_from_before_the_log_keeps_its_check_ins() {
        let dir = tempfile::tempdir().unwrap();
        {
            let conn = Connection::open(dir.path().join(super::super::schema::DB_FILE)).unwrap();
            for (i, sql) in super::super::schema::MIGRATIONS[..4].iter().enumerate() {
                conn.execute_batch(sql).unwrap();
                conn.pragma_update(None, "user_version", (i + 1) as i64)
                    .unwrap();
            }
            venue_with_an_area(&conn);
            conn.execute(
                "INSERT INTO checkins(id, area_id, venue_key_id, checked_in_at, due_at,
                     pseudonym, last_read_at, guest_seal, table_seal, seal_version)
                 VALUES (?1, 1, 1, ?2, ?3, x'aa', ?2, x'01', x'02', 2)",
                params![record(1000), AT, AT + 36_000],
            )
            .unwrap();
        }
        let mut conn = super::super::schema::open(dir.path()).unwrap();
        assert_eq!(count(&conn, "checkins_indexed"), 1);
        assert_eq!(count(&conn, "checkins_log"), 0);
        check_in(&mut conn, 1);
        assert_eq!(count(&conn, "checkins_log"), 1);
        assert_eq!(count(&conn, "checkins"), 2);
        // Writes through the view reach both tables (tools and tests write through it).
        conn.execute("UPDATE checkins SET due_at = ?1", [AT + 5])
            .unwrap();
        let due: Vec<i64> = conn
            .prepare("SELECT due_at FROM checkins")
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(due, vec![AT + 5, AT + 5]);
    }
}
