//! The scanner thread: reads every configured scanner, hands scans to the counter and
//! tells the window about results and device states. Restarts its scanners when the
//! operator changes them.

use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use tauri::{AppHandle, Emitter, Manager};
use tresen::preferences::ScannerSetting;
use tresen::scanner::{ScannerEvent, Scanners};

use crate::counter::handle_scan;
use crate::state::{lock, AppState};

/// `PATH@BAUD` as given with `--serial`.
pub fn serial_setting(spec: &str) -> ScannerSetting {
    let (path, baud) = spec
        .rsplit_once('@')
        .and_then(|(p, b)| Some((p, b.parse::<u32>().ok()?)))
        .unwrap_or((spec, 9600));
    ScannerSetting::Serial {
        path: path.into(),
        baud,
        terminator: "cr".into(),
    }
}

fn start(state: &AppState) -> Scanners {
    let mut scanners = Scanners::new();
    let configured = lock(&state.prefs).scanners.clone();
    let extra = state.extra_serial.iter().map(|s| serial_setting(s));
    for setting in configured.into_iter().chain(extra) {
        match setting.source() {
            Ok(source) => scanners.add(source),
            Err(e) => lock(&state.notices).push(e.to_string()),
        }
    }
    scanners
}

pub fn run(app: AppHandle) {
    let state = app.state::<AppState>();
    let mut scanners = start(&state);
    let mut last_prepare = Instant::now();
    loop {
        if state.scanners_changed.swap(false, Ordering::Relaxed) {
            drop(scanners);
            lock(&state.devices).clear();
            scanners = start(&state);
            let _ = app.emit("scanner-state", ());
        }
        match scanners.next_event(Duration::from_millis(250)) {
            Some(ScannerEvent::Scan(scan)) => {
                let result = handle_scan(&state, &scan.text, &scan.device);
                let _ = app.emit("scan-result", result);
            }
            Some(ScannerEvent::State { device, state: s }) => {
                lock(&state.devices).insert(device, s);
                let _ = app.emit("scanner-state", ());
            }
            None => {}
        }
        // Idle moments prepare the sealing of the next check-ins.
        if last_prepare.elapsed() > Duration::from_millis(200) {
            if let Some(k) = lock(&state.kiosk).as_mut() {
                let _ = k.prepare_seals(8);
            }
            last_prepare = Instant::now();
        }
    }
}
