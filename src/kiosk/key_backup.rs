//! The venue key file's copies: where the key file lies (a removable drive, or this PC's
//! own disk), backups made and verified with the passphrase, and the warnings until a
//! second copy on another medium is verified. A copy on the same drive as the key file
//! does not count: one broken or stolen drive would lose both.

use std::path::{Path, PathBuf};

use rusqlite::{params, OptionalExtension};
use serde::Serialize;

use super::{format_time, BackupState, BackupStatus, Error, Kiosk};
use crate::keyfile::{self, Passphrase, VenueSecretKeys};
use crate::media;

/// Where a key file lies, for the wizard and the CLI to say plainly.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct KeyFilePlace {
    /// On the same file system as the data folder, i.e. on this PC's own disk: a thief of
    /// the PC gets it and can attack the passphrase offline.
    pub on_this_pc: Option<bool>,
    /// On a removable drive (USB stick, SD card).
    pub removable: Option<bool>,
}

/// What a backup or a verification achieved. A copy on the same physical drive as the
/// key file (another partition of it, or a folder held in memory) does not count.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BackupOutcome {
    /// The copy opened with the passphrase and holds the venue's current key.
    pub verified: bool,
    /// It counts as the second copy: it lies on another drive than the key file.
    pub counted: bool,
    /// A key file on this PC's own disk that can now be deleted, because a verified copy
    /// exists on a removable drive.
    pub pc_copy: Option<String>,
}

impl KeyFilePlace {
    /// Anything that is not a removable drive is this PC's own (another partition of its
    /// disk, a second internal disk, a folder held in memory); where that is not known,
    /// the data folder's drive is.
    pub fn of(data_dir: &Path, path: &Path) -> KeyFilePlace {
        let removable = media::is_removable(path);
        KeyFilePlace {
            on_this_pc: match removable {
                Some(r) => Some(!r),
                None => media::same_drive(path, data_dir),
            },
            removable,
        }
    }
}

fn same_file(a: &Path, b: &Path) -> bool {
    match (a.canonicalize(), b.canonicalize()) {
        (Ok(x), Ok(y)) => x == y,
        _ => a == b,
    }
}

impl Kiosk {
    /// Where the key file was written at setup (a hint for the operator, not a secret).
    pub fn key_file_hint(&self) -> Result<Option<String>, Error> {
        self.meta_get("key_file")
    }

    pub fn key_file_place(&self, path: &Path) -> KeyFilePlace {
        KeyFilePlace::of(&self.data_dir, path)
    }

    pub fn backup_status(&self, now: i64) -> Result<BackupStatus, Error> {
        // A copy that has since become the key file itself (the PC's copy was deleted) is
        // no second copy any more.
        let primary = self.key_file_hint()?.unwrap_or_default();
        let last = |event: &str, counted_only: bool| -> Result<Option<i64>, Error> {
            Ok(self.conn.query_row(
                "SELECT MAX(at) FROM key_backups WHERE venue_key_id = ?1 AND event = ?2
                 AND (?3 = 0 OR (same_medium = 0 AND place <> ?4))",
                params![self.venue_key.id, event, counted_only, primary],
                |r| r.get(0),
            )?)
        };
        let copied_at = last("copied", true)?;
        let verified_at = last("verified", true)?;
        let any_copy = last("copied", false)?;
        let interval = i64::from(self.settings.backup_interval_days) * 86_400;
        let due_at = verified_at.map(|v| v + interval);
        let state = match (copied_at, verified_at) {
            (None, _) if any_copy.is_some() => BackupState::SameMedium,
            (None, _) => BackupState::NoCopy,
            (Some(_), None) => BackupState::NotVerified,
            (Some(_), Some(v)) if now >= v + interval => BackupState::Overdue { verified_at: v },
            _ => BackupState::Ok,
        };
        let warning = match state {
            BackupState::NoCopy => Some("the venue key file has no verified second copy: save one on another medium with `tresen key backup --from KEYFILE --to COPY`".to_string()),
            BackupState::SameMedium => Some("the only copy of the venue key file lies on the same drive as the key file, which does not count as a backup: save a copy on another medium (a USB stick) with `tresen key backup --from KEYFILE --to COPY`".to_string()),
            BackupState::NotVerified => Some("the key file backup was not verified yet: load it again with `tresen key verify --file COPY`".to_string()),
            BackupState::Overdue { verified_at } => Some(format!(
                "the key file backup was last verified on {}; verify it again with `tresen key verify --file COPY`",
                format_time(verified_at)
            )),
            BackupState::Ok => None,
        };
        Ok(BackupStatus {
            state,
            fingerprint: self.fingerprint(),
            copied_at,
            verified_at,
            due_at,
            warning,
        })
    }

    pub(super) fn check_key_matches(&self, keys: &VenueSecretKeys) -> Result<(), Error> {
        let public = keys.public();
        if public == self.venue_key.public {
            return Ok(());
        }
        let retired: bool = self
            .conn
            .query_row(
                "SELECT 1 FROM venue_keys WHERE fingerprint = ?1",
                [&public.fingerprint()[..]],
                |_| Ok(()),
            )
            .optional()?
            .is_some();
        if retired {
            return Err(Error::RetiredKey(public.fingerprint_text()));
        }
        Err(Error::KeyMismatch {
            got: public.fingerprint_text(),
            want: self.fingerprint(),
        })
    }

