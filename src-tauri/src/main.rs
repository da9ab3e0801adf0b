//! The Tresen desktop shell: maps window commands to the core and runs the scanners on a
//! background thread that pushes scans and device states to the window. No business
//! logic here.
#![cfg_attr(not(debug_assertions), windows_subsystem = "windows")]

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use serde::Serialize;
use tauri::{Emitter, Manager, State};
use tresen::checkin_record::Method;
use tresen::counter::{Counter, CounterOutcome};
use tresen::kiosk::{BackupState, Kiosk, ScanOutcome};
use tresen::scanner::serial::{SerialConfig, SerialScanner};
use tresen::scanner::{DeviceState, ScannerEvent, Scanners};

struct AppState {
    data_dir: PathBuf,
    kiosk: Mutex<Option<Kiosk>>,
    counter: Mutex<Counter>,
    devices: Mutex<BTreeMap<String, DeviceState>>,
    recent: Mutex<Vec<ScanResult>>,
    /// Why the kiosk could not be opened, for the window to show.
    open_error: Option<String>,
}

#[derive(Serialize)]
struct AreaCount {
    id: i64,
    location: String,
    name: String,
    present: u32,
}

#[derive(Serialize)]
struct Warning {
    code: &'static str,
    since: Option<i64>,
}

#[derive(Serialize)]
struct Overview {
    data_dir: String,
    initialized: bool,
    error: Option<String>,
    venue: Option<String>,
    fingerprint: Option<String>,
    present: u32,
    areas: Vec<AreaCount>,
    current_area: Option<String>,
    /// Warning codes; the window words them in its language.
    warnings: Vec<Warning>,
    devices: BTreeMap<String, DeviceState>,
    recent: Vec<ScanResult>,
}

/// What one scan did, for the window: `code` names the outcome or refusal.
#[derive(Serialize, Clone)]
struct ScanResult {
    ok: bool,
    code: String,
    area: Option<String>,
    table: Option<u16>,
    device: String,
    /// The core's English sentence, shown if the window has no translation.
    message: String,
    at: i64,
}

fn now() -> i64 {
    tresen::cli::now()
}

fn area_name(k: &Kiosk, id: i64) -> Option<String> {
    k.area(id).ok().map(|a| a.name)
}

fn handle_scan(state: &AppState, text: &str, device: &str) -> ScanResult {
    let mut result = ScanResult {
        ok: false,
        code: "error".into(),
        area: None,
        table: None,
        device: device.to_string(),
        message: String::new(),
        at: now(),
    };
    let (Ok(mut kg), Ok(mut counter)) = (state.kiosk.lock(), state.counter.lock()) else {
        result.message = "internal error: restart the app".into();
        return result;
    };
    let Some(k) = kg.as_mut() else {
        result.code = "not-set-up".into();
        result.message = "the venue is not set up".into();
        return result;
    };
    match counter.handle(k, text, Method::Fob, now()) {
        Ok(outcome) => {
            result.ok = !matches!(outcome, CounterOutcome::Refused(_));
            let (code, area, table) = match &outcome {
                CounterOutcome::Guest(ScanOutcome::CheckedIn { area, table, .. }) => {
                    ("checked-in", Some(*area), *table)
                }
                CounterOutcome::Guest(ScanOutcome::CheckedOut { area, .. }) => {
                    ("checked-out", Some(*area), None)
                }
                CounterOutcome::Guest(ScanOutcome::Moved { to_area, table, .. }) => {
                    ("moved", Some(*to_area), *table)
                }
                CounterOutcome::Guest(ScanOutcome::DoubleRead { area }) => {
                    ("double-read", Some(*area), None)
                }
                CounterOutcome::AreaSelected { area } => ("area-selected", Some(*area), None),
                CounterOutcome::TableAssigned { area, table, .. } => {
                    ("table-assigned", Some(*area), Some(*table))
                }
                CounterOutcome::Refused(r) => {
                    result.message = r.to_string();
                    (r.code(), None, None)
                }
            };
            result.code = code.into();
            result.area = area.and_then(|a| area_name(k, a));
            result.table = table;
        }
        Err(e) => {
            result.message = e.to_string();
        }
    }
    drop(counter);
    drop(kg);
    if let Ok(mut recent) = state.recent.lock() {
        recent.insert(0, result.clone());
        recent.truncate(20);
    }
    result
}

