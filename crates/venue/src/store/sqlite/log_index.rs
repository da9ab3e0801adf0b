//! The scans' log's index, kept in memory: where a scan finds its guest's stays in the
//! unindexed log (`checkin_log.rs`) without a pass over it.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use rusqlite::types::ValueRef;
use rusqlite::Connection;
use zeroize::Zeroize;

/// From this many check-ins in the scans' log, a scan moves the log into the indexed table
/// itself, where no idle moment comes (a batch): the readers of the view pass over the
/// log's rows, and this keeps that pass short. The scan itself finds its guest's stays
/// through [`LogIndex`], however long the log is.
pub(super) const LOG_ROWS_BEFORE_SCAN_DRAINS: i64 = 4096;

/// Where each guest's check-ins are in the scans' log (by daily pseudonym), and from when
/// an open stay there can be overdue: so that a scan finds them without a pass over the
/// unindexed log. Kept in memory by the connection; rebuilt from the log whenever anything
/// but this connection's scans changed it (another connection: `PRAGMA data_version`; this
/// one: SQLite's update hook).
pub(super) struct LogIndex {
    rows: HashMap<Vec<u8>, Vec<i64>>,
    /// No open stay in the log is due before this; `None`: no open stay there.
    open_due_from: Option<i64>,
    data_version: i64,
    valid: bool,
    /// Set by the update hook whenever this connection changes a row of the log.
    changed: Arc<AtomicBool>,
    drain_at: i64,
    /// The rowid from which a scan moves the log: `drain_at`, and later after a failed move.
    drain_from: i64,
}

/// A check-in a scan wrote into the log, for [`LogIndex::scanned`].
pub(super) struct LoggedCheckin<'a> {
    pub rowid: i64,
    pub pseudonym: &'a [u8],
    pub due_at: i64,
}

impl LogIndex {
    /// The index of `conn`'s log; the connection must not get another update hook.
    pub(super) fn attach(conn: &Connection) -> LogIndex {
        Self::attach_draining_at(conn, LOG_ROWS_BEFORE_SCAN_DRAINS)
    }

    pub(super) fn attach_draining_at(conn: &Connection, drain_at: i64) -> LogIndex {
        let changed = Arc::new(AtomicBool::new(true));
        let hook = Arc::clone(&changed);
        conn.update_hook(Some(
            move |_: rusqlite::hooks::Action, _: &str, table: &str, _: i64| {
                if table == "checkins_log" {
                    hook.store(true, Ordering::Relaxed);
                }
            },
        ));
        LogIndex {
            rows: HashMap::new(),
            open_due_from: None,
            data_version: 0,
            valid: false,
            changed,
            drain_at,
            drain_from: drain_at,
        }
    }

    /// Brings the index up to date with the log, inside the scan's write transaction (so
    /// that nothing changes the log until the scan commits).
    pub(super) fn refresh(&mut self, tx: &Connection) -> Result<(), rusqlite::Error> {
        let version: i64 = tx
            .prepare_cached("PRAGMA data_version")?
            .query_row([], |r| r.get(0))?;
        let changed = self.changed.swap(false, Ordering::Relaxed);
        if self.valid && !changed && version == self.data_version {
            return Ok(());
        }
        self.forget();
        let mut st = tx.prepare_cached(
            "SELECT rowid, pseudonym, due_at, checked_out_at IS NULL FROM checkins_log",
        )?;
        let mut rows = st.query([])?;
        // A row of another type (a tool's) is not matched, as by the lookup in SQL.
        while let Some(r) = rows.next()? {
            if let ValueRef::Blob(pseudonym) = r.get_ref(1)? {
                self.rows
                    .entry(pseudonym.to_vec())
                    .or_default()
                    .push(r.get(0)?);
            }
            if let (ValueRef::Integer(due), true) = (r.get_ref(2)?, r.get::<_, bool>(3)?) {
                self.lower_due_from(due);
            }
        }
        self.data_version = version;
        self.valid = true;
        Ok(())
    }

    /// The log's rows that may hold `pseudonym`'s stays, oldest first (a row that no longer
    /// holds it is skipped by the caller's lookup).
    pub(super) fn rows_of(&self, pseudonym: &[u8]) -> &[i64] {
        self.rows.get(pseudonym).map_or(&[], Vec::as_slice)
    }

    /// Whether a stay in the log may be overdue at `now`.
    pub(super) fn may_be_overdue(&self, now: i64) -> bool {
        self.open_due_from.is_some_and(|due| due <= now)
    }

    /// When no stay in the log was overdue after all (the stay that set the bound was
    /// closed since): the bound anew, so that the next scans do not look again.
    pub(super) fn none_overdue(&mut self, tx: &Connection) -> Result<(), rusqlite::Error> {
        self.open_due_from = tx
            .prepare_cached(
                "SELECT MIN(due_at) FROM checkins_log
                 WHERE checked_out_at IS NULL AND typeof(due_at) = 'integer'",
            )?
            .query_row([], |r| r.get(0))?;
        Ok(())
    }

    fn lower_due_from(&mut self, due: i64) {
        self.open_due_from = Some(self.open_due_from.map_or(due, |d| d.min(due)));
    }

    /// After a scan's commit: its own changes to the log, known here, need no rebuild.
    /// `closed_overdue`: it closed overdue stays in the log, which moves `open_due_from`.
    pub(super) fn scanned(&mut self, logged: Option<LoggedCheckin<'_>>, closed_overdue: bool) {
        if closed_overdue {
            self.valid = false;
            return;
        }
        if let Some(c) = logged {
            self.rows
                .entry(c.pseudonym.to_vec())
                .or_default()
                .push(c.rowid);
            self.lower_due_from(c.due_at);
        }
        // The scan's other changes to the log only closed stays: the index still holds.
        self.changed.store(false, Ordering::Relaxed);
    }

    /// Whether a scan whose check-in has this rowid in the log moves the log.
    pub(super) fn log_is_long(&self, rowid: i64) -> bool {
        rowid >= self.drain_from
    }

    /// After a scan's move failed: the next try after as many check-ins again, not on each
    /// of the next scans (a move that fails once, for want of room, mostly fails again).
    pub(super) fn move_failed(&mut self, rowid: i64) {
        self.drain_from = rowid.saturating_add(self.drain_at);
    }

    /// After the log's move: it is empty, and a scan moves it again at `drain_at`.
    pub(super) fn moved(&mut self) {
        self.forget();
        self.drain_from = self.drain_at;
    }

    /// Drops the pseudonyms it holds, overwritten (after the log's move and the purge,
    /// which erase them from the file), until the next scan rebuilds it.
    pub(super) fn forget(&mut self) {
        for (mut pseudonym, _) in self.rows.drain() {
            pseudonym.zeroize();
        }
        self.open_due_from = None;
        self.valid = false;
    }

    #[cfg(test)]
    pub(super) fn open_due_from(&self) -> Option<i64> {
        self.open_due_from
    }

    #[cfg(test)]
    pub(super) fn holds_pseudonyms(&self) -> bool {
        !self.rows.is_empty()
    }

    #[cfg(test)]
    pub(super) fn drain_from(&self) -> i64 {
        self.drain_from
    }
}
