//! The venue's store in SQLite, embedded in the data folder: for a single counter.

mod areas;
mod checkin_log;
mod checkins;
mod log_index;
mod requests;
pub mod schema;
mod venue_rows;

use std::path::Path;

use rusqlite::{params, Connection, OptionalExtension};

use super::*;

pub use schema::{schema_version, DB_FILE};

/// How many rows written since the last checkpoint make an idle moment copy the
/// write-ahead log into the database (a check-in adds about 20 KiB to the log).
const IDLE_CHECKPOINT_CHANGES: u32 = 200;

pub struct SqliteStore {
    conn: Connection,
    /// `total_changes` of the connection at the last idle checkpoint.
    changes_at_checkpoint: u32,
    log_index: log_index::LogIndex,
}

pub(crate) fn err(e: rusqlite::Error) -> StoreError {
    use rusqlite::ErrorCode;
    match e.sqlite_error_code() {
        Some(ErrorCode::DiskFull) => StoreError::DiskFull,
        Some(ErrorCode::DatabaseBusy) | Some(ErrorCode::DatabaseLocked) => StoreError::Busy,
        Some(ErrorCode::DatabaseCorrupt) | Some(ErrorCode::NotADatabase) => {
            StoreError::Corrupt(e.to_string())
        }
        _ => StoreError::Other(e.to_string()),
    }
}

impl From<rusqlite::Error> for StoreError {
    fn from(e: rusqlite::Error) -> Self {
        err(e)
    }
}

fn unique_violation(e: &rusqlite::Error) -> bool {
    matches!(
        e.sqlite_error_code(),
        Some(rusqlite::ErrorCode::ConstraintViolation)
    )
}

/// Sets a meta key within the caller's transaction.
fn put_meta(conn: &Connection, key: Meta, value: &str) -> Result<(), StoreError> {
    conn.execute(
        "INSERT INTO meta(key, value) VALUES (?1, ?2)
         ON CONFLICT(key) DO UPDATE SET value = excluded.value",
        params![key.key(), value],
    )?;
    Ok(())
}

fn get_meta(conn: &Connection, key: Meta) -> Result<Option<String>, StoreError> {
    Ok(conn
        .query_row("SELECT value FROM meta WHERE key = ?1", [key.key()], |r| {
            r.get(0)
        })
        .optional()?)
}

impl SqliteStore {
    /// Opens (creating if needed) the database in `data_dir` and brings its schema up to
    /// date.
    pub fn open(data_dir: &Path) -> Result<SqliteStore, StoreError> {
        let conn = schema::open(data_dir)?;
        Ok(SqliteStore {
            log_index: log_index::LogIndex::attach(&conn),
            conn,
            changes_at_checkpoint: 0,
        })
    }

    /// Whether a venue is set up in `data_dir` (without creating anything there).
    pub fn exists(data_dir: &Path) -> bool {
        data_dir.join(DB_FILE).exists()
            && SqliteStore::open(data_dir)
                .and_then(|s| s.is_initialized())
                .unwrap_or(false)
    }

    pub fn integrity_ok(&self) -> Result<bool, StoreError> {
        let s: String = self
            .conn
            .query_row("PRAGMA integrity_check", [], |r| r.get(0))?;
        Ok(s == "ok")
    }
}