#[tauri::command]
fn overview(state: State<'_, AppState>) -> Overview {
    let mut out = Overview {
        data_dir: state.data_dir.display().to_string(),
        initialized: false,
        error: state.open_error.clone(),
        venue: None,
        fingerprint: None,
        present: 0,
        areas: Vec::new(),
        current_area: None,
        warnings: Vec::new(),
        devices: state.devices.lock().map(|d| d.clone()).unwrap_or_default(),
        recent: state.recent.lock().map(|r| r.clone()).unwrap_or_default(),
    };
    let current = state.counter.lock().ok().and_then(|c| c.area());
    let Ok(mut guard) = state.kiosk.lock() else {
        out.error = Some("internal error: the kiosk state is poisoned; restart the app".into());
        return out;
    };
    let Some(k) = guard.as_mut() else {
        return out;
    };
    out.initialized = true;
    let result = (|| -> Result<(), tresen::Error> {
        let n = now();
        out.venue = Some(k.venue_name()?);
        out.fingerprint = Some(k.fingerprint());
        out.current_area = current.and_then(|a| area_name(k, a));
        for (a, count) in k.present(n)? {
            out.present += count;
            out.areas.push(AreaCount {
                id: a.id,
                location: a.location,
                name: a.name,
                present: count,
            });
        }
        let (code, since) = match k.backup_status(n)?.state {
            BackupState::NoCopy => (Some("backup-no-copy"), None),
            BackupState::NotVerified => (Some("backup-not-verified"), None),
            BackupState::Overdue { verified_at } => (Some("backup-overdue"), Some(verified_at)),
            BackupState::Ok => (None, None),
        };
        out.warnings
            .extend(code.map(|code| Warning { code, since }));
        if k.secret_warning().is_some() {
            out.warnings.push(Warning {
                code: "secret-in-file",
                since: None,
            });
        }
        Ok(())
    })();
    if let Err(e) = result {
        out.error = Some(e.to_string());
    }
    out
}

/// The keyboard-wedge field: a burst of keystrokes ending in Enter, with the gaps between
/// them in milliseconds.
#[tauri::command]
fn wedge_scan(state: State<'_, AppState>, text: String, gaps: Vec<u32>) -> ScanResult {
    match tresen::scanner::wedge::decode(&text, &gaps) {
        Ok(t) => handle_scan(&state, &t, "keyboard"),
        Err(e) => ScanResult {
            ok: false,
            code: match e {
                tresen::scanner::wedge::WedgeError::TooSlow => "typed-not-scanned".into(),
                tresen::scanner::wedge::WedgeError::TooShort => "too-short".into(),
            },
            area: None,
            table: None,
            device: "keyboard".into(),
            message: e.to_string(),
            at: now(),
        },
    }
}

/// Registers a guest without a code at the current area: the typed contact data is
/// sealed at once and never stored in clear.
#[tauri::command]
fn register_guest(state: State<'_, AppState>, contact: tresen::contact::ContactData) -> ScanResult {
    let mut result = ScanResult {
        ok: false,
        code: "error".into(),
        area: None,
        table: None,
        device: "form".into(),
        message: String::new(),
        at: now(),
    };
    let area = state.counter.lock().ok().and_then(|c| c.area());
    let Ok(mut kg) = state.kiosk.lock() else {
        return result;
    };
    let Some(k) = kg.as_mut() else {
        result.code = "not-set-up".into();
        return result;
    };
    let Some(area) = area else {
        result.code = "no-area".into();
        return result;
    };
    match k.register_guest(&contact, area, None, now()) {
        Ok((_, outcome)) => {
            result.ok = true;
            result.code = match outcome {
                ScanOutcome::CheckedIn { .. } => "checked-in",
                ScanOutcome::Moved { .. } => "moved",
                ScanOutcome::CheckedOut { .. } => "checked-out",
                ScanOutcome::DoubleRead { .. } => "double-read",
            }
            .into();
            result.area = area_name(k, area);
        }
        Err(tresen::Error::Contact(e)) => {
            result.code = "invalid-contact".into();
            result.message = e.to_string();
        }
        Err(tresen::Error::Refused(r)) => {
            result.code = r.code().into();
            result.message = r.to_string();
        }
        Err(e) => result.message = e.to_string(),
    }
    drop(kg);
    if let Ok(mut recent) = state.recent.lock() {
        recent.insert(0, result.clone());
        recent.truncate(20);
    }
    result
}

/// Checks everyone out (closing time).
#[tauri::command]
fn close_all(state: State<'_, AppState>) -> Result<u64, String> {
    let mut kg = state
        .kiosk
        .lock()
        .map_err(|_| "internal error".to_string())?;
    let k = kg.as_mut().ok_or("the venue is not set up")?;
    k.close_all(None, now()).map_err(|e| e.to_string())
}

