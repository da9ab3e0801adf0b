//! The health office's contact list: CSV (RFC 4180, UTF-8) and JSON. Every field that
//! came from a guest is validated and made inert for spreadsheets (see
//! [`spreadsheet_safe`]): control characters (tab, carriage return, escape sequences: only
//! in data that failed validation) become U+FFFD; then leading white space, format and
//! other invisible characters are skipped, and if the first character after them — in the
//! text as typed or in its NFKC form — is a formula trigger (`=`, `+`, `-`, `@`) or a minus
//! or plus sign (U+2212 …), the cell gets a leading apostrophe, so it cannot be taken as a
//! formula. Full-width, small, superscript and subscript forms are caught by NFKC. Nothing
//! else is changed, and nothing is removed. tests/spreadsheet.rs opens such an export in
//! LibreOffice with formula evaluation on. Invalid guest data is kept and flagged, never
//! dropped.

use std::io::Write;

use serde::Serialize;
use unicode_normalization::UnicodeNormalization;
use unicode_properties::{GeneralCategory, UnicodeGeneralCategory};

use tresen_protocol::contact::ContactData;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ContactRow {
    pub name: String,
    pub street: String,
    pub postcode: String,
    pub city: String,
    pub phone: String,
    pub email: String,
    pub location: String,
    pub area: String,
    pub table: Option<u16>,
    /// RFC 3339, UTC.
    pub checked_in: String,
    pub checked_out: Option<String>,
    pub method: String,
    /// The venue's id of the check-in (base 32; empty in answers of version 1).
    pub record: String,
    pub valid: bool,
    /// Why the row is flagged, if it is.
    pub problems: Vec<String>,
}

/// Where and when a row's check-in happened, as the venue's answer says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RowPlace {
    pub record: Option<[u8; 16]>,
    pub location: String,
    pub area: String,
    pub table: Option<u16>,
    pub checked_in_at: i64,
    pub checked_out_at: Option<i64>,
    pub method: &'static str,
}

