//! The scanner thread: reads every configured scanner, hands scans to the counter and
//! tells the window about results and device states. Restarts its scanners when the
//! operator changes them.

use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use tauri::{AppHandle, Emitter, Manager, Runtime};
use tresen_devices::scanner::{ScannerEvent, Scanners};
use tresen_devices::setting::ScannerSetting;

use crate::counter::handle_scan;
use crate::state::{lock, AppState};

fn start(state: &AppState) -> Scanners {
    let mut scanners = Scanners::new();
    let configured = lock(&state.prefs).scanners.clone();
    let extra = state
        .extra_serial
        .iter()
        .map(|spec| ScannerSetting::parse_serial(spec, "cr"));
    for setting in configured.into_iter().map(Ok).chain(extra) {
        match setting.and_then(|s| s.source()) {
            Ok(source) => scanners.add(source),
            Err(e) => lock(&state.notices).push(e.into()),
        }
    }
    scanners
}

pub fn run<R: Runtime>(app: AppHandle<R>) {
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
        // Idle moments prepare the next check-ins' sealing and the store's maintenance.
        if last_prepare.elapsed() > Duration::from_millis(200) {
            if let Some(k) = lock(&state.desk).venue.as_mut() {
                let _ = k.use_idle_time();
            }
            last_prepare = Instant::now();
        }
    }
}
