//! The Tresen desktop shell: maps window commands to the use cases and runs the scanners
//! on a background thread that pushes scans and device states to the window. No business
//! logic here: each command checks the caller's role and calls one use case.

pub mod counter;
pub mod operator;
pub mod printing;
pub mod requests;
mod scanners;
pub mod server;
pub mod setup;
pub mod state;

use std::path::PathBuf;
use std::sync::atomic::Ordering;
use std::time::Duration;

use tauri::ipc::Invoke;
use tauri::{AppHandle, Manager, Runtime, WindowEvent};
use tresen::pc_preferences::Preferences;
use tresen_venue::Venue;

pub use state::AppState;
use state::{lock, now};

const USAGE: &str = "\
Tresen: the venue's counter app (guest registration for contact tracing).

Usage: tresen-app [OPTIONS]

Options:
  --data-dir DIR    the venue's data folder (default: the user's data folder; also TRESEN_DATA_DIR)
  --serial PATH[@BAUD]
                    also read this serial scanner (repeatable; also TRESEN_SERIAL=a,b)
  --area NAME       the area the counter starts at (also TRESEN_AREA)
  --kiosk           full screen; only the operator closes the app
  --demo            a throw-away demo venue, deleted on exit (also TRESEN_DEMO=1)
  -h, --help        this text
  -V, --version     the version

The command-line tool `tresen` does everything without a window (`tresen --help`).";

struct Args {
    data_dir: Option<PathBuf>,
    serial: Vec<String>,
    area: Option<String>,
    demo: bool,
    kiosk: bool,
}

fn args() -> Args {
    let mut a = Args {
        data_dir: std::env::var_os("TRESEN_DATA_DIR").map(PathBuf::from),
        serial: std::env::var("TRESEN_SERIAL")
            .map(|s| s.split(',').map(str::to_string).collect())
            .unwrap_or_default(),
        area: std::env::var("TRESEN_AREA").ok(),
        demo: std::env::var("TRESEN_DEMO").as_deref() == Ok("1"),
        kiosk: false,
    };
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        let (key, inline) = match arg.split_once('=') {
            Some((k, v)) => (k.to_string(), Some(v.to_string())),
            None => (arg.clone(), None),
        };
        let mut value = || inline.clone().or_else(|| it.next());
        match key.as_str() {
            "--help" | "-h" => {
                println!("{USAGE}");
                std::process::exit(0);
            }
            "--version" | "-V" => {
                println!("{}", tresen::about::version_line("tresen-app"));
                std::process::exit(0);
            }
            "--data-dir" => a.data_dir = value().map(PathBuf::from),
            "--serial" => a.serial.extend(value()),
            "--area" => a.area = value(),
            "--demo" => a.demo = true,
            "--kiosk" => a.kiosk = true,
            _ => {}
        }
    }
    a
}

/// Full screen without decorations; closing then needs the operator (see `exit_app`).
pub fn apply_kiosk_mode<R: Runtime>(app: &AppHandle<R>, on: bool) {
    app.state::<AppState>()
        .kiosk_mode
        .store(on, Ordering::Relaxed);
    if let Some(w) = app.get_webview_window("main") {
        let _ = w.set_fullscreen(on);
        let _ = w.set_decorations(!on);
    }
}

/// One instance per data folder: a second start focuses the running window.
fn instance_id(data_dir: &std::path::Path) -> String {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    data_dir.hash(&mut h);
    format!("de.tresen.kiosk.d{:016x}", h.finish())
}

/// Demo folders of demo runs that were killed instead of quit.
fn remove_stale_demos() {
    let Ok(entries) = std::fs::read_dir(std::env::temp_dir()) else {
        return;
    };
    for e in entries.flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        let pid = name
            .strip_prefix("tresen-demo-")
            .and_then(|rest| rest.split('-').next());
        if let Some(pid) = pid {
            if !std::path::Path::new("/proc").join(pid).exists() {
                let _ = std::fs::remove_dir_all(e.path());
            }
        }
    }
}

