//! `tresen print`: the print-ready PDFs, saved and sent to a printer; `tresen printer`:
//! the printers and the receipt printer.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use clap::Subcommand;
use tresen::pc_preferences::Preferences;
pub use tresen::printing::Document;
use tresen::printing::{
    deliver, render, Cups, JobState, PrintTo, ReceiptPrinter, SlipQr, SlipWidth,
};
use tresen_cli_support::{now, PassphraseSource};
pub use tresen_documents::documents::TableLayout;
pub use tresen_documents::pdf::Paper;
use tresen_protocol::files::{limits, read_text_bounded};
use tresen_venue::Venue;

use crate::areas::parse_numbers;
use crate::Result;

#[derive(clap::Args)]
pub struct PrintArgs {
    #[command(subcommand)]
    what: PrintCmd,
    /// Also send it to this printer (a name from `tresen printer list`); the PDF is kept.
    #[arg(long, global = true, value_name = "NAME")]
    printer: Option<String>,
    /// Copies to print (1 to 99).
    #[arg(long, global = true, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=99))]
    copies: u32,
}

#[derive(Subcommand)]
pub enum PrinterCmd {
    /// The printers of the system's print service, their state and paper.
    List,
    /// Set this PC's receipt printer for guests' slips (`off`: none).
    Receipt {
        /// `/dev/usb/lp0` (USB) or `/dev/ttyUSB0@9600` (serial), or `off`.
        device: String,
        /// The paper roll: 58 or 80 (mm).
        #[arg(long, default_value = "58")]
        width: String,
        /// `native`: the printer's QR command; `raster`: an image, for printers without one.
        #[arg(long, default_value = "native")]
        qr: String,
    },
}

#[derive(Subcommand)]
pub enum PrintCmd {
    /// Area posters (all areas, or the ones named).
    Posters {
        #[arg(long = "area")]
        areas: Vec<String>,
        /// A3 instead of A4.
        #[arg(long)]
        a3: bool,
        #[arg(long, value_name = "FILE")]
        out: PathBuf,
    },
    /// Table cards of an area: A6 table tents, or a 3 x 8 label sheet.
    Tables {
        #[arg(long)]
        area: String,
        /// Tables, e.g. 1-12 or 1,2,5 (default: all).
        #[arg(long)]
        tables: Option<String>,
        #[arg(long)]
        labels: bool,
        #[arg(long, value_name = "FILE")]
        out: PathBuf,
    },
    /// Guest fob cards from guest codes (one per line in FILE).
    Fobs {
        #[arg(long, value_name = "FILE")]
        codes_file: PathBuf,
        #[arg(long, value_name = "FILE")]
        out: PathBuf,
    },
    /// The key recovery sheet for the operator's safe (holds only the protected key file).
    RecoverySheet {
        #[arg(long, value_name = "FILE")]
        key_file: PathBuf,
        #[arg(long, value_name = "FILE")]
        out: PathBuf,
        #[command(flatten)]
        pass: PassphraseSource,
    },
}

/// How long the command follows a job before it leaves it to the print service.
const FOLLOW: Duration = Duration::from_secs(120);

/// Renders a document with the venue's current codes, writes it to a new file and sends it
/// to the printer, if one is named; then follows the job until it is printed or stops.
fn print_document(
    k: &mut Venue,
    doc: &Document<'_>,
    out: &Path,
    printer: Option<&str>,
    copies: u32,
) -> Result<()> {
    let pdf = render(k, doc, now())?;
    let cups = Cups::from_env();
    let to = printer.map(|printer| PrintTo {
        cups: &cups,
        printer,
        copies,
    });
    let done = deliver(&pdf, doc.file_stem(), out, to)?;
    println!("{} page(s) written to {}.", done.pages, out.display());
    let Some(sent) = done.sent else {
        return Ok(());
    };
    println!("Sent to {} as job {}.", sent.printer, sent.job);
    let started = Instant::now();
    let mut last = None;
    loop {
        let status = cups.job(&sent.printer, sent.job)?;
        let line = format!(
            "job {}: {}{}",
            sent.job,
            state_word(status.state),
            status
                .reason
                .as_ref()
                .map(|r| format!(" ({})", r.code()))
                .unwrap_or_default()
        );
        if last.as_ref() != Some(&line) {
            println!("{line}");
            last = Some(line);
        }
        match status.state {
            JobState::Done => return Ok(()),
            JobState::Stopped | JobState::Cancelled | JobState::Failed => {
                let why = if status.message.is_empty() {
                    status
                        .reason
                        .map(|r| r.code().to_string())
                        .unwrap_or_default()
                } else {
                    status.message
                };
                return Err(format!(
                    "the job did not print ({why}); the PDF is kept: {}",
                    out.display()
                )
                .into());
            }
            _ if started.elapsed() > FOLLOW => {
                println!("Still waiting; `lpstat -o {}` shows the job.", sent.printer);
                return Ok(());
            }
            _ => std::thread::sleep(Duration::from_millis(300)),
        }
    }
}

