//! How far the first-run setup has come. The steps after the venue exists are derived from
//! the data itself (a verified or postponed backup, an area, an operator PIN), so an
//! interrupted setup resumes where it stopped and a venue made with the `tresen` tool gets
//! the app's remaining steps.

use serde::Serialize;

use crate::store::Meta;
use crate::{AreaState, Error, Venue};

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

impl Venue {
    /// The first-run step still to do. Only the first run counts: a backup verified once
    /// (of any key) or postponed, an area that exists (open or closed), a PIN. Later gaps —
    /// a replaced key without a copy yet, every area closed for the night — are warnings or
    /// refusals at the counter, not a way back into the wizard.
    pub fn setup_step(&self) -> Result<SetupStep, Error> {
        // A counter that joined a venue on a server holds no key file: the backup is the
        // operator's PC's step.
        let counter = self.store.server_role() == Some(crate::store::server::ServerRole::Counter);
        let ever_verified = counter || self.store.ever_verified()?;
        if !ever_verified && self.backup_postponed_at()?.is_none() {
            return Ok(SetupStep::Backup);
        }
        if !self.areas()?.iter().any(|a| a.state != AreaState::Archived) {
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
        Ok(self
            .store
            .set_meta(Meta::BackupPostponedAt, &now.to_string())?)
    }

    pub fn backup_postponed_at(&self) -> Result<Option<i64>, Error> {
        Ok(self
            .store
            .meta(Meta::BackupPostponedAt)?
            .and_then(|v| v.parse().ok()))
    }
}
