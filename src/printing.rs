//! Printing, for the app and the `tresen` tool alike: posters, table cards, fob cards and
//! the key recovery sheet, as PDF, saved and then sent to a printer of the system's print
//! service; the guest's slip on a receipt printer.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
pub use tresen_devices::printer::cups::{media_for, Job};
pub use tresen_devices::printer::receipt::ReceiptPort;
pub use tresen_devices::printer::{
    Cups, JobState, JobStatus, PrinterError, PrinterInfo, PrinterState, StopReason,
};
pub use tresen_documents::receipt_slip::{guest_slip, SlipQr, SlipWidth};

pub use tresen_documents::documents::TableLayout;
use tresen_documents::documents::{self, PosterInfo, TableInfo};
pub use tresen_documents::pdf::{Paper, Pdf};
use tresen_protocol::contact::ContactData;
use tresen_protocol::key_file::{self, Passphrase};
use tresen_protocol::time::format_time;
use tresen_venue::Venue;

use crate::Error;

/// What to print.
pub enum Document<'a> {
    /// Area posters; no areas: all live areas.
    Posters { areas: &'a [i64], paper: Paper },
    /// Table cards of one area (no tables: all of the area's), or with no area, of every
    /// live area's tables.
    TableCards {
        area: Option<i64>,
        tables: &'a [u16],
        layout: TableLayout,
    },
    /// Fob cards for guest codes (already made and checked).
    FobCards { codes: &'a [String] },
    /// A fob card with a new guest code for this contact (nothing is stored).
    NewFobCard { contact: &'a ContactData },
    /// The key recovery sheet of a key file, which must open with the passphrase and hold
    /// the venue's current key.
    RecoverySheet {
        key_file: &'a Path,
        passphrase: &'a Passphrase,
    },
}

impl Document<'_> {
    /// The file name a document is saved under by default.
    pub fn file_stem(&self) -> &'static str {
        match self {
            Document::Posters { .. } => "aushang",
            Document::TableCards { .. } => "tischkarten",
            Document::FobCards { .. } | Document::NewFobCard { .. } => "gast-code",
            Document::RecoverySheet { .. } => "schluessel-notfallblatt",
        }
    }
}

/// The kinds of document, each with its own printer (posters on the office laser, cards on
/// the label printer).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DocumentKind {
    Posters,
    Tables,
    Fob,
    Recovery,
}

/// Where a document goes after it is saved as PDF.
pub struct PrintTo<'a> {
    pub cups: &'a Cups,
    pub printer: &'a str,
    pub copies: u32,
}

/// A job the print service took.
#[derive(Debug, Clone, Serialize)]
pub struct SentJob {
    pub printer: String,
    pub job: i32,
}

/// A document saved (unless it was only sent), and sent when a printer was named.
#[derive(Debug, Clone, Serialize)]
pub struct Delivered {
    pub path: Option<PathBuf>,
    pub pages: usize,
    pub sent: Option<SentJob>,
}

/// Sends a document to the printer on the paper its pages have, at 100 %.
pub fn send(pdf: &Pdf, title: &str, to: &PrintTo<'_>) -> Result<SentJob, PrinterError> {
    let job = Job {
        title,
        document: &pdf.bytes,
        media: &media_for(pdf.page_mm.0, pdf.page_mm.1),
        copies: to.copies,
    };
    let id = to.cups.submit(to.printer, &job)?;
    Ok(SentJob {
        printer: to.printer.to_string(),
        job: id,
    })
}

/// Saves the PDF to a new file, then sends it to the printer, if one is named. When the
/// printer fails, the PDF stays and the error names it.
pub fn deliver(
    pdf: &Pdf,
    title: &str,
    out: &Path,
    to: Option<PrintTo<'_>>,
) -> Result<Delivered, Error> {
    tresen_protocol::files::write_new_file(out, &pdf.bytes)?;
    let sent = to
        .map(|to| send(pdf, title, &to))
        .transpose()
        .map_err(|source| Error::Printer {
            source,
            pdf: Some(out.to_path_buf()),
        })?;
    Ok(Delivered {
        path: Some(out.to_path_buf()),
        pages: pdf.pages,
        sent,
    })
}

