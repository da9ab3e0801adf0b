//! A venue shared by several counters on a server: joining from a join file in the
//! wizard, the operator's counters (join files, revoking), and the listener that brings
//! other counters' scans into this window within a second.

use std::path::Path;

use serde::Deserialize;
use tauri::{AppHandle, Emitter, Manager, Runtime, State};
use tresen_protocol::files::read_bounded;
use tresen_protocol::join_file;
use tresen_venue::local_secret::SecretStore;
use tresen_venue::store::server::listen::{listen, Change};
use tresen_venue::store::server::{CounterRow, ServerLink};
use tresen_venue::{JoinFileMade, Venue};

use crate::setup::fresh_path;
use crate::state::{lock, now, AppState, UiError, UiResult};

/// Listens to the venue's server, if it has one: every change there refreshes the window;
/// the server coming back lets the counter forward its waiting scans at once.
pub fn start_listener<R: Runtime>(app: &AppHandle<R>) {
    let state = app.state::<AppState>();
    let Ok(link) = ServerLink::load(&state.data_dir) else {
        return;
    };
    let handle = app.clone();
    let listener = listen(link.login.clone(), move |change| {
        if change == Change::Reconnected {
            let state = handle.state::<AppState>();
            let mut desk = lock(&state.desk);
            if let Some(k) = desk.venue.as_mut() {
                k.retry_server_now();
            }
        }
        let _ = handle.emit("server-change", ());
    });
    *lock(&state.listener) = Some(listener);
}

#[derive(Deserialize)]
pub struct JoinRequest {
    file: String,
    passphrase: String,
    /// "keyring" (default) or "file" (explicit, with a warning).
    secret_store: String,
}

/// Sets this PC up as a counter from the operator's join file (the wizard's other way in).
#[tauri::command]
pub fn join_venue<R: Runtime>(
    app: AppHandle<R>,
    state: State<'_, AppState>,
    join: JoinRequest,
) -> UiResult<()> {
    if lock(&state.desk).venue.is_some() {
        return Err(UiError::new("already-set-up", "a venue is already set up"));
    }
    let path = Path::new(join.file.trim());
    let sealed = read_bounded(path, join_file::MAX_BYTES).map_err(|e| {
        let code = if e.kind() == std::io::ErrorKind::NotFound {
            "file-not-found"
        } else {
            "read-failed"
        };
        UiError::new(code, format!("could not read {}: {e}", path.display()))
            .with("path", path.display().to_string())
    })?;
    let store = if join.secret_store == "file" {
        SecretStore::File
    } else {
        SecretStore::Keyring
    };
    let k = Venue::join(&state.data_dir, &sealed, &join.passphrase, store, now())?;
    lock(&state.desk).venue = Some(k);
    *lock(&state.open_error) = None;
    start_listener(&app);
    Ok(())
}

/// The counters that joined this venue (operator only).
#[tauri::command]
pub fn counters(state: State<'_, AppState>) -> UiResult<Vec<CounterRow>> {
    state.require_operator()?;
    state.with_venue(|k| k.counters())
}

/// A join file for a new counter, with its one-time passphrase (operator only).
#[tauri::command]
pub fn add_counter<R: Runtime>(
    app: AppHandle<R>,
    state: State<'_, AppState>,
    name: String,
    out: String,
) -> UiResult<JoinFileMade> {
    state.require_operator()?;
    let out = match out.trim() {
        "" => fresh_path(
            &crate::setup::documents_dir(&app),
            &format!("tresen-theke-{}", slug(&name)),
            "tresen-join",
        ),
        p => p.into(),
    };
    let made = state.with_venue(|k| k.make_join_file(&name, &out, now()))?;
    state.remember_written(&out);
    Ok(made)
}

/// Takes a counter's login away; asks for the PIN again.
#[tauri::command]
pub fn revoke_counter(
    state: State<'_, AppState>,
    login: String,
    pin: Option<String>,
) -> UiResult<()> {
    state.require_operator()?;
    state.confirm_pin(pin.as_deref())?;
    state.with_venue(|k| k.revoke_counter(&login, now()))
}

fn slug(name: &str) -> String {
    let s: String = name
        .chars()
        .map(|c| {
            if c.is_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .collect();
    s.trim_matches('-').chars().take(30).collect()
}
