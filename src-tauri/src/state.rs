//! What the shell keeps between commands, and how core errors reach the window.

use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use serde::Serialize;
use tresen::demo::Demo;
use tresen::outcome::Outcome;
use tresen::pc_preferences::Preferences;
use tresen_devices::scanner::DeviceState;
use tresen_venue::scan_session::ScanSession;
use tresen_venue::{Params, SetupStep, Venue};

pub use tresen_protocol::time::now;

/// An operator session ends after this long without an operator action.
pub const OPERATOR_IDLE: Duration = Duration::from_secs(10 * 60);

/// An error as the window sees it: `code` is worded by the window in its language, the
/// core's English `message` is the detail and the fallback.
#[derive(Debug, Clone, Serialize)]
pub struct UiError {
    pub code: String,
    /// The values the code's words need (names, paths, counts, times).
    pub params: Params,
    pub message: String,
}

impl UiError {
    pub fn new(code: &str, message: impl Into<String>) -> Self {
        Self {
            code: code.into(),
            params: Params::new(),
            message: message.into(),
        }
    }

    pub fn with(mut self, key: &str, value: impl Into<serde_json::Value>) -> Self {
        self.params.insert(key.into(), value.into());
        self
    }
}

impl From<tresen_venue::Error> for UiError {
    fn from(e: tresen_venue::Error) -> Self {
        Self {
            code: e.code().into(),
            params: e.params(),
            message: e.to_string(),
        }
    }
}

impl From<tresen::Error> for UiError {
    fn from(e: tresen::Error) -> Self {
        Self {
            code: e.code().into(),
            params: e.params(),
            message: e.to_string(),
        }
    }
}

impl From<tresen_protocol::key_file::KeyFileError> for UiError {
    fn from(e: tresen_protocol::key_file::KeyFileError) -> Self {
        tresen_venue::Error::from(e).into()
    }
}

impl From<tresen::pc_preferences::PreferencesError> for UiError {
    fn from(e: tresen::pc_preferences::PreferencesError) -> Self {
        use tresen::pc_preferences::PreferencesError as P;
        let e = match e {
            P::Receipt(source) => return tresen::Error::Printer { source, pdf: None }.into(),
            e => e,
        };
        let path = match &e {
            P::Damaged { path, .. } | P::Write { path, .. } => path.display().to_string(),
            P::Invalid(_) | P::Receipt(_) => String::new(),
        };
        let code = match &e {
            P::Damaged { .. } => "preferences-damaged",
            P::Write { .. } => "preferences",
            P::Invalid(_) | P::Receipt(_) => "scanner-setting",
        };
        UiError::new(code, e.to_string()).with("path", path)
    }
}

impl From<tresen::autostart::AutostartError> for UiError {
    fn from(e: tresen::autostart::AutostartError) -> Self {
        use tresen::autostart::AutostartError as A;
        match e {
            A::Preferences(p) => p.into(),
            A::Entry { ref path, .. } => UiError::new("autostart-failed", e.to_string())
                .with("path", path.display().to_string()),
            A::NoConfigDir => UiError::new("autostart-failed", e.to_string()),
        }
    }
}

impl From<tresen_devices::setting::SettingError> for UiError {
    fn from(e: tresen_devices::setting::SettingError) -> Self {
        UiError::new("scanner-setting", e.to_string())
    }
}

pub type UiResult<T> = Result<T, UiError>;

/// What one scan, tap or registration at the counter did, and where it came from.
#[derive(Debug, Serialize, Clone)]
pub struct ScanResult {
    #[serde(flatten)]
    pub outcome: Outcome,
    pub device: String,
    pub at: i64,
}

impl ScanResult {
    pub fn new(outcome: Outcome, device: &str) -> Self {
        Self {
            outcome,
            device: device.into(),
            at: now(),
        }
    }

