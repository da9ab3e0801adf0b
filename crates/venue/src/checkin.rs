//! Check-in and check-out: reading a scanned text, sealing a check-in bound to its area and
//! time, the decision between check-in, check-out, move and double read, tables assigned
//! later, guests checked out by hand or at closing time, and the counts.

use chrono::{Local, NaiveDate, TimeZone};
use tresen_protocol::checkin_record::{self, Binding, Method, OpenedCheckin, RECORD_ID_LEN};
use tresen_protocol::contact::ContactData;
use tresen_protocol::crypto;
use tresen_protocol::guest_code::{GuestCode, GuestCodeError};
use tresen_protocol::textcode::{self, encode_base32, Kind};
use tresen_protocol::venue_code::{VenueCode, VENUE_TAG_LEN};
use tresen_protocol::venue_keys::VenueSecretKeys;

use crate::store::{CheckinBinding, NewCheckin, PriorScan, ScanStep, StoreError};
use crate::{Area, AreaState, Error, OpenCheckin, RecordId, Refusal, ScanOutcome, Scanned, Venue};

/// Area ids are written into codes and seals as 32 bits.
pub(crate) fn area_id_u32(area: i64) -> Result<u32, Error> {
    u32::try_from(area).map_err(|_| Error::UnknownArea(format!("#{area}")))
}

fn outcome_name(o: &ScanOutcome) -> &'static str {
    match o {
        ScanOutcome::CheckedIn { .. } => "checked_in",
        ScanOutcome::CheckedOut { .. } => "checked_out",
        ScanOutcome::Moved { .. } => "moved",
        ScanOutcome::DoubleRead { .. } => "double_read",
    }
}

fn record_id(bytes: &[u8]) -> RecordId {
    let mut rid = [0u8; RECORD_ID_LEN];
    if bytes.len() == RECORD_ID_LEN {
        rid.copy_from_slice(bytes);
    }
    RecordId(rid)
}

/// A stored check-in's binding, as the protocol needs it.
fn binding_of(record: RecordId, b: &CheckinBinding) -> Result<Binding, Error> {
    let bad = || StoreError::Corrupt("a stored venue key is damaged".into());
    Ok(Binding {
        record_id: record.0,
        venue_fingerprint: b.fingerprint.clone().try_into().map_err(|_| bad())?,
        area_id: area_id_u32(b.area)?,
        checked_in_at: b.checked_in_at,
    })
}

impl Venue {
    /// Reads a scanned text: a guest code (checked for integrity and authority), or one of
    /// this venue's area or table codes (checked for being current).
    pub fn classify(&self, text: &str) -> Result<Scanned, Error> {
        let frame = textcode::unframe(text).map_err(Refusal::from)?;
        match frame.kind {
            Kind::Guest => {
                let code = GuestCode::from_frame_body(frame.version, &frame.body)
                    .map_err(Refusal::from)?;
                if !self.known_contact_keys.contains(&code.key_id) {
                    return Err(Refusal::OtherAuthority.into());
                }
                Ok(Scanned::Guest(code))
            }
            Kind::Venue => {
                let vc = VenueCode::from_body(&frame.body).map_err(Refusal::from)?;
                self.check_venue_code(&vc)
            }
        }
    }

    fn check_venue_code(&self, vc: &VenueCode) -> Result<Scanned, Error> {
        let ours = self
            .store
            .keys()?
            .iter()
            .any(|k| k.fingerprint.get(..VENUE_TAG_LEN) == Some(&vc.venue_tag[..]));
        if !ours {
            return Err(Refusal::ForeignVenue.into());
        }
        let area_id = i64::from(vc.area_id);
        let Some(area) = self.store.area_row(area_id)? else {
            return Err(Refusal::UnknownVenueCode.into());
        };
        if area.state == "archived" {
            return Err(Refusal::AreaArchived(area.name).into());
        }
        let (current, replaced_at) = if vc.table == 0 {
            (area.generation, area.code_replaced_at)
        } else {
            let t = self
                .store
                .table_code(area_id, vc.table)?
                .ok_or_else(|| Refusal::NoSuchTable(area.name.clone(), vc.table))?;
            (t.generation, t.replaced_at)
        };
        if vc.generation < current {
            return Err(Refusal::ReplacedCode(replaced_at).into());
        }
        if vc.generation > current {
            return Err(Refusal::UnknownVenueCode.into());
        }
        Ok(if vc.table == 0 {
            Scanned::Area(area_id)
        } else {
            Scanned::Table(area_id, vc.table)
        })
    }

