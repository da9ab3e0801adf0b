//! The counter screen's commands: scans, the overview, registration without a code,
//! checking guests out.

use std::collections::BTreeMap;
use std::sync::atomic::Ordering;

use serde::Serialize;
use tauri::State;
use tresen::dashboard::{dashboard, AreaCount, Warning};
use tresen::demo::DemoScan;
use tresen::outcome::Outcome;
use tresen::pc_preferences::Language;
use tresen_devices::scanner::wedge;
use tresen_devices::scanner::DeviceState;
use tresen_protocol::checkin_record::Method;
use tresen_protocol::contact::ContactData;
use tresen_venue::{RecordId, Refusal, SetupStep};

use crate::state::{lock, now, AppState, ScanResult, UiError, UiResult};

#[derive(Serialize)]
pub struct DemoInfo {
    passphrase: &'static str,
    pin: &'static str,
    key_file: String,
    folder: String,
}

/// The counter screen: the venue's dashboard and what this PC adds to it.
#[derive(Serialize)]
pub struct Overview {
    initialized: bool,
    error: Option<UiError>,
    setup_step: Option<SetupStep>,
    venue: Option<String>,
    fingerprint: Option<String>,
    present: u32,
    areas: Vec<AreaCount>,
    /// (start of hour, check-ins) for today's business day.
    arrivals: Vec<(i64, u32)>,
    /// Warning codes; the window words them in its language.
    warnings: Vec<Warning>,
    current_area: Option<i64>,
    current_area_name: Option<String>,
    /// The area of a guest waiting for a table (tap a number or scan the card).
    waiting_for_table: Option<i64>,
    notices: Vec<UiError>,
    devices: BTreeMap<String, DeviceState>,
    recent: Vec<ScanResult>,
    operator: bool,
    demo: Option<DemoInfo>,
    language: Language,
    sound: bool,
    kiosk_mode: bool,
    /// A counter of a venue on a server: online, or offline with scans waiting here.
    sync: Option<tresen_venue::store::SyncState>,
}

/// The counter takes scans, registrations and taps only once the setup is done.
fn counter_ready(state: &AppState) -> UiResult<()> {
    // Not set up: the same error as any command; set up but not finished: wait.
    state.with_venue(|_| Ok::<_, UiError>(()))?;
    if state.setup_done.load(Ordering::Relaxed) {
        Ok(())
    } else {
        Err(UiError::new("setup-incomplete", "finish the setup first"))
    }
}

/// Hands one scanned text to the counter.
pub fn handle_scan(state: &AppState, text: &str, device: &str) -> ScanResult {
    let started = std::time::Instant::now();
    let result = counter_ready(state).and_then(|()| {
        state.with_desk(|k, session| {
            let o = session.handle(k, text, Method::Fob, now())?;
            Ok::<_, tresen_venue::Error>(Outcome::of_counter(k, &o))
        })
    });
    let result = match result {
        Ok(o) => ScanResult::new(o, device),
        Err(e) => ScanResult::failed(device, e),
    };
    tracing::info!(
        event = "scan.handled",
        device,
        code = %result.outcome.code,
        micros = started.elapsed().as_micros() as u64
    );
    state.remember_tables(&result);
    state.push_recent(&result);
    result
}

#[tauri::command]
pub fn overview(state: State<'_, AppState>) -> Overview {
    let prefs = lock(&state.prefs).clone();
    let mut out = Overview {
        initialized: false,
        error: lock(&state.open_error).clone(),
        setup_step: None,
        venue: None,
        fingerprint: None,
        present: 0,
        areas: Vec::new(),
        arrivals: Vec::new(),
        warnings: Vec::new(),
        current_area: None,
        current_area_name: None,
        waiting_for_table: None,
        notices: lock(&state.notices).clone(),
        devices: lock(&state.devices).clone(),
        recent: lock(&state.recent).clone(),
        operator: state.operator_active(),
        demo: state.demo.as_ref().map(|d| DemoInfo {
            passphrase: tresen::demo::PASSPHRASE,
            pin: tresen::demo::PIN,
            key_file: d.key_file.display().to_string(),
            folder: d.root.display().to_string(),
        }),
        language: prefs.language,
        sound: prefs.sound,
        kiosk_mode: state.kiosk_mode.load(Ordering::Relaxed),
        sync: None,
    };
    let demo = state.demo.is_some();
    let result = state.with_desk(|k, session| {
        let n = now();
        out.initialized = true;
        // The setup step first: the screen to show must not depend on the rest.
        let step = k.setup_step()?;
        state
            .setup_done
            .store(step == SetupStep::Done, Ordering::Relaxed);
        out.setup_step = Some(step);
        out.current_area = session.area();
        out.current_area_name = session.area().and_then(|a| k.area(a).ok()).map(|a| a.name);
        out.waiting_for_table = session.waiting_for_table(n);
        dashboard(k, demo, n)
    });
    match result {
        Ok(d) => {
            out.venue = Some(d.venue);
            out.fingerprint = Some(d.fingerprint);
            out.present = d.present;
            out.areas = d.areas;
            out.arrivals = d.arrivals;
            out.warnings = d.warnings;
            out.sync = d.sync;
        }
        Err(e) if out.initialized => out.error = Some(e),
        Err(_) => {}
    }
    out
}

/// The window shows the counter: logged so start-up can be measured.
#[tauri::command]
pub fn window_ready() {
    tracing::info!(event = "window.ready");
}

/// The keyboard-wedge field: a burst of keystrokes ending in Enter, with the gaps between
/// them in milliseconds.
#[tauri::command]
pub fn wedge_scan(state: State<'_, AppState>, text: String, gaps: Vec<u32>) -> ScanResult {
    match wedge::decode(&text, &gaps) {
        Ok(t) => handle_scan(&state, &t, "keyboard"),
        Err(e) => ScanResult::failed("keyboard", UiError::new(e.code(), e.to_string())),
    }
}

