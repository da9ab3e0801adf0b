//! The venue's errors, each with a stable code for the window to word in German and
//! English, and the refusals of a scan.

use std::path::PathBuf;

use tresen_protocol::contact::ContactError;
use tresen_protocol::crypto::CryptoError;
use tresen_protocol::guest_code::GuestCodeError;
use tresen_protocol::key_file::KeyFileError;
use tresen_protocol::textcode::CodeTextError;
use tresen_protocol::time::format_time;
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
    #[error(transparent)]
    JoinFile(#[from] tresen_protocol::join_file::JoinFileError),
    #[error("there is no counter with the login '{0}'")]
    UnknownCounter(String),
    #[error("this counter shares the venue's secret with every other counter; it cannot make a new one. Ask the operator for a new join file and join the venue again")]
    SharedSecret,
    #[error("this venue keeps its data in this PC's own file, not on a shared server; counters can join only a venue on a server")]
    NotServerVenue,
    #[error("the venue database's trust file has another health authority root than the join file; do not use this database, ask the venue's operator")]
    JoinTrustMismatch,
    #[error("the clock of this PC looks wrong: it says {}, but the latest time this venue has seen is {}. Nothing is deleted and no request is approved until the clock is set right or the operator confirms the time (for example after the venue was closed for some days)", format_time(*.now), format_time(*.latest))]
    ClockSuspect { now: i64, latest: i64 },
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
            Error::Store(StoreError::Offline(_)) => "db-offline",
            Error::Store(StoreError::Tls(_)) => "db-tls",
            Error::Store(StoreError::LoginRefused(_)) => "db-login",
            Error::Store(StoreError::Forbidden(_)) => "db-forbidden",
            Error::Store(StoreError::TooOld { .. }) => "db-too-old",
            Error::Store(StoreError::KeyNotPinned(_)) => "db-key-not-pinned",
            Error::Store(StoreError::RootNotPinned(_)) => "db-root-not-pinned",
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
            Error::KeyFile(KeyFileError::Read { source, .. })
                if source.kind() == std::io::ErrorKind::NotFound =>
            {
                "file-not-found"
            }
            Error::KeyFile(KeyFileError::Read { .. }) => "read-failed",
            Error::KeyFile(KeyFileError::Write { .. } | KeyFileError::CopyMismatch(_)) => {
                "write-failed"
            }
            Error::KeyFile(_) => "key-file",
            Error::Trust(TrustError::NotNewer { .. }) => "trust-not-newer",
            Error::Trust(TrustError::RootMismatch { .. }) => "trust-root-changed",
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
            Error::JoinFile(tresen_protocol::join_file::JoinFileError::Sealed(
                KeyFileError::WrongPassphrase,
            )) => "join-wrong-passphrase",
            Error::JoinFile(tresen_protocol::join_file::JoinFileError::TooNew(_)) => "join-too-new",
            Error::JoinFile(_) => "join-file-invalid",
            Error::NotServerVenue => "not-server-venue",
            Error::SharedSecret => "shared-secret",
            Error::UnknownCounter(_) => "unknown-counter",
            Error::JoinTrustMismatch => "join-trust-mismatch",
        }
    }
}

/// The values a code's words need (names, numbers, paths; times as Unix seconds, in
/// keys ending in `_at`), for the window to fill in: it never shows the English sentence.
pub type Params = serde_json::Map<String, serde_json::Value>;

fn params<const N: usize>(pairs: [(&str, serde_json::Value); N]) -> Params {
    pairs.into_iter().map(|(k, v)| (k.to_string(), v)).collect()
}

fn path(p: &std::path::Path) -> serde_json::Value {
    p.display().to_string().into()
}

