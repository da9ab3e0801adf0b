//! What the venue's operations take and give back.

use std::fmt;
use std::path::Path;

use tresen_protocol::checkin_record::RECORD_ID_LEN;
use tresen_protocol::guest_code::GuestCode;
use tresen_protocol::key_file::Passphrase;

use crate::local_secret::SecretStore;

#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct RecordId(pub [u8; RECORD_ID_LEN]);

impl fmt::Display for RecordId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&tresen_protocol::textcode::encode_base32(&self.0))
    }
}

impl fmt::Debug for RecordId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "RecordId({self})")
    }
}

impl RecordId {
    pub fn parse(s: &str) -> Option<RecordId> {
        let b = tresen_protocol::textcode::decode_base32(s.trim())?;
        Some(RecordId(b.try_into().ok()?))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum AreaState {
    Open,
    Closed,
    Archived,
}

impl AreaState {
    pub fn parse(s: &str) -> AreaState {
        match s {
            "open" => AreaState::Open,
            "closed" => AreaState::Closed,
            _ => AreaState::Archived,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Location {
    pub id: i64,
    pub name: String,
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Area {
    pub id: i64,
    pub location_id: i64,
    pub location: String,
    pub name: String,
    pub state: AreaState,
    pub max_stay_secs: i64,
    pub generation: u16,
    pub code_replaced_at: Option<i64>,
    pub archived_at: Option<i64>,
    pub tables: Vec<u16>,
    pub present: u32,
}

/// What a scan of a guest code did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ScanOutcome {
    CheckedIn {
        record: RecordId,
        area: i64,
        table: Option<u16>,
    },
    CheckedOut {
        record: RecordId,
        area: i64,
        checked_in_at: i64,
    },
    Moved {
        record: RecordId,
        from_area: i64,
        to_area: i64,
        table: Option<u16>,
    },
    /// The same code was read again within the double-read window; nothing changed.
    DoubleRead { area: i64 },
}

/// What a scanned text is, once checked against this venue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scanned {
    Guest(GuestCode),
    Area(i64),
    Table(i64, u16),
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct OpenCheckin {
    pub record: String,
    pub area: i64,
    pub checked_in_at: i64,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct PurgeReport {
    /// Nothing was purged: the clock looks wrong (see `clock_state`).
    pub skipped_clock: bool,
    pub checkins_deleted: u64,
    pub areas_deleted: u64,
    pub pseudonyms_cleared: u64,
    pub auto_checked_out: u64,
    pub audit_entries_deleted: u64,
    /// Deleted rows may remain in the store's log: another program kept the database busy.
    /// The next purge empties it.
    pub log_kept: bool,
}

/// The state of the key file backup, for the app to show in its own language.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case", tag = "kind")]
pub enum BackupState {
    /// No second copy has been made and verified.
    NoCopy,
    /// A copy exists but was never loaded again with the passphrase.
    NotVerified,
    /// The last verification is older than the backup interval.
    Overdue {
        verified_at: i64,
    },
    /// The only verified copies lie on the same drive as the key file: one broken or
    /// stolen drive loses both.
    SameMedium,
    Ok,
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct BackupStatus {
    pub state: BackupState,
    pub fingerprint: String,
    pub copied_at: Option<i64>,
    pub verified_at: Option<i64>,
    /// When a new verification is due (verified_at + interval).
    pub due_at: Option<i64>,
    /// The warning to show, if any.
    pub warning: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct KeyReplacement {
    pub old_fingerprint: String,
    pub new_fingerprint: String,
    /// Check-ins sealed to the old key that can no longer be answered without it.
    pub unanswerable_checkins: u64,
    pub unanswerable_from: Option<i64>,
    pub unanswerable_until: Option<i64>,
}

/// What the poster of an area shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AreaSign {
    pub venue: String,
    pub location: String,
    pub area: String,
    pub code: String,
    /// The venue key fingerprint's first two groups.
    pub fingerprint: String,
    /// When the code was made, `YYYY-MM-DD`.
    pub code_date: String,
    pub retention_days: u32,
}

/// What the card of a table shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableSign {
    pub area: String,
    pub table: u16,
    pub code: String,
}

/// Everything `venue init` needs.
pub struct VenueSetup<'a> {
    pub name: &'a str,
    pub address: &'a str,
    pub trust_file: &'a str,
    /// The root fingerprint the authority published (required: a trust file alone could
    /// be a forgery).
    pub expect_root: &'a str,
    pub key_file: &'a Path,
    pub passphrase: &'a Passphrase,
    pub secret_store: SecretStore,
}
