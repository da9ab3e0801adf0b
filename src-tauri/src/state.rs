//! What the shell keeps between commands, and how core errors reach the window.

use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use serde::Serialize;
use tresen::counter::Counter;
use tresen::demo::Demo;
use tresen::kiosk::Kiosk;
use tresen::preferences::Preferences;
use tresen::scanner::DeviceState;

/// An operator session ends after this long without an operator action.
pub const OPERATOR_IDLE: Duration = Duration::from_secs(10 * 60);

/// An error as the window sees it: `code` is worded by the window in its language, the
/// core's English `message` is the detail and the fallback.
#[derive(Debug, Clone, Serialize)]
pub struct UiError {
    pub code: String,
    pub message: String,
}

impl UiError {
    pub fn new(code: &str, message: impl Into<String>) -> Self {
        Self {
            code: code.into(),
            message: message.into(),
        }
    }
}

impl From<tresen::kiosk::Error> for UiError {
    fn from(e: tresen::kiosk::Error) -> Self {
        Self::new(e.code(), e.to_string())
    }
}

impl From<tresen::keyfile::KeyFileError> for UiError {
    fn from(e: tresen::keyfile::KeyFileError) -> Self {
        tresen::kiosk::Error::from(e).into()
    }
}

pub type UiResult<T> = Result<T, UiError>;

/// What one scan (or a registration at the counter) did: `code` names the outcome or
/// the refusal.
#[derive(Serialize, Clone)]
pub struct ScanResult {
    pub ok: bool,
    pub code: String,
    pub area: Option<String>,
    pub table: Option<u16>,
    pub device: String,
    /// The core's English sentence, shown if the window has no translation.
    pub message: String,
    pub at: i64,
}

impl ScanResult {
    pub fn new(device: &str) -> Self {
        Self {
            ok: false,
            code: "error".into(),
            area: None,
            table: None,
            device: device.into(),
            message: String::new(),
            at: now(),
        }
    }
}

pub struct AppState {
    pub data_dir: PathBuf,
    pub kiosk: Mutex<Option<Kiosk>>,
    pub counter: Mutex<Counter>,
    pub devices: Mutex<BTreeMap<String, DeviceState>>,
    pub recent: Mutex<Vec<ScanResult>>,
    /// Why the venue could not be opened, for the window to show.
    pub open_error: Mutex<Option<String>>,
    pub operator_until: Mutex<Option<Instant>>,
    pub prefs: Mutex<Preferences>,
    /// Problems to show once (damaged preferences, …).
    pub notices: Mutex<Vec<String>>,
    pub demo: Option<Demo>,
    pub demo_next: Mutex<usize>,
    /// Scanners named on the command line, read in addition to the configured ones.
    pub extra_serial: Vec<String>,
    pub scanners_changed: AtomicBool,
    /// The request under review (its bytes, as read once).
    pub request: Mutex<Option<Vec<u8>>>,
    /// Documents the app wrote: only these may be opened in the system viewer.
    pub written: Mutex<HashSet<PathBuf>>,
    /// Set by the operator's "quit" in kiosk mode, which otherwise refuses to close.
    pub allow_exit: AtomicBool,
    pub kiosk_mode: AtomicBool,
    /// Whether the setup is complete; until then the counter takes no scans.
    pub setup_done: AtomicBool,
    /// The code of the guest last registered at the counter, for its fob card: the card
    /// carries exactly the code that was checked in.
    pub last_registered: Mutex<Option<(String, Instant)>>,
}

/// Locks a mutex; a panic elsewhere never leaves the app unusable.
pub fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

pub fn now() -> i64 {
    tresen::cli::now()
}

impl AppState {
    /// Runs `f` with the open venue.
    pub fn with_kiosk<T>(
        &self,
        f: impl FnOnce(&mut Kiosk) -> Result<T, tresen::kiosk::Error>,
    ) -> UiResult<T> {
        let mut guard = lock(&self.kiosk);
        let k = guard
            .as_mut()
            .ok_or_else(|| UiError::new("not-set-up", "the venue is not set up"))?;
        Ok(f(k)?)
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
        self.with_kiosk(|k| k.check_operator_pin(pin, now()))
    }

    /// During the setup (no PIN exists yet) anyone at the PC is the operator; afterwards
    /// only an unlocked operator session is.
    pub fn require_setup_or_operator(&self) -> UiResult<()> {
        let done = lock(&self.kiosk)
            .as_ref()
            .map(|k| k.setup_step())
            .transpose()?
            .is_some_and(|s| s == tresen::kiosk::SetupStep::Done);
        if done {
            self.require_operator()
        } else {
            Ok(())
        }
    }

    /// Wizard steps may be done without a PIN only while the setup is at that step.
    pub fn require_setup_step_or_operator(&self, step: tresen::kiosk::SetupStep) -> UiResult<()> {
        if self.operator_active() {
            return self.require_operator();
        }
        let current = self.with_kiosk(|k| k.setup_step())?;
        if current == step {
            Ok(())
        } else {
            Err(UiError::new(
                "operator-locked",
                "this step of the setup is done; changes need the operator PIN",
            ))
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
