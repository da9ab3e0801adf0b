//! Locations, areas and their tables, and the codes printed on posters and table cards.

use tresen_protocol::time::format_time;
use tresen_protocol::venue_code::{VenueCode, VENUE_TAG_LEN};

use crate::settings::SettingsError;
use crate::store::{AreaRow, AuditNote, StoreError};
use crate::venue::valid_name;
use crate::{Area, AreaSign, AreaState, Error, Location, Refusal, TableSign, Venue};

/// Maximum stays an area may have, in minutes.
const STAY_MINUTES: std::ops::RangeInclusive<u32> = 5..=24 * 60;

fn stay_in_range(minutes: u32) -> Result<(), Error> {
    if STAY_MINUTES.contains(&minutes) {
        return Ok(());
    }
    Err(SettingsError::OutOfRange {
        name: "max stay (minutes)".into(),
        min: *STAY_MINUTES.start(),
        max: *STAY_MINUTES.end(),
    }
    .into())
}

/// A store's "exists already" as the venue says it.
fn named(e: StoreError) -> Error {
    match e {
        StoreError::Duplicate(name) => Error::Duplicate(name),
        other => other.into(),
    }
}

pub(crate) fn area_of(r: AreaRow) -> Area {
    Area {
        id: r.id,
        location_id: r.location_id,
        location: r.location,
        name: r.name,
        state: AreaState::parse(&r.state),
        max_stay_secs: r.max_stay_secs,
        generation: r.generation,
        code_replaced_at: r.code_replaced_at,
        archived_at: r.archived_at,
        tables: r.tables,
        present: r.present,
    }
}

impl Venue {
    pub fn add_location(&mut self, name: &str, now: i64) -> Result<i64, Error> {
        let name = valid_name(name)?;
        self.store.add_location(&name, now).map_err(named)
    }

    /// Renames a location (audited: the answer to a request carries the names).
    pub fn rename_location(&mut self, id: i64, name: &str, now: i64) -> Result<(), Error> {
        let name = valid_name(name)?;
        let old = self
            .store
            .location_name(id)?
            .ok_or_else(|| Error::UnknownLocation(id.to_string()))?;
        let detail = crate::audit::detail([("old", old.into()), ("new", name.clone().into())]);
        self.store
            .rename_location(
                id,
                &name,
                &AuditNote::change(now, "location-renamed", &detail),
            )
            .map_err(named)
    }

    pub fn locations(&self) -> Result<Vec<Location>, Error> {
        Ok(self
            .store
            .locations()?
            .into_iter()
            .map(|(id, name)| Location { id, name })
            .collect())
    }

    pub fn location_id(&self, name: &str) -> Result<i64, Error> {
        self.store
            .location_id(name.trim())?
            .ok_or_else(|| Error::UnknownLocation(name.to_string()))
    }

    pub fn add_area(
        &mut self,
        location_id: i64,
        name: &str,
        max_stay_minutes: Option<u32>,
        now: i64,
    ) -> Result<i64, Error> {
        let name = valid_name(name)?;
        let minutes = max_stay_minutes.unwrap_or(self.settings.default_max_stay_minutes);
        stay_in_range(minutes)?;
        if self.store.location_name(location_id)?.is_none() {
            return Err(Error::UnknownLocation(location_id.to_string()));
        }
        self.store
            .add_area(location_id, &name, i64::from(minutes) * 60, now)
            .map_err(named)
    }

    /// Finds a live (not archived) area by `NAME`, `LOCATION/NAME` or `#ID`.
    pub fn area_id(&self, spec: &str) -> Result<i64, Error> {
        let spec = spec.trim();
        if let Some(id) = spec.strip_prefix('#').and_then(|s| s.parse::<i64>().ok()) {
            return self.area(id).map(|a| a.id);
        }
        let (loc, name) = match spec.split_once('/') {
            Some((l, n)) => (Some(l.trim()), n.trim()),
            None => (None, spec),
        };
        match self.store.live_area_ids(name, loc)?.as_slice() {
            [id] => Ok(*id),
            [] => Err(Error::UnknownArea(spec.to_string())),
            _ => Err(Error::AmbiguousArea(spec.to_string())),
        }
    }

