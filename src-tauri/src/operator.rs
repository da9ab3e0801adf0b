//! The operator screens' commands: PIN, locations/areas/tables, settings and preferences,
//! key replacement, leaving kiosk mode. Every command here needs an unlocked session.

use std::path::Path;
use std::sync::atomic::Ordering;
use std::time::Instant;

use serde::Serialize;
use tauri::{AppHandle, Manager, Runtime, State};
use tresen::key_restore::{self, Restored};
use tresen::pc_preferences::Preferences;
use tresen_devices::scanner::serial::PortInfo;
use tresen_devices::scanner::usb::UsbDeviceInfo;
use tresen_protocol::key_file::Passphrase;
use tresen_venue::settings::Settings;
use tresen_venue::{Area, KeyReplacement, Location};

use crate::state::{lock, now, AppState, UiError, UiResult, OPERATOR_IDLE};

#[tauri::command]
pub fn unlock(state: State<'_, AppState>, pin: String) -> UiResult<()> {
    state.with_venue(|k| k.check_operator_pin(pin.trim(), now()))?;
    *lock(&state.operator_until) = Some(Instant::now() + OPERATOR_IDLE);
    tracing::info!(event = "operator.unlocked");
    Ok(())
}

#[tauri::command]
pub fn lock_operator(state: State<'_, AppState>) {
    *lock(&state.operator_until) = None;
}

#[derive(Serialize)]
pub struct VenueAdmin {
    name: String,
    address: String,
    fingerprint: String,
    locations: Vec<Location>,
    areas: Vec<Area>,
}

#[tauri::command]
pub fn venue_admin(state: State<'_, AppState>) -> UiResult<VenueAdmin> {
    state.require_operator()?;
    state.with_venue(|k| {
        Ok::<_, tresen_venue::Error>(VenueAdmin {
            name: k.venue_name()?,
            address: k.venue_address()?,
            fingerprint: k.fingerprint(),
            locations: k.locations()?,
            areas: k.areas()?,
        })
    })
}

/// One change to locations, areas or tables.
#[derive(serde::Deserialize)]
#[serde(tag = "op", rename_all = "kebab-case")]
pub enum AreaChange {
    AddLocation { name: String },
    RenameLocation { id: i64, name: String },
    AddArea { location: i64, name: String },
    RenameArea { id: i64, name: String },
    SetMaxStay { id: i64, minutes: u32 },
    Close { id: i64 },
    Reopen { id: i64 },
    Archive { id: i64 },
    AddTables { id: i64, tables: String },
    RemoveTable { id: i64, table: u16 },
    ReplaceAreaCode { id: i64 },
    ReplaceTableCode { id: i64, table: u16 },
}

#[tauri::command]
pub fn change_areas(
    state: State<'_, AppState>,
    change: AreaChange,
    pin: Option<String>,
) -> UiResult<()> {
    state.require_operator()?;
    if matches!(change, AreaChange::Archive { .. }) {
        state.confirm_pin(pin.as_deref())?;
    }
    let n = now();
    state.with_venue(|k| {
        match change {
            AreaChange::AddLocation { name } => k.add_location(&name, n).map(drop)?,
            AreaChange::RenameLocation { id, name } => k.rename_location(id, &name, n)?,
            AreaChange::AddArea { location, name } => {
                k.add_area(location, &name, None, n).map(drop)?
            }
            AreaChange::RenameArea { id, name } => k.rename_area(id, &name, n)?,
            AreaChange::SetMaxStay { id, minutes } => k.set_max_stay(id, minutes, n)?,
            AreaChange::Close { id } => k.close_area(id)?,
            AreaChange::Reopen { id } => k.reopen_area(id)?,
            AreaChange::Archive { id } => k.archive_area(id, n).map(drop)?,
            AreaChange::AddTables { id, tables } => {
                let t = tresen_venue::parse_table_numbers(&tables)?;
                k.add_tables(id, &t)?
            }
            AreaChange::RemoveTable { id, table } => k.remove_table(id, table, n)?,
            AreaChange::ReplaceAreaCode { id } => k.replace_area_code(id, n).map(drop)?,
            AreaChange::ReplaceTableCode { id, table } => {
                k.replace_table_code(id, table, n).map(drop)?
            }
        }
        Ok::<_, tresen_venue::Error>(())
    })
}