    /// Scans a guest code at an area: checks in, checks out, moves, or ignores a double
    /// read. Returns only after the change is durable on disk.
    pub fn scan_guest(
        &mut self,
        text: &str,
        area: i64,
        table: Option<u16>,
        method: Method,
        now: i64,
    ) -> Result<ScanOutcome, Error> {
        match self.classify(text)? {
            Scanned::Guest(code) => self.check_in(&code, area, table, method, now),
            Scanned::Area(_) | Scanned::Table(..) => Err(Refusal::NotAGuestCode.into()),
        }
    }

    /// What the counter does while it waits for the next scan: prepares the sealing of the
    /// next check-ins and lets the store do its maintenance, so neither lands on a scan.
    pub fn use_idle_time(&mut self) -> Result<(), Error> {
        self.prepare_seals(8)?;
        self.store.idle_maintenance()?;
        self.forward_pending(std::time::Duration::from_millis(150))?;
        Ok(())
    }

    /// Does the costly part of sealing the next `n` check-ins ahead of time.
    pub fn prepare_seals(&mut self, n: usize) -> Result<(), Error> {
        let pk = self.venue_key.public.seal;
        self.prepared.prepare(&pk, checkin_record::GUEST_INFO, n)?;
        self.prepared.prepare(&pk, checkin_record::TABLE_INFO, n)?;
        Ok(())
    }

    /// The business day a moment belongs to: days end at the configured local hour.
    pub fn business_day(&self, now: i64) -> NaiveDate {
        let shifted = now - i64::from(self.settings.business_day_end_hour) * 3600;
        Local
            .timestamp_opt(shifted, 0)
            .earliest()
            .map(|d| d.date_naive())
            .unwrap_or_default()
    }

    /// The first second of the business day `now` belongs to.
    pub(crate) fn business_day_start(&self, now: i64) -> i64 {
        let day = self.business_day(now);
        day.and_hms_opt(self.settings.business_day_end_hour, 0, 0)
            .and_then(|t| Local.from_local_datetime(&t).earliest())
            .map(|d| d.timestamp())
            .unwrap_or(now - 86_400)
    }

    pub fn check_in(
        &mut self,
        code: &GuestCode,
        area: i64,
        table: Option<u16>,
        method: Method,
        now: i64,
    ) -> Result<ScanOutcome, Error> {
        if !self.known_contact_keys.contains(&code.key_id) {
            return Err(Refusal::OtherAuthority.into());
        }
        if let Some(t) = table {
            if !self.store.has_table(area, t)? {
                return Err(Refusal::NoSuchTable(self.area_row(area)?.name, t).into());
            }
        }
        const INFOS: &[&[u8]] = &[checkin_record::GUEST_INFO, checkin_record::TABLE_INFO];
        let pk = self.venue_key.public.seal;
        self.prepared.prepare_in_background(&pk, INFOS, 64)?;
        let pseudonym = self.secret.pseudonym(&code.code_id, self.business_day(now));
        let record = RecordId(crypto::random_bytes());
        let binding = Binding {
            record_id: record.0,
            venue_fingerprint: self.venue_key.fingerprint,
            area_id: area_id_u32(area)?,
            checked_in_at: now,
        };
        let guest_pt = checkin_record::guest_plaintext(method, &code.contact_blob())?;
        let guest_seal =
            self.prepared
                .seal(&pk, checkin_record::GUEST_INFO, &binding.aad(), &guest_pt)?;
        let table_seal = self.prepared.seal(
            &pk,
            checkin_record::TABLE_INFO,
            &binding.aad(),
            &checkin_record::table_plaintext(table),
        )?;
        let double_read = i64::from(self.settings.double_read_seconds);
        let note_time = self.clock_advance_due(now);
        let mut outcome = None;
        let step = self.store.record_scan(
            &NewCheckin {
                record: &record.0,
                area,
                venue_key_id: self.venue_key.id,
                now,
                due_at: None,
                pseudonym: &pseudonym,
                guest_seal: &guest_seal,
                table_seal: &table_seal,
                seal_version: checkin_record::VERSION,
                note_time,
            },
            &mut |prior| {
                // The area as the scan's own transaction reads it.
                let Some(target) = &prior.area else {
                    return Err(Error::UnknownArea(format!("#{area}")));
                };
                let state = AreaState::parse(&target.state);
                let (step, seen) = scan_rule(prior, area, state, double_read, now);
                outcome = Some(match seen {
                    Seen::DoubleRead => ScanOutcome::DoubleRead { area },
                    Seen::Leaving {
                        record: id,
                        checked_in_at,
                    } => ScanOutcome::CheckedOut {
                        record: record_id(&id),
                        area,
                        checked_in_at,
                    },
                    Seen::AreaClosed => return Err(Refusal::AreaClosed(target.name.clone()).into()),
                    Seen::AreaArchived => {
                        return Err(Refusal::AreaArchived(target.name.clone()).into())
                    }
                    Seen::Moving { from_area } => ScanOutcome::Moved {
                        record,
                        from_area,
                        to_area: area,
                        table,
                    },
                    Seen::Arriving => ScanOutcome::CheckedIn {
                        record,
                        area,
                        table,
                    },
                });
                Ok(step)
            },
        )?;
        if note_time && step != ScanStep::Ignore {
            self.clock_seen = Some(now);
        }
        let outcome =
            outcome.ok_or_else(|| StoreError::Other("the scan was not decided".into()))?;
        tracing::info!(
            event = "checkin.scan",
            area,
            outcome = outcome_name(&outcome)
        );
        Ok(outcome)
    }