/// Starts the app: parses the arguments, opens the venue and runs the window until it
/// closes.
pub fn run_app() {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    tracing::info!(event = "process.start");
    let a = args();
    let mut notices = Vec::new();
    let (demo, demo_venue) = if a.demo {
        remove_stale_demos();
        let root =
            std::env::temp_dir().join(format!("tresen-demo-{}-{}", std::process::id(), now()));
        match tresen::demo::Demo::create(&root, now()) {
            Ok((d, k)) => (Some(d), Some(k)),
            Err(e) => {
                eprintln!("tresen: the demo could not be started: {e}");
                std::process::exit(1);
            }
        }
    } else {
        (None, None)
    };
    let data_dir = demo
        .as_ref()
        .map(|d| d.data_dir.clone())
        .or(a.data_dir)
        .or_else(tresen_venue::default_data_dir)
        .unwrap_or_else(|| PathBuf::from("tresen-data"));
    let (venue, open_error) = match demo_venue {
        Some(k) => (Some(k), None),
        None if Venue::is_initialized(&data_dir) => match Venue::open(&data_dir, now()) {
            Ok(k) => (Some(k), None),
            Err(e) => (None, Some(e.into())),
        },
        None => (None, None),
    };
    let prefs = Preferences::load(&data_dir).unwrap_or_else(|e| {
        notices.push(state::UiError::from(e));
        Preferences::default()
    });
    let area = match (&venue, &a.area) {
        (Some(k), Some(name)) => k.area_id(name).ok(),
        (Some(k), None) => k
            .areas()
            .ok()
            .and_then(|v| {
                v.into_iter()
                    .find(|x| x.state == tresen_venue::AreaState::Open)
            })
            .map(|x| x.id),
        _ => None,
    };
    let kiosk_mode = a.kiosk || prefs.kiosk_mode;
    let id = instance_id(&data_dir);
    let demo_root = demo.as_ref().map(|d| d.root.clone());
    let mut state = AppState::new(data_dir, venue, area);
    *lock(&state.open_error) = open_error;
    *lock(&state.prefs) = prefs;
    *lock(&state.notices) = notices;
    state.demo = demo;
    state.extra_serial = a.serial;
    state.kiosk_mode.store(kiosk_mode, Ordering::Relaxed);
    let app = tauri::Builder::default()
        .plugin(
            tauri_plugin_single_instance::Builder::new()
                .dbus_id(id)
                .callback(|app, _argv, _cwd| {
                    if let Some(w) = app.get_webview_window("main") {
                        let _ = w.unminimize();
                        let _ = w.set_focus();
                    }
                })
                .build(),
        )
        .plugin(tauri_plugin_window_state::Builder::new().build())
        .plugin(tauri_plugin_dialog::init())
        .manage(state)
        .setup(move |app| {
            if kiosk_mode {
                apply_kiosk_mode(app.handle(), true);
            }
            let handle = app.handle().clone();
            std::thread::spawn(move || scanners::run(handle));
            server::start_listener(app.handle());
            let handle = app.handle().clone();
            std::thread::spawn(move || loop {
                std::thread::sleep(Duration::from_secs(3600));
                let state = handle.state::<AppState>();
                let failed = lock(&state.desk)
                    .venue
                    .as_mut()
                    .and_then(|k| k.purge(now()).err());
                if let Some(e) = failed {
                    tracing::error!(event = "retention.purge_failed", error = %e);
                    lock(&state.notices).push(e.into());
                }
            });
            Ok(())
        })
        .on_window_event(|window, event| {
            if let WindowEvent::CloseRequested { api, .. } = event {
                let state = window.state::<AppState>();
                if state.kiosk_mode.load(Ordering::Relaxed)
                    && !state.allow_exit.load(Ordering::Relaxed)
                {
                    api.prevent_close();
                }
            }
        })
        .invoke_handler(invoke_handler())
        .build(tauri::generate_context!());
    let app = match app {
        Ok(app) => app,
        Err(e) => {
            eprintln!("tresen: the window could not be started: {e}");
            std::process::exit(1);
        }
    };
    app.run(move |_, event| {
        if let tauri::RunEvent::Exit = event {
            // The demo's throw-away venue goes with the demo.
            if let Some(root) = &demo_root {
                let _ = std::fs::remove_dir_all(root);
            }
        }
    });
}

/// Every command the window may call.
pub fn invoke_handler<R: Runtime>() -> impl Fn(Invoke<R>) -> bool + Send + Sync + 'static {
    tauri::generate_handler![
        counter::overview,
        counter::window_ready,
        counter::wedge_scan,
        counter::select_area,
        counter::register_guest,
        counter::close_all,
        counter::tap_table,
        counter::open_checkins,
        counter::check_out,
        counter::demo_scan,
        setup::inspect_trust_file,
        setup::passphrase_strength,
        setup::suggest_key_file,
        setup::create_venue,
        setup::key_status,
        setup::backup_copy,
        setup::backup_verify,
        setup::backup_postpone,
        setup::delete_pc_key_copy,
        setup::key_file_place,
        setup::setup_areas,
        setup::set_pin,
        operator::unlock,
        operator::lock_operator,
        operator::venue_admin,
        operator::change_areas,
        operator::get_settings,
        operator::set_setting,
        operator::confirm_clock,
        operator::set_preferences,
        operator::set_display,
        operator::list_devices,
        operator::key_replace,
        operator::key_restore,
        operator::exit_app,
        printing::suggest_pdf_path,
        printing::print_document,
        printing::list_printers,
        printing::print_job_state,
        printing::counter_printing,
        printing::print_slip,
        printing::print_test_slip,
        printing::open_document,
        printing::choose_path,
        requests::review_request_file,
        requests::suggest_answer_path,
        requests::approve_request,
        requests::decline_request,
        requests::audit_log,
        requests::demo_request,
        server::join_venue,
        server::counters,
        server::add_counter,
        server::revoke_counter,
    ]
}
