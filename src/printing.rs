//! Printing, for the app and the `tresen` tool alike: posters, table cards, fob cards and
//! the key recovery sheet, as PDF.

use std::path::Path;

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
