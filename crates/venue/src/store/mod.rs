//! The venue's store: everything the venue keeps, behind one interface, so that a second
//! backend (a shared server database for several counters) is an added implementation
//! rather than a rewrite. Every method is one transaction: it commits all it writes or
//! nothing. Methods that change something the operator must answer for take the audit
//! entry to append in the same transaction.

pub mod server;
pub mod sqlite;

use serde::{Deserialize, Serialize};

pub use server::{ForwardReport, ServerStore, SyncState};
pub use sqlite::SqliteStore;

/// Why the store failed; says what the user can do.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("the disk is full: nothing was saved; free some space and try again")]
    DiskFull,
    #[error("the database is busy in another Tresen process; close it and try again")]
    Busy,
    #[error("the database file is damaged or not a Tresen database: {0}")]
    Corrupt(String),
    #[error("the database was made by a newer version of Tresen (schema {found}, this version knows {known}); please update")]
    TooNew { found: i64, known: i64 },
    #[error("could not create the data folder {}: {source}", .path.display())]
    DataDir {
        path: std::path::PathBuf,
        source: std::io::Error,
    },
    #[error("'{0}' exists already")]
    Duplicate(String),
    #[error("the venue database cannot be reached ({0}); scans are kept on this PC and forwarded when it is back")]
    Offline(String),
    #[error("the venue database's identity could not be verified ({0}); nothing was sent. Check the certificate authority file and the server name")]
    Tls(String),
    #[error("the venue database refused this PC's login ({0}); if the operator removed this counter, join the venue again with a new join file")]
    LoginRefused(String),
    #[error("not allowed for this PC's role in the venue database: {0}")]
    Forbidden(String),
    #[error("the venue database is older than this version of Tresen (schema {found}, this version knows {known}); start Tresen once on the operator's PC to update it")]
    TooOld { found: i64, known: i64 },
    #[error("the venue database offers a venue key this PC does not know (fingerprint {0}); nothing was sealed to it. If the operator replaced the key, join the venue again with a new join file")]
    KeyNotPinned(String),
    #[error("the venue database holds a trust file of another health authority (root {0}) than the one this PC was set up with; nothing was read from it or sealed with it. Ask the operator; a database that was changed behind the venue's back must not be used")]
    RootNotPinned(String),
    #[error("database error: {0}")]
    Other(String),
}

impl StoreError {
    /// The server is away (or cannot be trusted or logged into): scans go to the outbox.
    pub fn is_unreachable(&self) -> bool {
        matches!(
            self,
            StoreError::Offline(_) | StoreError::Tls(_) | StoreError::LoginRefused(_)
        )
    }

    /// Why a counter is not in touch with its server, as the window's code.
    pub fn sync_code(&self) -> &'static str {
        match self {
            StoreError::Tls(_) => "db-tls",
            StoreError::LoginRefused(_) => "db-login",
            StoreError::KeyNotPinned(_) => "db-key-not-pinned",
            StoreError::RootNotPinned(_) => "db-root-not-pinned",
            StoreError::TooOld { .. } => "db-too-old",
            StoreError::TooNew { .. } => "db-too-new",
            _ => "db-offline",
        }
    }

    /// A copy to report twice (the I/O error of a data folder becomes its text).
    pub fn clone_shallow(&self) -> StoreError {
        match self {
            StoreError::DiskFull => StoreError::DiskFull,
            StoreError::Busy => StoreError::Busy,
            StoreError::Corrupt(s) => StoreError::Corrupt(s.clone()),
            StoreError::TooNew { found, known } => StoreError::TooNew {
                found: *found,
                known: *known,
            },
            StoreError::TooOld { found, known } => StoreError::TooOld {
                found: *found,
                known: *known,
            },
            StoreError::Duplicate(s) => StoreError::Duplicate(s.clone()),
            StoreError::Offline(s) => StoreError::Offline(s.clone()),
            StoreError::Tls(s) => StoreError::Tls(s.clone()),
            StoreError::LoginRefused(s) => StoreError::LoginRefused(s.clone()),
            StoreError::Forbidden(s) => StoreError::Forbidden(s.clone()),
            StoreError::KeyNotPinned(s) => StoreError::KeyNotPinned(s.clone()),
            StoreError::RootNotPinned(s) => StoreError::RootNotPinned(s.clone()),
            StoreError::Other(s) => StoreError::Other(s.clone()),
            e @ StoreError::DataDir { .. } => StoreError::Other(e.to_string()),
        }
    }
}