#[derive(Serialize)]
pub struct Registered {
    result: ScanResult,
    /// Whether a code was made that a fob card can now carry (`print_document` with
    /// `registered-fob`).
    printable: bool,
}

/// Registers a guest without a code at the current area: the typed contact data is
/// sealed at once and never stored in clear.
#[tauri::command]
pub fn register_guest(state: State<'_, AppState>, contact: ContactData) -> Registered {
    let registered = counter_ready(&state).and_then(|()| {
        state.with_desk(|k, session| {
            let area = session.area().ok_or(Refusal::NoAreaSelected)?;
            let (code, o) = k.register_guest(&contact, area, None, now())?;
            Ok::<_, tresen_venue::Error>((code, Outcome::of_scan(k, &o)))
        })
    });
    let (result, printable) = match registered {
        Ok((code, o)) => {
            *lock(&state.last_registered) = Some((code.to_text(), std::time::Instant::now()));
            (ScanResult::new(o, "form"), true)
        }
        Err(e) => (ScanResult::failed("form", e), false),
    };
    state.remember_tables(&result);
    state.push_recent(&result);
    Registered { result, printable }
}

/// Checks out everyone of one area (two taps), or everyone in every area, which needs the
/// operator PIN.
#[tauri::command]
pub fn close_all(
    state: State<'_, AppState>,
    area: Option<i64>,
    pin: Option<String>,
) -> UiResult<u64> {
    if area.is_none() {
        state.confirm_pin(pin.as_deref())?;
    }
    state.with_venue(|k| k.close_all(area, now()))
}

/// Selects the counter's area by tap.
#[tauri::command]
pub fn select_area(state: State<'_, AppState>, area: i64) -> UiResult<()> {
    state.with_desk(|k, session| {
        k.area(area)?;
        session.set_area(area);
        Ok::<_, tresen_venue::Error>(())
    })
}

/// A tap on a table number for the guest just checked in.
#[tauri::command]
pub fn tap_table(state: State<'_, AppState>, table: u16) -> ScanResult {
    let tapped = counter_ready(&state).and_then(|()| {
        state.with_desk(|k, session| {
            let o = session.tap_table(k, table, now())?;
            Ok::<_, tresen_venue::Error>(Outcome::of_counter(k, &o))
        })
    });
    let result = match tapped {
        Ok(o) => ScanResult::new(o, "tap"),
        Err(e) => ScanResult::failed("tap", e),
    };
    state.remember_tables(&result);
    state.push_recent(&result);
    result
}

#[derive(Serialize)]
pub struct OpenGuest {
    record: String,
    area: String,
    checked_in_at: i64,
    /// The table, if it was assigned at this counter since the app started (tables are
    /// sealed in the database; this PC only remembers them in memory).
    table: Option<u16>,
}

/// Guests still checked in (newest first), for checking one out by hand.
#[tauri::command]
pub fn open_checkins(state: State<'_, AppState>, area: Option<i64>) -> UiResult<Vec<OpenGuest>> {
    let open = state.with_venue(|k| {
        let open = k.open_checkins(area, now())?;
        Ok::<_, tresen_venue::Error>(
            open.into_iter()
                .take(200)
                .map(|o| OpenGuest {
                    area: k.area(o.area).map(|a| a.name).unwrap_or_default(),
                    record: o.record,
                    checked_in_at: o.checked_in_at,
                    table: None,
                })
                .collect::<Vec<_>>(),
        )
    })?;
    let tables = lock(&state.tables);
    Ok(open
        .into_iter()
        .map(|g| OpenGuest {
            table: tables.get(&g.record).copied(),
            ..g
        })
        .collect())
}

/// Checks one guest out by hand, with the same feedback as a scan.
#[tauri::command]
pub fn check_out(state: State<'_, AppState>, record: String) -> ScanResult {
    let checked_out = RecordId::parse(&record)
        .ok_or_else(|| UiError::new("unknown-record", format!("no check-in {record}")))
        .and_then(|id| {
            state.with_venue(|k| {
                let area = k
                    .open_checkins(None, now())?
                    .into_iter()
                    .find(|o| o.record == record)
                    .map(|o| o.area);
                k.check_out_record(id, now())?;
                let name = area.and_then(|a| k.area(a).ok()).map(|a| a.name);
                Ok::<_, tresen_venue::Error>(Outcome {
                    area: name,
                    record: Some(id),
                    ..Outcome::checked_out()
                })
            })
        });
    let result = match checked_out {
        Ok(o) => ScanResult::new(o, "list"),
        Err(e) => ScanResult::failed("list", e),
    };
    state.remember_tables(&result);
    state.push_recent(&result);
    result
}

/// Demo mode only: the simulated scanner "reads" a guest code, a table card, an area
/// code or a foreign code.
#[tauri::command]
pub fn demo_scan(state: State<'_, AppState>, kind: String) -> UiResult<ScanResult> {
    let demo = state
        .demo
        .as_ref()
        .ok_or_else(|| UiError::new("not-demo", "only in demo mode"))?;
    let kind = DemoScan::parse(&kind)
        .ok_or_else(|| UiError::new("error", format!("unknown demo scan '{kind}'")))?;
    let n = {
        let mut next = lock(&state.demo_next);
        *next += 1;
        *next
    };
    let text = state.with_desk(|k, session| {
        demo.scan_text(k, kind, n, session.area(), session.waiting_for_table(now()))
    })?;
    Ok(handle_scan(&state, &text, "demo"))
}
