//! Printing (PDFs written where the operator chooses, then opened in the system viewer)
//! and the file dialogs.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use tauri::{AppHandle, Manager, Runtime, State};
use tauri_plugin_dialog::DialogExt;
use tresen::printing::{render, Document as Doc, Paper, Pdf, TableLayout};
use tresen_protocol::contact::ContactData;
use tresen_protocol::key_file::Passphrase;
use tresen_protocol::time::format_time;

use crate::setup::{documents_dir, fresh_path};
use crate::state::{lock, now, AppState, UiError, UiResult};

#[derive(Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum Document {
    /// Area posters; no areas: all live areas.
    Posters { areas: Vec<i64>, a3: bool },
    /// Table cards of one area (none: every area); tables as typed ("1-12"), empty: all.
    Tables {
        area: Option<i64>,
        tables: String,
        labels: bool,
    },
    /// The operator: a fob card with a new guest code for this contact (nothing is stored).
    Fob { contact: ContactData },
    /// The counter: the fob card of the guest just registered, with exactly the code that
    /// was checked in.
    RegisteredFob {},
    /// The key recovery sheet, from a key file that opens with the passphrase.
    Recovery {
        key_file: String,
        passphrase: String,
    },
}

#[derive(Serialize)]
pub struct Printed {
    path: String,
    pages: usize,
}

/// The kind of document as the window names it, for the default file name.
fn kind(doc: &Document) -> &'static str {
    match doc {
        Document::Posters { .. } => "posters",
        Document::Tables { .. } => "tables",
        Document::Fob { .. } | Document::RegisteredFob {} => "fob",
        Document::Recovery { .. } => "recovery",
    }
}

/// The file name a document is saved under by default, from its kind.
fn stem(kind: &str) -> &'static str {
    match kind {
        "posters" => "aushang",
        "tables" => "tischkarten",
        "fob" => "gast-code",
        "recovery" => "schluessel-notfallblatt",
        _ => "tresen",
    }
}

pub fn print_dir<R: Runtime>(app: &AppHandle<R>) -> PathBuf {
    match &app.state::<AppState>().demo {
        Some(demo) => demo.root.join("Dokumente"),
        None => documents_dir(app).join("Tresen"),
    }
}

#[tauri::command]
pub fn suggest_pdf_path<R: Runtime>(app: AppHandle<R>, kind: String) -> String {
    default_pdf_path(&app, &kind).display().to_string()
}

fn default_pdf_path<R: Runtime>(app: &AppHandle<R>, kind: &str) -> PathBuf {
    let day: String = format_time(now()).chars().take(10).collect();
    fresh_path(&print_dir(app), &format!("{}-{day}", stem(kind)), "pdf")
}

/// How long after a registration its fob card can be printed from the counter.
const REGISTERED_FOB_WINDOW: std::time::Duration = std::time::Duration::from_secs(10 * 60);

fn render_document(state: &AppState, doc: Document) -> UiResult<Pdf> {
    let n = now();
    match doc {
        Document::Posters { areas, a3 } => {
            let paper = if a3 { Paper::A3 } else { Paper::A4 };
            state.with_venue(|k| {
                render(
                    k,
                    &Doc::Posters {
                        areas: &areas,
                        paper,
                    },
                    n,
                )
            })
        }
        Document::Tables {
            area,
            tables,
            labels,
        } => {
            let tables = tresen_venue::parse_table_numbers(&tables)?;
            let layout = if labels {
                TableLayout::Labels
            } else {
                TableLayout::Tents
            };
            let doc = Doc::TableCards {
                area,
                tables: &tables,
                layout,
            };
            state.with_venue(|k| render(k, &doc, n))
        }
        Document::Fob { contact } => {
            state.with_venue(|k| render(k, &Doc::NewFobCard { contact: &contact }, n))
        }
        Document::RegisteredFob {} => {
            // Used up by this print: nobody at the counter can print the guest's code again.
            let code = lock(&state.last_registered)
                .take()
                .filter(|(_, at)| at.elapsed() < REGISTERED_FOB_WINDOW)
                .map(|(code, _)| code)
                .ok_or(tresen::Error::NoRegisteredGuest)?;
            state.with_venue(|k| render(k, &Doc::FobCards { codes: &[code] }, n))
        }
        Document::Recovery {
            key_file,
            passphrase,
        } => {
            let passphrase = Passphrase::new(passphrase);
            let doc = Doc::RecoverySheet {
                key_file: Path::new(key_file.trim()),
                passphrase: &passphrase,
            };
            state.with_venue(|k| render(k, &doc, n))
        }
    }
}