/// Saves a document as PDF only (a reprint after a code was replaced).
pub fn save_document(k: &mut Venue, doc: &Document<'_>, out: &Path) -> Result<()> {
    print_document(k, doc, out, None, 1)
}

fn state_word(s: JobState) -> &'static str {
    match s {
        JobState::Queued => "queued",
        JobState::Printing => "printing",
        JobState::Stopped => "stopped",
        JobState::Done => "printed",
        JobState::Cancelled => "cancelled",
        JobState::Failed => "failed",
    }
}

/// `tresen printer …`: needs no venue.
pub fn printer(dir: &Path, c: &PrinterCmd) -> Result<()> {
    match c {
        PrinterCmd::List => {
            let cups = Cups::from_env();
            let list = cups
                .printers()
                .map_err(|source| tresen::Error::Printer { source, pdf: None })?;
            if list.is_empty() {
                println!("The print service at {} has no printers.", cups.server());
            }
            for p in list {
                let state = match (p.state, &p.reason) {
                    (tresen::printing::PrinterState::Stopped, r) => format!(
                        "stopped ({})",
                        r.as_ref().map(|r| r.code()).unwrap_or("paused")
                    ),
                    (s, _) => format!("{s:?}").to_lowercase(),
                };
                let accepting = if p.accepting {
                    ""
                } else {
                    ", not accepting jobs"
                };
                println!("{:<20} {state}{accepting}", p.name);
                if !p.info.is_empty() {
                    println!("    {}", p.info);
                }
                println!("    paper: {}", p.media.join(", "));
            }
        }
        PrinterCmd::Receipt { device, width, qr } => {
            let mut prefs = Preferences::load(dir)?;
            if device.trim() == "off" {
                prefs.receipt_printer = None;
                prefs.save(dir)?;
                println!("No receipt printer is set now.");
                return Ok(());
            }
            let printer = ReceiptPrinter {
                device: device.trim().to_string(),
                width: SlipWidth::parse(width).ok_or("the roll width is 58 or 80")?,
                qr: SlipQr::parse(qr).ok_or("--qr is native or raster")?,
            };
            printer.check()?;
            prefs.receipt_printer = Some(printer);
            prefs.save(dir)?;
            println!(
                "Slips print on {device}; `tresen guest register --slip` prints one per guest."
            );
        }
    }
    Ok(())
}

pub fn run(k: &mut Venue, args: PrintArgs) -> Result<()> {
    let printer = args.printer.as_deref();
    let copies = args.copies;
    let print_document = |k: &mut Venue, doc: &Document<'_>, out: &Path| {
        print_document(k, doc, out, printer, copies)
    };
    match args.what {
        PrintCmd::Posters { areas, a3, out } => {
            let ids = areas
                .iter()
                .map(|a| k.area_id(a))
                .collect::<std::result::Result<Vec<_>, _>>()?;
            let paper = if a3 { Paper::A3 } else { Paper::A4 };
            print_document(k, &Document::Posters { areas: &ids, paper }, &out)?;
        }
        PrintCmd::Tables {
            area,
            tables,
            labels,
            out,
        } => {
            let id = k.area_id(&area)?;
            let nums = tables
                .as_deref()
                .map(parse_numbers)
                .transpose()?
                .unwrap_or_default();
            let layout = if labels {
                TableLayout::Labels
            } else {
                TableLayout::Tents
            };
            let doc = Document::TableCards {
                area: Some(id),
                tables: &nums,
                layout,
            };
            print_document(k, &doc, &out)?;
        }
        PrintCmd::Fobs { codes_file, out } => {
            let text = read_text_bounded(&codes_file, limits::CODES_FILE)
                .map_err(|e| format!("could not read {}: {e}", codes_file.display()))?;
            let mut codes = Vec::new();
            for (i, line) in text
                .lines()
                .enumerate()
                .filter(|(_, l)| !l.trim().is_empty())
            {
                match k.classify(line) {
                    Ok(tresen_venue::Scanned::Guest(g)) => codes.push(g.to_text()),
                    Ok(_) => return Err(format!("line {}: not a guest code", i + 1).into()),
                    Err(e) => return Err(format!("line {}: {e}", i + 1).into()),
                }
            }
            print_document(k, &Document::FobCards { codes: &codes }, &out)?;
        }
        PrintCmd::RecoverySheet {
            key_file,
            out,
            pass,
        } => {
            let passphrase = pass.read("Passphrase of the venue key file", false)?;
            let doc = Document::RecoverySheet {
                key_file: &key_file,
                passphrase: &passphrase,
            };
            print_document(k, &doc, &out)?;
            println!("Keep the sheet in a safe place; it is useless without the passphrase.");
        }
    }
    Ok(())
}
