//! The venue's errors, each with a stable code for the window to word in German and
//! English, and the refusals of a scan.

use std::path::PathBuf;

use tresen_protocol::contact::ContactError;
use tresen_protocol::crypto::CryptoError;
use tresen_protocol::guest_code::GuestCodeError;
use tresen_protocol::key_file::KeyFileError;
use tresen_protocol::textcode::CodeTextError;
use tresen_protocol::trust::TrustError;
use tresen_protocol::venue_code::VenueCodeError;

use crate::local_secret::SecretError;
use crate::settings::SettingsError;
use crate::store::StoreError;

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
    Request(#[from] tresen_protocol::request::RequestError),
    #[error(transparent)]
    Answer(#[from] tresen_protocol::answer::AnswerError),
    #[error(transparent)]
    Audit(#[from] crate::audit::AuditError),
    #[error("check-in {0} is damaged and cannot be opened; nothing was written")]
    DamagedCheckin(String),
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
            Error::Store(StoreError::TooNew { .. }) => "db-too-new",
            Error::Store(StoreError::Duplicate(_)) => "duplicate",
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
