//! The first-run wizard: venue, trust file, key file, backup, areas, operator PIN.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use tauri::{AppHandle, Manager, Runtime, State};
use tresen_protocol::files::{limits, read_text_bounded};
use tresen_protocol::join_file::ServerLogin;
use tresen_protocol::key_file::{self, Passphrase};
use tresen_venue::local_secret::SecretStore;
use tresen_venue::store::server::link::parse_login;
use tresen_venue::store::StoreError;
use tresen_venue::{BackupOutcome, KeyFilePlace, SetupStep, Venue, VenueSetup};

use crate::state::{lock, now, AppState, UiError, UiResult};

/// Reads a text file, bounded while reading (a device such as /dev/zero is refused).
pub fn read_text(path: &str, max: u64, what: &str) -> UiResult<String> {
    let p = Path::new(path.trim());
    let shown = p.display().to_string();
    read_text_bounded(p, max).map_err(|e| {
        let code = match e.kind() {
            std::io::ErrorKind::FileTooLarge
            | std::io::ErrorKind::InvalidData
            | std::io::ErrorKind::InvalidInput => "not-a-file-for-this",
            std::io::ErrorKind::NotFound => "file-not-found",
            _ => "read-failed",
        };
        UiError::new(code, format!("could not read {shown} as {what}: {e}"))
            .with("path", shown.clone())
    })
}

#[derive(Serialize)]
pub struct TrustInfo {
    authority: String,
    root_fingerprint: String,
    serial: u64,
    offices: Vec<String>,
}

/// Reads and verifies a trust file so the operator can compare the root fingerprint with
/// the one the authority published, before anything is set up.
#[tauri::command]
pub fn inspect_trust_file(state: State<'_, AppState>, path: String) -> UiResult<TrustInfo> {
    state.require_setup_or_operator()?;
    let text = read_text(&path, limits::TRUST_FILE, "a trust file")?;
    let trust = tresen_protocol::trust::verify(&text, None)
        .map_err(|e| UiError::from(tresen_venue::Error::from(e)))?;
    let offices = trust
        .body
        .offices
        .iter()
        .filter_map(|c| c.verify(&trust.root_key, now()).ok().map(|v| v.body.name))
        .collect();
    Ok(TrustInfo {
        authority: trust.body.authority.clone(),
        root_fingerprint: trust.root_fingerprint(),
        serial: trust.body.serial,
        offices,
    })
}

/// Whether this PC's keychain works, asked before the wizard's first question so that a
/// PC without one gets its one question up front.
#[tauri::command]
pub async fn keychain_available() -> bool {
    tresen_venue::local_secret::LocalSecret::keyring_works().is_ok()
}

#[tauri::command]
pub fn passphrase_strength(passphrase: String, venue: String) -> key_file::Strength {
    key_file::strength(&Passphrase::new(passphrase), &[&venue, "tresen"])
}

/// A file name in `dir` that does not exist yet.
pub fn fresh_path(dir: &Path, stem: &str, ext: &str) -> PathBuf {
    let first = dir.join(format!("{stem}.{ext}"));
    if !first.exists() {
        return first;
    }
    (2..1000)
        .map(|n| dir.join(format!("{stem}-{n}.{ext}")))
        .find(|p| !p.exists())
        .unwrap_or(first)
}

pub fn documents_dir<R: Runtime>(app: &AppHandle<R>) -> PathBuf {
    app.path()
        .document_dir()
        .or_else(|_| app.path().home_dir())
        .unwrap_or_else(|_| PathBuf::from("."))
}

#[derive(Serialize)]
pub struct KeyFileSuggestion {
    path: String,
    /// The drive the path lies on, if it is a removable one.
    drive: Option<String>,
    place: KeyFilePlace,
}

/// Where to save the key file: on a mounted removable drive if there is one, else in the
/// documents folder, with a plain word that this is the PC's own disk.
#[tauri::command]
pub fn suggest_key_file<R: Runtime>(
    app: AppHandle<R>,
    state: State<'_, AppState>,
) -> UiResult<KeyFileSuggestion> {
    state.require_setup_or_operator()?;
    let drive = tresen_venue::media::removable_mounts().into_iter().next();
    let dir = drive
        .as_ref()
        .map(|m| m.path.clone())
        .unwrap_or_else(|| documents_dir(&app));
    let path = fresh_path(&dir, "tresen-schluessel", "age");
    Ok(KeyFileSuggestion {
        place: KeyFilePlace::of(&state.data_dir, &path),
        drive: drive.map(|m| m.label),
        path: path.display().to_string(),
    })
}

