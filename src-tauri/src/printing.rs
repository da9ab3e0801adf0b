//! Printing: PDFs written where the operator chooses and sent to a printer of the system's
//! print service (or opened in the system viewer), the job's progress, the guest's slip on
//! the counter's receipt printer; and the file dialogs.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use tauri::{AppHandle, Manager, Runtime, State};
use tauri_plugin_dialog::DialogExt;
use tresen::printing::{
    deliver, print_slip as send_slip, render, send_or_save, Cups, Document as Doc, DocumentKind,
    JobStatus, Paper, Pdf, PrintTo, PrinterInfo, SentJob, TableLayout,
};
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
    /// None: sent to the printer and not kept.
    path: Option<String>,
    pages: usize,
    /// The job, when it was sent to a printer.
    sent: Option<SentJob>,
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

fn document_kind(doc: &Document) -> DocumentKind {
    match doc {
        Document::Posters { .. } => DocumentKind::Posters,
        Document::Tables { .. } => DocumentKind::Tables,
        Document::Fob { .. } | Document::RegisteredFob {} => DocumentKind::Fob,
        Document::Recovery { .. } => DocumentKind::Recovery,
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

/// Writes the PDF (never over an existing file), then sends it to the printer, if one is
/// named; the counter's card, with a printer set, only goes to the printer and is saved only
/// when printing fails. The app may open a PDF it saved, also when the printer failed.
fn write_pdf(
    state: &AppState,
    pdf: &Pdf,
    title: &str,
    out: &Path,
    printer: Option<(&str, u32)>,
    keep: bool,
) -> UiResult<Printed> {
    make_parent(out)?;
    let cups = Cups::from_env();
    let to = printer.map(|(printer, copies)| PrintTo {
        cups: &cups,
        printer,
        copies,
    });
    let result = match to {
        Some(to) if !keep => send_or_save(pdf, title, out, to),
        to => deliver(pdf, title, out, to),
    };
    match result {
        Ok(done) => {
            // A card printed and not kept leaves nothing to open.
            if let Some(path) = &done.path {
                state.remember_written(path);
            }
            if let Some(sent) = &done.sent {
                lock(&state.sent_jobs).insert((sent.printer.clone(), sent.job));
            }
            Ok(Printed {
                path: done.path.map(|p| p.display().to_string()),
                pages: done.pages,
                sent: done.sent,
            })
        }
        Err(e @ tresen::Error::Printer { .. }) => {
            state.remember_written(out);
            Err(e.into())
        }
        Err(e) => Err(e.into()),
    }
}

/// Writes a document as PDF and, with a printer named, prints it. Everything but the fob
/// card of the guest just registered needs the operator, whose printer choice is kept per
/// kind of document; the counter's card goes to the fixed documents folder and to the
/// printer the operator chose for cards, never to a path or printer the window names.
#[tauri::command]
pub async fn print_document<R: Runtime>(
    app: AppHandle<R>,
    state: State<'_, AppState>,
    document: Document,
    out: Option<String>,
    printer: Option<String>,
    copies: Option<u32>,
) -> UiResult<Printed> {
    let out = out.as_deref().map(str::trim).filter(|o| !o.is_empty());
    let printer = printer
        .as_deref()
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .map(str::to_string);
    let counter_card = matches!(document, Document::RegisteredFob {});
    if !counter_card || out.is_some() {
        state.require_operator()?;
    }
    let kind_of = document_kind(&document);
    let printer = if counter_card {
        lock(&state.prefs).document_printers.get(&kind_of).cloned()
    } else {
        printer
    };
    if let (false, Some(p)) = (counter_card, &printer) {
        remember_printer(&state, kind_of, p)?;
    }
    let out = match out {
        Some(o) => PathBuf::from(o),
        None => default_pdf_path(&app, kind(&document)),
    };
    let title = stem(kind(&document));
    let pdf = render_document(&state, document)?;
    // The guest's card once: more copies would be more ways into the guest's name.
    let copies = if counter_card {
        1
    } else {
        copies.unwrap_or(1).clamp(1, 99)
    };
    write_pdf(
        &state,
        &pdf,
        title,
        &out,
        printer.as_deref().map(|p| (p, copies)),
        !counter_card,
    )
}

/// Keeps the printer last used for a kind of document, for the next time.
fn remember_printer(state: &AppState, kind: DocumentKind, printer: &str) -> UiResult<()> {
    let mut prefs = lock(&state.prefs).clone();
    if prefs.document_printers.get(&kind).map(String::as_str) == Some(printer) {
        return Ok(());
    }
    prefs.document_printers.insert(kind, printer.to_string());
    prefs.save(&state.data_dir)?;
    *lock(&state.prefs) = prefs;
    Ok(())
}

/// Runs printer I/O (the network, a device) off the window's thread.
async fn blocking<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> UiResult<T> {
    tauri::async_runtime::spawn_blocking(f)
        .await
        .map_err(|e| UiError::new("error", e.to_string()))
}

/// The printers of the system's print service, with their state and paper.
#[tauri::command]
pub async fn list_printers(state: State<'_, AppState>) -> UiResult<Vec<PrinterInfo>> {
    state.require_operator()?;
    let list = blocking(|| Cups::from_env().printers()).await?;
    list.map_err(|source| tresen::Error::Printer { source, pdf: None }.into())
}

/// How a print job is doing: queued, printing, done, or the printer's reason for stopping.
/// Only for the jobs this app sent.
#[tauri::command]
pub async fn print_job_state(
    state: State<'_, AppState>,
    printer: String,
    job: i32,
) -> UiResult<JobStatus> {
    if !lock(&state.sent_jobs).contains(&(printer.clone(), job)) {
        return Err(UiError::new(
            "not-ours",
            "only jobs this app sent can be followed from here",
        ));
    }
    let status = blocking(move || Cups::from_env().job(&printer, job)).await?;
    status.map_err(|source| tresen::Error::Printer { source, pdf: None }.into())
}

/// What the counter can print: a slip on the receipt printer, a card on a printer.
#[derive(Serialize)]
pub struct CounterPrinting {
    receipt_printer: bool,
    card_printer: Option<String>,
}

#[tauri::command]
pub fn counter_printing(state: State<'_, AppState>) -> CounterPrinting {
    let prefs = lock(&state.prefs);
    CounterPrinting {
        receipt_printer: prefs.receipt_printer.is_some(),
        card_printer: prefs.document_printers.get(&DocumentKind::Fob).cloned(),
    }
}

/// The slip of the guest just registered, on the receipt printer: exactly the code that
/// was checked in. Used up once printed; kept for another try when the printer failed.
#[tauri::command]
pub async fn print_slip(state: State<'_, AppState>) -> UiResult<()> {
    let printer = lock(&state.prefs)
        .receipt_printer
        .clone()
        .ok_or(tresen::Error::NoReceiptPrinter)?;
    // Taken before printing, so that two calls at once cannot print it twice.
    let (code, at) = lock(&state.last_registered)
        .take()
        .filter(|(_, at)| at.elapsed() < REGISTERED_FOB_WINDOW)
        .ok_or(tresen::Error::NoRegisteredGuest)?;
    let sent = {
        let code = code.clone();
        blocking(move || send_slip(&printer, &code)).await?
    };
    if sent.is_err() {
        // Kept for another try once the printer has paper, unless a newer guest came.
        let mut last = lock(&state.last_registered);
        if last.is_none() {
            *last = Some((code, at));
        }
    }
    Ok(sent?)
}

/// A test slip (no guest code: a text that no counter accepts), to check the receipt
/// printer's setting.
#[tauri::command]
pub async fn print_test_slip(state: State<'_, AppState>) -> UiResult<()> {
    state.require_operator()?;
    let printer = lock(&state.prefs)
        .receipt_printer
        .clone()
        .ok_or(tresen::Error::NoReceiptPrinter)?;
    blocking(move || send_slip(&printer, TEST_SLIP)).await??;
    Ok(())
}

/// What a test slip's QR code says.
pub const TEST_SLIP: &str = "Tresen Testzettel / test slip";

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