impl ContactRow {
    pub fn new(
        contact: Option<ContactData>,
        problem: Option<String>,
        place: RowPlace,
    ) -> ContactRow {
        let mut problems = Vec::new();
        if let Some(e) = problem {
            problems.push(e);
        }
        let c = contact.unwrap_or(ContactData {
            name: String::new(),
            street: String::new(),
            postcode: String::new(),
            city: String::new(),
            phone: String::new(),
            email: String::new(),
        });
        if problems.is_empty() {
            if let Err(e) = c.check() {
                problems.push(e.to_string());
            }
        }
        let time = |t: i64| {
            chrono::DateTime::from_timestamp(t, 0)
                .map(|d| d.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
                .unwrap_or_default()
        };
        ContactRow {
            name: c.name.clone(),
            street: c.street.clone(),
            postcode: c.postcode.clone(),
            city: c.city.clone(),
            phone: c.phone.clone(),
            email: c.email.clone(),
            location: place.location,
            area: place.area,
            table: place.table,
            checked_in: time(place.checked_in_at),
            checked_out: place.checked_out_at.map(time),
            method: place.method.to_string(),
            record: place
                .record
                .map(|r| tresen_protocol::textcode::encode_base32(&r))
                .unwrap_or_default(),
            valid: problems.is_empty(),
            problems,
        }
    }
}

/// Makes a cell inert for spreadsheet programs. Control characters become U+FFFD. Then,
/// if the first character that is not invisible (white space, separator, format character,
/// nonspacing or enclosing mark, unassigned, Hangul filler, blank Braille pattern) is `=`,
/// `+`, `-`, `@` or another minus or plus sign — in the text as it is or in its NFKC form,
/// so that full-width, small, superscript and subscript forms count — the cell gets a
/// leading apostrophe. Everything else is kept as it is.
pub fn spreadsheet_safe(s: &str) -> String {
    let cleaned: String = s
        .chars()
        .map(|c| if c.is_control() { '\u{FFFD}' } else { c })
        .collect();
    if starts_like_formula(&cleaned) {
        format!("'{cleaned}")
    } else {
        cleaned
    }
}

/// Whether the first character after any leading [invisible](is_invisible) ones is a
/// [formula trigger](is_formula_trigger), in `s` as it is or in its NFKC form (which maps
/// full-width, small, superscript and subscript forms such as U+FF1D, U+FE62, U+207B to
/// `=`, `+`, `-`/U+2212).
fn starts_like_formula(s: &str) -> bool {
    fn first_visible(mut chars: impl Iterator<Item = char>) -> Option<char> {
        chars.find(|&c| !is_invisible(c))
    }
    first_visible(s.chars()).is_some_and(is_formula_trigger)
        || first_visible(s.nfkc()).is_some_and(is_formula_trigger)
}

/// A character a spreadsheet may skip or show as nothing at the start of a cell: Unicode
/// white space (NBSP, U+2000…U+200A, U+2028, U+3000, …), separators, format characters
/// (soft hyphen, zero-width and bidi controls, word joiner, BOM, tag characters, …),
/// combining marks with nothing to combine with (U+034F, variation selectors, …),
/// unassigned code points, the Hangul fillers and the blank Braille pattern.
fn is_invisible(c: char) -> bool {
    c.is_whitespace()
        || matches!(
            c.general_category(),
            GeneralCategory::SpaceSeparator
                | GeneralCategory::LineSeparator
                | GeneralCategory::ParagraphSeparator
                | GeneralCategory::Format
                | GeneralCategory::NonspacingMark
                | GeneralCategory::EnclosingMark
                | GeneralCategory::Unassigned
        )
        || matches!(
            c,
            '\u{115F}' | '\u{1160}' | '\u{3164}' | '\u{FFA0}' | '\u{2800}'
        )
}

/// `=`, `+`, `-`, `@`, and the minus and plus signs that are not compatibility forms of
/// them: MINUS SIGN (also the NFKC form of the superscript and subscript minus), HEAVY
/// PLUS/MINUS SIGN, MODIFIER LETTER PLUS/MINUS SIGN, COMMERCIAL MINUS SIGN.
fn is_formula_trigger(c: char) -> bool {
    matches!(
        c,
        '=' | '+'
            | '-'
            | '@'
            | '\u{2212}'
            | '\u{2795}'
            | '\u{2796}'
            | '\u{02D6}'
            | '\u{02D7}'
            | '\u{2052}'
    )
}

pub const CSV_HEADER: [&str; 15] = [
    "name",
    "street",
    "postcode",
    "city",
    "phone",
    "email",
    "location",
    "area",
    "table",
    "checked_in",
    "checked_out",
    "method",
    "valid",
    "problems",
    "record",
];

/// Writes rows as CSV one at a time (nothing is held in memory).
pub struct CsvExport<W: Write> {
    w: csv::Writer<W>,
}

impl<W: Write> CsvExport<W> {
    pub fn new(out: W) -> Result<Self, csv::Error> {
        let mut w = csv::WriterBuilder::new()
            .quote_style(csv::QuoteStyle::Always)
            .terminator(csv::Terminator::CRLF)
            .from_writer(out);
        w.write_record(CSV_HEADER)?;
        Ok(Self { w })
    }

    pub fn push(&mut self, r: &ContactRow) -> Result<(), csv::Error> {
        let table = r.table.map(|t| t.to_string()).unwrap_or_default();
        let fields = [
            spreadsheet_safe(&r.name),
            spreadsheet_safe(&r.street),
            spreadsheet_safe(&r.postcode),
            spreadsheet_safe(&r.city),
            spreadsheet_safe(&r.phone),
            spreadsheet_safe(&r.email),
            spreadsheet_safe(&r.location),
            spreadsheet_safe(&r.area),
            table,
            r.checked_in.clone(),
            r.checked_out.clone().unwrap_or_default(),
            r.method.clone(),
            if r.valid { "yes".into() } else { "no".into() },
            spreadsheet_safe(&r.problems.join("; ")),
            r.record.clone(),
        ];
        self.w.write_record(&fields)
    }

    pub fn finish(mut self) -> Result<(), csv::Error> {
        self.w.flush()?;
        Ok(())
    }
}

/// Writes rows as a JSON array one at a time.
pub struct JsonExport<W: Write> {
    out: W,
    first: bool,
}

impl<W: Write> JsonExport<W> {
    pub fn new(mut out: W) -> std::io::Result<Self> {
        out.write_all(b"[")?;
        Ok(Self { out, first: true })
    }