/// Where a typed key file path lies, for the wizard's live hint (the operator's after
/// the setup).
#[tauri::command]
pub fn key_file_place(state: State<'_, AppState>, path: String) -> UiResult<KeyFilePlace> {
    state.require_setup_or_operator()?;
    Ok(KeyFilePlace::of(&state.data_dir, Path::new(path.trim())))
}

#[derive(Deserialize)]
pub struct NewVenue {
    name: String,
    address: String,
    trust_file: String,
    expect_root: String,
    key_file: String,
    passphrase: String,
    passphrase_repeat: String,
    /// "keyring" (default) or "file" (explicit, with a warning).
    secret_store: String,
    /// Set for a venue whose counters share a PostgreSQL server.
    #[serde(default)]
    server: Option<NewServer>,
}

#[derive(Deserialize)]
pub struct NewServer {
    /// PostgreSQL's connection text: "host=… port=… dbname=… user=…".
    conn: String,
    /// The PEM file of the certificate authority the server's certificate chains to.
    ca_file: String,
    password: String,
}

impl NewServer {
    fn login(&self) -> UiResult<ServerLogin> {
        if self.ca_file.trim().is_empty() {
            return Err(UiError::new(
                "no-path",
                "choose the server's certificate authority file",
            ));
        }
        let ca_pem = read_text(&self.ca_file, limits::SMALL_JSON, "a certificate")?;
        parse_login(&self.conn, &self.password, &ca_pem).map_err(|e| match e {
            StoreError::Other(detail) => UiError::new("db-connection-invalid", detail),
            e => tresen_venue::Error::from(e).into(),
        })
    }
}

#[tauri::command]
pub fn create_venue<R: Runtime>(
    app: AppHandle<R>,
    state: State<'_, AppState>,
    venue: NewVenue,
) -> UiResult<()> {
    if lock(&state.desk).venue.is_some() {
        return Err(UiError::new("already-set-up", "a venue is already set up"));
    }
    if venue.passphrase != venue.passphrase_repeat {
        return Err(UiError::new(
            "passphrase-mismatch",
            "the two passphrases differ",
        ));
    }
    if venue.key_file.trim().is_empty() {
        return Err(UiError::new("no-path", "choose where to save the key file"));
    }
    let trust = read_text(&venue.trust_file, limits::TRUST_FILE, "a trust file")?;
    let pass = Passphrase::new(venue.passphrase);
    let expect = venue.expect_root.trim();
    let login = venue.server.as_ref().map(NewServer::login).transpose()?;
    let setup = VenueSetup {
        name: &venue.name,
        address: &venue.address,
        trust_file: &trust,
        expect_root: expect,
        key_file: Path::new(venue.key_file.trim()),
        passphrase: &pass,
        secret_store: if venue.secret_store == "file" {
            SecretStore::File
        } else {
            SecretStore::Keyring
        },
    };
    let on_server = login.is_some();
    let k = match login {
        Some(login) => Venue::init_on_server(&state.data_dir, &setup, login, now())?,
        None => Venue::init(&state.data_dir, &setup, now())?,
    };
    lock(&state.desk).venue = Some(k);
    *lock(&state.open_error) = None;
    if on_server {
        crate::server::start_listener(&app);
    }
    Ok(())
}

#[derive(Serialize)]
pub struct KeyFileInfo {
    key_file: Option<String>,
    status: tresen_venue::BackupStatus,
    postponed_at: Option<i64>,
}

#[tauri::command]
pub fn key_status(state: State<'_, AppState>) -> UiResult<KeyFileInfo> {
    state.with_venue(|k| {
        Ok::<_, tresen_venue::Error>(KeyFileInfo {
            key_file: k.key_file_hint()?,
            status: k.backup_status(now())?,
            postponed_at: k.backup_postponed_at()?,
        })
    })
}

