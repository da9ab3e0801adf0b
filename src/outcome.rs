//! What a scan (or a tap, or a registration) did, described once for both front ends: a
//! stable code with the area and table for the window to word in its language, and the
//! one line the `tresen` tool prints.

use serde::Serialize;
use tresen_venue::scan_session::SessionOutcome;
use tresen_venue::{RecordId, ScanOutcome, Venue};

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Outcome {
    pub ok: bool,
    /// `checked-in`, `checked-out`, `moved`, `double-read`, `area-selected`,
    /// `table-assigned`, or the refusal's code.
    pub code: String,
    pub area: Option<String>,
    pub table: Option<u16>,
    /// The check-in concerned, if any.
    #[serde(skip)]
    pub record: Option<RecordId>,
    /// The area a guest moved from.
    #[serde(skip)]
    pub from_area: Option<String>,
    /// The values the refusal's words need.
    pub params: tresen_venue::Params,
    /// The core's English sentence for a refusal (the `tresen` tool prints it).
    pub message: String,
}

fn area_name(venue: &Venue, id: i64) -> String {
    venue
        .area(id)
        .map(|a| a.name)
        .unwrap_or_else(|_| format!("#{id}"))
}

impl Outcome {
    pub fn of_scan(venue: &Venue, o: &ScanOutcome) -> Outcome {
        let (code, record, area, from, table) = match o {
            ScanOutcome::CheckedIn {
                record,
                area,
                table,
            } => ("checked-in", Some(*record), *area, None, *table),
            ScanOutcome::CheckedOut { record, area, .. } => {
                ("checked-out", Some(*record), *area, None, None)
            }
            ScanOutcome::Moved {
                record,
                from_area,
                to_area,
                table,
            } => ("moved", Some(*record), *to_area, Some(*from_area), *table),
            ScanOutcome::DoubleRead { area } => ("double-read", None, *area, None, None),
        };
        Outcome {
            ok: true,
            code: code.into(),
            area: Some(area_name(venue, area)),
            table,
            record,
            from_area: from.map(|f| area_name(venue, f)),
            params: Default::default(),
            message: String::new(),
        }
    }

    pub fn of_counter(venue: &Venue, o: &SessionOutcome) -> Outcome {
        match o {
            SessionOutcome::Guest(g) => Outcome::of_scan(venue, g),
            SessionOutcome::AreaSelected { area } => Outcome {
                ok: true,
                code: "area-selected".into(),
                area: Some(area_name(venue, *area)),
                table: None,
                record: None,
                from_area: None,
                params: Default::default(),
                message: String::new(),
            },
            SessionOutcome::TableAssigned {
                record,
                area,
                table,
            } => Outcome {
                ok: true,
                code: "table-assigned".into(),
                area: Some(area_name(venue, *area)),
                table: Some(*table),
                record: Some(*record),
                from_area: None,
                params: Default::default(),
                message: String::new(),
            },
            SessionOutcome::Refused(r) => Outcome::refused(r.code(), r.params(), r.to_string()),
        }
    }

    /// A guest checked out by hand (no scan): the caller names the area and record.
    pub fn checked_out() -> Outcome {
        Outcome {
            ok: true,
            code: "checked-out".into(),
            area: None,
            table: None,
            record: None,
            from_area: None,
            params: Default::default(),
            message: String::new(),
        }
    }

    pub fn refused(code: &str, params: tresen_venue::Params, message: String) -> Outcome {
        Outcome {
            ok: false,
            code: code.into(),
            area: None,
            table: None,
            record: None,
            from_area: None,
            params,
            message,
        }
    }

    /// The line the `tresen` tool prints: `checked-in RECORD area=Terrasse table=4`.
    pub fn line(&self) -> String {
        if !self.ok {
            return format!("refused: {}", self.message);
        }
        let mut s = self.code.clone();
        if let Some(r) = self.record {
            s.push_str(&format!(" {r}"));
        }
        if let Some(f) = &self.from_area {
            s.push_str(&format!(" from={f}"));
        }
        if let Some(a) = &self.area {
            s.push_str(&format!(" area={a}"));
        }
        if let Some(t) = self.table {
            s.push_str(&format!(" table={t}"));
        }
        if self.code == "double-read" {
            s.push_str(" (ignored)");
        }
        s
    }
}
