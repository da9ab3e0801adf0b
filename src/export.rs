//! The health office's contact list: CSV (RFC 4180, UTF-8) and JSON. Every field that
//! came from a guest is validated and made inert for spreadsheets: control characters
//! (tab, carriage return, escape sequences: only in data that failed validation) become
//! U+FFFD, and a cell that starts with `=`, `+`, `-` or `@` (or their full-width forms,
//! after leading spaces) gets a leading apostrophe, so it cannot be taken as a formula.
//! Invalid guest data is kept and flagged, never dropped.

use std::io::Write;

use serde::Serialize;

use crate::contact::ContactData;

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
                .map(|r| crate::textcode::encode_base32(&r))
                .unwrap_or_default(),
            valid: problems.is_empty(),
            problems,
        }
    }
}

/// Makes a cell inert for spreadsheet programs.
pub fn spreadsheet_safe(s: &str) -> String {
    let cleaned: String = s
        .chars()
        .map(|c| if c.is_control() { '\u{FFFD}' } else { c })
        .collect();
    let first = cleaned.trim_start_matches(' ').chars().next();
    let dangerous = matches!(
        first,
        Some(
            '=' | '+' | '-' | '@' | '\t' | '\r' | '\u{FF1D}' | '\u{FF0B}' | '\u{FF0D}' | '\u{FF20}'
        )
    );
    if dangerous {
        format!("'{cleaned}")
    } else {
        cleaned
    }
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

    #[test]
    fn formulas_become_text() {
        for s in ["=1+1", "+49 30", "-2", "@SUM(A1)", "  =1", "＝1"] {
            assert!(spreadsheet_safe(s).starts_with('\''), "{s:?}");
        }
        for s in ["Erika", "Straße 1", "1=1", "a@b.de"] {
            assert_eq!(spreadsheet_safe(s), s);
        }
        // Control characters (only in data that failed validation) are replaced.
        assert_eq!(spreadsheet_safe("\t=1"), "\u{FFFD}=1");
        assert_eq!(spreadsheet_safe("a\rb"), "a\u{FFFD}b");
    }
}
