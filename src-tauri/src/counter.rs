//! The counter screen's commands: scans, the overview, registration without a code,
//! checking guests out.

use std::collections::BTreeMap;
use std::sync::atomic::Ordering;

use serde::Serialize;
use tauri::State;
use tresen::checkin_record::Method;
use tresen::counter::CounterOutcome;
use tresen::kiosk::{BackupState, Kiosk, ScanOutcome, SetupStep};
use tresen::preferences::Language;
use tresen::scanner::DeviceState;

use crate::state::{lock, now, AppState, ScanResult, UiError, UiResult};

#[derive(Serialize)]
pub struct AreaCount {
    id: i64,
    location: String,
    name: String,
    present: u32,
    tables: Vec<u16>,
}

#[derive(Serialize)]
pub struct Warning {
    code: &'static str,
    since: Option<i64>,
}

#[derive(Serialize)]
pub struct DemoInfo {
    passphrase: &'static str,
    pin: &'static str,
    key_file: String,
    folder: String,
}

#[derive(Serialize)]
pub struct Overview {
    initialized: bool,
    error: Option<String>,
    setup_step: Option<SetupStep>,
    venue: Option<String>,
    fingerprint: Option<String>,
    present: u32,
    areas: Vec<AreaCount>,
    current_area: Option<i64>,
    current_area_name: Option<String>,
    /// The area of a guest waiting for a table (tap a number or scan the card).
    waiting_for_table: Option<i64>,
    /// (start of hour, check-ins) for today's business day.
    arrivals: Vec<(i64, u32)>,
    /// Warning codes; the window words them in its language.
    warnings: Vec<Warning>,
    notices: Vec<String>,
    devices: BTreeMap<String, DeviceState>,
    recent: Vec<ScanResult>,
    operator: bool,
    demo: Option<DemoInfo>,
    language: Language,
    sound: bool,
    kiosk_mode: bool,
}

fn area_name(k: &Kiosk, id: i64) -> Option<String> {
    k.area(id).ok().map(|a| a.name)
}