    pub fn area(&self, id: i64) -> Result<Area, Error> {
        self.store
            .areas(Some(id))?
            .pop()
            .map(area_of)
            .ok_or_else(|| Error::UnknownArea(format!("#{id}")))
    }

    /// All areas, archived ones included, with tables and present counts.
    pub fn areas(&self) -> Result<Vec<Area>, Error> {
        Ok(self.store.areas(None)?.into_iter().map(area_of).collect())
    }

    /// The area's own columns, without tables and counts: cheap enough for every scan.
    pub(crate) fn area_row(&self, id: i64) -> Result<AreaRow, Error> {
        self.store
            .area_row(id)?
            .ok_or_else(|| Error::UnknownArea(format!("#{id}")))
    }

    pub(crate) fn live_area(&self, id: i64) -> Result<Area, Error> {
        let a = self.area(id)?;
        if a.state == AreaState::Archived {
            return Err(Refusal::AreaArchived(a.name).into());
        }
        Ok(a)
    }

    /// Renames an area (audited: the answer to a request carries the names).
    pub fn rename_area(&mut self, id: i64, name: &str, now: i64) -> Result<(), Error> {
        let old = self.live_area(id)?;
        let name = valid_name(name)?;
        let detail = crate::audit::detail([
            ("location", old.location.into()),
            ("old", old.name.into()),
            ("new", name.clone().into()),
        ]);
        self.store
            .rename_area(id, &name, &AuditNote::change(now, "area-renamed", &detail))
            .map_err(named)
    }

    /// Changes an area's maximum stay. Guests present already keep at least until now: a
    /// shorter stay never back-dates a check-out (audited).
    pub fn set_max_stay(&mut self, id: i64, minutes: u32, now: i64) -> Result<(), Error> {
        let a = self.live_area(id)?;
        stay_in_range(minutes)?;
        let secs = i64::from(minutes) * 60;
        let detail = crate::audit::detail([
            ("location", a.location.clone().into()),
            ("area", a.name.clone().into()),
            ("old_minutes", (a.max_stay_secs / 60).into()),
            ("new_minutes", minutes.into()),
        ]);
        let note = AuditNote::change(now, "max-stay-changed", &detail);
        self.store
            .set_max_stay(id, secs, now, (secs != a.max_stay_secs).then_some(&note))?;
        Ok(())
    }

    /// Closes an area for new check-ins (guests can still check out).
    pub fn close_area(&mut self, id: i64) -> Result<(), Error> {
        self.live_area(id)?;
        Ok(self.store.set_area_state(id, "closed")?)
    }

    pub fn reopen_area(&mut self, id: i64) -> Result<(), Error> {
        self.live_area(id)?;
        Ok(self.store.set_area_state(id, "open")?)
    }

    /// Deletes an area: it is archived (no new check-ins, its check-ins kept for requests)
    /// and purged with its data once the retention period has passed. Guests still
    /// present are checked out now (audited).
    pub fn archive_area(&mut self, id: i64, now: i64) -> Result<u64, Error> {
        let a = self.live_area(id)?;
        let detail = crate::audit::detail([
            ("location", a.location.clone().into()),
            ("area", a.name.clone().into()),
            ("checked_out", a.present.into()),
        ]);
        let closed =
            self.store
                .archive_area(id, now, &AuditNote::change(now, "area-deleted", &detail))?;
        tracing::info!(event = "area.archived", area = id);
        Ok(closed)
    }