impl VenueStore for SqliteStore {
    fn is_initialized(&self) -> Result<bool, StoreError> {
        venue_rows::is_initialized(&self.conn)
    }
    fn create_venue(&mut self, v: &NewVenue<'_>) -> Result<(), StoreError> {
        venue_rows::create_venue(&self.conn, v)
    }
    fn venue_name_address(&self) -> Result<(String, String), StoreError> {
        venue_rows::name_address(&self.conn)
    }
    fn meta(&self, key: Meta) -> Result<Option<String>, StoreError> {
        get_meta(&self.conn, key)
    }
    fn set_meta(&mut self, key: Meta, value: &str) -> Result<(), StoreError> {
        put_meta(&self.conn, key, value)
    }
    fn set_metas(
        &mut self,
        values: &[(Meta, &str)],
        note: Option<&AuditNote<'_>>,
    ) -> Result<(), StoreError> {
        let tx = self.conn.unchecked_transaction()?;
        for (k, v) in values {
            put_meta(&tx, *k, v)?;
        }
        if let Some(n) = note {
            requests::append_audit(&tx, n)?;
        }
        tx.commit()?;
        Ok(())
    }
    fn settings(&self) -> Result<Vec<(String, String)>, StoreError> {
        venue_rows::settings(&self.conn)
    }
    fn set_setting(
        &mut self,
        key: &str,
        value: &str,
        note: Option<&AuditNote<'_>>,
    ) -> Result<(), StoreError> {
        venue_rows::set_setting(&self.conn, key, value, note)
    }
    fn keys(&self) -> Result<Vec<StoredKey>, StoreError> {
        venue_rows::keys(&self.conn)
    }
    fn replace_key(
        &mut self,
        old_id: i64,
        new: &NewKey,
        key_file: &str,
        note: &AuditNote<'_>,
    ) -> Result<KeyUse, StoreError> {
        venue_rows::replace_key(&self.conn, old_id, new, key_file, note)
    }
    fn record_key_copy(
        &mut self,
        key_id: i64,
        events: &[&str],
        place: &str,
        same_medium: bool,
        now: i64,
    ) -> Result<(), StoreError> {
        venue_rows::record_key_copy(&self.conn, key_id, events, place, same_medium, now)
    }
    fn copy_times(&self, key_id: i64, primary: &str) -> Result<CopyTimes, StoreError> {
        venue_rows::copy_times(&self.conn, key_id, primary)
    }
    fn ever_verified(&self) -> Result<bool, StoreError> {
        venue_rows::ever_verified(&self.conn)
    }
    fn latest_counted_copy(
        &self,
        key_id: i64,
        primary: &str,
    ) -> Result<Option<String>, StoreError> {
        venue_rows::latest_counted_copy(&self.conn, key_id, primary)
    }
    fn trust(&self) -> Result<Option<String>, StoreError> {
        venue_rows::trust(&self.conn)
    }
    fn store_trust(&mut self, t: &TrustRow, now: i64) -> Result<(), StoreError> {
        let tx = self.conn.unchecked_transaction()?;
        venue_rows::store_trust(&tx, t, now)?;
        tx.commit()?;
        Ok(())
    }
    fn contact_key_ids(&self) -> Result<Vec<Vec<u8>>, StoreError> {
        venue_rows::contact_key_ids(&self.conn)
    }