/// The keys of the store's small key-value table, in one place.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Meta {
    InstallId,
    SecretStore,
    KeyFile,
    BackupPostponedAt,
    OperatorPin,
    OperatorPinFailures,
    OperatorPinFailedAt,
    ClockSeen,
    SealV2Since,
    AuditHead,
    AuditBase,
    LogRestarts,
}

impl Meta {
    pub fn key(self) -> &'static str {
        match self {
            Meta::InstallId => "install_id",
            Meta::SecretStore => "secret_store",
            Meta::KeyFile => "key_file",
            Meta::BackupPostponedAt => "backup_postponed_at",
            Meta::OperatorPin => "operator_pin",
            Meta::OperatorPinFailures => "operator_pin_failures",
            Meta::OperatorPinFailedAt => "operator_pin_failed_at",
            Meta::ClockSeen => "clock_seen",
            Meta::SealV2Since => "seal_v2_since",
            Meta::AuditHead => "audit_head",
            Meta::AuditBase => "audit_base",
            Meta::LogRestarts => "log_restarts",
        }
    }
}

/// An entry for the audit log, written in the same transaction as the change it records.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditNote<'a> {
    pub at: i64,
    pub event: &'a str,
    pub request_id: &'a str,
    pub office: &'a str,
    pub detail: &'a str,
}

impl<'a> AuditNote<'a> {
    /// A change by the operator (no request involved).
    pub fn change(at: i64, event: &'a str, detail: &'a str) -> Self {
        Self {
            at,
            event,
            request_id: "",
            office: "",
            detail,
        }
    }
}

/// A stored audit log entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AuditRow {
    pub seq: i64,
    pub at: i64,
    pub event: String,
    pub request_id: String,
    pub office: String,
    pub detail: String,
    #[serde(skip)]
    pub hash: Vec<u8>,
}

/// The audit log's anchors: the entry the chain continues from after a purge (0 and zero
/// bytes before any purge), and the head kept apart from the entries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditAnchors {
    pub base_seq: i64,
    pub base_hash: Vec<u8>,
    pub head: Option<String>,
}

/// What a new venue starts with.
pub struct NewVenue<'a> {
    pub name: &'a str,
    pub address: &'a str,
    pub install_id: &'a str,
    pub secret_store: &'a str,
    pub key_file: &'a str,
    pub key: &'a NewKey,
    pub trust: &'a TrustRow,
    pub now: i64,
}

/// A venue key pair's public half.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewKey {
    pub seal: [u8; 32],
    pub sign: [u8; 32],
    pub fingerprint: [u8; 32],
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredKey {
    pub id: i64,
    pub seal: Vec<u8>,
    pub sign: Vec<u8>,
    pub fingerprint: Vec<u8>,
    pub retired_at: Option<i64>,
}

/// The trust file as stored, with its contact key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrustRow {
    pub root_key: [u8; 32],
    pub serial: u64,
    pub raw: String,
    pub contact_key_id: [u8; 4],
    pub contact_key: [u8; 32],
}

/// The check-ins sealed to a key that is being replaced.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct KeyUse {
    pub checkins: u64,
    pub from: Option<i64>,
    pub until: Option<i64>,
}

/// When a key's copies were last made and verified.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct CopyTimes {
    /// Of copies that count (another drive, not the key file itself).
    pub copied_at: Option<i64>,
    pub verified_at: Option<i64>,
    /// Of any copy, counted or not.
    pub any_copy_at: Option<i64>,
}

/// An area's own columns, with its tables and the guests present.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AreaRow {
    pub id: i64,
    pub location_id: i64,
    pub location: String,
    pub name: String,
    pub state: String,
    pub max_stay_secs: i64,
    pub generation: u16,
    pub code_replaced_at: Option<i64>,
    pub created_at: i64,
    pub archived_at: Option<i64>,
    pub tables: Vec<u16>,
    pub present: u32,
}

/// A table's code generation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct TableCode {
    pub generation: u16,
    pub replaced_at: Option<i64>,
}

/// The area a scan goes to, as the scan's own transaction sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScanArea {
    pub name: String,
    pub state: String,
    pub max_stay_secs: i64,
}

impl From<&AreaRow> for ScanArea {
    fn from(a: &AreaRow) -> Self {
        ScanArea {
            name: a.name.clone(),
            state: a.state.clone(),
            max_stay_secs: a.max_stay_secs,
        }
    }
}