    /// Registers a guest without a code: the typed contact data is sealed at once into a
    /// new guest code (which can be printed as a fob) and checked in.
    pub fn register_guest(
        &mut self,
        contact: &ContactData,
        area: i64,
        table: Option<u16>,
        now: i64,
    ) -> Result<(GuestCode, ScanOutcome), Error> {
        let code = self.make_guest_code(contact)?;
        let outcome = self.check_in(&code, area, table, Method::CounterForm, now)?;
        Ok((code, outcome))
    }

    /// Makes a guest code for a fob or card (nothing is stored).
    pub fn make_guest_code(&self, contact: &ContactData) -> Result<GuestCode, Error> {
        GuestCode::create(contact, &self.contact_key).map_err(|e| match e {
            GuestCodeError::Contact(c) => Error::Contact(c),
            GuestCodeError::Seal(c) => Error::Crypto(c),
            other => Error::Refused(Refusal::from(other)),
        })
    }

    /// Assigns (or changes) the table of an open check-in.
    pub fn assign_table(&mut self, record: RecordId, table: u16) -> Result<(), Error> {
        let stored = self
            .store
            .checkin_binding(&record.0, true)?
            .ok_or_else(|| Error::UnknownRecord(record.to_string()))?;
        let a = self.area(stored.area)?;
        if !a.tables.contains(&table) {
            return Err(Refusal::NoSuchTable(a.name, table).into());
        }
        let pk: [u8; 32] = stored
            .seal_pk
            .clone()
            .try_into()
            .map_err(|_| StoreError::Corrupt("a stored venue key is damaged".into()))?;
        let binding = binding_of(record, &stored)?;
        let seal = checkin_record::reseal_table(&pk, stored.seal_version, &binding, Some(table))?;
        Ok(self.store.set_table_seal(&record.0, &seal)?)
    }

    pub fn check_out_record(&mut self, record: RecordId, now: i64) -> Result<(), Error> {
        if !self.store.check_out_record(&record.0, now)? {
            return Err(Error::UnknownRecord(record.to_string()));
        }
        Ok(())
    }

    /// Checks out everyone (of one area, or everywhere) at closing time (audited).
    pub fn close_all(&mut self, area: Option<i64>, now: i64) -> Result<u64, Error> {
        let name = area.map(|a| self.area(a).map(|a| a.name)).transpose()?;
        let n = self.store.close_all(area, now, &|n| {
            crate::audit::detail([("count", n.into()), ("area", name.clone().into())])
        })?;
        tracing::info!(event = "checkin.close_all", count = n);
        Ok(n)
    }

    /// Open check-ins (newest first), for staff to check a guest out by hand.
    pub fn open_checkins(
        &mut self,
        area: Option<i64>,
        now: i64,
    ) -> Result<Vec<OpenCheckin>, Error> {
        self.store.close_overdue(now)?;
        Ok(self
            .store
            .open_checkins(area)?
            .into_iter()
            .map(|o| OpenCheckin {
                record: encode_base32(&o.record),
                area: o.area,
                checked_in_at: o.checked_in_at,
            })
            .collect())
    }