    /// Replaces an area's code; the old code is refused from now on.
    pub fn replace_area_code(&mut self, id: i64, now: i64) -> Result<String, Error> {
        self.live_area(id)?;
        self.store.replace_area_code(id, now)?;
        tracing::info!(event = "area.code_replaced", area = id);
        self.area_code(id)
    }

    pub fn add_tables(&mut self, area: i64, numbers: &[u16]) -> Result<(), Error> {
        let a = self.live_area(area)?;
        if numbers.contains(&0) {
            return Err(Error::InvalidName("table numbers start at 1".into()));
        }
        self.store.add_tables(area, numbers).map_err(|e| match e {
            StoreError::Duplicate(n) => Error::Duplicate(format!("table {n} in area '{}'", a.name)),
            other => other.into(),
        })
    }

    /// Removes a table: its card is refused from now on. Check-ins already at the table keep
    /// it; if the number is added again it gets a new code.
    pub fn remove_table(&mut self, area: i64, table: u16, now: i64) -> Result<(), Error> {
        let a = self.live_area(area)?;
        if !self.store.remove_table(area, table, now)? {
            return Err(Error::UnknownTable(a.name, table));
        }
        Ok(())
    }

    pub fn replace_table_code(&mut self, area: i64, table: u16, now: i64) -> Result<String, Error> {
        let a = self.live_area(area)?;
        if !self.store.replace_table_code(area, table, now)? {
            return Err(Error::UnknownTable(a.name, table));
        }
        self.table_code(area, table)
    }

    pub(crate) fn venue_tag(&self) -> [u8; VENUE_TAG_LEN] {
        let mut t = [0u8; VENUE_TAG_LEN];
        t.copy_from_slice(&self.venue_key.fingerprint[..VENUE_TAG_LEN]);
        t
    }

    fn code(&self, area: &Area, table: u16, generation: u16) -> Result<String, Error> {
        Ok(VenueCode {
            venue_tag: self.venue_tag(),
            area_id: crate::checkin::area_id_u32(area.id)?,
            table,
            generation,
        }
        .to_text())
    }

    pub fn area_code(&self, area: i64) -> Result<String, Error> {
        let a = self.live_area(area)?;
        self.code(&a, 0, a.generation)
    }

    pub fn table_code(&self, area: i64, table: u16) -> Result<String, Error> {
        let a = self.live_area(area)?;
        let t = self
            .store
            .table_code(area, table)?
            .ok_or_else(|| Error::UnknownTable(a.name.clone(), table))?;
        self.code(&a, table, t.generation)
    }

    /// What the posters of these live areas show (all live areas if none are named).
    pub fn poster_infos(&self, areas: &[i64]) -> Result<Vec<AreaSign>, Error> {
        let venue = self.venue_name()?;
        let fp = self.fingerprint();
        let short: String = fp.split('-').take(2).collect::<Vec<_>>().join("-");
        let mut out = Vec::new();
        for a in self.store.areas(None)? {
            let live = a.state != "archived";
            if !live || (!areas.is_empty() && !areas.contains(&a.id)) {
                continue;
            }
            let made = a.code_replaced_at.unwrap_or(a.created_at);
            let area = area_of(a);
            out.push(AreaSign {
                venue: venue.clone(),
                location: area.location.clone(),
                area: area.name.clone(),
                code: self.code(&area, 0, area.generation)?,
                fingerprint: short.clone(),
                code_date: format_time(made).chars().take(10).collect(),
                retention_days: self.settings.retention_days,
            });
        }
        Ok(out)
    }

    /// The table cards of an area (all its tables if none are named).
    pub fn table_infos(&self, area: i64, tables: &[u16]) -> Result<Vec<TableSign>, Error> {
        let a = self.live_area(area)?;
        let mut out = Vec::new();
        for &t in if tables.is_empty() { &a.tables } else { tables } {
            out.push(TableSign {
                area: a.name.clone(),
                table: t,
                code: self.table_code(area, t)?,
            });
        }
        Ok(out)
    }
}
