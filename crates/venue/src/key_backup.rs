//! The venue key file's copies: where the key file lies (a removable drive, or this PC's
//! own disk), backups made and verified with the passphrase, and the warnings until a
//! second copy on another medium is verified. A copy on the same drive as the key file
//! does not count: one broken or stolen drive would lose both.

use std::path::{Path, PathBuf};

use serde::Serialize;
use tresen_protocol::key_file::{self, Passphrase};
use tresen_protocol::time::format_time;
use tresen_protocol::venue_keys::VenueSecretKeys;

use crate::media;
use crate::store::{AuditNote, Meta, NewKey};
use crate::{BackupState, BackupStatus, Error, KeyReplacement, Venue};

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

/// The name of a copy made into a folder when the key file's own name is unknown.
const BACKUP_NAME: &str = "tresen-schluessel.age";

impl Venue {
    /// Where the key file was written at setup (a hint for the operator, not a secret).
    pub fn key_file_hint(&self) -> Result<Option<String>, Error> {
        Ok(self.store.meta(Meta::KeyFile)?)
    }

    pub fn key_file_place(&self, path: &Path) -> KeyFilePlace {
        KeyFilePlace::of(&self.data_dir, path)
    }

    pub fn backup_status(&self, now: i64) -> Result<BackupStatus, Error> {
        let primary = self.key_file_hint()?.unwrap_or_default();
        let t = self.store.copy_times(self.venue_key.id, &primary)?;
        let (copied_at, verified_at, any_copy) = (t.copied_at, t.verified_at, t.any_copy_at);
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
        let retired = self
            .key_rows()?
            .iter()
            .any(|(_, k)| k.fingerprint() == public.fingerprint());
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

    /// Checks that the bytes of a key file (read once by the caller, who goes on to use
    /// exactly these bytes) open with the passphrase and hold the venue's current key, and
    /// records the verification of the copy at `path`.
    pub fn verify_key_bytes(
        &mut self,
        path: &Path,
        bytes: &[u8],
        pass: &Passphrase,
        now: i64,
    ) -> Result<BackupOutcome, Error> {
        let keys = VenueSecretKeys::decrypt(pass, bytes)?;
        self.check_key_matches(&keys)?;
        drop(keys);
        self.record_copy(path, now)
    }

    /// Records a copy and its verification; says whether it counts as the second copy.
    fn record_copy(&mut self, place: &Path, now: i64) -> Result<BackupOutcome, Error> {
        let primary = self.key_file_hint()?.map(PathBuf::from);
        let is_primary = primary.as_deref().is_some_and(|p| same_file(p, place));
        // The key file itself is no second copy. Unknown (the key file's drive is not
        // mounted now) counts: the copy is elsewhere.
        let same_medium = is_primary
            || primary
                .as_deref()
                .and_then(|p| media::same_drive(p, place))
                .unwrap_or(false);
        let events: &[&str] = if is_primary {
            &["verified"]
        } else {
            &["copied", "verified"]
        };
        self.store.record_key_copy(
            self.venue_key.id,
            events,
            &place.display().to_string(),
            same_medium,
            now,
        )?;
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
        // A folder (the stick itself) gets the key file under its own name.
        let named;
        let to = if to.is_dir() {
            named = to.join(
                from.file_name()
                    .unwrap_or(std::ffi::OsStr::new(BACKUP_NAME)),
            );
            named.as_path()
        } else {
            to
        };
        // Read back byte for byte, the copy is the file that just opened: no second
        // (slow) decryption needed.
        key_file::copy_verified(from, to)?;
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
        let removable_copy = self
            .store
            .latest_counted_copy(self.venue_key.id, &primary.display().to_string())?;
        let copy = removable_copy
            .map(PathBuf::from)
            .filter(|c| c.exists() && media::is_removable(c) == Some(true))
            .ok_or(Error::NoPcKeyCopy)?;
        if !primary.exists() || self.key_file_place(&primary).on_this_pc != Some(true) {
            return Err(Error::NoPcKeyCopy);
        }
        // The copy must be the same file, byte for byte, right now: a stick swapped for
        // another one with the same name since the verification does not count.
        let same = key_file::read_bytes(&primary)
            .ok()
            .zip(key_file::read_bytes(&copy).ok())
            .is_some_and(|(a, b)| a == b);
        if !same {
            return Err(Error::NoPcKeyCopy);
        }
        std::fs::remove_file(&primary).map_err(|source| key_file::KeyFileError::Write {
            path: primary.clone(),
            source,
        })?;
        self.store.set_metas(
            &[(Meta::KeyFile, &copy.display().to_string())],
            Some(&AuditNote::change(
                now,
                "key-copy-deleted",
                &crate::audit::detail([
                    ("deleted", primary.display().to_string().into()),
                    ("key_file", copy.display().to_string().into()),
                ]),
            )),
        )?;
        tracing::info!(event = "key.pc_copy_deleted");
        Ok(copy.display().to_string())
    }

    /// Replaces a lost venue key: a new key pair and key file for future check-ins. Old
    /// check-ins stay sealed to the old key; the report says which period is affected
    /// (audited).
    pub fn replace_key(
        &mut self,
        new_key_file: &Path,
        pass: &Passphrase,
        now: i64,
    ) -> Result<KeyReplacement, Error> {
        let venue = self.venue_name()?;
        key_file::check_strength(pass, &[&venue, "tresen"])?;
        let keys = VenueSecretKeys::generate();
        let created = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
        keys.write_key_file(new_key_file, pass, &created)?;
        let public = keys.public();
        drop(keys);
        let old = self.venue_key;
        let detail = crate::audit::detail([
            ("old", old.public.fingerprint_text().into()),
            ("new", public.fingerprint_text().into()),
        ]);
        let used = self.store.replace_key(
            old.id,
            &NewKey {
                seal: public.seal,
                sign: public.sign,
                fingerprint: public.fingerprint(),
            },
            &new_key_file.display().to_string(),
            &AuditNote::change(now, "key-replaced", &detail),
        )?;
        let count = used.checkins;
        self.venue_key = crate::venue::current_key(self.store.as_ref())?;
        self.prepared.clear();
        tracing::info!(event = "key.replaced", new = %public.fingerprint_text());
        Ok(KeyReplacement {
            old_fingerprint: old.public.fingerprint_text(),
            new_fingerprint: public.fingerprint_text(),
            unanswerable_checkins: count,
            unanswerable_from: used.from,
            unanswerable_until: used.until,
        })
    }
}