    /// Check-ins of the current business day per hour, from its first hour to the hour of
    /// `now`: (start of the hour, count).
    pub fn arrivals_by_hour(&self, now: i64) -> Result<Vec<(i64, u32)>, Error> {
        let start = self.business_day_start(now);
        let hours = ((now - start) / 3600 + 1).clamp(1, 25) as usize;
        let mut counts = vec![0u32; hours];
        for (h, n) in self.store.arrivals(start, now)? {
            if let Some(c) = usize::try_from(h).ok().and_then(|h| counts.get_mut(h)) {
                *c += n;
            }
        }
        Ok(counts
            .into_iter()
            .enumerate()
            .map(|(i, n)| (start + i as i64 * 3600, n))
            .collect())
    }

    /// Present guests per live area (after closing overdue stays).
    pub fn present(&mut self, now: i64) -> Result<Vec<(Area, u32)>, Error> {
        self.store.close_overdue(now)?;
        Ok(self
            .areas()?
            .into_iter()
            .filter(|a| a.state != AreaState::Archived)
            .map(|a| {
                let n = a.present;
                (a, n)
            })
            .collect())
    }

    pub fn present_total(&mut self, now: i64) -> Result<u32, Error> {
        Ok(self.present(now)?.iter().map(|(_, n)| n).sum())
    }

    /// Opens a check-in with the venue's private key.
    pub fn open_checkin(
        &self,
        record: RecordId,
        keys: &VenueSecretKeys,
    ) -> Result<OpenedCheckin, Error> {
        let stored = self
            .store
            .checkin_binding(&record.0, false)?
            .ok_or_else(|| Error::UnknownRecord(record.to_string()))?;
        let binding = binding_of(record, &stored)?;
        Ok(checkin_record::open(
            &keys.seal,
            stored.seal_version,
            &binding,
            &stored.guest_seal,
            &stored.table_seal,
        )?)
    }
}

/// What a scan of a guest means, from what the store knew of them.
enum Seen {
    DoubleRead,
    Leaving { record: Vec<u8>, checked_in_at: i64 },
    AreaClosed,
    AreaArchived,
    Moving { from_area: i64 },
    Arriving,
}

/// The scan rule, one for live scans and for scans forwarded from a counter's outbox: a
/// second read within `double_read` seconds is ignored; a guest checked in here leaves;
/// anyone else arrives (moving from another area if checked in there), if the area is
/// open.
fn scan_rule(
    prior: &PriorScan,
    area: i64,
    state: AreaState,
    double_read: i64,
    now: i64,
) -> (ScanStep, Seen) {
    if let Some(t) = prior.last_read_at {
        if now - t < double_read && now >= t {
            return (ScanStep::Ignore, Seen::DoubleRead);
        }
    }
    match &prior.open {
        Some((id, open_area, checked_in_at)) if *open_area == area => (
            ScanStep::CheckOut { record: id.clone() },
            Seen::Leaving {
                record: id.clone(),
                checked_in_at: *checked_in_at,
            },
        ),
        open => match state {
            AreaState::Closed => (ScanStep::Ignore, Seen::AreaClosed),
            AreaState::Archived => (ScanStep::Ignore, Seen::AreaArchived),
            AreaState::Open => (
                ScanStep::CheckIn {
                    moved_from: open.as_ref().map(|(id, ..)| id.clone()),
                },
                match open {
                    Some((_, from_area, _)) => Seen::Moving {
                        from_area: *from_area,
                    },
                    None => Seen::Arriving,
                },
            ),
        },
    }
}

impl Venue {
    /// Forwards the scans this counter kept while its server was away, in order, for at
    /// most `budget`. The server decides each again with what it knows (a guest who
    /// checked in at another counter leaves); a scan made in an area closed since still
    /// counts: the guest was there.
    pub fn forward_pending(
        &mut self,
        budget: std::time::Duration,
    ) -> Result<crate::store::ForwardReport, Error> {
        let double_read = i64::from(self.settings.double_read_seconds);
        self.store.forward_pending(budget, &mut |area, at, prior| {
            Ok(scan_rule(prior, area, AreaState::Open, double_read, at).0)
        })
    }

    /// Whether the venue's server is reached and how many scans wait here.
    pub fn sync_state(&self) -> crate::store::SyncState {
        self.store.sync_state()
    }

    /// This PC's role in the venue's server database; None for a venue in its own file.
    pub fn server_role(&self) -> Option<crate::store::server::ServerRole> {
        self.store.server_role()
    }

    /// Tries the server again at once (it was seen to come back).
    pub fn retry_server_now(&mut self) {
        if let Some(s) = self.store.as_server() {
            s.retry_now();
        }
    }
}