fn describe(k: &Kiosk, outcome: &CounterOutcome, result: &mut ScanResult) {
    result.ok = !matches!(outcome, CounterOutcome::Refused(_));
    let (code, area, table) = match outcome {
        CounterOutcome::Guest(g) => guest_outcome(g),
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

fn guest_outcome(g: &ScanOutcome) -> (&'static str, Option<i64>, Option<u16>) {
    match g {
        ScanOutcome::CheckedIn { area, table, .. } => ("checked-in", Some(*area), *table),
        ScanOutcome::CheckedOut { area, .. } => ("checked-out", Some(*area), None),
        ScanOutcome::Moved { to_area, table, .. } => ("moved", Some(*to_area), *table),
        ScanOutcome::DoubleRead { area } => ("double-read", Some(*area), None),
    }
}

/// Hands one scanned text to the counter.
pub fn handle_scan(state: &AppState, text: &str, device: &str) -> ScanResult {
    let started = std::time::Instant::now();
    let mut result = ScanResult::new(device);
    {
        let mut kg = lock(&state.kiosk);
        let mut counter = lock(&state.counter);
        match kg.as_mut() {
            None => {
                result.code = "not-set-up".into();
                result.message = "the venue is not set up".into();
            }
            Some(_) if !state.setup_done.load(Ordering::Relaxed) => {
                result.code = "setup-incomplete".into();
                result.message = "finish the setup first".into();
            }
            Some(k) => match counter.handle(k, text, Method::Fob, now()) {
                Ok(outcome) => describe(k, &outcome, &mut result),
                Err(e) => {
                    result.code = e.code().into();
                    result.message = e.to_string();
                }
            },
        }
    }
    tracing::info!(
        event = "scan.handled",
        device,
        code = %result.code,
        micros = started.elapsed().as_micros() as u64
    );
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
        current_area: None,
        current_area_name: None,
        waiting_for_table: None,
        arrivals: Vec::new(),
        warnings: Vec::new(),
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
        kiosk_mode: state.kiosk_mode.load(std::sync::atomic::Ordering::Relaxed),
    };
    let (current, waiting) = {
        let c = lock(&state.counter);
        (c.area(), c.waiting_for_table(now()))
    };
    let mut guard = lock(&state.kiosk);
    let Some(k) = guard.as_mut() else {
        return out;
    };
    out.initialized = true;
    let result = (|| -> Result<(), tresen::kiosk::Error> {
        let n = now();
        let step = k.setup_step()?;
        state
            .setup_done
            .store(step == SetupStep::Done, Ordering::Relaxed);
        out.setup_step = Some(step);
        out.venue = Some(k.venue_name()?);
        out.fingerprint = Some(k.fingerprint());
        out.current_area = current;
        out.current_area_name = current.and_then(|a| area_name(k, a));
        out.waiting_for_table = waiting;
        out.arrivals = k.arrivals_by_hour(n)?;
        for (a, count) in k.present(n)? {
            out.present += count;
            out.areas.push(AreaCount {
                id: a.id,
                location: a.location,
                name: a.name,
                present: count,
                tables: a.tables,
            });
        }
        let (code, since) = match k.backup_status(n)?.state {
            BackupState::NoCopy => (Some("backup-no-copy"), None),
            BackupState::NotVerified => (Some("backup-not-verified"), None),
            BackupState::SameMedium => (Some("backup-same-medium"), None),
            BackupState::Overdue { verified_at } => (Some("backup-overdue"), Some(verified_at)),
            BackupState::Ok => (None, None),
        };
        out.warnings
            .extend(code.map(|code| Warning { code, since }));
        match k.clock_state(n)? {
            tresen::kiosk::ClockState::Ok => {}
            tresen::kiosk::ClockState::Behind { latest }
            | tresen::kiosk::ClockState::Ahead { latest } => out.warnings.push(Warning {
                code: "clock-suspect",
                since: Some(latest),
            }),
        }
        if k.secret_warning().is_some() && state.demo.is_none() {
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

/// The window shows the counter: logged so start-up can be measured.
#[tauri::command]
pub fn window_ready() {
    tracing::info!(event = "window.ready");
}

/// The keyboard-wedge field: a burst of keystrokes ending in Enter, with the gaps between
/// them in milliseconds.
#[tauri::command]
pub fn wedge_scan(state: State<'_, AppState>, text: String, gaps: Vec<u32>) -> ScanResult {
    match tresen::scanner::wedge::decode(&text, &gaps) {
        Ok(t) => handle_scan(&state, &t, "keyboard"),
        Err(e) => {
            let mut r = ScanResult::new("keyboard");
            r.code = match e {
                tresen::scanner::wedge::WedgeError::TooSlow => "typed-not-scanned".into(),
                tresen::scanner::wedge::WedgeError::TooShort => "too-short".into(),
            };
            r.message = e.to_string();
            r
        }
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
pub fn register_guest(
    state: State<'_, AppState>,
    contact: tresen::contact::ContactData,
) -> Registered {
    let mut result = ScanResult::new("form");
    let mut printable = false;
    let area = lock(&state.counter).area();
    let outcome = state.with_kiosk(|k| {
        let area = area.ok_or(tresen::kiosk::Refusal::NoAreaSelected)?;
        let (c, outcome) = k.register_guest(&contact, area, None, now())?;
        Ok((c, outcome, area_name(k, area)))
    });
    match outcome {
        Ok((c, outcome, area)) => {
            result.ok = true;
            result.code = guest_outcome(&outcome).0.into();
            result.area = area;
            *lock(&state.last_registered) = Some((c.to_text(), std::time::Instant::now()));
            printable = true;
        }
        Err(e) => {
            result.code = e.code;
            result.message = e.message;
        }
    }
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
    state.with_kiosk(|k| k.close_all(area, now()))
}

/// Selects the counter's area by tap.
#[tauri::command]
pub fn select_area(state: State<'_, AppState>, area: i64) -> UiResult<()> {
    state.with_kiosk(|k| k.area(area).map(|_| ()))?;
    lock(&state.counter).set_area(area);
    Ok(())
}

/// A tap on a table number for the guest just checked in.
#[tauri::command]
pub fn tap_table(state: State<'_, AppState>, table: u16) -> ScanResult {
    let mut result = ScanResult::new("tap");
    {
        let mut kg = lock(&state.kiosk);
        let mut counter = lock(&state.counter);
        if let Some(k) = kg.as_mut() {
            match counter.tap_table(k, table, now()) {
                Ok(o) => describe(k, &o, &mut result),
                Err(e) => {
                    result.code = e.code().into();
                    result.message = e.to_string();
                }
            }
        }
    }
    state.push_recent(&result);
    result
}

#[derive(Serialize)]
pub struct OpenGuest {
    record: String,
    area: String,
    checked_in_at: i64,
}

/// Guests still checked in (newest first), for checking one out by hand.
#[tauri::command]
pub fn open_checkins(state: State<'_, AppState>, area: Option<i64>) -> UiResult<Vec<OpenGuest>> {
    state.with_kiosk(|k| {
        let open = k.open_checkins(area, now())?;
        Ok(open
            .into_iter()
            .take(200)
            .map(|o| OpenGuest {
                area: area_name(k, o.area).unwrap_or_default(),
                record: o.record,
                checked_in_at: o.checked_in_at,
            })
            .collect())
    })
}

#[tauri::command]
pub fn check_out(state: State<'_, AppState>, record: String) -> UiResult<()> {
    let id = tresen::kiosk::RecordId::parse(&record)
        .ok_or_else(|| UiError::new("unknown-record", format!("no check-in {record}")))?;
    state.with_kiosk(|k| k.check_out_record(id, now()))
}

/// Demo mode only: the simulated scanner "reads" a guest code, a table card, an area
/// code or a foreign code.
#[tauri::command]
pub fn demo_scan(state: State<'_, AppState>, kind: String) -> UiResult<ScanResult> {
    let demo = state
        .demo
        .as_ref()
        .ok_or_else(|| UiError::new("not-demo", "only in demo mode"))?;
    let n = {
        let mut next = lock(&state.demo_next);
        *next += 1;
        *next
    };
    let (current, waiting) = {
        let c = lock(&state.counter);
        (c.area(), c.waiting_for_table(now()))
    };
    let text = match kind.as_str() {
        // The demo's first guests are present already: start with the others, then
        // come round to them (a second scan checks out or moves).
        "guest" => demo.guest_codes[(n + 4) % demo.guest_codes.len()].clone(),
        "foreign" => "https://example.org/speisekarte".into(),
        "table" => state.with_kiosk(|k| {
            let areas = k.areas()?;
            let area = waiting
                .or(current)
                .and_then(|id| areas.iter().find(|a| a.id == id && !a.tables.is_empty()))
                .or_else(|| areas.iter().find(|a| !a.tables.is_empty()))
                .ok_or(tresen::kiosk::Error::UnknownArea("(with tables)".into()))?;
            k.table_code(area.id, area.tables[n % area.tables.len()])
        })?,
        "area" => state.with_kiosk(|k| {
            let open: Vec<i64> = k
                .areas()?
                .iter()
                .filter(|a| a.state == tresen::kiosk::AreaState::Open)
                .map(|a| a.id)
                .collect();
            let next = open
                .iter()
                .position(|&a| Some(a) == current)
                .map(|i| open[(i + 1) % open.len()])
                .or(open.first().copied())
                .ok_or(tresen::kiosk::Error::UnknownArea("(open)".into()))?;
            k.area_code(next)
        })?,
        other => {
            return Err(UiError::new(
                "error",
                format!("unknown demo scan '{other}'"),
            ))
        }
    };
    Ok(handle_scan(&state, &text, "demo"))
}
