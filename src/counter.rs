//! The counter: what a scan means depends on what came before it. A guest code checks in
//! at the current area; an area code switches the current area; a table card scanned
//! right after a guest's check-in assigns that check-in to the table.

use crate::checkin_record::Method;
use crate::kiosk::{Error, Kiosk, RecordId, Refusal, ScanOutcome, Scanned};

/// How long after a check-in a table card is taken for that guest (seconds).
pub const ASSIGN_WINDOW_SECS: i64 = 120;

/// What a scan at the counter did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CounterOutcome {
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
pub struct Counter {
    area: Option<i64>,
    /// The last check-in (record, area, time), waiting for a table card.
    pending: Option<(RecordId, i64, i64)>,
}

impl Counter {
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
        kiosk: &mut Kiosk,
        table: u16,
        now: i64,
    ) -> Result<CounterOutcome, Error> {
        match self.assign_pending(kiosk, None, table, now) {
            Err(Error::Refused(r)) => Ok(CounterOutcome::Refused(r)),
            other => other,
        }
    }

    fn assign_pending(
        &mut self,
        kiosk: &mut Kiosk,
        card_area: Option<i64>,
        table: u16,
        now: i64,
    ) -> Result<CounterOutcome, Error> {
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
        kiosk.assign_table(record, table)?;
        self.pending = None;
        Ok(CounterOutcome::TableAssigned {
            record,
            area,
            table,
        })
    }

    /// Handles one scanned text. Refusals are outcomes (shown to staff); only failures of
    /// the store or the keys are errors.
    pub fn handle(
        &mut self,
        kiosk: &mut Kiosk,
        text: &str,
        method: Method,
        now: i64,
    ) -> Result<CounterOutcome, Error> {
        let result = self.dispatch(kiosk, text, method, now);
        match result {
            Err(Error::Refused(r)) => Ok(CounterOutcome::Refused(r)),
            other => other,
        }
    }

    fn dispatch(
        &mut self,
        kiosk: &mut Kiosk,
        text: &str,
        method: Method,
        now: i64,
    ) -> Result<CounterOutcome, Error> {
        match kiosk.classify(text)? {
            Scanned::Area(area) => {
                self.set_area(area);
                Ok(CounterOutcome::AreaSelected { area })
            }
            Scanned::Table(area, table) => self.assign_pending(kiosk, Some(area), table, now),
            Scanned::Guest(code) => {
                let area = self.area.ok_or(Refusal::NoAreaSelected)?;
                let outcome = kiosk.check_in(&code, area, None, method, now)?;
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
                Ok(CounterOutcome::Guest(outcome))
            }
        }
    }
}