#[derive(Serialize)]
pub struct AllSettings {
    venue: Settings,
    /// (name, min, max)
    ranges: Vec<(&'static str, u32, u32)>,
    app: Preferences,
    about: tresen::about::About,
}

#[tauri::command]
pub fn get_settings(state: State<'_, AppState>) -> UiResult<AllSettings> {
    state.require_operator()?;
    Ok(AllSettings {
        venue: state.with_venue(|k| Ok::<_, UiError>(k.settings().clone()))?,
        ranges: tresen_venue::settings::KEYS
            .iter()
            .map(|&(name, min, max, _)| (name, min, max))
            .collect(),
        app: lock(&state.prefs).clone(),
        about: tresen::about::about(),
    })
}

/// Changes a venue setting. Lowering a retention period deletes data at the next purge,
/// so it asks for the PIN again.
#[tauri::command]
pub fn set_setting(
    state: State<'_, AppState>,
    key: String,
    value: String,
    pin: Option<String>,
) -> UiResult<()> {
    state.require_operator()?;
    let current = state.with_venue(|k| Ok::<_, UiError>(k.settings().get(&key)))?;
    let lowers = matches!(key.as_str(), "retention-days" | "audit-retention-days")
        && matches!((value.trim().parse::<u32>(), current), (Ok(new), Some(old)) if new < old);
    if lowers {
        state.confirm_pin(pin.as_deref())?;
    }
    state.with_venue(|k| k.set_setting(&key, value.trim(), now()))
}

/// The operator confirms that this PC's clock is right although it looks wrong: purges and
/// approvals run again.
#[tauri::command]
pub fn confirm_clock(state: State<'_, AppState>, pin: Option<String>) -> UiResult<()> {
    state.require_operator()?;
    state.confirm_pin(pin.as_deref())?;
    state.with_venue(|k| k.confirm_clock(now()).map(drop))
}

fn save_preferences(state: &AppState, prefs: &Preferences) -> UiResult<()> {
    Ok(prefs.save(&state.data_dir)?)
}

/// Language and sound: anyone at the counter may change them.
#[tauri::command]
pub fn set_display(
    state: State<'_, AppState>,
    language: Option<tresen::pc_preferences::Language>,
    sound: Option<bool>,
) -> UiResult<()> {
    let mut prefs = lock(&state.prefs).clone();
    prefs.language = language.unwrap_or(prefs.language);
    prefs.sound = sound.unwrap_or(prefs.sound);
    save_preferences(&state, &prefs)?;
    *lock(&state.prefs) = prefs;
    Ok(())
}

#[tauri::command]
pub fn set_preferences<R: Runtime>(
    app: AppHandle<R>,
    state: State<'_, AppState>,
    prefs: Preferences,
) -> UiResult<()> {
    state.require_operator()?;
    let old = lock(&state.prefs).clone();
    if prefs.start_at_login != old.start_at_login {
        let app_program = std::env::current_exe().map_err(|e| {
            UiError::new(
                "autostart-failed",
                format!("this program's path is unknown: {e}"),
            )
        })?;
        let custom = tresen_venue::default_data_dir().as_deref() != Some(state.data_dir.as_path());
        tresen::autostart::write_entry(
            &state.data_dir,
            prefs.start_at_login,
            &app_program,
            custom,
        )?;
    }
    save_preferences(&state, &prefs)?;
    if prefs.scanners != old.scanners {
        state.scanners_changed.store(true, Ordering::Relaxed);
    }
    if prefs.kiosk_mode != old.kiosk_mode {
        crate::apply_kiosk_mode(&app, prefs.kiosk_mode);
    }
    *lock(&state.prefs) = prefs;
    Ok(())
}

#[derive(Serialize)]
pub struct Devices {
    serial: Vec<PortInfo>,
    usb: Vec<UsbDeviceInfo>,
    problems: Vec<String>,
}

#[tauri::command]
pub async fn list_devices(state: State<'_, AppState>) -> UiResult<Devices> {
    state.require_operator()?;
    let mut problems = Vec::new();
    let serial = tresen_devices::scanner::serial::list_ports().unwrap_or_else(|e| {
        problems.push(e);
        Vec::new()
    });
    let usb = tresen_devices::scanner::usb::list_devices().unwrap_or_else(|e| {
        problems.push(e);
        Vec::new()
    });
    Ok(Devices {
        serial,
        usb,
        problems,
    })
}

/// Replaces a lost key: a new key file for all future check-ins.
#[tauri::command]
pub async fn key_replace(
    state: State<'_, AppState>,
    key_file: String,
    passphrase: String,
    repeat: String,
    pin: Option<String>,
) -> UiResult<KeyReplacement> {
    state.require_operator()?;
    state.confirm_pin(pin.as_deref())?;
    if passphrase != repeat {
        return Err(UiError::new(
            "passphrase-mismatch",
            "the two passphrases differ",
        ));
    }
    if key_file.trim().is_empty() {
        return Err(UiError::new(
            "no-path",
            "choose where to save the new key file",
        ));
    }
    let pass = Passphrase::new(passphrase);
    state.with_venue(|k| k.replace_key(Path::new(key_file.trim()), &pass, now()))
}

/// Rebuilds the key file from scans or photos of the recovery sheet; with the passphrase
/// it is checked at once and counted as a verified copy (a file with another key is not
/// kept).
#[tauri::command]
pub async fn key_restore(
    state: State<'_, AppState>,
    images: Vec<String>,
    out: String,
    passphrase: String,
) -> UiResult<Restored> {
    state.require_operator()?;
    let images: Vec<&Path> = images
        .iter()
        .map(|s| s.trim())
        .filter(|s| !s.is_empty())
        .map(Path::new)
        .collect();
    if images.is_empty() {
        return Err(UiError::new(
            "restore-no-codes",
            "choose the scans or photos of the sheet",
        ));
    }
    if out.trim().is_empty() {
        return Err(UiError::new("no-path", "choose where to save the key file"));
    }
    let pass = (!passphrase.is_empty()).then(|| Passphrase::new(passphrase));
    // Photos are decoded without holding the venue: the counter keeps scanning meanwhile.
    let rebuilt = key_restore::rebuild(&images, Path::new(out.trim()))?;
    state.with_venue(|k| key_restore::check(k, rebuilt, pass.as_ref(), now()))
}

/// Closes the app (the only way out of kiosk mode).
#[tauri::command]
pub fn exit_app<R: Runtime>(app: AppHandle<R>, state: State<'_, AppState>) -> UiResult<()> {
    state.require_operator()?;
    state.allow_exit.store(true, Ordering::Relaxed);
    if let Some(w) = app.get_webview_window("main") {
        let _ = w.close();
    }
    app.exit(0);
    Ok(())
}