/// Creates the folder a document is about to be saved in.
pub fn make_parent(out: &Path) -> UiResult<()> {
    if let Some(dir) = out.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|e| {
            UiError::new(
                "write-failed",
                format!("could not create {}: {e}", dir.display()),
            )
        })?;
    }
    Ok(())
}

fn write_pdf(state: &AppState, pdf: &Pdf, out: &Path) -> UiResult<Printed> {
    make_parent(out)?;
    tresen_protocol::key_file::write_new_file(out, &pdf.bytes)?;
    state.remember_written(out);
    Ok(Printed {
        path: out.display().to_string(),
        pages: pdf.pages,
    })
}

/// Writes a document as PDF (never over an existing file). Everything but the fob card of
/// the guest just registered needs the operator; that one goes to the fixed documents
/// folder, never to a path the window names.
#[tauri::command]
pub async fn print_document<R: Runtime>(
    app: AppHandle<R>,
    state: State<'_, AppState>,
    document: Document,
    out: Option<String>,
) -> UiResult<Printed> {
    let out = out.as_deref().map(str::trim).filter(|o| !o.is_empty());
    if !matches!(document, Document::RegisteredFob {}) || out.is_some() {
        state.require_operator()?;
    }
    let out = match out {
        Some(o) => PathBuf::from(o),
        None => default_pdf_path(&app, kind(&document)),
    };
    let pdf = render_document(&state, document)?;
    write_pdf(&state, &pdf, &out)
}

/// Opens a document this app wrote in the system's viewer.
#[tauri::command]
pub fn open_document(state: State<'_, AppState>, path: String) -> UiResult<()> {
    let p = PathBuf::from(&path);
    if !lock(&state.written).contains(&p) {
        return Err(UiError::new(
            "not-ours",
            "only documents this app saved can be opened from here",
        ));
    }
    let folder = p
        .parent()
        .map(|d| d.display().to_string())
        .unwrap_or_default();
    // A plain detached start confirms only that the launcher ran; this one also sees a
    // launcher that found no program (and hands off one still running after 3 s).
    if open::that_detached_with_timeout(&p, std::time::Duration::from_secs(3)).is_ok() {
        return Ok(());
    }
    Err(UiError::new(
        "open-failed",
        format!("no program could open {path}; open it from the file manager in {folder}"),
    )
    .with("path", path.clone())
    .with("folder", folder))
}

/// A file dialog run by the shell (the window itself has no file system access); for the
/// setup and the operator only, never at the counter.
#[tauri::command]
pub async fn choose_path<R: Runtime>(
    app: AppHandle<R>,
    state: State<'_, AppState>,
    purpose: String,
    suggested: Option<String>,
    filter: Option<String>,
) -> UiResult<Option<String>> {
    state.require_setup_or_operator()?;
    let mut d = app.dialog().file();
    if let Some(s) = suggested.as_deref().map(Path::new) {
        if let Some(dir) = s.parent().filter(|p| p.is_dir()) {
            d = d.set_directory(dir);
        }
        if let Some(name) = s.file_name() {
            d = d.set_file_name(name.to_string_lossy());
        }
    }
    // The window names the filter in its language ("Schlüsseldatei (.age)").
    let label = |fallback: &str| filter.clone().unwrap_or_else(|| fallback.to_string());
    let picked = match purpose.as_str() {
        "trust" => d
            .add_filter(label("Trust file"), &["json", "trust"])
            .blocking_pick_file(),
        "request" => d
            .add_filter(label("Request"), &["json", "request"])
            .blocking_pick_file(),
        "key" => d
            .add_filter(label("Key file"), &["age"])
            .blocking_pick_file(),
        "save-key" => d
            .add_filter(label("Key file"), &["age"])
            .blocking_save_file(),
        "save-pdf" => d.add_filter(label("PDF"), &["pdf"]).blocking_save_file(),
        "join" => d
            .add_filter(label("Join file"), &["tresen-join"])
            .blocking_pick_file(),
        "ca" => d
            .add_filter(label("Certificate"), &["pem", "crt"])
            .blocking_pick_file(),
        "save-join" => d
            .add_filter(label("Join file"), &["tresen-join"])
            .blocking_save_file(),
        "save-answer" => d
            .add_filter(label("Answer"), &["tresen-answer"])
            .blocking_save_file(),
        "images" => {
            let files = d
                .add_filter(label("Images"), &["png", "jpg", "jpeg"])
                .blocking_pick_files();
            return Ok(files.map(|f| {
                f.into_iter()
                    .filter_map(|p| p.into_path().ok())
                    .map(|p| p.display().to_string())
                    .collect::<Vec<_>>()
                    .join("\n")
            }));
        }
        other => return Err(UiError::new("error", format!("unknown dialog '{other}'"))),
    };
    Ok(picked
        .and_then(|p| p.into_path().ok())
        .map(|p| p.display().to_string()))
}