    /// Opens a key file with the passphrase and checks it holds the venue's current key;
    /// the private keys are wiped again at once.
    fn check_key_file(&self, path: &Path, pass: &Passphrase) -> Result<(), Error> {
        let keys = VenueSecretKeys::read_key_file(path, pass)?;
        self.check_key_matches(&keys)
    }

    /// Records a copy and its verification; says whether it counts as the second copy.
    fn record_copy(&self, place: &Path, now: i64) -> Result<BackupOutcome, Error> {
        let primary = self.key_file_hint()?.map(PathBuf::from);
        let is_primary = primary.as_deref().is_some_and(|p| same_file(p, place));
        // The key file itself is no second copy. Unknown (the key file's drive is not
        // mounted now) counts: the copy is elsewhere.
        let same_medium = is_primary
            || primary
                .as_deref()
                .and_then(|p| media::same_drive(p, place))
                .unwrap_or(false);
        let tx = self.conn.unchecked_transaction()?;
        for event in ["copied", "verified"] {
            if event == "copied" && is_primary {
                continue;
            }
            tx.execute(
                "INSERT INTO key_backups(venue_key_id, event, at, place, same_medium)
                 VALUES (?1, ?2, ?3, ?4, ?5)",
                params![
                    self.venue_key.id,
                    event,
                    now,
                    place.display().to_string(),
                    same_medium
                ],
            )?;
        }
        tx.commit()?;
        let counted = !same_medium;
        let pc_copy = primary.filter(|p| {
            counted
                && p.exists()
                && media::is_removable(place) == Some(true)
                && self.key_file_place(p).on_this_pc == Some(true)
        });
        tracing::info!(event = "key.backup_verified", counted, same_medium);
        Ok(BackupOutcome {
            verified: true,
            counted,
            pc_copy: pc_copy.map(|p| p.display().to_string()),
        })
    }

    /// Loads a key file with the passphrase and checks that it holds the venue's current
    /// key; records the verification. A file other than the one written at setup also
    /// counts as the second copy, if it lies on another drive.
    pub fn verify_key_file(
        &mut self,
        path: &Path,
        pass: &Passphrase,
        now: i64,
    ) -> Result<BackupOutcome, Error> {
        self.check_key_file(path, pass)?;
        self.record_copy(path, now)
    }

    /// Copies the key file to a second medium, checks the copy byte for byte and proves it
    /// opens with the passphrase and holds the current key.
    pub fn backup_key_file(
        &mut self,
        from: &Path,
        to: &Path,
        pass: &Passphrase,
        now: i64,
    ) -> Result<BackupOutcome, Error> {
        self.check_key_file(from, pass)?;
        // Read back byte for byte, the copy is the file that just opened: no second
        // (slow) decryption needed.
        keyfile::copy_verified(from, to)?;
        self.record_copy(to, now)
    }

    /// Deletes the key file on this PC's own disk once a verified copy lies on a removable
    /// drive; that copy becomes the key file the app remembers. The operator should then
    /// make a second copy on another drive (the warning says so).
    pub fn delete_pc_key_copy(&mut self, now: i64) -> Result<String, Error> {
        let primary = self
            .key_file_hint()?
            .map(PathBuf::from)
            .ok_or(Error::NoPcKeyCopy)?;
        let removable_copy: Option<String> = self
            .conn
            .query_row(
                "SELECT place FROM key_backups WHERE venue_key_id = ?1 AND event = 'verified'
                 AND same_medium = 0 AND place <> ?2 ORDER BY at DESC, id DESC LIMIT 1",
                params![self.venue_key.id, primary.display().to_string()],
                |r| r.get(0),
            )
            .optional()?;
        let copy = removable_copy
            .map(PathBuf::from)
            .filter(|c| c.exists() && media::is_removable(c) == Some(true))
            .ok_or(Error::NoPcKeyCopy)?;
        if !primary.exists() || self.key_file_place(&primary).on_this_pc != Some(true) {
            return Err(Error::NoPcKeyCopy);
        }
        // The copy must be the same file, byte for byte, right now: a stick swapped for
        // another one with the same name since the verification does not count.
        let same = keyfile::read_bytes(&primary)
            .ok()
            .zip(keyfile::read_bytes(&copy).ok())
            .is_some_and(|(a, b)| a == b);
        if !same {
            return Err(Error::NoPcKeyCopy);
        }
        std::fs::remove_file(&primary).map_err(|source| keyfile::KeyFileError::Write {
            path: primary.clone(),
            source,
        })?;
        let tx = self.conn.unchecked_transaction()?;
        tx.execute(
            "UPDATE meta SET value = ?1 WHERE key = 'key_file'",
            [copy.display().to_string()],
        )?;
        crate::audit::append(
            &tx,
            now,
            "key-copy-deleted",
            "",
            "",
            "the key file on this PC's disk was deleted; the verified copy on a removable drive is the key file now",
        )?;
        tx.commit()?;
        tracing::info!(event = "key.pc_copy_deleted");
        Ok(copy.display().to_string())
    }
}