/// Selects the counter's area by tap.
#[tauri::command]
fn select_area(state: State<'_, AppState>, area: i64) -> Result<(), String> {
    let mut c = state
        .counter
        .lock()
        .map_err(|_| "internal error".to_string())?;
    c.set_area(area);
    Ok(())
}

struct Args {
    data_dir: Option<PathBuf>,
    serial: Vec<String>,
    area: Option<String>,
}

fn args() -> Args {
    let mut a = Args {
        data_dir: std::env::var_os("TRESEN_DATA_DIR").map(PathBuf::from),
        serial: std::env::var("TRESEN_SERIAL")
            .map(|s| s.split(',').map(str::to_string).collect())
            .unwrap_or_default(),
        area: std::env::var("TRESEN_AREA").ok(),
    };
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        let (key, inline) = match arg.split_once('=') {
            Some((k, v)) => (k.to_string(), Some(v.to_string())),
            None => (arg.clone(), None),
        };
        let mut value = || inline.clone().or_else(|| it.next());
        match key.as_str() {
            "--data-dir" => a.data_dir = value().map(PathBuf::from),
            "--serial" => a.serial.extend(value()),
            "--area" => a.area = value(),
            _ => {}
        }
    }
    a
}

fn serial_config(spec: &str) -> SerialConfig {
    match spec
        .rsplit_once('@')
        .and_then(|(p, b)| Some((p, b.parse::<u32>().ok()?)))
    {
        Some((path, baud)) => SerialConfig::new(path, baud),
        None => SerialConfig::new(spec, 9600),
    }
}

/// Runs the scanners and hands every scan to the counter; the window hears of each
/// result and device state change as an event.
fn scanner_loop(app: tauri::AppHandle, serial: Vec<String>) {
    let mut scanners = Scanners::new();
    for s in &serial {
        scanners.add(Box::new(SerialScanner::new(serial_config(s))));
    }
    let mut last_prepare = Instant::now();
    loop {
        let state = app.state::<AppState>();
        match scanners.next_event(Duration::from_millis(250)) {
            Some(ScannerEvent::Scan(scan)) => {
                let result = handle_scan(&state, &scan.text, &scan.device);
                let _ = app.emit("scan-result", result);
            }
            Some(ScannerEvent::State { device, state: s }) => {
                if let Ok(mut d) = state.devices.lock() {
                    d.insert(device.clone(), s.clone());
                }
                let _ = app.emit("scanner-state", (device, s));
            }
            None => {}
        }
        // Idle moments prepare the sealing of the next check-ins.
        if last_prepare.elapsed() > Duration::from_millis(200) {
            if let Ok(mut k) = state.kiosk.lock() {
                if let Some(k) = k.as_mut() {
                    let _ = k.prepare_seals(8);
                }
            }
            last_prepare = Instant::now();
        }
    }
}

fn main() {
    let a = args();
    let data_dir = a
        .data_dir
        .or_else(tresen::kiosk::default_data_dir)
        .unwrap_or_else(|| PathBuf::from("tresen-data"));
    let (kiosk, open_error) = if Kiosk::is_initialized(&data_dir) {
        match Kiosk::open(&data_dir, now()) {
            Ok(k) => (Some(k), None),
            Err(e) => (None, Some(e.to_string())),
        }
    } else {
        (None, None)
    };
    let area = match (&kiosk, &a.area) {
        (Some(k), Some(name)) => k.area_id(name).ok(),
        _ => None,
    };
    let state = AppState {
        data_dir,
        kiosk: Mutex::new(kiosk),
        counter: Mutex::new(Counter::new(area)),
        devices: Mutex::new(BTreeMap::new()),
        recent: Mutex::new(Vec::new()),
        open_error,
    };
    let serial = a.serial;
    tauri::Builder::default()
        .manage(state)
        .setup(move |app| {
            let handle = app.handle().clone();
            std::thread::spawn(move || scanner_loop(handle, serial));
            let handle = app.handle().clone();
            std::thread::spawn(move || loop {
                std::thread::sleep(Duration::from_secs(3600));
                let state = handle.state::<AppState>();
                if let Ok(mut g) = state.kiosk.lock() {
                    if let Some(k) = g.as_mut() {
                        if let Err(e) = k.purge(now()) {
                            eprintln!("tresen: hourly retention purge failed: {e}");
                        }
                    }
                };
            });
            Ok(())
        })
        .invoke_handler(tauri::generate_handler![
            overview,
            wedge_scan,
            select_area,
            register_guest,
            close_all
        ])
        .run(tauri::generate_context!())
        .unwrap_or_else(|e| {
            eprintln!("tresen: the window could not be started: {e}");
            std::process::exit(1);
        });
}
