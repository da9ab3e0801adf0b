//! The scans' log: where a scan writes its check-in (one page to sync), and its move into
//! the indexed table behind the view `checkins` (schema 5).

use rusqlite::{Connection, OptionalExtension};

use super::log_index::LogIndex;
use super::schema::{CHECKIN_TABLES, DRAIN_CHECKIN_LOG};
use crate::store::*;

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

/// A scan's lookup of its guest's stays in the log, one row by its rowid.
pub(super) fn logged_stay<T>(
    tx: &Connection,
    rowid: i64,
    pseudonym: &[u8],
    f: impl FnOnce(&rusqlite::Row<'_>) -> Result<T, rusqlite::Error>,
) -> Result<Option<T>, rusqlite::Error> {
    tx.prepare_cached(
        "SELECT id, area_id, checked_in_at, checked_out_at IS NULL, last_read_at
         FROM checkins_log WHERE rowid = ?1 AND pseudonym = ?2",
    )?
    .query_row(rusqlite::params![rowid, pseudonym], f)
    .optional()
}

/// Moves the scans' log into the indexed table, if it holds anything: for idle moments.
/// It does not wait for another process's write, and a full disk leaves the log as it is
/// (safe, and read as before): both are tried again in the next idle moment. Says whether
/// the log is empty now.
pub(super) fn drain_log(conn: &Connection, index: &mut LogIndex) -> Result<bool, StoreError> {
    let any: bool = conn
        .prepare_cached("SELECT EXISTS (SELECT 1 FROM checkins_log)")?
        .query_row([], |r| r.get(0))?;
    if !any {
        return Ok(true);
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
        Ok(()) => {
            index.moved();
            Ok(true)
        }
        Err(StoreError::Busy) | Err(StoreError::DiskFull) => Ok(false),
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

    fn check_in(conn: &mut Connection, index: &mut LogIndex, i: u32) {
        let (record, pseudonym) = (record(i), pseudonym(i));
        let scan = scan(&record, &pseudonym, AT + i64::from(i));
        let step = record_scan(conn, index, &scan, &mut |prior| {
            assert!(prior.open.is_none() && prior.last_read_at.is_none());
            Ok(ScanStep::CheckIn { moved_from: None })
        })
        .unwrap();
        assert_eq!(step, ScanStep::CheckIn { moved_from: None });
    }

    /// Checks guest `i` in at `now`, for a stay that ends at `due`.
    fn check_in_until(conn: &mut Connection, index: &mut LogIndex, i: u32, now: i64, due: i64) {
        let (record, pseudonym) = (record(i), pseudonym(i));
        let c = NewCheckin {
            due_at: Some(due),
            ..scan(&record, &pseudonym, now)
        };
        record_scan(conn, index, &c, &mut |_| {
            Ok(ScanStep::CheckIn { moved_from: None })
        })
        .unwrap();
    }

    /// Puts guest `i`'s record id into the indexed table, so that the log cannot move once
    /// the guest is checked in (in the field: a disk with room for one page, not the move).
    fn block_the_move_of(conn: &Connection, i: u32) {
        conn.execute(
            "INSERT INTO checkins_indexed(id, area_id, venue_key_id, checked_in_at, due_at,
                 last_read_at, guest_seal, table_seal)
             VALUES (?1, 1, 1, 0, 0, 0, x'00', x'00')",
            [record(i)],
        )
        .unwrap();
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
        let mut index = LogIndex::attach_draining_at(&conn, 256);
        venue_with_an_area(&conn);
        for i in 0..600 {
            check_in(&mut conn, &mut index, i);
        }
        assert_eq!(count(&conn, "checkins"), 600);
        assert_eq!(count(&conn, "checkins_log"), 600 - 512);
        // A guest's second scan finds the stay in the log and in the indexed table.
        for i in [3u32, 599] {
            let pseudonym = pseudonym(i);
            let scan = scan(&[9; 16], &pseudonym, AT + 1_000);
            record_scan(&mut conn, &mut index, &scan, &mut |prior| {
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

        drain_log(&conn, &mut index).unwrap();
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
        check_in(&mut conn, &mut index, 600);
        let closed = close_all(&conn, None, AT + 3_000, &|n| n.to_string()).unwrap();
        assert_eq!(closed, 597, "596 in the indexed table and one in the log");
    }

    /// What a scan sees of its guest's stays in the log comes from the log's index: it
    /// must see every change to the log, whoever made it. Each step below fails when the
    /// index misses one kind of change.
    #[test]
    fn a_scan_sees_every_change_to_the_log() {
        let dir = tempfile::tempdir().unwrap();
        let mut a = super::super::schema::open(dir.path()).unwrap();
        let mut a_index = LogIndex::attach(&a);
        venue_with_an_area(&a);
        let mut b = super::super::schema::open(dir.path()).unwrap();
        let mut b_index = LogIndex::attach(&b);
        // What guest `i`'s next scan finds: its last read and its open stay.
        let prior = |conn: &mut Connection, index: &mut LogIndex, i: u32, now: i64| {
            let (mut last, mut open) = (None, None);
            let pseudonym = pseudonym(i);
            let scan = scan(&[9; 16], &pseudonym, now);
            let step = record_scan(conn, index, &scan, &mut |p| {
                last = p.last_read_at;
                open = p.open.as_ref().map(|o| o.0.clone());
                Ok(ScanStep::Ignore)
            })
            .unwrap();
            assert_eq!(step, ScanStep::Ignore);
            (last, open)
        };
        // Guest `i`, checked in at AT + i, is still in.
        let still_in = |conn: &mut Connection, index: &mut LogIndex, i: u32, now: i64| {
            let expected = (Some(AT + i64::from(i)), Some(record(i)));
            assert_eq!(prior(conn, index, i, now), expected, "guest {i}");
        };
        check_in(&mut a, &mut a_index, 1);
        still_in(&mut a, &mut a_index, 1, AT + 5);

        // Another process (another connection) checks a guest in.
        check_in(&mut b, &mut b_index, 2);
        still_in(&mut a, &mut a_index, 2, AT + 5);

        // This connection writes into the log, but not by a scan (a tool, through the view).
        a.execute(
            "INSERT INTO checkins(id, area_id, venue_key_id, checked_in_at, due_at, pseudonym,
                 last_read_at, guest_seal, table_seal, seal_version)
             VALUES (?1, 1, 1, ?2, ?3, ?4, ?2, x'01', x'02', 2)",
            params![record(3), AT + 3, AT + 36_000, pseudonym(3)],
        )
        .unwrap();
        // ... and a row of other types beside it, which no scan matches and none fails on.
        a.execute(
            "INSERT INTO checkins(id, area_id, venue_key_id, checked_in_at, due_at, pseudonym,
                 last_read_at, guest_seal, table_seal, seal_version)
             VALUES (x'aa', 1, 1, ?1, 'soon', 'a name', ?1, x'01', x'02', 2)",
            [AT + 3],
        )
        .unwrap();
        still_in(&mut a, &mut a_index, 3, AT + 5);
        // ... and changes a stay's end to before the next scan (an area's shorter stay).
        a.execute(
            "UPDATE checkins SET due_at = ?1 WHERE id = ?2",
            params![AT + 4, record(3)],
        )
        .unwrap();
        assert_eq!(prior(&mut a, &mut a_index, 3, AT + 5), (Some(AT + 3), None));

        // A stay in the log ends while no one scans; the next scan closes it.
        check_in_until(&mut a, &mut a_index, 4, AT + 4, AT + 10);
        check_in(&mut a, &mut a_index, 5);
        assert_eq!(
            prior(&mut a, &mut a_index, 4, AT + 9),
            (Some(AT + 4), Some(record(4)))
        );
        assert_eq!(
            prior(&mut a, &mut a_index, 4, AT + 11),
            (Some(AT + 4), None)
        );

        // The log moved by the other process, and new check-ins in the emptied log (whose
        // rowids start again at 1).
        drain_log(&b, &mut b_index).unwrap();
        assert_eq!(count(&a, "checkins_log"), 0);
        check_in(&mut a, &mut a_index, 6);
        check_in(&mut a, &mut a_index, 7);
        still_in(&mut a, &mut a_index, 1, AT + 20);
        still_in(&mut a, &mut a_index, 7, AT + 20);
        // ... and by this one.
        drain_log(&a, &mut a_index).unwrap();
        check_in(&mut b, &mut b_index, 8);
        still_in(&mut a, &mut a_index, 6, AT + 20);
        still_in(&mut a, &mut a_index, 8, AT + 20);
        assert_eq!(prior(&mut a, &mut a_index, 9, AT + 20), (None, None));

        // A stay that this connection's scan put into the emptied log ends: the next scan
        // closes it (what it knows of the stay comes from the scan, not from a rebuild).
        drain_log(&a, &mut a_index).unwrap();
        check_in_until(&mut a, &mut a_index, 10, AT + 10, AT + 30);
        still_in(&mut a, &mut a_index, 10, AT + 29);
        assert_eq!(
            prior(&mut a, &mut a_index, 10, AT + 31),
            (Some(AT + 10), None)
        );
    }

    /// The index's bound on overdue stays follows the check-outs; the pseudonyms it holds
    /// leave memory with the log's move and with the purge; a move that fails is not tried
    /// again by each of the next scans.
    #[test]
    fn the_log_index_follows_check_outs_and_forgets_pseudonyms() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = super::super::SqliteStore::open(dir.path()).unwrap();
        venue_with_an_area(&store.conn);
        let (conn, index) = (&mut store.conn, &mut store.log_index);
        check_in_until(conn, index, 1, AT + 1, AT + 40);
        check_in(conn, index, 2);
        assert_eq!(index.open_due_from(), Some(AT + 40));
        let pseudonym1 = pseudonym(1);
        let out = scan(&[9; 16], &pseudonym1, AT + 35);
        record_scan(conn, index, &out, &mut |p| {
            Ok(ScanStep::CheckOut {
                record: p.open.clone().unwrap().0,
            })
        })
        .unwrap();
        check_in_until(conn, index, 3, AT + 41, AT + 36_000);
        assert_eq!(
            index.open_due_from(),
            Some(AT + 36_000),
            "the stay due at AT + 40 was checked out"
        );

        assert!(store.log_index.holds_pseudonyms());
        let nothing_old = PurgePlan {
            now: AT + 50,
            cutoff: 0,
            day_start: AT + 100,
            audit_cutoff: 0,
        };
        let purged = store.purge(&nothing_old, false).unwrap();
        assert_eq!((purged.checkins, purged.pseudonyms), (0, 3));
        assert!(
            !store.log_index.holds_pseudonyms(),
            "forgotten with the purge"
        );
        check_in(&mut store.conn, &mut store.log_index, 4);
        assert!(store.log_index.holds_pseudonyms());
        store.idle_maintenance().unwrap();
        assert_eq!(count(&store.conn, "checkins_log"), 0);
        assert!(
            !store.log_index.holds_pseudonyms(),
            "forgotten with the move"
        );

        // A check-in in the log that cannot move (its id is in the indexed table already).
        let mut index = LogIndex::attach_draining_at(&store.conn, 4);
        let conn = &mut store.conn;
        block_the_move_of(conn, 5);
        for i in 5..9 {
            check_in(conn, &mut index, i);
        }
        assert_eq!(index.drain_from(), 8, "tried at 4 check-ins, next at 8");
        for i in 9..13 {
            check_in(conn, &mut index, i);
        }
        assert_eq!(index.drain_from(), 12);
        assert_eq!(count(conn, "checkins_log"), 8);
    }

    /// A scan whose move of the log fails (here: a record id already in the indexed
    /// table; in the field, a disk with room for one page and not for the move) still
    /// keeps its check-in, and so do the scans after it.
    #[test]
    fn a_failed_move_of_the_log_does_not_fail_the_scan() {
        let dir = tempfile::tempdir().unwrap();
        let mut conn = super::super::schema::open(dir.path()).unwrap();
        let mut index = LogIndex::attach_draining_at(&conn, 256);
        venue_with_an_area(&conn);
        block_the_move_of(&conn, 0);
        for i in 0..300 {
            check_in(&mut conn, &mut index, i);
        }
        assert_eq!(count(&conn, "checkins_log"), 300);
        assert_eq!(count(&conn, "checkins"), 301);
        assert!(conn.is_autocommit());
        assert!(
            drain_log(&conn, &mut index).is_err(),
            "the idle moment reports it"
        );
        assert_eq!(count(&conn, "checkins_log"), 300, "and changes nothing");
    }

    /// The purge deletes old check-ins from the log as from the indexed table.
    #[test]
    fn the_purge_reaches_the_scans_log() {
        let dir = tempfile::tempdir().unwrap();
        let mut conn = super::super::schema::open(dir.path()).unwrap();
        let mut index = LogIndex::attach_draining_at(&conn, 256);
        venue_with_an_area(&conn);
        for i in 0..300 {
            check_in(&mut conn, &mut index, i);
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
        let mut index = LogIndex::attach(&conn);
        assert_eq!(count(&conn, "checkins_indexed"), 1);
        assert_eq!(count(&conn, "checkins_log"), 0);
        check_in(&mut conn, &mut index, 1);
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
