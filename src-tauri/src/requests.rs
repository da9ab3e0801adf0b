//! Health-office data requests: review, approve with the key file (progress reported as
//! events), decline, and the audit log.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use serde::Serialize;
use tauri::{AppHandle, Emitter, Runtime, State};
use tresen::request_file::read_request_file;
use tresen_protocol::key_file::Passphrase;
use tresen_protocol::venue_keys::VenueSecretKeys;
use tresen_venue::audit::AuditEntry;
use tresen_venue::{ApprovalReport, RequestReview};

use crate::printing::{make_parent, print_dir};
use crate::setup::fresh_path;
use crate::state::{lock, now, AppState, UiError, UiResult};

fn review(state: &AppState, bytes: Vec<u8>) -> UiResult<RequestReview> {
    let result = state.with_venue(|k| k.review_request(&bytes, now()));
    *lock(&state.request) = result.as_ref().ok().map(|_| bytes);
    result
}

/// Opens a request file (from the dialog, a typed path or a file dropped on the window).
#[tauri::command]
pub async fn review_request_file(
    state: State<'_, AppState>,
    path: String,
) -> UiResult<RequestReview> {
    state.require_operator()?;
    let bytes = read_request_file(Path::new(path.trim()))?;
    review(&state, bytes)
}

#[tauri::command]
pub fn suggest_answer_path<R: Runtime>(
    app: AppHandle<R>,
    state: State<'_, AppState>,
) -> UiResult<String> {
    state.require_operator()?;
    let day = tresen_protocol::time::format_time(now()).replace([' ', ':'], "-");
    Ok(
        fresh_path(&print_dir(&app), &format!("antwort-{day}"), "tresen-answer")
            .display()
            .to_string(),
    )
}

#[derive(Serialize, Clone)]
struct Progress {
    done: u64,
    total: u64,
}

#[derive(Serialize)]
pub struct Approved {
    report: ApprovalReport,
    path: String,
}

/// Approves the request under review: opens the key file with the passphrase, opens the
/// matching check-ins and writes the sealed, signed answer. Progress goes to the window
/// as `approval-progress` events.
#[tauri::command]
pub async fn approve_request<R: Runtime>(
    app: AppHandle<R>,
    state: State<'_, AppState>,
    key_file: String,
    passphrase: String,
    out: String,
) -> UiResult<Approved> {
    state.require_operator()?;
    let text = lock(&state.request)
        .clone()
        .ok_or_else(|| UiError::new("no-request", "open a request first"))?;
    if out.trim().is_empty() {
        return Err(UiError::new("no-path", "choose where to save the answer"));
    }
    let out = PathBuf::from(out.trim());
    let keys =
        VenueSecretKeys::read_key_file(Path::new(key_file.trim()), &Passphrase::new(passphrase))?;
    make_parent(&out)?;
    let last = AtomicU64::new(0);
    let progress = |done: u64, total: u64| {
        // About a hundred updates at most, and always the last one.
        let step = (total / 100).max(1);
        if done == total || done >= last.load(Ordering::Relaxed) + step {
            last.store(done, Ordering::Relaxed);
            let _ = app.emit("approval-progress", Progress { done, total });
        }
    };
    let report = state.with_venue(|k| k.approve_request(&text, &keys, &out, &progress, now()))?;
    drop(keys);
    *lock(&state.request) = None;
    state.remember_written(&out);
    Ok(Approved {
        report,
        path: out.display().to_string(),
    })
}

#[tauri::command]
pub fn decline_request(state: State<'_, AppState>, reason: String) -> UiResult<()> {
    state.require_operator()?;
    let text = lock(&state.request)
        .clone()
        .ok_or_else(|| UiError::new("no-request", "open a request first"))?;
    state.with_venue(|k| k.decline_request(&text, &reason, now()).map(drop))?;
    *lock(&state.request) = None;
    Ok(())
}

#[derive(Serialize)]
pub struct Audit {
    entries: Vec<AuditEntry>,
    /// None when the chain checks out, else why not.
    broken: Option<String>,
    /// The names of the offices the trust file lists, by id (entries name offices by id).
    offices: std::collections::BTreeMap<String, String>,
}

#[tauri::command]
pub fn audit_log(state: State<'_, AppState>) -> UiResult<Audit> {
    state.require_operator()?;
    state.with_venue(|k| {
        let broken = k.verify_audit().err().map(|e| e.to_string());
        let mut entries = k.audit_entries()?;
        entries.reverse();
        let trust = k.trust()?;
        let offices = trust
            .body
            .offices
            .iter()
            .filter_map(|c| c.verify(&trust.root_key, now()).ok())
            .map(|v| (v.body.office_id, v.body.name))
            .collect();
        Ok::<_, tresen_venue::Error>(Audit {
            entries,
            broken,
            offices,
        })
    })
}

/// Demo mode only: the demo office sends a request, which is opened for review.
#[tauri::command]
pub fn demo_request(state: State<'_, AppState>) -> UiResult<(String, RequestReview)> {
    state.require_operator()?;
    let demo = state
        .demo
        .as_ref()
        .ok_or_else(|| UiError::new("not-demo", "only in demo mode"))?;
    let fp = state.with_venue(|k| Ok::<_, UiError>(k.fingerprint()))?;
    let path = demo
        .make_request(&fp, now())
        .map_err(|e| UiError::new("error", e.to_string()))?;
    let bytes = read_request_file(&path)?;
    Ok((path.display().to_string(), review(&state, bytes)?))
}
