//! The counter's scan session: what a scan means depends on what came before it. A guest code checks in
//! at the current area; an area code switches the current area; a table card scanned
//! right after a guest's check-in assigns that check-in to the table.

use crate::{Error, RecordId, Refusal, ScanOutcome, Scanned, Venue};
use tresen_protocol::checkin_record::Method;

/// How long after a check-in a table card is taken for that guest (seconds).
pub const ASSIGN_WINDOW_SECS: i64 = 120;

/// What a scan at the counter did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SessionOutcome {
    Guest(ScanOutcome),
    AreaSelected {
        area: i64,
    },
    TableAssigned {
        record: RecordId,
        area: i64,
        table: u16,
    },
    Refused(Refusal),
}

#[derive(Debug, Clone, Default)]
pub struct ScanSession {
    area: Option<i64>,
    /// The last check-in (record, area, time), waiting for a table card.
    pending: Option<(RecordId, i64, i64)>,
}

impl ScanSession {
    pub fn new(area: Option<i64>) -> Self {
        Self {
            area,
            pending: None,
        }
    }

    pub fn area(&self) -> Option<i64> {
        self.area
    }

    pub fn set_area(&mut self, area: i64) {
        self.area = Some(area);
        self.pending = None;
    }

    /// The area of the check-in still waiting for a table, if it is recent enough.
    pub fn waiting_for_table(&self, now: i64) -> Option<i64> {
        self.pending
            .filter(|&(_, _, at)| now - at <= ASSIGN_WINDOW_SECS)
            .map(|(_, area, _)| area)
    }

    /// A tap on a table number: assigns the last check-in as scanning the card would.
    pub fn tap_table(
        &mut self,
        venue: &mut Venue,
        table: u16,
        now: i64,
    ) -> Result<SessionOutcome, Error> {
        match self.assign_pending(venue, None, table, now) {
            Err(Error::Refused(r)) => Ok(SessionOutcome::Refused(r)),
            other => other,
        }
    }

    fn assign_pending(
        &mut self,
        venue: &mut Venue,
        card_area: Option<i64>,
        table: u16,
        now: i64,
    ) -> Result<SessionOutcome, Error> {
        let Some((record, guest_area, at)) = self.pending else {
            return Err(Refusal::NoGuestForTable.into());
        };
        if now - at > ASSIGN_WINDOW_SECS {
            self.pending = None;
            return Err(Refusal::NoGuestForTable.into());
        }
        let area = card_area.unwrap_or(guest_area);
        if guest_area != area {
            return Err(Refusal::TableInOtherArea.into());
        }
        venue.assign_table(record, table)?;
        self.pending = None;
        Ok(SessionOutcome::TableAssigned {
            record,
            area,
            table,
        })
    }

    /// Handles one scanned text. Refusals are outcomes (shown to staff); only failures of
    /// the store or the keys are errors.
    pub fn handle(
        &mut self,
        venue: &mut Venue,
        text: &str,
        method: Method,
        now: i64,
    ) -> Result<SessionOutcome, Error> {
        let result = self.dispatch(venue, text, method, now);
        match result {
            Err(Error::Refused(r)) => Ok(SessionOutcome::Refused(r)),
            other => other,
        }
    }

    fn dispatch(
        &mut self,
        venue: &mut Venue,
        text: &str,
        method: Method,
        now: i64,
    ) -> Result<SessionOutcome, Error> {
        match venue.classify(text)? {
            Scanned::Area(area) => {
                self.set_area(area);
                Ok(SessionOutcome::AreaSelected { area })
            }
            Scanned::Table(area, table) => self.assign_pending(venue, Some(area), table, now),
            Scanned::Guest(code) => {
                let area = self.area.ok_or(Refusal::NoAreaSelected)?;
                let outcome = venue.check_in(&code, area, None, method, now)?;
                self.pending = match &outcome {
                    ScanOutcome::CheckedIn { record, area, .. }
                    | ScanOutcome::Moved {
                        record,
                        to_area: area,
                        ..
                    } => Some((*record, *area, now)),
                    ScanOutcome::DoubleRead { .. } => self.pending,
                    ScanOutcome::CheckedOut { .. } => None,
                };
                Ok(SessionOutcome::Guest(outcome))
            }
        }
    }
}
