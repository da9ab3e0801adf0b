//! Retention: what the retention period no longer allows to keep is deleted, also from the
//! store's free pages and its log; pseudonyms of past business days are cleared; audit
//! entries older than theirs go behind a checkpoint. Nothing is purged while the clock
//! looks wrong.

use crate::store::PurgePlan;
use crate::{ClockState, Error, PurgeReport, Venue};

impl Venue {
    /// Deletes what is due and empties this PC's database log, also when nothing was due:
    /// rows deleted earlier (a counter's forwarded outbox, a purge that found the log
    /// busy) may still lie in it. The app runs this hourly.
    pub fn purge(&mut self, now: i64) -> Result<PurgeReport, Error> {
        self.purge_due(now, true)
    }

    /// `empty_log` false: the log is emptied only when rows were deleted, so that opening
    /// a venue beside a running app does not wait on the app's reads.
    pub(crate) fn purge_due(&mut self, now: i64, empty_log: bool) -> Result<PurgeReport, Error> {
        if self.clock_state(now)? != ClockState::Ok {
            tracing::warn!(event = "retention.purge_skipped", reason = "clock");
            let emptied = !empty_log || self.store.empty_log()?;
            return Ok(PurgeReport {
                skipped_clock: true,
                log_kept: !emptied,
                ..PurgeReport::default()
            });
        }
        let note_time = self.clock_seen.is_none_or(|t| now > t);
        let plan = PurgePlan {
            now,
            cutoff: now - i64::from(self.settings.retention_days) * 86_400,
            day_start: self.business_day_start(now),
            audit_cutoff: now - i64::from(self.settings.audit_retention_days) * 86_400,
        };
        let c = self.store.purge(&plan, note_time)?;
        if note_time {
            self.clock_seen = Some(now);
        }
        let deleted = c.checkins + c.areas + c.pseudonyms + c.audit_entries > 0;
        let emptied = if deleted || self.checkpoint_due {
            // Stays due if the checkpoint fails (a server out of reach): the next purge
            // runs it even with nothing new deleted.
            self.checkpoint_due = true;
            let emptied = self.store.checkpoint()?;
            self.checkpoint_due = false;
            emptied
        } else {
            !empty_log || self.store.empty_log()?
        };
        if !emptied {
            tracing::warn!(
                event = "retention.log_kept",
                "another program kept the database busy: deleted rows may remain in its log until the next purge"
            );
        }
        tracing::info!(
            event = "retention.purge",
            checkins = c.checkins,
            areas = c.areas,
            pseudonyms = c.pseudonyms
        );
        Ok(PurgeReport {
            skipped_clock: false,
            checkins_deleted: c.checkins,
            areas_deleted: c.areas,
            pseudonyms_cleared: c.pseudonyms,
            auto_checked_out: c.auto_checked_out,
            audit_entries_deleted: c.audit_entries,
            log_kept: !emptied,
        })
    }
}