/// What the store knows about a guest's pseudonym and the area when a scan arrives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PriorScan {
    /// None if the area does not exist, or for a scan forwarded later (decided without it).
    pub area: Option<ScanArea>,
    pub last_read_at: Option<i64>,
    /// The guest's open check-in: (record id, area, checked in at).
    pub open: Option<(Vec<u8>, i64, i64)>,
}

/// What a scan does, decided by the venue from what the store knew.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ScanStep {
    /// A repeated read: nothing is written.
    Ignore,
    /// The guest leaves: their open check-in is closed.
    CheckOut { record: Vec<u8> },
    /// A new check-in; an open one elsewhere is closed as moved first.
    CheckIn { moved_from: Option<Vec<u8>> },
}

/// A new check-in, sealed; written only if the scan's step says so.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewCheckin<'a> {
    pub record: &'a [u8],
    pub area: i64,
    pub venue_key_id: i64,
    pub now: i64,
    /// None: `now` plus the area's maximum stay, as the scan's transaction reads it.
    pub due_at: Option<i64>,
    pub pseudonym: &'a [u8],
    pub guest_seal: &'a [u8],
    pub table_seal: &'a [u8],
    pub seal_version: u8,
    /// Moves the latest time seen forward to `now` in the same transaction.
    pub note_time: bool,
}

impl NewCheckin<'_> {
    /// When the stay ends: as given, or `now` plus the area's maximum stay.
    pub fn due_at_in(&self, area: Option<&ScanArea>) -> Option<i64> {
        self.due_at
            .or_else(|| area.map(|a| self.now + a.max_stay_secs))
    }
}

/// What a stored check-in's seals are bound to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckinBinding {
    pub area: i64,
    pub checked_in_at: i64,
    pub seal_version: u8,
    pub seal_pk: Vec<u8>,
    pub fingerprint: Vec<u8>,
    pub guest_seal: Vec<u8>,
    pub table_seal: Vec<u8>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OpenCheckinRow {
    pub record: Vec<u8>,
    pub area: i64,
    pub checked_in_at: i64,
}

/// What a purge deletes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PurgePlan {
    pub now: i64,
    /// Check-ins that ended before this go.
    pub cutoff: i64,
    /// Pseudonyms last read before this (the current business day's start) are cleared.
    pub day_start: i64,
    /// Audit entries made before this go.
    pub audit_cutoff: i64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct PurgeCounts {
    pub checkins: u64,
    pub areas: u64,
    pub pseudonyms: u64,
    pub auto_checked_out: u64,
    pub audit_entries: u64,
}

/// Which check-ins answer a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Matching<'a> {
    pub areas: &'a [i64],
    pub from: i64,
    pub until: i64,
    /// Open check-ins count as ending now.
    pub now: i64,
}

/// A matching check-in as stored, for approval. Values of the wrong type (written by
/// hand) come back as empty or as `i64::MIN`: such a row does not open and is flagged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MatchingRow {
    pub id: Vec<u8>,
    pub location: String,
    pub area: String,
    pub area_id: i64,
    pub checked_in_at: i64,
    pub checked_out_at: Option<i64>,
    pub seal_version: u8,
    pub guest_seal: Vec<u8>,
    pub table_seal: Vec<u8>,
}

/// A request's decision: approved or declined.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision<'a> {
    pub request_id: &'a [u8],
    pub office_id: &'a str,
    pub case_reference: &'a str,
    pub status: &'a str,
    pub decision: &'a str,
    pub now: i64,
}