/// Copies the key file to a second medium and loads the copy again.
#[tauri::command]
pub async fn backup_copy(
    state: State<'_, AppState>,
    from: String,
    to: String,
    passphrase: String,
) -> UiResult<BackupOutcome> {
    state.require_setup_step_or_operator(SetupStep::Backup)?;
    if to.trim().is_empty() {
        return Err(UiError::new("no-path", "choose where to save the copy"));
    }
    let pass = Passphrase::new(passphrase);
    state.with_venue(|k| {
        let from = match from.trim() {
            "" => k.key_file_hint()?.unwrap_or_default(),
            f => f.to_string(),
        };
        k.backup_key_file(Path::new(&from), Path::new(to.trim()), &pass, now())
    })
}

/// Loads a copy made elsewhere with the passphrase and checks it holds the venue key.
#[tauri::command]
pub async fn backup_verify(
    state: State<'_, AppState>,
    path: String,
    passphrase: String,
) -> UiResult<BackupOutcome> {
    state.require_setup_step_or_operator(SetupStep::Backup)?;
    let pass = Passphrase::new(passphrase);
    state.with_venue(|k| k.verify_key_file(Path::new(path.trim()), &pass, now()))
}

/// Deletes the key file on this PC's disk once a verified copy lies on a removable drive
/// (offered right after such a backup): freely during the setup, when no PIN exists yet;
/// afterwards by the operator, with the PIN again.
#[tauri::command]
pub fn delete_pc_key_copy(state: State<'_, AppState>, pin: Option<String>) -> UiResult<String> {
    if state.with_venue(|k| k.setup_step())? == SetupStep::Done {
        state.require_operator()?;
        state.confirm_pin(pin.as_deref())?;
    }
    state.with_venue(|k| k.delete_pc_key_copy(now()))
}

#[tauri::command]
pub fn backup_postpone(state: State<'_, AppState>) -> UiResult<()> {
    state.require_setup_step_or_operator(SetupStep::Backup)?;
    state.with_venue(|k| k.postpone_backup(now()))
}

#[derive(Deserialize)]
pub struct NewArea {
    name: String,
    /// Table numbers as typed: "1-12, 15" (may be empty).
    tables: String,
}

#[tauri::command]
pub fn setup_areas(
    state: State<'_, AppState>,
    location: String,
    areas: Vec<NewArea>,
) -> UiResult<()> {
    state.require_setup_step_or_operator(SetupStep::Areas)?;
    let areas: Vec<&NewArea> = areas.iter().filter(|a| !a.name.trim().is_empty()).collect();
    if areas.is_empty() {
        return Err(UiError::new("no-areas", "name at least one area"));
    }
    let tables = areas
        .iter()
        .map(|a| tresen_venue::parse_table_numbers(&a.tables))
        .collect::<Result<Vec<_>, _>>()?;
    state.with_desk(|k, session| {
        let n = now();
        let loc = match k.location_id(location.trim()) {
            Ok(id) => id,
            Err(_) => k.add_location(&location, n)?,
        };
        for (a, t) in areas.iter().zip(&tables) {
            let id = k.add_area(loc, &a.name, None, n)?;
            if !t.is_empty() {
                k.add_tables(id, t)?;
            }
        }
        if session.area().is_none() {
            if let Some(first) = k.areas()?.first() {
                session.set_area(first.id);
            }
        }
        Ok::<_, tresen_venue::Error>(())
    })
}

/// Sets the operator PIN: the first one freely during the setup; afterwards only an
/// operator changes it, and only with the old PIN.
#[tauri::command]
pub fn set_pin(
    state: State<'_, AppState>,
    pin: String,
    repeat: String,
    old: Option<String>,
) -> UiResult<()> {
    let change = state.with_venue(|k| k.has_operator_pin())?;
    if change {
        state.require_operator()?;
    }
    if pin != repeat {
        return Err(UiError::new("pin-mismatch", "the two PINs differ"));
    }
    let old = old.unwrap_or_default();
    state.with_venue(|k| match change {
        true => k.change_operator_pin(old.trim(), pin.trim(), now()),
        false => k.set_operator_pin(pin.trim(), now()),
    })
}
