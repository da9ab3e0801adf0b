//! A guard against a wrong system clock. Purges and approvals are irreversible and depend
//! on the time: a clock jumped forward would purge every check-in, a clock set back would
//! revive expired requests and certificates. The store keeps the latest time it has seen;
//! a clock far behind it, or far ahead (more than three days), stops purges and
//! approvals until the operator confirms the time.

use serde::Serialize;

use crate::store::{AuditNote, Meta, VenueStore};
use crate::{Error, Venue};

/// How far behind the latest time seen the clock may be before it counts as wrong.
pub const MAX_BEHIND_SECS: i64 = 86_400;
/// How far ahead of the latest time seen it may be: a long weekend with the counter PC
/// switched off. A jump further ahead, even by less than the retention period, would
/// purge check-ins that are still due to be kept, so it waits for the operator.
pub const MAX_AHEAD_SECS: i64 = 3 * 86_400;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case", tag = "kind")]
pub enum ClockState {
    Ok,
    /// Now is more than a day before a time this venue has already seen.
    Behind {
        latest: i64,
    },
    /// Now is more than three days after the latest time seen.
    Ahead {
        latest: i64,
    },
}

/// The latest time seen, as stored; for a venue from before this check, derived from
/// its newest check-in.
pub(crate) fn load_seen(store: &dyn VenueStore) -> Result<Option<i64>, Error> {
    if let Some(v) = store.meta(Meta::ClockSeen)?.and_then(|v| v.parse().ok()) {
        return Ok(Some(v));
    }
    Ok(store.latest_read()?)
}

/// Whether `now` is plausible after `latest` with this retention period.
fn judge(latest: Option<i64>, now: i64, retention_days: u32) -> ClockState {
    let Some(latest) = latest else {
        return ClockState::Ok;
    };
    if now < latest - MAX_BEHIND_SECS {
        ClockState::Behind { latest }
    } else if now > latest + MAX_AHEAD_SECS.min(i64::from(retention_days) * 86_400) {
        ClockState::Ahead { latest }
    } else {
        ClockState::Ok
    }
}

impl Venue {
    pub fn clock_state(&self, now: i64) -> Result<ClockState, Error> {
        Ok(judge(self.clock_seen, now, self.settings.retention_days))
    }

    /// Whether a check-in at `now` should move the stored latest time forward: at most
    /// once an hour, and only while the clock looks right.
    pub(crate) fn clock_advance_due(&self, now: i64) -> bool {
        judge(self.clock_seen, now, self.settings.retention_days) == ClockState::Ok
            && self.clock_seen.is_none_or(|t| now >= t + 3600)
    }

    /// What to tell the operator about the clock, in one sentence (empty when it looks
    /// right).
    pub fn check_clock_message(&self, now: i64) -> Result<String, Error> {
        Ok(match self.check_clock(now) {
            Ok(()) => String::new(),
            Err(e) => e.to_string(),
        })
    }

    /// Refuses what a wrong clock would make irreversible.
    pub(crate) fn check_clock(&self, now: i64) -> Result<(), Error> {
        match self.clock_state(now)? {
            ClockState::Ok => Ok(()),
            ClockState::Behind { latest } | ClockState::Ahead { latest } => {
                Err(Error::ClockSuspect { now, latest })
            }
        }
    }

    /// The operator confirms that the clock is right: `now` becomes the latest time seen,
    /// and the confirmation is written to the audit log.
    pub fn confirm_clock(&mut self, now: i64) -> Result<ClockState, Error> {
        let before = self.clock_state(now)?;
        let (direction, latest) = match before {
            ClockState::Ok => return Ok(before),
            ClockState::Behind { latest } => ("behind", latest),
            ClockState::Ahead { latest } => ("ahead", latest),
        };
        let detail = crate::audit::detail([
            ("clock", direction.into()),
            ("confirmed_at", now.into()),
            ("latest_at", latest.into()),
        ]);
        self.store.set_metas(
            &[(Meta::ClockSeen, &now.to_string())],
            Some(&AuditNote::change(now, "clock-confirmed", &detail)),
        )?;
        self.clock_seen = Some(now);
        tracing::warn!(event = "clock.confirmed");
        Ok(before)
    }
}