/// Everything the venue keeps.
pub trait VenueStore: Send {
    // ----- the venue, its small settings and its keys -----
    fn is_initialized(&self) -> Result<bool, StoreError>;
    fn create_venue(&mut self, v: &NewVenue<'_>) -> Result<(), StoreError>;
    fn venue_name_address(&self) -> Result<(String, String), StoreError>;
    fn meta(&self, key: Meta) -> Result<Option<String>, StoreError>;
    fn set_meta(&mut self, key: Meta, value: &str) -> Result<(), StoreError>;
    /// Sets several keys at once, with an audit entry if given.
    fn set_metas(
        &mut self,
        values: &[(Meta, &str)],
        note: Option<&AuditNote<'_>>,
    ) -> Result<(), StoreError>;
    fn settings(&self) -> Result<Vec<(String, String)>, StoreError>;
    fn set_setting(
        &mut self,
        key: &str,
        value: &str,
        note: Option<&AuditNote<'_>>,
    ) -> Result<(), StoreError>;
    fn keys(&self) -> Result<Vec<StoredKey>, StoreError>;
    /// Retires the current key, records the new one and the new key file's place; says
    /// how many check-ins were sealed to the old one.
    fn replace_key(
        &mut self,
        old_id: i64,
        new: &NewKey,
        key_file: &str,
        note: &AuditNote<'_>,
    ) -> Result<KeyUse, StoreError>;
    fn record_key_copy(
        &mut self,
        key_id: i64,
        events: &[&str],
        place: &str,
        same_medium: bool,
        now: i64,
    ) -> Result<(), StoreError>;
    fn copy_times(&self, key_id: i64, primary: &str) -> Result<CopyTimes, StoreError>;
    /// Whether any copy of any key was ever verified on another drive.
    fn ever_verified(&self) -> Result<bool, StoreError>;
    /// The newest verified copy on another drive than `primary`.
    fn latest_counted_copy(&self, key_id: i64, primary: &str)
        -> Result<Option<String>, StoreError>;
    fn trust(&self) -> Result<Option<String>, StoreError>;
    fn store_trust(&mut self, t: &TrustRow, now: i64) -> Result<(), StoreError>;
    fn contact_key_ids(&self) -> Result<Vec<Vec<u8>>, StoreError>;

    // ----- locations, areas, tables -----
    fn add_location(&mut self, name: &str, now: i64) -> Result<i64, StoreError>;
    fn location_name(&self, id: i64) -> Result<Option<String>, StoreError>;
    fn rename_location(
        &mut self,
        id: i64,
        name: &str,
        note: &AuditNote<'_>,
    ) -> Result<(), StoreError>;
    fn locations(&self) -> Result<Vec<(i64, String)>, StoreError>;
    fn location_id(&self, name: &str) -> Result<Option<i64>, StoreError>;
    fn add_area(
        &mut self,
        location: i64,
        name: &str,
        max_stay_secs: i64,
        now: i64,
    ) -> Result<i64, StoreError>;
    /// Live (not archived) areas of that name, in that location if given.
    fn live_area_ids(&self, name: &str, location: Option<&str>) -> Result<Vec<i64>, StoreError>;
    /// All areas (archived ones included), or one.
    fn areas(&self, only: Option<i64>) -> Result<Vec<AreaRow>, StoreError>;
    /// An area's own columns, without tables and counts: cheap enough for every scan.
    fn area_row(&self, id: i64) -> Result<Option<AreaRow>, StoreError>;
    fn has_table(&self, area: i64, table: u16) -> Result<bool, StoreError>;
    fn table_code(&self, area: i64, table: u16) -> Result<Option<TableCode>, StoreError>;
    fn rename_area(&mut self, id: i64, name: &str, note: &AuditNote<'_>) -> Result<(), StoreError>;
    /// Open check-ins keep at least until `now`: a shorter stay never back-dates them.
    fn set_max_stay(
        &mut self,
        id: i64,
        secs: i64,
        now: i64,
        note: Option<&AuditNote<'_>>,
    ) -> Result<(), StoreError>;
    fn set_area_state(&mut self, id: i64, state: &str) -> Result<(), StoreError>;
    /// Archives an area and checks its guests out; returns how many.
    fn archive_area(&mut self, id: i64, now: i64, note: &AuditNote<'_>) -> Result<u64, StoreError>;
    fn replace_area_code(&mut self, id: i64, now: i64) -> Result<(), StoreError>;
    /// Adds tables; a removed number comes back with a new code. `Duplicate(n)` if a
    /// number exists already (nothing is added then).
    fn add_tables(&mut self, area: i64, numbers: &[u16]) -> Result<(), StoreError>;
    fn remove_table(&mut self, area: i64, table: u16, now: i64) -> Result<bool, StoreError>;
    fn replace_table_code(&mut self, area: i64, table: u16, now: i64) -> Result<bool, StoreError>;

    // ----- check-ins -----
    /// A scan: in one transaction, close overdue stays, look up the pseudonym, let
    /// `decide` choose the step and write it.
    fn record_scan(
        &mut self,
        c: &NewCheckin<'_>,
        decide: &mut dyn FnMut(&PriorScan) -> Result<ScanStep, crate::Error>,
    ) -> Result<ScanStep, crate::Error>;
    fn checkin_binding(
        &self,
        record: &[u8],
        open_only: bool,
    ) -> Result<Option<CheckinBinding>, StoreError>;
    fn set_table_seal(&mut self, record: &[u8], seal: &[u8]) -> Result<(), StoreError>;
    fn check_out_record(&mut self, record: &[u8], now: i64) -> Result<bool, StoreError>;
    fn close_all(
        &mut self,
        area: Option<i64>,
        now: i64,
        note: &dyn Fn(u64) -> String,
    ) -> Result<u64, StoreError>;
    fn close_overdue(&mut self, now: i64) -> Result<u64, StoreError>;
    /// Work that can wait for an idle moment (SQLite: copy the write-ahead log into the
    /// database file), so that it never lands on a scan.
    fn idle_maintenance(&mut self) -> Result<(), StoreError>;
    fn open_checkins(&self, area: Option<i64>) -> Result<Vec<OpenCheckinRow>, StoreError>;
    /// Check-ins per hour from `start` to `now`: (hours after start, count).
    fn arrivals(&self, start: i64, now: i64) -> Result<Vec<(i64, u32)>, StoreError>;
    fn latest_read(&self) -> Result<Option<i64>, StoreError>;
    fn purge(&mut self, plan: &PurgePlan, note_time: bool) -> Result<PurgeCounts, StoreError>;

    // ----- requests and the audit log -----
    /// (status, decided at) of a request already approved or declined.
    fn request_decided(
        &self,
        request_id: &[u8],
    ) -> Result<Option<(String, Option<i64>)>, StoreError>;
    /// Matching check-ins and, of those, how many are sealed to other keys than `key_id`.
    fn count_matching(&self, m: &Matching<'_>, key_id: i64) -> Result<(u64, u64), StoreError>;
    fn count_matching_for_key(&self, m: &Matching<'_>, key_id: i64) -> Result<u64, StoreError>;
    /// Streams the matching check-ins of one key, oldest first.
    fn for_each_matching(
        &self,
        m: &Matching<'_>,
        key_id: i64,
        f: &mut dyn FnMut(MatchingRow) -> Result<(), crate::Error>,
    ) -> Result<(), crate::Error>;
    /// Records a request seen for the first time (and its audit entry); false if known.
    fn request_seen(
        &mut self,
        request_id: &[u8],
        office_id: &str,
        case: &str,
        note: &AuditNote<'_>,
    ) -> Result<bool, StoreError>;
    fn decide_request(&mut self, d: &Decision<'_>, note: &AuditNote<'_>) -> Result<(), StoreError>;
    fn append_audit(&mut self, note: &AuditNote<'_>) -> Result<(), StoreError>;
    fn audit_entries(&self) -> Result<Vec<AuditRow>, StoreError>;
    fn audit_anchors(&self) -> Result<AuditAnchors, StoreError>;

    /// Makes deleted data unrecoverable from the store's files. False when the log could
    /// not be emptied because another connection kept reading or writing: deleted rows may
    /// still lie in it.
    fn checkpoint(&mut self) -> Result<bool, StoreError>;

    /// Empties this PC's own database log (SQLite's write-ahead log), where rows deleted
    /// since the last checkpoint may still lie. False when another connection kept it busy.
    fn empty_log(&mut self) -> Result<bool, StoreError>;

    // ----- a server shared by several counters -----
    /// Whether the database is reached and how many scans wait here.
    fn sync_state(&self) -> SyncState {
        SyncState::embedded()
    }
    /// Forwards waiting scans in order for at most `budget`; `decide` decides each again
    /// against the server's state (area, time of the scan, what the server knew).
    fn forward_pending(
        &mut self,
        _budget: std::time::Duration,
        _decide: &mut dyn FnMut(i64, i64, &PriorScan) -> Result<ScanStep, crate::Error>,
    ) -> Result<ForwardReport, crate::Error> {
        Ok(ForwardReport::default())
    }
    fn as_server(&mut self) -> Option<&mut ServerStore> {
        None
    }
    fn server_role(&self) -> Option<server::ServerRole> {
        None
    }

    /// The SQLite connection, for tests that look at what is stored.
    #[cfg(feature = "test-support")]
    fn sqlite(&self) -> Option<&rusqlite::Connection> {
        None
    }
}
