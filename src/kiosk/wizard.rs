//! How far the first-run setup has come. The steps after the venue exists are derived from
//! the data itself (a verified or postponed backup, an open area, an operator PIN), so an
//! interrupted setup resumes where it stopped and a venue made with the `tresen` tool gets
//! the app's remaining steps.

use serde::Serialize;

use super::{AreaState, BackupState, Error, Kiosk};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum SetupStep {
    /// Save a second copy of the key file and load it again, or postpone that.
    Backup,
    /// Name the first location and its areas.
    Areas,
    /// Set the operator PIN.
    Pin,
    Done,
}

impl Kiosk {
    pub fn setup_step(&self, now: i64) -> Result<SetupStep, Error> {
        let backup = self.backup_status(now)?.state;
        let backed_up = matches!(backup, BackupState::Ok | BackupState::Overdue { .. });
        if !backed_up && self.backup_postponed_at()?.is_none() {
            return Ok(SetupStep::Backup);
        }
        if !self.areas()?.iter().any(|a| a.state == AreaState::Open) {
            return Ok(SetupStep::Areas);
        }
        if !self.has_operator_pin()? {
            return Ok(SetupStep::Pin);
        }
        Ok(SetupStep::Done)
    }

    /// The operator chose to make the backup later; the app keeps warning until a copy is
    /// verified.
    pub fn postpone_backup(&mut self, now: i64) -> Result<(), Error> {
        tracing::warn!(event = "key.backup_postponed");
        self.meta_set("backup_postponed_at", &now.to_string())
    }

    pub fn backup_postponed_at(&self) -> Result<Option<i64>, Error> {
        Ok(self
            .meta_get("backup_postponed_at")?
            .and_then(|v| v.parse().ok()))
    }
}