    pub fn push(&mut self, r: &ContactRow) -> std::io::Result<()> {
        if !self.first {
            self.out.write_all(b",")?;
        }
        self.first = false;
        self.out.write_all(b"\n  ")?;
        serde_json::to_writer(&mut self.out, r).map_err(std::io::Error::other)
    }

    pub fn finish(mut self) -> std::io::Result<()> {
        self.out.write_all(b"\n]\n")?;
        self.out.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::spreadsheet_safe;

    /// Each payload must come back as `'` + payload.
    fn quoted(payloads: &[&str]) {
        for s in payloads {
            assert_eq!(spreadsheet_safe(s), format!("'{s}"), "{s:?}");
        }
    }

    /// Each payload must come back unchanged.
    fn kept(payloads: &[&str]) {
        for s in payloads {
            assert_eq!(spreadsheet_safe(s), *s, "{s:?}");
        }
    }

    #[test]
    fn formulas_become_text() {
        quoted(&["=1+1", "+49 30", "-2", "@SUM(A1)", "  =1", "＝1"]);
        kept(&["Erika", "Straße 1", "1=1", "a@b.de"]);
        // Control characters (only in data that failed validation) are replaced.
        assert_eq!(spreadsheet_safe("\t=1"), "\u{FFFD}=1");
        assert_eq!(spreadsheet_safe("a\rb"), "a\u{FFFD}b");
    }

    #[test]
    fn formulas_behind_unicode_white_space() {
        quoted(&[
            "\u{A0}=1+1",
            "\u{3000}=1+1",
            "\u{2003}+1",
            "\u{202F}-1",
            "\u{205F}@SUM(1)",
            "\u{1680}=1",
            "\u{2028}=1",
            "\u{2029}=1",
            " \u{A0} \u{3000}=1",
        ]);
    }

    #[test]
    fn formulas_behind_format_characters() {
        quoted(&[
            "\u{200B}=1+1",
            "\u{200C}=1",
            "\u{200D}=1",
            "\u{200E}=1",
            "\u{200F}=1",
            "\u{202E}=1",
            "\u{2060}=1",
            "\u{2066}=1",
            "\u{FEFF}=1",
            "\u{AD}=1",
            "\u{61C}=1",
            "\u{180E}=1",
            "\u{E0001}\u{E0041}=1",
            "\u{200B}\u{A0}\u{FEFF}@SUM(1)",
        ]);
    }

    #[test]
    fn formulas_behind_other_invisible_characters() {
        quoted(&[
            "\u{115F}=1",
            "\u{1160}=1",
            "\u{3164}=1",
            "\u{FFA0}=1",
            "\u{34F}=1",
            "\u{FE0F}=1",
            "\u{E0100}=1",
            "\u{2800}=1",
            "\u{0378}=1", // unassigned
        ]);
    }

    #[test]
    fn compatibility_forms_of_triggers() {
        quoted(&[
            "\u{FE62}1+1",
            "\u{FE63}1+1",
            "\u{FE66}1+1",
            "\u{FE6B}SUM(1)",
            "\u{207A}1",
            "\u{207B}1",
            "\u{207C}1",
            "\u{208A}1",
            "\u{208B}1",
            "\u{208C}1",
            "\u{FB29}1",
            "\u{2A75}1",
            "\u{A0}\u{FF1D}1",
        ]);
    }

    #[test]
    fn minus_and_plus_signs() {
        quoted(&[
            "\u{2212}1+1",
            "\u{2796}1",
            "\u{2795}1",
            "\u{2D7}1",
            "\u{2D6}1",
            "\u{2052}1",
            "\u{200B}\u{2212}1",
        ]);
    }

    #[test]
    fn harmless_text_is_kept() {
        kept(&[
            "",
            "Erika Mustermann",
            "O'Brien",
            "'Erika",
            "Müller-Lüdenscheidt",
            "0221 12345678",
            "E=mc²",
            "\u{2260} 5",
            "\u{2013} Erika",
            "\u{2010}1",
            "\u{A0}Erika",
            "\u{200B}Erika",
            "\u{200B}\u{A0}",
            "\u{FF21}\u{FF22}",
            "😀=1",
            "👨\u{200D}👩\u{200D}👧",
            "مرحبا=1",
            "\u{202B}שלום",
        ]);
    }
}