    fn add_location(&mut self, name: &str, now: i64) -> Result<i64, StoreError> {
        areas::add_location(&self.conn, name, now)
    }
    fn location_name(&self, id: i64) -> Result<Option<String>, StoreError> {
        areas::location_name(&self.conn, id)
    }
    fn rename_location(
        &mut self,
        id: i64,
        name: &str,
        note: &AuditNote<'_>,
    ) -> Result<(), StoreError> {
        areas::rename_location(&self.conn, id, name, note)
    }
    fn locations(&self) -> Result<Vec<(i64, String)>, StoreError> {
        areas::locations(&self.conn)
    }
    fn location_id(&self, name: &str) -> Result<Option<i64>, StoreError> {
        areas::location_id(&self.conn, name)
    }
    fn add_area(
        &mut self,
        location: i64,
        name: &str,
        max_stay_secs: i64,
        now: i64,
    ) -> Result<i64, StoreError> {
        areas::add_area(&self.conn, location, name, max_stay_secs, now)
    }
    fn live_area_ids(&self, name: &str, location: Option<&str>) -> Result<Vec<i64>, StoreError> {
        areas::live_area_ids(&self.conn, name, location)
    }
    fn areas(&self, only: Option<i64>) -> Result<Vec<AreaRow>, StoreError> {
        areas::areas(&self.conn, only)
    }
    fn area_row(&self, id: i64) -> Result<Option<AreaRow>, StoreError> {
        areas::area_row(&self.conn, id)
    }
    fn has_table(&self, area: i64, table: u16) -> Result<bool, StoreError> {
        areas::has_table(&self.conn, area, table)
    }
    fn table_code(&self, area: i64, table: u16) -> Result<Option<TableCode>, StoreError> {
        areas::table_code(&self.conn, area, table)
    }
    fn rename_area(&mut self, id: i64, name: &str, note: &AuditNote<'_>) -> Result<(), StoreError> {
        areas::rename_area(&self.conn, id, name, note)
    }
    fn set_max_stay(
        &mut self,
        id: i64,
        secs: i64,
        now: i64,
        note: Option<&AuditNote<'_>>,
    ) -> Result<(), StoreError> {
        areas::set_max_stay(&self.conn, id, secs, now, note)
    }
    fn set_area_state(&mut self, id: i64, state: &str) -> Result<(), StoreError> {
        areas::set_area_state(&self.conn, id, state)
    }
    fn archive_area(&mut self, id: i64, now: i64, note: &AuditNote<'_>) -> Result<u64, StoreError> {
        areas::archive_area(&self.conn, id, now, note)
    }
    fn replace_area_code(&mut self, id: i64, now: i64) -> Result<(), StoreError> {
        areas::replace_area_code(&self.conn, id, now)
    }
    fn add_tables(&mut self, area: i64, numbers: &[u16]) -> Result<(), StoreError> {
        areas::add_tables(&self.conn, area, numbers)
    }
    fn remove_table(&mut self, area: i64, table: u16, now: i64) -> Result<bool, StoreError> {
        areas::remove_table(&self.conn, area, table, now)
    }
    fn replace_table_code(&mut self, area: i64, table: u16, now: i64) -> Result<bool, StoreError> {
        areas::replace_table_code(&self.conn, area, table, now)
    }

