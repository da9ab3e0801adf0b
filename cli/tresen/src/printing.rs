//! `tresen print`: the print-ready PDFs.

use std::path::{Path, PathBuf};

use clap::Subcommand;
use tresen::printing::render;
pub use tresen::printing::Document;
use tresen_cli_support::{now, PassphraseSource};
pub use tresen_documents::documents::TableLayout;
pub use tresen_documents::pdf::Paper;
use tresen_protocol::files::{limits, read_text_bounded};
use tresen_venue::Venue;

use crate::areas::parse_numbers;
use crate::Result;

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

/// Renders a document with the venue's current codes and writes it to a new file.
pub fn print_document(k: &mut Venue, doc: &Document<'_>, out: &Path) -> Result<()> {
    let pdf = render(k, doc, now())?;
    tresen_protocol::files::write_new_file(out, &pdf.bytes)?;
    println!("{} page(s) written to {}.", pdf.pages, out.display());
    Ok(())
}

pub fn run(k: &mut Venue, c: PrintCmd) -> Result<()> {
    match c {
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
