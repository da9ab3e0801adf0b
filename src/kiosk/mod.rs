//! The venue kiosk: setup, locations, areas and tables, check-in and check-out, retention,
//! key backups and key replacement. Everything the app and the `tresen` tool do goes
//! through here. Times are Unix seconds; callers pass `now` so behaviour is testable.

use std::collections::HashSet;
use std::fmt;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Local, NaiveDate, TimeZone};
use rusqlite::{params, Connection, OptionalExtension, TransactionBehavior};

use crate::checkin_record::{self, Method, RECORD_ID_LEN};
use crate::contact::{ContactData, ContactError};
use crate::crypto::{self, CryptoError};
use crate::guest_code::{ContactKey, GuestCode, GuestCodeError, KEY_ID_LEN};
use crate::keyfile::{self, KeyFileError, Passphrase, VenuePublicKeys, VenueSecretKeys};
use crate::local_secret::{LocalSecret, SecretError, SecretStore};
use crate::settings::{Settings, SettingsError};
use crate::store::{self, StoreError};
use crate::textcode::CodeTextError;
use crate::trust::{self, TrustError, TrustList};
use crate::venue_code::{VenueCode, VenueCodeError, VENUE_TAG_LEN};

mod approval;
mod clock;
mod key_backup;
mod operator_pin;
mod wizard;

pub use approval::{ApprovalReport, RequestReview};
pub use clock::ClockState;
pub use key_backup::{BackupOutcome, KeyFilePlace};
pub use wizard::SetupStep;

pub const MAX_NAME_CHARS: usize = 120;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Secret(#[from] SecretError),
    #[error(transparent)]
    KeyFile(#[from] KeyFileError),
    #[error(transparent)]
    Trust(#[from] TrustError),
    #[error(transparent)]
    Settings(#[from] SettingsError),
    #[error(transparent)]
    Contact(#[from] ContactError),
    #[error(transparent)]
    Refused(#[from] Refusal),
    #[error("no venue is set up in {}; run `tresen venue init` first", .0.display())]
    NotInitialized(PathBuf),
    #[error("a venue is already set up in {}", .0.display())]
    AlreadyInitialized(PathBuf),
    #[error("the trust file's root fingerprint is {got}, not {want} as expected: do not use this file, ask the health authority")]
    RootNotExpected { want: String, got: String },
    #[error("there is no location '{0}'")]
    UnknownLocation(String),
    #[error("there is no area '{0}'")]
    UnknownArea(String),
    #[error("several areas are named '{0}'; write LOCATION/AREA")]
    AmbiguousArea(String),
    #[error("area '{0}' has no table {1}")]
    UnknownTable(String, u16),
    #[error("'{0}' exists already")]
    Duplicate(String),
    #[error("the name is not valid: {0}")]
    InvalidName(String),
    #[error("there is no check-in with id {0}")]
    UnknownRecord(String),
    #[error(
        "this key file holds another key (fingerprint {got}); the venue's current key is {want}"
    )]
    KeyMismatch { got: String, want: String },
    #[error("this key file holds the venue's old key {0}, which was replaced; verify the backup of the current key instead")]
    RetiredKey(String),
    #[error("a cryptographic operation failed: {0}")]
    Crypto(#[from] CryptoError),
    #[error(transparent)]
    Request(#[from] crate::request::RequestError),
    #[error(transparent)]
    Answer(#[from] crate::answer::AnswerError),
    #[error(transparent)]
    Audit(#[from] crate::audit::AuditError),
    #[error("check-in {0} is damaged and cannot be opened; nothing was written")]
    DamagedCheckin(String),
    #[error(transparent)]
    Print(#[from] crate::print::PrintError),
    #[error("the operator PIN is too weak: {0}")]
    WeakPin(String),
    #[error("wrong operator PIN; {attempts_left} attempts left before a pause")]
    WrongPin { attempts_left: u32 },
    #[error("too many wrong PINs: try again in {seconds} seconds")]
    PinLocked { seconds: i64 },
    #[error("no operator PIN is set yet; finish the setup first")]
    NoPin,
    #[error("an operator PIN is set already; change it with the old PIN")]
    PinExists,
    #[error("there is no key file on this PC's disk with a verified copy on a removable drive to delete")]
    NoPcKeyCopy,
    #[error("type or scan the root fingerprint the health authority published (in its letter or on its website); without it a forged trust file cannot be told from the real one")]
    RootRequired,
    #[error("'{0}' is not a table number or range like 1-12")]
    InvalidTables(String),
    #[error("the clock of this PC looks wrong: it says {now}, but the latest time this venue has seen is {latest}. Nothing is deleted and no request is approved until the clock is set right or the operator confirms the time (for example after the venue was closed for some days)")]
    ClockSuspect { now: String, latest: String },
}

impl Error {
    /// A stable name for the kind of error, for the app to word in its language; the
    /// English message stays the fallback and the detail.
    pub fn code(&self) -> &'static str {
        match self {
            Error::Refused(r) => r.code(),
            Error::Store(StoreError::DiskFull) => "disk-full",
            Error::Store(StoreError::Busy) => "db-busy",
            Error::Store(_) => "store",
            Error::Secret(SecretError::KeyringUnavailable(_)) => "keyring-unavailable",
            Error::Secret(SecretError::Missing) => "secret-missing",
            Error::Secret(_) => "secret",
            Error::KeyFile(KeyFileError::WeakPassphrase(_)) => "weak-passphrase",
            Error::KeyFile(KeyFileError::WrongPassphrase) => "wrong-passphrase",
            Error::KeyFile(KeyFileError::NotAKeyFile | KeyFileError::Corrupt(_)) => {
                "not-a-key-file"
            }
            Error::KeyFile(KeyFileError::Exists(_)) => "file-exists",
            Error::KeyFile(KeyFileError::Read { .. }) => "read-failed",
            Error::KeyFile(KeyFileError::Write { .. } | KeyFileError::CopyMismatch(_)) => {
                "write-failed"
            }
            Error::KeyFile(_) => "key-file",
            Error::Trust(_) => "trust-invalid",
            Error::RootNotExpected { .. } => "trust-root-mismatch",
            Error::Settings(_) => "setting-invalid",
            Error::Contact(_) => "invalid-contact",
            Error::NotInitialized(_) => "not-set-up",
            Error::AlreadyInitialized(_) => "already-set-up",
            Error::UnknownLocation(_) | Error::UnknownArea(_) | Error::AmbiguousArea(_) => {
                "unknown-area"
            }
            Error::UnknownTable(..) => "no-such-table",
            Error::Duplicate(_) => "duplicate",
            Error::InvalidName(_) => "invalid-name",
            Error::UnknownRecord(_) => "unknown-record",
            Error::KeyMismatch { .. } => "key-mismatch",
            Error::RetiredKey(_) => "retired-key",
            Error::Request(r) => r.code(),
            Error::Answer(_) | Error::Crypto(_) | Error::DamagedCheckin(_) => "answer-failed",
            Error::Audit(_) => "audit",
            Error::Print(_) => "print-failed",
            Error::WeakPin(_) => "weak-pin",
            Error::WrongPin { .. } => "wrong-pin",
            Error::PinLocked { .. } => "pin-locked",
            Error::NoPin => "no-pin",
            Error::PinExists => "pin-exists",
            Error::NoPcKeyCopy => "no-pc-key-copy",
            Error::RootRequired => "trust-root-required",
            Error::InvalidTables(_) => "invalid-tables",
            Error::ClockSuspect { .. } => "clock-suspect",
        }
    }
}

impl From<rusqlite::Error> for Error {
    fn from(e: rusqlite::Error) -> Self {
        Error::Store(StoreError::from(e))
    }
}

/// Why a scan was refused, in one short sentence.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    #[error(transparent)]
    Code(#[from] CodeTextError),
    #[error("this is a table or area code, not a guest code")]
    NotAGuestCode,
    #[error("this code is damaged; the guest needs a new code")]
    MalformedCode,
    #[error("this guest code was made for another health authority; the guest needs a new code")]
    OtherAuthority,
    #[error("this code belongs to another venue")]
    ForeignVenue,
    #[error("this code was replaced on {0}; use the new poster or card")]
    ReplacedCode(String),
    #[error("this area or table code is not known here")]
    UnknownVenueCode,
    #[error("area '{0}' is closed for check-ins")]
    AreaClosed(String),
    #[error("area '{0}' was deleted and takes no check-ins")]
    AreaArchived(String),
    #[error("area '{0}' has no table {1}")]
    NoSuchTable(String, u16),
    #[error("choose an area first: scan the area's code")]
    NoAreaSelected,
    #[error("scan the guest's code first, then the table card")]
    NoGuestForTable,
    #[error("this table belongs to another area than the guest's check-in")]
    TableInOtherArea,
}

impl Refusal {
    /// A stable name for the kind of refusal, for the app to word in its language.
    pub fn code(&self) -> &'static str {
        match self {
            Refusal::Code(CodeTextError::Empty) => "empty",
            Refusal::Code(CodeTextError::Foreign) => "foreign",
            Refusal::Code(CodeTextError::UnsupportedVersion(_)) => "newer-version",
            Refusal::Code(CodeTextError::Misread) => "misread",
            Refusal::NotAGuestCode => "not-a-guest-code",
            Refusal::MalformedCode => "damaged",
            Refusal::OtherAuthority => "other-authority",
            Refusal::ForeignVenue => "foreign-venue",
            Refusal::ReplacedCode(_) => "replaced-code",
            Refusal::UnknownVenueCode => "unknown-venue-code",
            Refusal::AreaClosed(_) => "area-closed",
            Refusal::AreaArchived(_) => "area-deleted",
            Refusal::NoSuchTable(..) => "no-such-table",
            Refusal::NoAreaSelected => "no-area",
            Refusal::NoGuestForTable => "no-guest-for-table",
            Refusal::TableInOtherArea => "table-other-area",
        }
    }
}

impl From<GuestCodeError> for Refusal {
    fn from(e: GuestCodeError) -> Self {
        match e {
            GuestCodeError::Text(t) => Refusal::Code(t),
            GuestCodeError::NotAGuestCode => Refusal::NotAGuestCode,
            _ => Refusal::MalformedCode,
        }
    }
}

impl From<VenueCodeError> for Refusal {
    fn from(e: VenueCodeError) -> Self {
        match e {
            VenueCodeError::Text(t) => Refusal::Code(t),
            VenueCodeError::NotAVenueCode => Refusal::NotAGuestCode,
            VenueCodeError::Malformed => Refusal::MalformedCode,
        }
    }
}

/// A check-in's random id, shown in base 32.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct RecordId(pub [u8; RECORD_ID_LEN]);

impl fmt::Display for RecordId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&crate::textcode::encode_base32(&self.0))
    }
}

impl fmt::Debug for RecordId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "RecordId({self})")
    }
}