/// Sends a document that should leave no file behind (the guest's card at the counter);
/// only when the printer fails is it saved, so that it is not lost.
pub fn send_or_save(
    pdf: &Pdf,
    title: &str,
    out: &Path,
    to: PrintTo<'_>,
) -> Result<Delivered, Error> {
    match send(pdf, title, &to) {
        Ok(sent) => Ok(Delivered {
            path: None,
            pages: pdf.pages,
            sent: Some(sent),
        }),
        Err(source) => {
            tresen_protocol::files::write_new_file(out, &pdf.bytes)?;
            Err(Error::Printer {
                source,
                pdf: Some(out.to_path_buf()),
            })
        }
    }
}

/// The receipt printer at the counter: its port, its roll and how it prints QR codes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReceiptPrinter {
    /// `/dev/usb/lp0` or `/dev/ttyUSB0@9600`.
    pub device: String,
    #[serde(default)]
    pub width: SlipWidth,
    #[serde(default)]
    pub qr: SlipQr,
}

impl ReceiptPrinter {
    /// Checks the setting without opening the port.
    pub fn check(&self) -> Result<ReceiptPort, Error> {
        ReceiptPort::parse(&self.device).map_err(|source| Error::Printer { source, pdf: None })
    }
}

/// Prints the guest's slip: exactly this code, as a QR code, with the fob card's text.
pub fn print_slip(printer: &ReceiptPrinter, code: &str) -> Result<(), Error> {
    let port = printer.check()?;
    let bytes = guest_slip(code, printer.width, printer.qr)?;
    port.send(&bytes)
        .map_err(|source| Error::Printer { source, pdf: None })
}

/// Renders a document with the venue's current codes.
pub fn render(venue: &mut Venue, doc: &Document<'_>, now: i64) -> Result<Pdf, Error> {
    Ok(match doc {
        Document::Posters { areas, paper } => {
            let signs = venue.poster_infos(areas)?;
            let one_location = venue.locations()?.len() == 1;
            let infos: Vec<PosterInfo> = signs
                .into_iter()
                .map(|s| PosterInfo {
                    venue: s.venue,
                    location: if one_location {
                        String::new()
                    } else {
                        s.location
                    },
                    area: s.area,
                    code: s.code,
                    fingerprint: s.fingerprint,
                    code_date: s.code_date,
                    retention_days: s.retention_days,
                })
                .collect();
            documents::posters(&infos, *paper)?
        }
        Document::TableCards {
            area,
            tables,
            layout,
        } => {
            let areas = match area {
                Some(a) => vec![*a],
                None => venue
                    .areas()?
                    .into_iter()
                    .filter(|a| {
                        a.state != tresen_venue::AreaState::Archived && !a.tables.is_empty()
                    })
                    .map(|a| a.id)
                    .collect(),
            };
            let mut signs = Vec::new();
            for a in areas {
                signs.extend(venue.table_infos(a, tables)?);
            }
            let infos: Vec<TableInfo> = signs
                .into_iter()
                .map(|t| TableInfo {
                    area: t.area,
                    table: t.table,
                    code: t.code,
                })
                .collect();
            documents::table_cards(&venue.venue_name()?, &infos, *layout)?
        }
        Document::FobCards { codes } => documents::fob_cards(codes)?,
        Document::NewFobCard { contact } => {
            documents::fob_cards(&[venue.make_guest_code(contact)?.to_text()])?
        }
        Document::RecoverySheet {
            key_file: path,
            passphrase,
        } => {
            // Read once; the sheet prints exactly the bytes that were verified.
            let bytes = key_file::read_bytes(path)?;
            venue.verify_key_bytes(path, &bytes, passphrase, now)?;
            let text = String::from_utf8(bytes).map_err(|_| key_file::KeyFileError::NotAKeyFile)?;
            let day: String = format_time(now).chars().take(10).collect();
            documents::recovery_sheet(&venue.venue_name()?, &venue.fingerprint(), &day, &text)?
        }
    })
}