    pub fn failed(device: &str, e: impl Into<UiError>) -> Self {
        let e = e.into();
        Self::new(Outcome::refused(&e.code, e.params, e.message), device)
    }
}

/// The open venue and the counter's scan session, behind one lock: a scan reads and
/// changes both at once.
pub struct Desk {
    pub venue: Option<Venue>,
    pub session: ScanSession,
}

pub struct AppState {
    pub data_dir: PathBuf,
    pub desk: Mutex<Desk>,
    pub devices: Mutex<BTreeMap<String, DeviceState>>,
    pub recent: Mutex<Vec<ScanResult>>,
    /// Why the venue could not be opened, for the window to show.
    pub open_error: Mutex<Option<UiError>>,
    pub operator_until: Mutex<Option<Instant>>,
    pub prefs: Mutex<Preferences>,
    /// Problems to show once (damaged preferences, a scanner setting, a failed purge).
    pub notices: Mutex<Vec<UiError>>,
    pub demo: Option<Demo>,
    pub demo_next: Mutex<usize>,
    /// Scanners named on the command line, read in addition to the configured ones.
    pub extra_serial: Vec<String>,
    pub scanners_changed: AtomicBool,
    /// The request under review (its bytes, as read once).
    pub request: Mutex<Option<Vec<u8>>>,
    /// Documents the app wrote: only these may be opened in the system viewer.
    pub written: Mutex<HashSet<PathBuf>>,
    /// The print jobs this app sent (printer, job), the only ones the window may follow.
    pub sent_jobs: Mutex<HashSet<(String, i32)>>,
    /// Set by the operator's "quit" in kiosk mode, which otherwise refuses to close.
    pub allow_exit: AtomicBool,
    pub kiosk_mode: AtomicBool,
    /// Whether the setup is complete; until then the counter takes no scans.
    pub setup_done: AtomicBool,
    /// The code of the guest last registered at the counter, for its fob card: the card
    /// carries exactly the code that was checked in.
    pub last_registered: Mutex<Option<(String, Instant)>>,
    /// Tables of open check-ins made at this counter, by record id, in memory only (the
    /// database holds them sealed): they tell guests apart in the check-out list.
    pub tables: Mutex<std::collections::HashMap<String, u16>>,
    /// The listener to the venue's server (if it has one); stops when dropped.
    pub listener: Mutex<Option<tresen_venue::store::server::listen::Listener>>,
}

/// Locks a mutex; a panic elsewhere never leaves the app unusable.
pub fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

fn not_set_up() -> UiError {
    UiError::new("not-set-up", "the venue is not set up")
}

impl AppState {
    /// The state of a freshly started app: the venue (if one is set up) and where the
    /// counter starts.
    pub fn new(data_dir: PathBuf, venue: Option<Venue>, area: Option<i64>) -> Self {
        let setup_done = venue
            .as_ref()
            .and_then(|k| k.setup_step().ok())
            .is_some_and(|s| s == SetupStep::Done);
        Self {
            data_dir,
            desk: Mutex::new(Desk {
                venue,
                session: ScanSession::new(area),
            }),
            devices: Mutex::new(BTreeMap::new()),
            recent: Mutex::new(Vec::new()),
            open_error: Mutex::new(None),
            operator_until: Mutex::new(None),
            prefs: Mutex::new(Preferences::default()),
            notices: Mutex::new(Vec::new()),
            demo: None,
            demo_next: Mutex::new(0),
            extra_serial: Vec::new(),
            scanners_changed: AtomicBool::new(false),
            request: Mutex::new(None),
            written: Mutex::new(HashSet::new()),
            sent_jobs: Mutex::new(HashSet::new()),
            allow_exit: AtomicBool::new(false),
            kiosk_mode: AtomicBool::new(false),
            setup_done: AtomicBool::new(setup_done),
            last_registered: Mutex::new(None),
            tables: Mutex::new(std::collections::HashMap::new()),
            listener: Mutex::new(None),
        }
    }