impl RecordId {
    pub fn parse(s: &str) -> Option<RecordId> {
        let b = crate::textcode::decode_base32(s.trim())?;
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
    fn parse(s: &str) -> AreaState {
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

struct AreaRow {
    name: String,
    state: AreaState,
    max_stay_secs: i64,
    generation: u16,
    code_replaced_at: Option<i64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct VenueKey {
    id: i64,
    public: VenuePublicKeys,
    fingerprint: [u8; 32],
}

pub struct Kiosk {
    conn: Connection,
    data_dir: PathBuf,
    secret: LocalSecret,
    secret_store: SecretStore,
    settings: Settings,
    venue_key: VenueKey,
    contact_key: ContactKey,
    known_contact_keys: HashSet<[u8; KEY_ID_LEN]>,
    prepared: crypto::PreparedSeals,
    /// The latest time this venue has seen (see `clock`).
    clock_seen: Option<i64>,
}

pub fn default_data_dir() -> Option<PathBuf> {
    directories::ProjectDirs::from("de", "Tresen", "tresen").map(|d| d.data_dir().to_path_buf())
}

fn valid_name(raw: &str) -> Result<String, Error> {
    let s = raw.trim();
    if s.is_empty() {
        return Err(Error::InvalidName("it is empty".into()));
    }
    if s.chars().any(char::is_control) {
        return Err(Error::InvalidName("it contains a control character".into()));
    }
    if s.chars().count() > MAX_NAME_CHARS {
        return Err(Error::InvalidName(format!(
            "it is longer than {MAX_NAME_CHARS} characters"
        )));
    }
    Ok(s.to_string())
}

fn normalize_fp(s: &str) -> String {
    s.chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .collect::<String>()
        .to_ascii_uppercase()
}

/// Table numbers as staff type them: "1-12, 15".
pub fn parse_table_numbers(s: &str) -> Result<Vec<u16>, Error> {
    let mut out = Vec::new();
    for part in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let bad = || Error::InvalidTables(part.to_string());
        if let Some((a, b)) = part.split_once('-') {
            let a: u16 = a.trim().parse().map_err(|_| bad())?;
            let b: u16 = b.trim().parse().map_err(|_| bad())?;
            if a == 0 || b < a || b - a > 999 {
                return Err(bad());
            }
            out.extend(a..=b);
        } else {
            out.push(part.parse().map_err(|_| bad())?);
        }
    }
    Ok(out)
}

pub fn format_time(t: i64) -> String {
    DateTime::from_timestamp(t, 0)
        .map(|d| d.with_timezone(&Local).format("%Y-%m-%d %H:%M").to_string())
        .unwrap_or_else(|| t.to_string())
}

fn unique_violation(e: &rusqlite::Error) -> bool {
    matches!(
        e.sqlite_error_code(),
        Some(rusqlite::ErrorCode::ConstraintViolation)
    )
}

impl Kiosk {
    pub fn is_initialized(data_dir: &Path) -> bool {
        if !data_dir.join(store::DB_FILE).exists() {
            return false;
        }
        store::open(data_dir)
            .and_then(|c| {
                c.query_row("SELECT COUNT(*) FROM venue", [], |r| r.get::<_, i64>(0))
                    .map_err(StoreError::from)
            })
            .map(|n| n == 1)
            .unwrap_or(false)
    }

    /// Sets up a venue: checks the trust file and passphrase, creates the local secret,
    /// the venue key pair and its key file, and records the public keys.
    pub fn init(data_dir: &Path, setup: &VenueSetup, now: i64) -> Result<Kiosk, Error> {
        if Self::is_initialized(data_dir) {
            return Err(Error::AlreadyInitialized(data_dir.to_path_buf()));
        }
        let name = valid_name(setup.name)?;
        let address = valid_name(setup.address)?;
        let trust = trust::verify(setup.trust_file, None)?;
        if normalize_fp(setup.expect_root).is_empty() {
            return Err(Error::RootRequired);
        }
        if normalize_fp(setup.expect_root) != normalize_fp(&trust.root_fingerprint()) {
            return Err(Error::RootNotExpected {
                want: setup.expect_root.to_string(),
                got: trust.root_fingerprint(),
            });
        }
        keyfile::check_strength(setup.passphrase, &[&name, "tresen"])?;
        if setup.key_file.exists() {
            return Err(KeyFileError::Exists(setup.key_file.to_path_buf()).into());
        }
        let conn = store::open(data_dir)?;
        let install_id = crate::textcode::encode_base32(&crypto::random_bytes::<10>());
        LocalSecret::create(setup.secret_store, data_dir, &install_id)?;

        let keys = VenueSecretKeys::generate();
        let created = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
        keys.write_key_file(setup.key_file, setup.passphrase, &created)?;
        let public = keys.public();
        drop(keys);

        let result = (|| -> Result<(), Error> {
            let tx = conn.unchecked_transaction()?;
            tx.execute(
                "INSERT INTO venue(id, name, address, created_at) VALUES (1, ?1, ?2, ?3)",
                params![name, address, now],
            )?;
            for (k, v) in [
                ("install_id", install_id.as_str()),
                ("secret_store", setup.secret_store.as_str()),
                ("key_file", &setup.key_file.display().to_string()),
            ] {
                tx.execute(
                    "INSERT INTO meta(key, value) VALUES (?1, ?2)",
                    params![k, v],
                )?;
            }
            tx.execute(
                "INSERT INTO venue_keys(seal_pk, sign_pk, fingerprint, created_at) VALUES (?1, ?2, ?3, ?4)",
                params![public.seal, public.sign, public.fingerprint(), now],
            )?;
            store_trust(&tx, &trust, now)?;
            tx.commit()?;
            Ok(())
        })();
        if let Err(e) = result {
            // The key file belongs to a venue that was never recorded: remove it so that
            // nobody mistakes it for the venue's key.
            let _ = std::fs::remove_file(setup.key_file);
            return Err(e);
        }
        tracing::info!(event = "venue.initialized", fingerprint = %public.fingerprint_text());
        drop(conn);
        Self::open(data_dir, now)
    }

    /// Opens an existing venue, closes overdue check-ins and purges expired data.
    pub fn open(data_dir: &Path, now: i64) -> Result<Kiosk, Error> {
        if !data_dir.join(store::DB_FILE).exists() {
            return Err(Error::NotInitialized(data_dir.to_path_buf()));
        }
        let conn = store::open(data_dir)?;
        let meta = |k: &str| -> Result<Option<String>, Error> {
            Ok(conn
                .query_row("SELECT value FROM meta WHERE key = ?1", [k], |r| r.get(0))
                .optional()?)
        };
        let (Some(install_id), Some(store_name)) = (meta("install_id")?, meta("secret_store")?)
        else {
            return Err(Error::NotInitialized(data_dir.to_path_buf()));
        };
        let secret_store = SecretStore::parse(&store_name)
            .ok_or_else(|| StoreError::Corrupt(format!("unknown secret store '{store_name}'")))?;
        let secret = LocalSecret::load(secret_store, data_dir, &install_id)?;
        let settings = Settings::load(&conn)?;
        let venue_key = current_key(&conn)?;
        let (contact_key, known) = contact_keys(&conn)?;
        let mut kiosk = Kiosk {
            conn,
            data_dir: data_dir.to_path_buf(),
            secret,
            secret_store,
            settings,
            venue_key,
            contact_key,
            known_contact_keys: known,
            prepared: crypto::PreparedSeals::default(),
            clock_seen: None,
        };
        kiosk.clock_seen = clock::load_seen(&kiosk.conn)?;
        // Records of version 1 dated after the first start of this version can only have
        // been forged: it writes version 2.
        if kiosk.meta_get("seal_v2_since")?.is_none() {
            kiosk.meta_set("seal_v2_since", &now.to_string())?;
        }
        kiosk.purge(now)?;
        Ok(kiosk)
    }

    /// Makes a new local secret (after the keychain lost it, or to move it between the
    /// keychain and a file). Today's open check-ins can then no longer be matched by a
    /// scan; they end at their maximum stay or at closing time.
    pub fn reset_secret(data_dir: &Path, store: SecretStore) -> Result<(), Error> {
        if !Self::is_initialized(data_dir) {
            return Err(Error::NotInitialized(data_dir.to_path_buf()));
        }
        let conn = store::open(data_dir)?;
        let install_id: String =
            conn.query_row("SELECT value FROM meta WHERE key = 'install_id'", [], |r| {
                r.get(0)
            })?;
        let old: Option<String> = conn
            .query_row(
                "SELECT value FROM meta WHERE key = 'secret_store'",
                [],
                |r| r.get(0),
            )
            .optional()?;
        LocalSecret::create(store, data_dir, &install_id)?;
        conn.execute(
            "UPDATE meta SET value = ?1 WHERE key = 'secret_store'",
            [store.as_str()],
        )?;
        if let Some(old) = old.as_deref().and_then(SecretStore::parse) {
            if old != store {
                // The old secret is of no further use; a leftover file would only leak.
                let _ = LocalSecret::delete(old, data_dir, &install_id);
            }
        }
        tracing::info!(event = "secret.reset", store = store.as_str());
        Ok(())
    }

    pub fn data_dir(&self) -> &Path {
        &self.data_dir
    }

    fn meta_get(&self, key: &str) -> Result<Option<String>, Error> {
        Ok(self
            .conn
            .query_row("SELECT value FROM meta WHERE key = ?1", [key], |r| r.get(0))
            .optional()?)
    }

    fn meta_set(&self, key: &str, value: &str) -> Result<(), Error> {
        self.conn.execute(
            "INSERT INTO meta(key, value) VALUES (?1, ?2)
             ON CONFLICT(key) DO UPDATE SET value = excluded.value",
            params![key, value],
        )?;
        Ok(())
    }

    pub fn secret_store(&self) -> SecretStore {
        self.secret_store
    }

    /// The warning to show while the local secret is kept in a file.
    pub fn secret_warning(&self) -> Option<&'static str> {
        (self.secret_store == SecretStore::File).then_some(
            "the kiosk's local secret is kept in a file, not in the OS keychain: anyone who copies the data folder can link a guest's check-in and check-out of the same day",
        )
    }

    pub fn connection(&self) -> &Connection {
        &self.conn
    }

    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    /// Changes a venue setting; every change is written to the audit log (a lowered
    /// retention period deletes data at the next purge).
    pub fn set_setting(&mut self, key: &str, value: &str, now: i64) -> Result<(), Error> {
        let old = self.settings.get(key);
        let tx = self.conn.unchecked_transaction()?;
        self.settings.set(&tx, key, value)?;
        let new = self.settings.get(key);
        if old != new {
            let show = |v: Option<u32>| v.map(|v| v.to_string()).unwrap_or_default();
            crate::audit::append(
                &tx,
                now,
                "setting-changed",
                "",
                "",
                &format!("{key}: {} -> {}", show(old), show(new)),
            )?;
        }
        if let Err(e) = tx.commit() {
            self.settings = Settings::load(&self.conn)?;
            return Err(e.into());
        }
        Ok(())
    }

    /// Writes an operator's security-relevant change to the audit log.
    fn audit_change(
        &self,
        conn: &Connection,
        now: i64,
        event: &str,
        detail: &str,
    ) -> Result<(), Error> {
        crate::audit::append(conn, now, event, "", "", detail)?;
        Ok(())
    }

    pub fn venue_name(&self) -> Result<String, Error> {
        Ok(self
            .conn
            .query_row("SELECT name FROM venue WHERE id = 1", [], |r| r.get(0))?)
    }

    pub fn venue_address(&self) -> Result<String, Error> {
        Ok(self
            .conn
            .query_row("SELECT address FROM venue WHERE id = 1", [], |r| r.get(0))?)
    }

    pub fn venue_public_keys(&self) -> VenuePublicKeys {
        self.venue_key.public
    }

    pub fn fingerprint(&self) -> String {
        self.venue_key.public.fingerprint_text()
    }

    pub fn contact_key(&self) -> &ContactKey {
        &self.contact_key
    }

    pub fn trust(&self) -> Result<TrustList, Error> {
        let raw: String = self
            .conn
            .query_row("SELECT raw FROM trust WHERE id = 1", [], |r| r.get(0))?;
        Ok(trust::verify(&raw, None)?)
    }

    /// Installs a newer trust file signed by the same root.
    pub fn update_trust(&mut self, text: &str, now: i64) -> Result<TrustList, Error> {
        let current = self.trust()?;
        let next = trust::verify(text, Some((&current.root_key, current.body.serial)))?;
        let tx = self.conn.unchecked_transaction()?;
        store_trust(&tx, &next, now)?;
        tx.commit()?;
        let (ck, known) = contact_keys(&self.conn)?;
        self.contact_key = ck;
        self.known_contact_keys = known;
        tracing::info!(event = "trust.updated", serial = next.body.serial);
        Ok(next)
    }

    // ----- locations, areas, tables -----

    pub fn add_location(&mut self, name: &str, now: i64) -> Result<i64, Error> {
        let name = valid_name(name)?;
        match self.conn.execute(
            "INSERT INTO locations(name, created_at) VALUES (?1, ?2)",
            params![name, now],
        ) {
            Ok(_) => Ok(self.conn.last_insert_rowid()),
            Err(e) if unique_violation(&e) => Err(Error::Duplicate(name)),
            Err(e) => Err(e.into()),
        }
    }

    /// Renames a location (audited: the answer to a request carries the names).
    pub fn rename_location(&mut self, id: i64, name: &str, now: i64) -> Result<(), Error> {
        let name = valid_name(name)?;
        let old: String = self
            .conn
            .query_row("SELECT name FROM locations WHERE id = ?1", [id], |r| {
                r.get(0)
            })
            .optional()?
            .ok_or_else(|| Error::UnknownLocation(id.to_string()))?;
        let tx = self.conn.unchecked_transaction()?;
        match tx.execute(
            "UPDATE locations SET name = ?1 WHERE id = ?2",
            params![name, id],
        ) {
            Ok(_) => {}
            Err(e) if unique_violation(&e) => return Err(Error::Duplicate(name)),
            Err(e) => return Err(e.into()),
        }
        self.audit_change(
            &tx,
            now,
            "location-renamed",
            &format!("location '{old}' renamed to '{name}'"),
        )?;
        tx.commit()?;
        Ok(())
    }

    pub fn locations(&self) -> Result<Vec<Location>, Error> {
        let mut st = self
            .conn
            .prepare("SELECT id, name FROM locations ORDER BY id")?;
        let rows = st.query_map([], |r| {
            Ok(Location {
                id: r.get(0)?,
                name: r.get(1)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    pub fn location_id(&self, name: &str) -> Result<i64, Error> {
        self.conn
            .query_row(
                "SELECT id FROM locations WHERE name = ?1",
                [name.trim()],
                |r| r.get(0),
            )
            .optional()?
            .ok_or_else(|| Error::UnknownLocation(name.to_string()))
    }

    pub fn add_area(
        &mut self,
        location_id: i64,
        name: &str,
        max_stay_minutes: Option<u32>,
        now: i64,
    ) -> Result<i64, Error> {
        let name = valid_name(name)?;
        let minutes = max_stay_minutes.unwrap_or(self.settings.default_max_stay_minutes);
        if !(5..=24 * 60).contains(&minutes) {
            return Err(SettingsError::OutOfRange {
                name: "max stay (minutes)".into(),
                min: 5,
                max: 24 * 60,
            }
            .into());
        }
        let exists: bool = self
            .conn
            .query_row(
                "SELECT 1 FROM locations WHERE id = ?1",
                [location_id],
                |_| Ok(()),
            )
            .optional()?
            .is_some();
        if !exists {
            return Err(Error::UnknownLocation(location_id.to_string()));
        }
        match self.conn.execute(
            "INSERT INTO areas(location_id, name, max_stay_secs, created_at) VALUES (?1, ?2, ?3, ?4)",
            params![location_id, name, i64::from(minutes) * 60, now],
        ) {
            Ok(_) => Ok(self.conn.last_insert_rowid()),
            Err(e) if unique_violation(&e) => Err(Error::Duplicate(name)),
            Err(e) => Err(e.into()),
        }
    }

    /// Finds a live (not archived) area by `NAME`, `LOCATION/NAME` or `#ID`.
    pub fn area_id(&self, spec: &str) -> Result<i64, Error> {
        let spec = spec.trim();
        if let Some(id) = spec.strip_prefix('#').and_then(|s| s.parse::<i64>().ok()) {
            return self.area(id).map(|a| a.id);
        }
        let (loc, name) = match spec.split_once('/') {
            Some((l, n)) => (Some(l.trim()), n.trim()),
            None => (None, spec),
        };
        let mut st = self.conn.prepare(
            "SELECT a.id FROM areas a JOIN locations l ON l.id = a.location_id
             WHERE a.name = ?1 AND a.state <> 'archived' AND (?2 IS NULL OR l.name = ?2)",
        )?;
        let ids: Vec<i64> = st
            .query_map(params![name, loc], |r| r.get(0))?
            .collect::<Result<_, _>>()?;
        match ids.as_slice() {
            [id] => Ok(*id),
            [] => Err(Error::UnknownArea(spec.to_string())),
            _ => Err(Error::AmbiguousArea(spec.to_string())),
        }
    }

    pub fn area(&self, id: i64) -> Result<Area, Error> {
        self.areas_where("a.id = ?1", params![id])?
            .pop()
            .ok_or_else(|| Error::UnknownArea(format!("#{id}")))
    }

    /// All areas, archived ones included, with tables and present counts.
    pub fn areas(&self) -> Result<Vec<Area>, Error> {
        self.areas_where("1", [])
    }

    fn areas_where(&self, cond: &str, p: impl rusqlite::Params) -> Result<Vec<Area>, Error> {
        let sql = format!(
            "SELECT a.id, a.location_id, l.name, a.name, a.state, a.max_stay_secs, a.generation,
                    a.code_replaced_at, a.archived_at,
                    (SELECT COUNT(*) FROM checkins c WHERE c.area_id = a.id AND c.checked_out_at IS NULL)
             FROM areas a JOIN locations l ON l.id = a.location_id WHERE {cond} ORDER BY l.id, a.id"
        );
        let mut st = self.conn.prepare(&sql)?;
        let mut areas: Vec<Area> = st
            .query_map(p, |r| {
                Ok(Area {
                    id: r.get(0)?,
                    location_id: r.get(1)?,
                    location: r.get(2)?,
                    name: r.get(3)?,
                    state: AreaState::parse(&r.get::<_, String>(4)?),
                    max_stay_secs: r.get(5)?,
                    generation: r.get(6)?,
                    code_replaced_at: r.get(7)?,
                    archived_at: r.get(8)?,
                    tables: Vec::new(),
                    present: r.get(9)?,
                })
            })?
            .collect::<Result<_, _>>()?;
        let mut tst = self
            .conn
            .prepare_cached(
                "SELECT number FROM area_tables WHERE area_id = ?1 AND removed_at IS NULL ORDER BY number",
            )?;
        for a in &mut areas {
            a.tables = tst
                .query_map([a.id], |r| r.get(0))?
                .collect::<Result<_, _>>()?;
        }
        Ok(areas)
    }

    /// The area's own columns, without tables and counts: cheap enough for every scan.
    fn area_row(&self, id: i64) -> Result<AreaRow, Error> {
        self.conn
            .prepare_cached(
                "SELECT name, state, max_stay_secs, generation, code_replaced_at FROM areas WHERE id = ?1",
            )?
            .query_row([id], |r| {
                Ok(AreaRow {
                    name: r.get(0)?,
                    state: AreaState::parse(&r.get::<_, String>(1)?),
                    max_stay_secs: r.get(2)?,
                    generation: r.get(3)?,
                    code_replaced_at: r.get(4)?,
                })
            })
            .optional()?
            .ok_or_else(|| Error::UnknownArea(format!("#{id}")))
    }

    fn has_table(&self, area: i64, table: u16) -> Result<bool, Error> {
        Ok(self
            .conn
            .prepare_cached(
                "SELECT 1 FROM area_tables WHERE area_id = ?1 AND number = ?2 AND removed_at IS NULL",
            )?
            .query_row(params![area, table], |_| Ok(()))
            .optional()?
            .is_some())
    }

    fn live_area(&self, id: i64) -> Result<Area, Error> {
        let a = self.area(id)?;
        if a.state == AreaState::Archived {
            return Err(Refusal::AreaArchived(a.name).into());
        }
        Ok(a)
    }

    /// Renames an area (audited: the answer to a request carries the names).
    pub fn rename_area(&mut self, id: i64, name: &str, now: i64) -> Result<(), Error> {
        let old = self.live_area(id)?;
        let name = valid_name(name)?;
        let tx = self.conn.unchecked_transaction()?;
        match tx.execute(
            "UPDATE areas SET name = ?1 WHERE id = ?2",
            params![name, id],
        ) {
            Ok(_) => {}
            Err(e) if unique_violation(&e) => return Err(Error::Duplicate(name)),
            Err(e) => return Err(e.into()),
        }
        self.audit_change(
            &tx,
            now,
            "area-renamed",
            &format!("area '{}/{}' renamed to '{name}'", old.location, old.name),
        )?;
        tx.commit()?;
        Ok(())
    }

    /// Changes an area's maximum stay. Guests present already keep at least until now: a
    /// shorter stay never back-dates a check-out (audited).
    pub fn set_max_stay(&mut self, id: i64, minutes: u32, now: i64) -> Result<(), Error> {
        let a = self.live_area(id)?;
        if !(5..=24 * 60).contains(&minutes) {
            return Err(SettingsError::OutOfRange {
                name: "max stay (minutes)".into(),
                min: 5,
                max: 24 * 60,
            }
            .into());
        }
        let secs = i64::from(minutes) * 60;
        let tx = self.conn.unchecked_transaction()?;
        tx.execute(
            "UPDATE areas SET max_stay_secs = ?1 WHERE id = ?2",
            params![secs, id],
        )?;
        tx.execute(
            "UPDATE checkins SET due_at = MAX(?3, checked_in_at + ?1)
             WHERE area_id = ?2 AND checked_out_at IS NULL",
            params![secs, id, now],
        )?;
        if secs != a.max_stay_secs {
            self.audit_change(
                &tx,
                now,
                "max-stay-changed",
                &format!(
                    "area '{}/{}': maximum stay {} -> {minutes} minutes",
                    a.location,
                    a.name,
                    a.max_stay_secs / 60
                ),
            )?;
        }
        tx.commit()?;
        Ok(())
    }

    /// Closes an area for new check-ins (guests can still check out).
    pub fn close_area(&mut self, id: i64) -> Result<(), Error> {
        self.live_area(id)?;
        self.conn
            .execute("UPDATE areas SET state = 'closed' WHERE id = ?1", [id])?;
        Ok(())
    }

    pub fn reopen_area(&mut self, id: i64) -> Result<(), Error> {
        self.live_area(id)?;
        self.conn
            .execute("UPDATE areas SET state = 'open' WHERE id = ?1", [id])?;
        Ok(())
    }

    /// Deletes an area: it is archived (no new check-ins, its check-ins kept for requests)
    /// and purged with its data once the retention period has passed. Guests still
    /// present are checked out now.
    pub fn archive_area(&mut self, id: i64, now: i64) -> Result<u64, Error> {
        let a = self.live_area(id)?;
        let tx = self.conn.unchecked_transaction()?;
        let closed = tx.execute(
            "UPDATE checkins SET checked_out_at = ?1, checkout_reason = 'area-deleted'
             WHERE area_id = ?2 AND checked_out_at IS NULL",
            params![now, id],
        )?;
        tx.execute(
            "UPDATE areas SET state = 'archived', archived_at = ?1 WHERE id = ?2",
            params![now, id],
        )?;
        self.audit_change(
            &tx,
            now,
            "area-deleted",
            &format!(
                "area '{}/{}' deleted (archived until the retention period ends); {closed} guests checked out",
                a.location, a.name
            ),
        )?;
        tx.commit()?;
        tracing::info!(event = "area.archived", area = id);
        Ok(closed as u64)
    }

    /// Replaces an area's code; the old code is refused from now on.
    pub fn replace_area_code(&mut self, id: i64, now: i64) -> Result<String, Error> {
        self.live_area(id)?;
        self.conn.execute(
            "UPDATE areas SET generation = generation + 1, code_replaced_at = ?1 WHERE id = ?2",
            params![now, id],
        )?;
        tracing::info!(event = "area.code_replaced", area = id);
        self.area_code(id)
    }

    pub fn add_tables(&mut self, area: i64, numbers: &[u16]) -> Result<(), Error> {
        let a = self.live_area(area)?;
        let tx = self.conn.unchecked_transaction()?;
        for &n in numbers {
            if n == 0 {
                return Err(Error::InvalidName("table numbers start at 1".into()));
            }
            // A removed number comes back with a new code: its old card stays refused.
            let back = tx.execute(
                "UPDATE area_tables SET removed_at = NULL, generation = generation + 1,
                 code_replaced_at = removed_at
                 WHERE area_id = ?1 AND number = ?2 AND removed_at IS NOT NULL",
                params![area, n],
            )?;
            if back > 0 {
                continue;
            }
            match tx.execute(
                "INSERT INTO area_tables(area_id, number) VALUES (?1, ?2)",
                params![area, n],
            ) {
                Ok(_) => {}
                Err(e) if unique_violation(&e) => {
                    return Err(Error::Duplicate(format!("table {n} in area '{}'", a.name)))
                }
                Err(e) => return Err(e.into()),
            }
        }
        tx.commit()?;
        Ok(())
    }

    /// Removes a table: its card is refused from now on. Check-ins already at the table keep
    /// it; if the number is added again it gets a new code.
    pub fn remove_table(&mut self, area: i64, table: u16, now: i64) -> Result<(), Error> {
        let a = self.live_area(area)?;
        let n = self.conn.execute(
            "UPDATE area_tables SET removed_at = ?1
             WHERE area_id = ?2 AND number = ?3 AND removed_at IS NULL",
            params![now, area, table],
        )?;
        if n == 0 {
            return Err(Error::UnknownTable(a.name, table));
        }
        Ok(())
    }

    pub fn replace_table_code(&mut self, area: i64, table: u16, now: i64) -> Result<String, Error> {
        let a = self.live_area(area)?;
        let n = self.conn.execute(
            "UPDATE area_tables SET generation = generation + 1, code_replaced_at = ?1
             WHERE area_id = ?2 AND number = ?3 AND removed_at IS NULL",
            params![now, area, table],
        )?;
        if n == 0 {
            return Err(Error::UnknownTable(a.name, table));
        }
        self.table_code(area, table)
    }

    fn venue_tag(&self) -> [u8; VENUE_TAG_LEN] {
        let mut t = [0u8; VENUE_TAG_LEN];
        t.copy_from_slice(&self.venue_key.public.fingerprint()[..VENUE_TAG_LEN]);
        t
    }

    pub fn area_code(&self, area: i64) -> Result<String, Error> {
        let a = self.live_area(area)?;
        Ok(VenueCode {
            venue_tag: self.venue_tag(),
            area_id: a.id as u32,
            table: 0,
            generation: a.generation,
        }
        .to_text())
    }

    pub fn table_code(&self, area: i64, table: u16) -> Result<String, Error> {
        let a = self.live_area(area)?;
        let generation: u16 = self
            .conn
            .query_row(
                "SELECT generation FROM area_tables WHERE area_id = ?1 AND number = ?2 AND removed_at IS NULL",
                params![area, table],
                |r| r.get(0),
            )
            .optional()?
            .ok_or_else(|| Error::UnknownTable(a.name.clone(), table))?;
        Ok(VenueCode {
            venue_tag: self.venue_tag(),
            area_id: a.id as u32,
            table,
            generation,
        }
        .to_text())
    }

    // ----- printing -----

    /// What the posters of these live areas show (all live areas if none are named).
    pub fn poster_infos(&self, areas: &[i64]) -> Result<Vec<crate::documents::PosterInfo>, Error> {
        let venue = self.venue_name()?;
        let fp = self.fingerprint();
        let short: String = fp.split('-').take(2).collect::<Vec<_>>().join("-");
        let mut out = Vec::new();
        for a in self.areas()? {
            if a.state == AreaState::Archived || (!areas.is_empty() && !areas.contains(&a.id)) {
                continue;
            }
            let created: i64 = self.conn.query_row(
                "SELECT COALESCE(code_replaced_at, created_at) FROM areas WHERE id = ?1",
                [a.id],
                |r| r.get(0),
            )?;
            out.push(crate::documents::PosterInfo {
                venue: venue.clone(),
                location: a.location.clone(),
                area: a.name.clone(),
                code: self.area_code(a.id)?,
                fingerprint: short.clone(),
                code_date: format_time(created).chars().take(10).collect(),
                retention_days: self.settings.retention_days,
            });
        }
        Ok(out)
    }

    /// The table cards of an area (all its tables if none are named).
    pub fn table_infos(
        &self,
        area: i64,
        tables: &[u16],
    ) -> Result<Vec<crate::documents::TableInfo>, Error> {
        let a = self.live_area(area)?;
        let mut out = Vec::new();
        for &t in if tables.is_empty() { &a.tables } else { tables } {
            out.push(crate::documents::TableInfo {
                area: a.name.clone(),
                table: t,
                code: self.table_code(area, t)?,
            });
        }
        Ok(out)
    }

    // ----- scanning and check-in -----

    /// Reads a scanned text: a guest code (checked for integrity and authority), or one of
    /// this venue's area or table codes (checked for being current).
    pub fn classify(&self, text: &str) -> Result<Scanned, Error> {
        let frame = crate::textcode::unframe(text).map_err(Refusal::from)?;
        match frame.kind {
            crate::textcode::Kind::Guest => {
                let code = GuestCode::from_body(&frame.body).map_err(Refusal::from)?;
                if !self.known_contact_keys.contains(&code.key_id) {
                    return Err(Refusal::OtherAuthority.into());
                }
                Ok(Scanned::Guest(code))
            }
            crate::textcode::Kind::Venue => {
                let vc = VenueCode::from_body(&frame.body).map_err(Refusal::from)?;
                self.check_venue_code(&vc)
            }
        }
    }

    fn check_venue_code(&self, vc: &VenueCode) -> Result<Scanned, Error> {
        let ours: bool = self
            .conn
            .prepare_cached("SELECT fingerprint FROM venue_keys")?
            .query_map([], |r| r.get::<_, Vec<u8>>(0))?
            .filter_map(Result::ok)
            .any(|fp| fp.get(..VENUE_TAG_LEN) == Some(&vc.venue_tag[..]));
        if !ours {
            return Err(Refusal::ForeignVenue.into());
        }
        let area_id = i64::from(vc.area_id);
        let area = match self.area_row(area_id) {
            Ok(a) => a,
            Err(Error::UnknownArea(_)) => return Err(Refusal::UnknownVenueCode.into()),
            Err(e) => return Err(e),
        };
        if area.state == AreaState::Archived {
            return Err(Refusal::AreaArchived(area.name).into());
        }
        let (current, replaced_at) = if vc.table == 0 {
            (area.generation, area.code_replaced_at)
        } else {
            self.conn
                .query_row(
                    "SELECT generation, code_replaced_at FROM area_tables
                     WHERE area_id = ?1 AND number = ?2 AND removed_at IS NULL",
                    params![area_id, vc.table],
                    |r| Ok((r.get::<_, u16>(0)?, r.get::<_, Option<i64>>(1)?)),
                )
                .optional()?
                .ok_or_else(|| Refusal::NoSuchTable(area.name.clone(), vc.table))?
        };
        if vc.generation < current {
            let when = replaced_at.map(format_time).unwrap_or_default();
            return Err(Refusal::ReplacedCode(when).into());
        }
        if vc.generation > current {
            return Err(Refusal::UnknownVenueCode.into());
        }
        Ok(if vc.table == 0 {
            Scanned::Area(area_id)
        } else {
            Scanned::Table(area_id, vc.table)
        })
    }

    /// Scans a guest code at an area: checks in, checks out, moves, or ignores a double
    /// read. Returns only after the change is durable on disk.
    pub fn scan_guest(
        &mut self,
        text: &str,
        area: i64,
        table: Option<u16>,
        method: Method,
        now: i64,
    ) -> Result<ScanOutcome, Error> {
        match self.classify(text)? {
            Scanned::Guest(code) => self.check_in(&code, area, table, method, now),
            Scanned::Area(_) | Scanned::Table(..) => Err(Refusal::NotAGuestCode.into()),
        }
    }

    /// Does the costly part of sealing the next `n` check-ins ahead of time; call it when
    /// idle (between scans) to take it off the scan path.
    pub fn prepare_seals(&mut self, n: usize) -> Result<(), Error> {
        let pk = self.venue_key.public.seal;
        self.prepared.prepare(&pk, checkin_record::GUEST_INFO, n)?;
        self.prepared.prepare(&pk, checkin_record::TABLE_INFO, n)?;
        Ok(())
    }

    /// The business day a moment belongs to: days end at the configured local hour.
    pub fn business_day(&self, now: i64) -> NaiveDate {
        let shifted = now - i64::from(self.settings.business_day_end_hour) * 3600;
        Local
            .timestamp_opt(shifted, 0)
            .earliest()
            .map(|d| d.date_naive())
            .unwrap_or_default()
    }

    /// The first second of the business day `now` belongs to.
    fn business_day_start(&self, now: i64) -> i64 {
        let day = self.business_day(now);
        day.and_hms_opt(self.settings.business_day_end_hour, 0, 0)
            .and_then(|t| Local.from_local_datetime(&t).earliest())
            .map(|d| d.timestamp())
            .unwrap_or(now - 86_400)
    }

    pub fn check_in(
        &mut self,
        code: &GuestCode,
        area: i64,
        table: Option<u16>,
        method: Method,
        now: i64,
    ) -> Result<ScanOutcome, Error> {
        if !self.known_contact_keys.contains(&code.key_id) {
            return Err(Refusal::OtherAuthority.into());
        }
        let target = self.area_row(area)?;
        if let Some(t) = table {
            if !self.has_table(area, t)? {
                return Err(Refusal::NoSuchTable(target.name, t).into());
            }
        }
        let pseudonym = self.secret.pseudonym(&code.code_id, self.business_day(now));
        let record = RecordId(crypto::random_bytes());
        let pk = self.venue_key.public.seal;
        let binding = checkin_record::Binding {
            record_id: record.0,
            venue_fingerprint: self.venue_key.fingerprint,
            area_id: area_id_u32(area)?,
            checked_in_at: now,
        };
        let guest_pt = checkin_record::guest_plaintext(method, &code.contact_blob())?;
        let guest_seal =
            self.prepared
                .seal(&pk, checkin_record::GUEST_INFO, &binding.aad(), &guest_pt)?;
        let table_seal = self.prepared.seal(
            &pk,
            checkin_record::TABLE_INFO,
            &binding.aad(),
            &checkin_record::table_plaintext(table),
        )?;
        let double_read = i64::from(self.settings.double_read_seconds);
        let key_id = self.venue_key.id;

        let advance_clock = self.clock_advance_due(now);
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        close_overdue(&tx, now)?;
        let last_read: Option<i64> = tx
            .prepare_cached("SELECT MAX(last_read_at) FROM checkins WHERE pseudonym = ?1")?
            .query_row([&pseudonym[..]], |r| r.get(0))?;
        if let Some(t) = last_read {
            if now - t < double_read && now >= t {
                return Ok(ScanOutcome::DoubleRead { area });
            }
        }
        let open: Option<(Vec<u8>, i64, i64)> = tx
            .prepare_cached(
                "SELECT id, area_id, checked_in_at FROM checkins
                 WHERE pseudonym = ?1 AND checked_out_at IS NULL LIMIT 1",
            )?
            .query_row([&pseudonym[..]], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
            .optional()?;
        let outcome = match open {
            Some((id, open_area, checked_in_at)) if open_area == area => {
                tx.prepare_cached(
                    "UPDATE checkins SET checked_out_at = ?1, checkout_reason = 'scan', last_read_at = ?1 WHERE id = ?2",
                )?
                .execute(params![now, &id])?;
                let mut rid = [0u8; RECORD_ID_LEN];
                if id.len() == RECORD_ID_LEN {
                    rid.copy_from_slice(&id);
                }
                ScanOutcome::CheckedOut {
                    record: RecordId(rid),
                    area,
                    checked_in_at,
                }
            }
            open => {
                match target.state {
                    AreaState::Open => {}
                    AreaState::Closed => return Err(Refusal::AreaClosed(target.name).into()),
                    AreaState::Archived => return Err(Refusal::AreaArchived(target.name).into()),
                }
                if let Some((id, ..)) = &open {
                    tx.prepare_cached(
                        "UPDATE checkins SET checked_out_at = ?1, checkout_reason = 'moved', last_read_at = ?1 WHERE id = ?2",
                    )?
                    .execute(params![now, id])?;
                }
                tx.prepare_cached(
                    "INSERT INTO checkins(id, area_id, venue_key_id, checked_in_at, due_at, pseudonym, last_read_at, guest_seal, table_seal, seal_version)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?4, ?7, ?8, ?9)",
                )?
                .execute(params![
                    &record.0[..],
                    area,
                    key_id,
                    now,
                    now + target.max_stay_secs,
                    &pseudonym[..],
                    guest_seal,
                    table_seal,
                    checkin_record::VERSION
                ])?;
                match open {
                    Some((_, from_area, _)) => ScanOutcome::Moved {
                        record,
                        from_area,
                        to_area: area,
                        table,
                    },
                    None => ScanOutcome::CheckedIn {
                        record,
                        area,
                        table,
                    },
                }
            }
        };
        if advance_clock {
            clock::store_seen(&tx, now)?;
        }
        tx.commit()?;
        if advance_clock {
            self.clock_seen = Some(now);
        }
        tracing::info!(
            event = "checkin.scan",
            area,
            outcome = outcome_name(&outcome)
        );
        Ok(outcome)
    }

    /// Registers a guest without a code: the typed contact data is sealed at once into a
    /// new guest code (which can be printed as a fob) and checked in.
    pub fn register_guest(
        &mut self,
        contact: &ContactData,
        area: i64,
        table: Option<u16>,
        now: i64,
    ) -> Result<(GuestCode, ScanOutcome), Error> {
        let code = self.make_guest_code(contact)?;
        let outcome = self.check_in(&code, area, table, Method::CounterForm, now)?;
        Ok((code, outcome))
    }

    /// Makes a guest code for a fob or card (nothing is stored).
    pub fn make_guest_code(&self, contact: &ContactData) -> Result<GuestCode, Error> {
        GuestCode::create(contact, &self.contact_key).map_err(|e| match e {
            GuestCodeError::Contact(c) => Error::Contact(c),
            GuestCodeError::Seal(c) => Error::Crypto(c),
            other => Error::Refused(Refusal::from(other)),
        })
    }

    /// Assigns (or changes) the table of an open check-in.
    pub fn assign_table(&mut self, record: RecordId, table: u16) -> Result<(), Error> {
        let row = self
            .stored_binding(record, true)?
            .ok_or_else(|| Error::UnknownRecord(record.to_string()))?;
        let a = self.area(row.area)?;
        if !a.tables.contains(&table) {
            return Err(Refusal::NoSuchTable(a.name, table).into());
        }
        let seal =
            checkin_record::reseal_table(&row.seal_pk, row.version, &row.binding, Some(table))?;
        self.conn.execute(
            "UPDATE checkins SET table_seal = ?1 WHERE id = ?2",
            params![seal, &record.0[..]],
        )?;
        Ok(())
    }

    /// What a stored check-in's seals are bound to. `open_only` finds only check-ins that
    /// are still open.
    fn stored_binding(
        &self,
        record: RecordId,
        open_only: bool,
    ) -> Result<Option<StoredBinding>, Error> {
        let row = self
            .conn
            .query_row(
                "SELECT c.area_id, c.checked_in_at, c.seal_version, k.seal_pk, k.fingerprint
                 FROM checkins c JOIN venue_keys k ON k.id = c.venue_key_id
                 WHERE c.id = ?1 AND (?2 = 0 OR c.checked_out_at IS NULL)",
                params![&record.0[..], open_only],
                |r| {
                    Ok((
                        r.get::<_, i64>(0)?,
                        r.get::<_, i64>(1)?,
                        r.get::<_, u8>(2)?,
                        r.get::<_, Vec<u8>>(3)?,
                        r.get::<_, Vec<u8>>(4)?,
                    ))
                },
            )
            .optional()?;
        let Some((area, at, version, pk, fp)) = row else {
            return Ok(None);
        };
        let bad = || StoreError::Corrupt("a stored venue key is damaged".into());
        Ok(Some(StoredBinding {
            area,
            version,
            seal_pk: pk.try_into().map_err(|_| bad())?,
            binding: checkin_record::Binding {
                record_id: record.0,
                venue_fingerprint: fp.try_into().map_err(|_| bad())?,
                area_id: area_id_u32(area)?,
                checked_in_at: at,
            },
        }))
    }

    pub fn check_out_record(&mut self, record: RecordId, now: i64) -> Result<(), Error> {
        let n = self.conn.execute(
            "UPDATE checkins SET checked_out_at = ?1, checkout_reason = 'staff', last_read_at = ?1
             WHERE id = ?2 AND checked_out_at IS NULL",
            params![now, &record.0[..]],
        )?;
        if n == 0 {
            return Err(Error::UnknownRecord(record.to_string()));
        }
        Ok(())
    }

    /// Checks out everyone (of one area, or everywhere) — at closing time.
    pub fn close_all(&mut self, area: Option<i64>, now: i64) -> Result<u64, Error> {
        let tx = self.conn.unchecked_transaction()?;
        let n = tx.execute(
            "UPDATE checkins SET checked_out_at = ?1, checkout_reason = 'closing', last_read_at = ?1
             WHERE checked_out_at IS NULL AND (?2 IS NULL OR area_id = ?2)",
            params![now, area],
        )?;
        let detail = match area {
            None => format!("{n} guests checked out in every area"),
            Some(a) => format!("{n} guests checked out in area #{a}"),
        };
        self.audit_change(&tx, now, "all-checked-out", &detail)?;
        tx.commit()?;
        tracing::info!(event = "checkin.close_all", count = n);
        Ok(n as u64)
    }

    /// Open check-ins (newest first), for staff to check a guest out by hand.
    pub fn open_checkins(
        &mut self,
        area: Option<i64>,
        now: i64,
    ) -> Result<Vec<OpenCheckin>, Error> {
        close_overdue(&self.conn, now)?;
        let mut st = self.conn.prepare(
            "SELECT id, area_id, checked_in_at FROM checkins
             WHERE checked_out_at IS NULL AND (?1 IS NULL OR area_id = ?1) ORDER BY checked_in_at DESC",
        )?;
        let rows = st.query_map(params![area], |r| {
            let id: Vec<u8> = r.get(0)?;
            Ok(OpenCheckin {
                record: crate::textcode::encode_base32(&id),
                area: r.get(1)?,
                checked_in_at: r.get(2)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Check-ins of the current business day per hour, from its first hour to the hour of
    /// `now`: (start of the hour, count).
    pub fn arrivals_by_hour(&self, now: i64) -> Result<Vec<(i64, u32)>, Error> {
        let start = self.business_day_start(now);
        let hours = ((now - start) / 3600 + 1).clamp(1, 25) as usize;
        let mut counts = vec![0u32; hours];
        let mut st = self.conn.prepare_cached(
            "SELECT (checked_in_at - ?1) / 3600, COUNT(*) FROM checkins
             WHERE checked_in_at >= ?1 AND checked_in_at <= ?2 GROUP BY 1",
        )?;
        let rows = st.query_map(params![start, now], |r| {
            Ok((r.get::<_, i64>(0)?, r.get::<_, u32>(1)?))
        })?;
        for row in rows {
            let (h, n) = row?;
            if let Some(c) = usize::try_from(h).ok().and_then(|h| counts.get_mut(h)) {
                *c += n;
            }
        }
        Ok(counts
            .into_iter()
            .enumerate()
            .map(|(i, n)| (start + i as i64 * 3600, n))
            .collect())
    }

    /// Present guests per live area (after closing overdue stays).
    pub fn present(&mut self, now: i64) -> Result<Vec<(Area, u32)>, Error> {
        close_overdue(&self.conn, now)?;
        Ok(self
            .areas()?
            .into_iter()
            .filter(|a| a.state != AreaState::Archived)
            .map(|a| {
                let n = a.present;
                (a, n)
            })
            .collect())
    }

    pub fn present_total(&mut self, now: i64) -> Result<u32, Error> {
        Ok(self.present(now)?.iter().map(|(_, n)| n).sum())
    }

    /// Deletes what the retention period no longer allows to keep, clears pseudonyms of
    /// past business days, and checkpoints the log so deleted data is gone from disk.
    pub fn purge(&mut self, now: i64) -> Result<PurgeReport, Error> {
        if self.clock_state(now)? != ClockState::Ok {
            tracing::warn!(event = "retention.purge_skipped", reason = "clock");
            return Ok(PurgeReport {
                skipped_clock: true,
                ..PurgeReport::default()
            });
        }
        self.note_time(now)?;
        let cutoff = now - i64::from(self.settings.retention_days) * 86_400;
        let day_start = self.business_day_start(now);
        let tx = self.conn.unchecked_transaction()?;
        let auto = close_overdue(&tx, now)?;
        let checkins = tx.execute(
            "DELETE FROM checkins WHERE COALESCE(checked_out_at, checked_in_at) < ?1",
            [cutoff],
        )?;
        let gone = "SELECT id FROM areas WHERE state = 'archived' AND archived_at < ?1
                    AND NOT EXISTS (SELECT 1 FROM checkins c WHERE c.area_id = areas.id)";
        tx.execute(
            &format!("DELETE FROM area_tables WHERE area_id IN ({gone})"),
            [cutoff],
        )?;
        let areas = tx.execute(&format!("DELETE FROM areas WHERE id IN ({gone})"), [cutoff])?;
        let pseudonyms = tx.execute(
            "UPDATE checkins SET pseudonym = NULL WHERE pseudonym IS NOT NULL AND last_read_at < ?1",
            [day_start],
        )?;
        let audit_cutoff = now - i64::from(self.settings.audit_retention_days) * 86_400;
        let audit_entries = crate::audit::purge(&tx, audit_cutoff, now)?;
        tx.commit()?;
        if checkins + areas + pseudonyms + audit_entries as usize > 0 {
            store::checkpoint(&self.conn)?;
        }
        let report = PurgeReport {
            skipped_clock: false,
            checkins_deleted: checkins as u64,
            areas_deleted: areas as u64,
            pseudonyms_cleared: pseudonyms as u64,
            auto_checked_out: auto,
            audit_entries_deleted: audit_entries,
        };
        tracing::info!(event = "retention.purge", checkins, areas, pseudonyms);
        Ok(report)
    }

    // ----- key replacement -----

    /// Replaces a lost venue key: a new key pair and key file for future check-ins. Old
    /// check-ins stay sealed to the old key; the report says which period is affected.
    pub fn replace_key(
        &mut self,
        new_key_file: &Path,
        pass: &Passphrase,
        now: i64,
    ) -> Result<KeyReplacement, Error> {
        let venue = self.venue_name()?;
        keyfile::check_strength(pass, &[&venue, "tresen"])?;
        let keys = VenueSecretKeys::generate();
        let created = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
        keys.write_key_file(new_key_file, pass, &created)?;
        let public = keys.public();
        drop(keys);
        let old = self.venue_key;
        let tx = self.conn.unchecked_transaction()?;
        close_overdue(&tx, now)?;
        let (count, from, until): (u64, Option<i64>, Option<i64>) = tx.query_row(
            "SELECT COUNT(*), MIN(checked_in_at), MAX(COALESCE(checked_out_at, ?2)) FROM checkins WHERE venue_key_id = ?1",
            params![old.id, now],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )?;
        tx.execute(
            "UPDATE venue_keys SET retired_at = ?1 WHERE id = ?2",
            params![now, old.id],
        )?;
        tx.execute(
            "INSERT INTO venue_keys(seal_pk, sign_pk, fingerprint, created_at) VALUES (?1, ?2, ?3, ?4)",
            params![public.seal, public.sign, public.fingerprint(), now],
        )?;
        tx.execute(
            "INSERT INTO meta(key, value) VALUES ('key_file', ?1)
             ON CONFLICT(key) DO UPDATE SET value = excluded.value",
            [new_key_file.display().to_string()],
        )?;
        self.audit_change(
            &tx,
            now,
            "key-replaced",
            &format!(
                "venue key {} replaced by {}; {count} check-ins sealed to the old key",
                old.public.fingerprint_text(),
                public.fingerprint_text()
            ),
        )?;
        tx.commit()?;
        self.venue_key = current_key(&self.conn)?;
        self.prepared.clear();
        tracing::info!(event = "key.replaced", new = %public.fingerprint_text());
        Ok(KeyReplacement {
            old_fingerprint: old.public.fingerprint_text(),
            new_fingerprint: public.fingerprint_text(),
            unanswerable_checkins: count,
            unanswerable_from: from,
            unanswerable_until: if count > 0 { until } else { None },
        })
    }

    /// Opens a check-in with the venue's private key (used when answering a request).
    pub fn open_checkin(
        &self,
        record: RecordId,
        keys: &VenueSecretKeys,
    ) -> Result<checkin_record::OpenedCheckin, Error> {
        let row = self
            .stored_binding(record, false)?
            .ok_or_else(|| Error::UnknownRecord(record.to_string()))?;
        let (g, t): (Vec<u8>, Vec<u8>) = self.conn.query_row(
            "SELECT guest_seal, table_seal FROM checkins WHERE id = ?1",
            [&record.0[..]],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )?;
        Ok(checkin_record::open(
            &keys.seal,
            row.version,
            &row.binding,
            &g,
            &t,
        )?)
    }
}

/// A stored check-in's seal key and binding.
struct StoredBinding {
    area: i64,
    version: u8,
    seal_pk: [u8; 32],
    binding: checkin_record::Binding,
}

/// Area ids are written into codes and seals as 32 bits.
pub(crate) fn area_id_u32(area: i64) -> Result<u32, Error> {
    u32::try_from(area).map_err(|_| Error::UnknownArea(format!("#{area}")))
}

fn outcome_name(o: &ScanOutcome) -> &'static str {
    match o {
        ScanOutcome::CheckedIn { .. } => "checked_in",
        ScanOutcome::CheckedOut { .. } => "checked_out",
        ScanOutcome::Moved { .. } => "moved",
        ScanOutcome::DoubleRead { .. } => "double_read",
    }
}

/// Closes check-ins that exceeded their area's maximum stay, at the moment the stay ended.
fn close_overdue(conn: &Connection, now: i64) -> Result<u64, Error> {
    let n = conn
        .prepare_cached(
            "UPDATE checkins SET checked_out_at = due_at, checkout_reason = 'max-stay'
             WHERE checked_out_at IS NULL AND due_at <= ?1",
        )?
        .execute([now])?;
    Ok(n as u64)
}

fn current_key(conn: &Connection) -> Result<VenueKey, Error> {
    let (id, seal, sign): (i64, Vec<u8>, Vec<u8>) = conn
        .query_row(
            "SELECT id, seal_pk, sign_pk FROM venue_keys WHERE retired_at IS NULL ORDER BY id DESC LIMIT 1",
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .optional()?
        .ok_or_else(|| StoreError::Corrupt("the venue has no current key".into()))?;
    let bad = || StoreError::Corrupt("a stored venue key is damaged".into());
    let public = VenuePublicKeys {
        seal: seal.try_into().map_err(|_| bad())?,
        sign: sign.try_into().map_err(|_| bad())?,
    };
    Ok(VenueKey {
        id,
        public,
        fingerprint: public.fingerprint(),
    })
}

fn store_trust(conn: &Connection, t: &TrustList, now: i64) -> Result<(), Error> {
    conn.execute(
        "INSERT INTO trust(id, root_key, serial, raw, imported_at) VALUES (1, ?1, ?2, ?3, ?4)
         ON CONFLICT(id) DO UPDATE SET root_key = excluded.root_key, serial = excluded.serial,
             raw = excluded.raw, imported_at = excluded.imported_at",
        params![&t.root_key[..], t.body.serial as i64, t.raw, now],
    )?;
    conn.execute(
        "INSERT OR IGNORE INTO contact_keys(key_id, public_key, first_seen) VALUES (?1, ?2, ?3)",
        params![
            &t.contact_key.key_id[..],
            &t.contact_key.public_key[..],
            now
        ],
    )?;
    Ok(())
}

/// The current contact key (from the trust file) and every contact key id ever trusted,
/// so that codes made before a key rotation are still accepted.
fn contact_keys(conn: &Connection) -> Result<(ContactKey, HashSet<[u8; KEY_ID_LEN]>), Error> {
    let raw: String = conn
        .query_row("SELECT raw FROM trust WHERE id = 1", [], |r| r.get(0))
        .optional()?
        .ok_or_else(|| StoreError::Corrupt("no trust file is stored".into()))?;
    let t = trust::verify(&raw, None)?;
    let mut st = conn.prepare("SELECT key_id FROM contact_keys")?;
    let known = st
        .query_map([], |r| r.get::<_, Vec<u8>>(0))?
        .filter_map(Result::ok)
        .filter_map(|v| v.try_into().ok())
        .collect();
    Ok((t.contact_key, known))
}