    fn record_scan(
        &mut self,
        c: &NewCheckin<'_>,
        decide: &mut dyn FnMut(&PriorScan) -> Result<ScanStep, crate::Error>,
    ) -> Result<ScanStep, crate::Error> {
        checkins::record_scan(&mut self.conn, &mut self.log_index, c, decide)
    }
    fn checkin_binding(
        &self,
        record: &[u8],
        open_only: bool,
    ) -> Result<Option<CheckinBinding>, StoreError> {
        checkins::binding(&self.conn, record, open_only)
    }
    fn set_table_seal(&mut self, record: &[u8], seal: &[u8]) -> Result<(), StoreError> {
        checkins::set_table_seal(&self.conn, record, seal)
    }
    fn check_out_record(&mut self, record: &[u8], now: i64) -> Result<bool, StoreError> {
        checkins::check_out_record(&self.conn, record, now)
    }
    fn close_all(
        &mut self,
        area: Option<i64>,
        now: i64,
        note: &dyn Fn(u64) -> String,
    ) -> Result<u64, StoreError> {
        checkins::close_all(&self.conn, area, now, note)
    }
    fn close_overdue(&mut self, now: i64) -> Result<u64, StoreError> {
        checkins::close_overdue(&self.conn, now)
    }
    fn idle_maintenance(&mut self) -> Result<(), StoreError> {
        checkin_log::drain_log(&self.conn, &mut self.log_index)?;
        // Only once the log has grown: each complete checkpoint makes the next commit start
        // the log anew, which writes and syncs its header, an extra sync.
        // SQLite counts in 32 bits, which wrap.
        let changes = self.conn.total_changes() as u32;
        if changes.wrapping_sub(self.changes_at_checkpoint) < IDLE_CHECKPOINT_CHANGES {
            return Ok(());
        }
        // Passive: never waits for a reader; whatever it cannot copy now waits for next time.
        let (busy, frames, copied): (i64, i64, i64) = self
            .conn
            .query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?))
            })
            .map_err(err)?;
        if busy != 0 || frames != copied {
            return Ok(());
        }
        // That next commit is this small one, so that the extra sync falls here and not on
        // the next scan. It does not wait for another process's write: if one holds the
        // database, that one starts the log anew.
        self.conn.busy_timeout(std::time::Duration::ZERO)?;
        let restart = self.conn.execute(
            "INSERT INTO meta(key, value) VALUES (?1, '1')
             ON CONFLICT(key) DO UPDATE SET value = CAST(value AS INTEGER) + 1",
            [Meta::LogRestarts.key()],
        );
        self.conn.busy_timeout(schema::BUSY_TIMEOUT)?;
        match restart.map_err(err) {
            Ok(_) | Err(StoreError::Busy) => {
                self.changes_at_checkpoint = self.conn.total_changes() as u32;
                Ok(())
            }
            Err(e) => Err(e),
        }
    }
    fn open_checkins(&self, area: Option<i64>) -> Result<Vec<OpenCheckinRow>, StoreError> {
        checkins::open_checkins(&self.conn, area)
    }
    fn arrivals(&self, start: i64, now: i64) -> Result<Vec<(i64, u32)>, StoreError> {
        checkins::arrivals(&self.conn, start, now)
    }
    fn latest_read(&self) -> Result<Option<i64>, StoreError> {
        Ok(self
            .conn
            .query_row("SELECT MAX(last_read_at) FROM checkins", [], |r| r.get(0))?)
    }
    fn purge(&mut self, plan: &PurgePlan, note_time: bool) -> Result<PurgeCounts, StoreError> {
        let purged = checkins::purge(&self.conn, plan, note_time);
        // Also the pseudonyms it cleared, in the file, are no longer held in memory.
        self.log_index.forget();
        purged
    }

    fn request_decided(
        &self,
        request_id: &[u8],
    ) -> Result<Option<(String, Option<i64>)>, StoreError> {
        requests::decided(&self.conn, request_id)
    }
    fn count_matching(&self, m: &Matching<'_>, key_id: i64) -> Result<(u64, u64), StoreError> {
        requests::count_matching(&self.conn, m, key_id)
    }
    fn count_matching_for_key(&self, m: &Matching<'_>, key_id: i64) -> Result<u64, StoreError> {
        requests::count_matching_for_key(&self.conn, m, key_id)
    }
    fn for_each_matching(
        &self,
        m: &Matching<'_>,
        key_id: i64,
        f: &mut dyn FnMut(MatchingRow) -> Result<(), crate::Error>,
    ) -> Result<(), crate::Error> {
        requests::for_each_matching(&self.conn, m, key_id, f)
    }
    fn request_seen(
        &mut self,
        request_id: &[u8],
        office_id: &str,
        case: &str,
        note: &AuditNote<'_>,
    ) -> Result<bool, StoreError> {
        requests::seen(&self.conn, request_id, office_id, case, note)
    }
    fn decide_request(&mut self, d: &Decision<'_>, note: &AuditNote<'_>) -> Result<(), StoreError> {
        requests::decide(&self.conn, d, note)
    }
    fn append_audit(&mut self, note: &AuditNote<'_>) -> Result<(), StoreError> {
        let tx = self.conn.unchecked_transaction()?;
        requests::append_audit(&tx, note)?;
        tx.commit()?;
        Ok(())
    }
    fn audit_entries(&self) -> Result<Vec<AuditRow>, StoreError> {
        requests::audit_entries(&self.conn)
    }
    fn audit_anchors(&self) -> Result<AuditAnchors, StoreError> {
        requests::audit_anchors(&self.conn)
    }

    fn checkpoint(&mut self) -> Result<bool, StoreError> {
        truncate_log(&self.conn)
    }
    fn empty_log(&mut self) -> Result<bool, StoreError> {
        truncate_log(&self.conn)
    }

    #[cfg(feature = "test-support")]
    fn sqlite(&self) -> Option<&rusqlite::Connection> {
        Some(&self.conn)
    }
}

/// Copies the log into the database file and empties it. SQLite reports a busy log (a
/// reader or writer that did not finish within the busy timeout) as a result, not as an
/// error.
pub(crate) fn truncate_log(conn: &Connection) -> Result<bool, StoreError> {
    let busy: i64 = conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |r| r.get(0))?;
    Ok(busy == 0)
}