    /// Keeps the table of a check-in, forgets it at check-out.
    pub fn remember_tables(&self, r: &ScanResult) {
        let Some(record) = r.outcome.record.map(|id| id.to_string()) else {
            return;
        };
        let mut tables = lock(&self.tables);
        match (r.outcome.code.as_str(), r.outcome.table) {
            ("checked-out", _) => {
                tables.remove(&record);
            }
            (_, Some(t)) => {
                tables.insert(record, t);
            }
            _ => {}
        }
    }

    /// Runs `f` with the open venue.
    pub fn with_venue<T, E: Into<UiError>>(
        &self,
        f: impl FnOnce(&mut Venue) -> Result<T, E>,
    ) -> UiResult<T> {
        let mut desk = lock(&self.desk);
        let venue = desk.venue.as_mut().ok_or_else(not_set_up)?;
        f(venue).map_err(Into::into)
    }

    /// Runs `f` with the open venue and the counter's scan session, under the one lock.
    pub fn with_desk<T, E: Into<UiError>>(
        &self,
        f: impl FnOnce(&mut Venue, &mut ScanSession) -> Result<T, E>,
    ) -> UiResult<T> {
        let mut guard = lock(&self.desk);
        let desk = &mut *guard;
        let venue = desk.venue.as_mut().ok_or_else(not_set_up)?;
        f(venue, &mut desk.session).map_err(Into::into)
    }

    pub fn operator_active(&self) -> bool {
        lock(&self.operator_until).is_some_and(|until| Instant::now() < until)
    }

    /// Refuses unless an operator unlocked the operator screens recently; each operator
    /// action extends the session.
    pub fn require_operator(&self) -> UiResult<()> {
        let mut until = lock(&self.operator_until);
        match *until {
            Some(t) if Instant::now() < t => {
                *until = Some(Instant::now() + OPERATOR_IDLE);
                Ok(())
            }
            _ => {
                *until = None;
                Err(UiError::new(
                    "operator-locked",
                    "this needs the operator PIN; open the operator screens first",
                ))
            }
        }
    }

    /// Destructive or security-relevant changes ask for the PIN again at the moment they
    /// are made, even within an unlocked session.
    pub fn confirm_pin(&self, pin: Option<&str>) -> UiResult<()> {
        let pin = pin
            .map(str::trim)
            .filter(|p| !p.is_empty())
            .ok_or_else(|| {
                UiError::new(
                    "pin-required",
                    "enter the operator PIN again to confirm this change",
                )
            })?;
        self.with_venue(|k| k.check_operator_pin(pin, now()))
    }

    fn setup_step(&self) -> UiResult<Option<SetupStep>> {
        let desk = lock(&self.desk);
        Ok(desk.venue.as_ref().map(|k| k.setup_step()).transpose()?)
    }

    /// During the setup (no PIN exists yet) anyone at the PC is the operator; afterwards
    /// only an unlocked operator session is.
    pub fn require_setup_or_operator(&self) -> UiResult<()> {
        if self.setup_step()? == Some(SetupStep::Done) {
            self.require_operator()
        } else {
            Ok(())
        }
    }

    /// Wizard steps may be done without a PIN only while the setup is at that step.
    pub fn require_setup_step_or_operator(&self, step: SetupStep) -> UiResult<()> {
        if self.operator_active() {
            return self.require_operator();
        }
        match self.setup_step()? {
            None => Err(not_set_up()),
            Some(current) if current == step => Ok(()),
            Some(_) => Err(UiError::new(
                "operator-locked",
                "this step of the setup is done; changes need the operator PIN",
            )),
        }
    }

    pub fn remember_written(&self, path: &Path) {
        lock(&self.written).insert(path.to_path_buf());
    }

    pub fn push_recent(&self, r: &ScanResult) {
        let mut recent = lock(&self.recent);
        recent.insert(0, r.clone());
        recent.truncate(20);
    }
}