impl Error {
    /// The values the words for [`Error::code`] need.
    pub fn params(&self) -> Params {
        use serde_json::json;
        match self {
            Error::Refused(r) => r.params(),
            Error::Store(StoreError::TooNew { found, known }) => {
                params([("found", json!(found)), ("known", json!(known))])
            }
            Error::Store(StoreError::TooOld { found, known }) => {
                params([("found", json!(found)), ("known", json!(known))])
            }
            Error::Store(
                StoreError::Offline(d)
                | StoreError::Tls(d)
                | StoreError::LoginRefused(d)
                | StoreError::Forbidden(d),
            ) => params([("detail", json!(d))]),
            Error::Store(StoreError::KeyNotPinned(fp) | StoreError::RootNotPinned(fp)) => {
                params([("got", json!(fp))])
            }
            Error::JoinFile(tresen_protocol::join_file::JoinFileError::TooNew(v)) => {
                params([("version", json!(v))])
            }
            Error::Store(StoreError::DataDir { path: p, .. }) => params([("path", path(p))]),
            Error::Store(StoreError::Duplicate(n)) | Error::Duplicate(n) => {
                params([("name", json!(n))])
            }
            Error::Secret(
                SecretError::FileTooOpen(p)
                | SecretError::FileCorrupt(p)
                | SecretError::Io { path: p, .. },
            ) => params([("path", path(p))]),
            Error::KeyFile(
                KeyFileError::Exists(p)
                | KeyFileError::Read { path: p, .. }
                | KeyFileError::Write { path: p, .. }
                | KeyFileError::CopyMismatch(p),
            ) => params([("path", path(p))]),
            Error::Trust(TrustError::NotNewer { have, got }) => {
                params([("have", json!(have)), ("got", json!(got))])
            }
            Error::Trust(TrustError::RootMismatch { want, got })
            | Error::RootNotExpected { want, got } => {
                params([("want", json!(want)), ("got", json!(got))])
            }
            Error::Settings(SettingsError::OutOfRange { name, min, max }) => params([
                ("setting", json!(name)),
                ("min", json!(min)),
                ("max", json!(max)),
            ]),
            Error::Settings(SettingsError::Unknown(name, _)) => params([("setting", json!(name))]),
            Error::Contact(c) => contact_params(c),
            Error::NotInitialized(p) | Error::AlreadyInitialized(p) => params([("path", path(p))]),
            Error::UnknownLocation(n) | Error::UnknownArea(n) | Error::AmbiguousArea(n) => {
                params([("name", json!(n))])
            }
            Error::UnknownTable(area, table) => {
                params([("area", json!(area)), ("table", json!(table))])
            }
            Error::UnknownRecord(r) | Error::DamagedCheckin(r) => params([("record", json!(r))]),
            Error::KeyMismatch { got, want } => {
                params([("got", json!(got)), ("want", json!(want))])
            }
            Error::RetiredKey(fp) => params([("got", json!(fp))]),
            Error::Request(r) => request_params(r),
            Error::WrongPin { attempts_left } => params([("n", json!(attempts_left))]),
            Error::PinLocked { seconds } => params([("seconds", json!(seconds))]),
            Error::InvalidTables(t) => params([("text", json!(t))]),
            Error::UnknownCounter(l) => params([("name", json!(l))]),
            Error::ClockSuspect { now, latest } => {
                params([("now_at", json!(now)), ("latest_at", json!(latest))])
            }
            _ => Params::new(),
        }
    }
}

fn contact_params(c: &ContactError) -> Params {
    use serde_json::json;
    let (problem, field, max) = match c {
        ContactError::Missing(f) => ("missing", Some(*f), None),
        ContactError::TooLong(f, n) => ("too-long", Some(*f), Some(*n)),
        ContactError::ControlCharacter(f) => ("control", Some(*f), None),
        ContactError::BadPhone => ("phone", None, None),
        ContactError::BadPostcode => ("postcode", None, None),
        ContactError::BadEmail => ("email", None, None),
        ContactError::TooLongInTotal => ("total", None, None),
        ContactError::Malformed => ("malformed", None, None),
    };
    let mut p = params([("problem", json!(problem))]);
    if let Some(f) = field {
        p.insert("field".into(), json!(f.key()));
    }
    if let Some(n) = max {
        p.insert("max".into(), json!(n));
    }
    p
}

fn request_params(r: &tresen_protocol::request::RequestError) -> Params {
    use serde_json::json;
    use tresen_protocol::certificate::CertError;
    use tresen_protocol::request::RequestError as R;
    match r {
        R::UnsupportedVersion(v) => params([("version", json!(v))]),
        R::Certificate(CertError::Expired(t)) | R::Expired(t) => params([("expires_at", json!(t))]),
        R::Certificate(CertError::NotYetValid(t)) | R::IssuedInFuture(t) => {
            params([("issued_at", json!(t))])
        }
        R::OtherVenue(fp) => params([("got", json!(fp))]),
        R::Replayed { status, at } => {
            params([("status", json!(status)), ("decided_at", json!(at))])
        }
        R::WindowInFuture(t) => params([("until_at", json!(t))]),
        R::WindowBeforeRetention(t) => params([("oldest_at", json!(t))]),
        R::UnknownArea(a) => params([("name", json!(a))]),
        R::OfficeNotListed(o) => params([("office", json!(o))]),
        _ => Params::new(),
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
    #[error("this code was replaced on {}; use the new poster or card", .0.map(format_time).unwrap_or_default())]
    ReplacedCode(Option<i64>),
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
    /// The values the words for [`Refusal::code`] need.
    pub fn params(&self) -> Params {
        use serde_json::json;
        match self {
            Refusal::Code(CodeTextError::UnsupportedVersion(v)) => {
                params([("version", json!(v.to_string()))])
            }
            Refusal::ReplacedCode(at) => params([("replaced_at", json!(at))]),
            Refusal::AreaClosed(a) | Refusal::AreaArchived(a) => params([("area", json!(a))]),
            Refusal::NoSuchTable(a, t) => params([("area", json!(a)), ("table", json!(t))]),
            _ => Params::new(),
        }
    }

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
