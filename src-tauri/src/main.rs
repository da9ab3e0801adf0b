//! The Tresen desktop shell: maps window commands to the core. No business logic here.
#![cfg_attr(not(debug_assertions), windows_subsystem = "windows")]

use std::path::PathBuf;
use std::sync::Mutex;
use std::time::Duration;

use serde::Serialize;
use tauri::State;
use tresen::kiosk::{BackupState, Kiosk};

struct AppState {
    data_dir: PathBuf,
    kiosk: Mutex<Option<Kiosk>>,
    /// Why the kiosk could not be opened, for the window to show.
    open_error: Option<String>,
}

#[derive(Serialize)]
struct AreaCount {
    location: String,
    name: String,
    present: u32,
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
    /// Warning codes; the window words them in its language.
    warnings: Vec<Warning>,
}

#[derive(Serialize)]
struct Warning {
    code: &'static str,
    since: Option<i64>,
}

fn now() -> i64 {
    tresen::cli::now()
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
        warnings: Vec::new(),
    };
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
        for (a, count) in k.present(n)? {
            out.present += count;
            out.areas.push(AreaCount {
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

fn data_dir_from_args() -> Option<PathBuf> {
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        if a == "--data-dir" {
            return args.next().map(PathBuf::from);
        }
        if let Some(v) = a.strip_prefix("--data-dir=") {
            return Some(PathBuf::from(v));
        }
    }
    std::env::var_os("TRESEN_DATA_DIR").map(PathBuf::from)
}

fn main() {
    tracing_subscriber_init();
    let data_dir = data_dir_from_args()
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
    let state = AppState {
        data_dir,
        kiosk: Mutex::new(kiosk),
        open_error,
    };
    tauri::Builder::default()
        .manage(state)
        .setup(|app| {
            let handle = tauri::Manager::app_handle(app).clone();
            std::thread::spawn(move || loop {
                std::thread::sleep(Duration::from_secs(3600));
                let state = tauri::Manager::state::<AppState>(&handle);
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
        .invoke_handler(tauri::generate_handler![overview])
        .run(tauri::generate_context!())
        .unwrap_or_else(|e| {
            eprintln!("tresen: the window could not be started: {e}");
            std::process::exit(1);
        });
}

fn tracing_subscriber_init() {
    // The shell logs through the core's tracing events; stderr keeps them out of the UI.
    let _ = std::io::Write::flush(&mut std::io::stderr());
}
