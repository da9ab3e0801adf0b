//! The venue store's interface on the server: reads come from the view (kept fresh by the
//! server's notifications), writes go through the server's transactions, and scans fall
//! back to the outbox.

use super::*;

impl VenueStore for ServerStore {
    fn is_initialized(&self) -> Result<bool, StoreError> {
        Ok(local::get_meta(&self.local, Meta::InstallId)?.is_some())
    }
    fn create_venue(&mut self, v: &NewVenue<'_>) -> Result<(), StoreError> {
        self.operator_only()?;
        self.write(|tx| venue_rows::create_venue(tx, v))?;
        let tx = self.local.unchecked_transaction()?;
        for (k, value) in [
            (Meta::InstallId, v.install_id),
            (Meta::SecretStore, v.secret_store),
            (Meta::KeyFile, v.key_file),
        ] {
            local::put_meta(&tx, k, value)?;
        }
        tx.commit()?;
        self.pin(&v.key.fingerprint)?;
        self.link.pinned_root = Some(hex(&v.trust.root_key));
        self.link.save(&self.data_dir)?;
        self.db(|c| self.refresh(c))
    }
    fn venue_name_address(&self) -> Result<(String, String), StoreError> {
        let v = self.view.borrow();
        Ok((v.snap.name.clone(), v.snap.address.clone()))
    }
    fn meta(&self, key: Meta) -> Result<Option<String>, StoreError> {
        if local::is_local(key) {
            return local::get_meta(&self.local, key);
        }
        if matches!(key, Meta::AuditHead | Meta::AuditBase) {
            self.operator_only()?;
            return self.db(|c| venue_rows::get_meta(c, key));
        }
        match self.db(|c| venue_rows::get_meta(c, key)) {
            Err(e) if e.is_unreachable() => Ok(self
                .view
                .borrow()
                .snap
                .metas
                .iter()
                .find(|(k, _)| k == key.key())
                .map(|(_, v)| v.clone())),
            other => other,
        }
    }
    fn set_meta(&mut self, key: Meta, value: &str) -> Result<(), StoreError> {
        if local::is_local(key) {
            return local::put_meta(&self.local, key, value);
        }
        self.write_config(|tx| venue_rows::put_meta(tx, key, value))
    }
    fn set_metas(
        &mut self,
        values: &[(Meta, &str)],
        note: Option<&AuditNote<'_>>,
    ) -> Result<(), StoreError> {
        let (here, there): (Vec<_>, Vec<_>) = values.iter().partition(|(k, _)| local::is_local(*k));
        let pc_only = there.is_empty() && self.link.role == ServerRole::Counter;
        if !pc_only && (!there.is_empty() || note.is_some()) {
            self.write_config(|tx| {
                for (k, v) in &there {
                    venue_rows::put_meta(tx, *k, v)?;
                }
                if let Some(n) = note {
                    venue_rows::append_audit(tx, n)?;
                }
                Ok(())
            })?;
        }
        let tx = self.local.unchecked_transaction()?;
        for (k, v) in here {
            local::put_meta(&tx, k, v)?;
        }
        if let (true, Some(n)) = (pc_only, note) {
            local::note_pc_event(&tx, n.at, n.event, n.detail)?;
        }
        tx.commit()?;
        Ok(())
    }
    fn settings(&self) -> Result<Vec<(String, String)>, StoreError> {
        Ok(self.fresh_view().snap.settings.clone())
    }
    fn set_setting(
        &mut self,
        key: &str,
        value: &str,
        note: Option<&AuditNote<'_>>,
    ) -> Result<(), StoreError> {
        self.write_config(|tx| {
            venue_rows::set_setting(tx, key, value)?;
            if let Some(n) = note {
                venue_rows::append_audit(tx, n)?;
            }
            Ok(())
        })
    }
    fn keys(&self) -> Result<Vec<StoredKey>, StoreError> {
        Ok(self.fresh_view().snap.keys.clone())
    }
    fn replace_key(
        &mut self,
        old_id: i64,
        new: &NewKey,
        key_file: &str,
        note: &AuditNote<'_>,
    ) -> Result<KeyUse, StoreError> {
        self.operator_only()?;
        // Pinned first: the key is this PC's own, and the view that follows checks it.
        self.pin(&new.fingerprint)?;
        let used = self.write_config(|tx| {
            let used = venue_rows::replace_key(tx, old_id, new, note.at)?;
            venue_rows::append_audit(tx, note)?;
            Ok(used)
        })?;
        local::put_meta(&self.local, Meta::KeyFile, key_file)?;
        Ok(used)
    }
    fn record_key_copy(
        &mut self,
        key_id: i64,
        events: &[&str],
        place: &str,
        same_medium: bool,
        now: i64,
    ) -> Result<(), StoreError> {
        self.write_config(|tx| {
            venue_rows::record_key_copy(tx, key_id, events, place, same_medium, now)
        })
    }
    fn copy_times(&self, key_id: i64, primary: &str) -> Result<CopyTimes, StoreError> {
        let v = self.fresh_view();
        let snap = &v.snap;
        Ok(CopyTimes {
            copied_at: snap.counted(key_id, "copied", primary).map(|b| b.at).max(),
            verified_at: snap
                .counted(key_id, "verified", primary)
                .map(|b| b.at)
                .max(),
            any_copy_at: snap
                .backups
                .iter()
                .filter(|b| b.key_id == key_id && b.event == "copied")
                .map(|b| b.at)
                .max(),
        })
    }
    fn ever_verified(&self) -> Result<bool, StoreError> {
        Ok(self.fresh_view().snap.ever_verified)
    }
    fn latest_counted_copy(
        &self,
        key_id: i64,
        primary: &str,
    ) -> Result<Option<String>, StoreError> {
        let v = self.fresh_view();
        Ok(v.snap
            .counted(key_id, "verified", primary)
            .max_by_key(|b| (b.at, b.id))
            .map(|b| b.place.clone()))
    }
    fn trust(&self) -> Result<Option<String>, StoreError> {
        Ok(self.fresh_view().snap.trust.clone())
    }
    fn store_trust(&mut self, t: &TrustRow, now: i64) -> Result<(), StoreError> {
        let root = hex(&t.root_key);
        if let Some(pinned) = &self.link.pinned_root {
            if *pinned != root {
                return Err(StoreError::RootNotPinned(root));
            }
        }
        self.write_config(|tx| venue_rows::store_trust(tx, t, now))?;
        if self.link.pinned_root.is_none() {
            self.link.pinned_root = Some(root);
            self.link.save(&self.data_dir)?;
        }
        Ok(())
    }
    fn contact_key_ids(&self) -> Result<Vec<Vec<u8>>, StoreError> {
        Ok(self.fresh_view().snap.contact_key_ids.clone())
    }

    fn add_location(&mut self, name: &str, now: i64) -> Result<i64, StoreError> {
        self.write_config(|tx| areas::add_location(tx, name, now))
    }
    fn location_name(&self, id: i64) -> Result<Option<String>, StoreError> {
        Ok(self
            .fresh_view()
            .snap
            .locations
            .iter()
            .find(|(l, _)| *l == id)
            .map(|(_, n)| n.clone()))
    }
    fn rename_location(
        &mut self,
        id: i64,
        name: &str,
        note: &AuditNote<'_>,
    ) -> Result<(), StoreError> {
        self.write_config(|tx| {
            areas::rename(tx, "locations", id, name)?;
            venue_rows::append_audit(tx, note)
        })
    }
    fn locations(&self) -> Result<Vec<(i64, String)>, StoreError> {
        Ok(self.fresh_view().snap.locations.clone())
    }
    fn location_id(&self, name: &str) -> Result<Option<i64>, StoreError> {
        Ok(self
            .fresh_view()
            .snap
            .locations
            .iter()
            .find(|(_, n)| n == name)
            .map(|(l, _)| *l))
    }
    fn add_area(
        &mut self,
        location: i64,
        name: &str,
        max_stay_secs: i64,
        now: i64,
    ) -> Result<i64, StoreError> {
        self.write_config(|tx| areas::add_area(tx, location, name, max_stay_secs, now))
    }
    fn live_area_ids(&self, name: &str, location: Option<&str>) -> Result<Vec<i64>, StoreError> {
        Ok(self
            .fresh_view()
            .snap
            .areas
            .iter()
            .filter(|a| {
                a.name == name && a.state != "archived" && location.is_none_or(|l| l == a.location)
            })
            .map(|a| a.id)
            .collect())
    }
    fn areas(&self, only: Option<i64>) -> Result<Vec<AreaRow>, StoreError> {
        // The counts are live: asked of the server each time; the view when it is away.
        let _ = self.db(|c| self.refresh(c));
        Ok(self
            .view
            .borrow()
            .snap
            .areas
            .iter()
            .filter(|a| only.is_none_or(|id| id == a.id))
            .cloned()
            .collect())
    }
    fn area_row(&self, id: i64) -> Result<Option<AreaRow>, StoreError> {
        Ok(self
            .fresh_view()
            .snap
            .areas
            .iter()
            .find(|a| a.id == id)
            .map(|a| AreaRow {
                tables: Vec::new(),
                present: 0,
                ..a.clone()
            }))
    }
    fn has_table(&self, area: i64, table: u16) -> Result<bool, StoreError> {
        Ok(self.fresh_view().codes.contains_key(&(area, table)))
    }
    fn table_code(&self, area: i64, table: u16) -> Result<Option<TableCode>, StoreError> {
        Ok(self.fresh_view().codes.get(&(area, table)).copied())
    }
    fn rename_area(&mut self, id: i64, name: &str, note: &AuditNote<'_>) -> Result<(), StoreError> {
        self.write_config(|tx| {
            areas::rename(tx, "areas", id, name)?;
            venue_rows::append_audit(tx, note)
        })
    }
    fn set_max_stay(
        &mut self,
        id: i64,
        secs: i64,
        now: i64,
        note: Option<&AuditNote<'_>>,
    ) -> Result<(), StoreError> {
        self.write_config(|tx| {
            areas::set_max_stay(tx, id, secs, now)?;
            if let Some(n) = note {
                venue_rows::append_audit(tx, n)?;
            }
            Ok(())
        })
    }
    fn set_area_state(&mut self, id: i64, state: &str) -> Result<(), StoreError> {
        self.write_config(|tx| areas::set_area_state(tx, id, state))
    }
    fn archive_area(&mut self, id: i64, now: i64, note: &AuditNote<'_>) -> Result<u64, StoreError> {
        self.write_config(|tx| {
            let n = areas::archive_area(tx, id, now)?;
            venue_rows::append_audit(tx, note)?;
            Ok(n)
        })
    }
    fn replace_area_code(&mut self, id: i64, now: i64) -> Result<(), StoreError> {
        self.write_config(|tx| areas::replace_area_code(tx, id, now))
    }
    fn add_tables(&mut self, area: i64, numbers: &[u16]) -> Result<(), StoreError> {
        self.write_config(|tx| areas::add_tables(tx, area, numbers))
    }
    fn remove_table(&mut self, area: i64, table: u16, now: i64) -> Result<bool, StoreError> {
        self.write_config(|tx| areas::remove_table(tx, area, table, now))
    }
    fn replace_table_code(&mut self, area: i64, table: u16, now: i64) -> Result<bool, StoreError> {
        self.write_config(|tx| areas::replace_table_code(tx, area, table, now))
    }

    fn record_scan(
        &mut self,
        n: &NewCheckin<'_>,
        decide: &mut dyn FnMut(&PriorScan) -> Result<ScanStep, crate::Error>,
    ) -> Result<ScanStep, crate::Error> {
        self.scan(n, decide)
    }
    fn checkin_binding(
        &self,
        record: &[u8],
        open_only: bool,
    ) -> Result<Option<CheckinBinding>, StoreError> {
        if let Some(q) = local::queued_checkin(&self.local, record)? {
            let v = self.view.borrow();
            let key = v.snap.keys.iter().find(|k| k.id == q.venue_key_id);
            return Ok(key.map(|k| CheckinBinding {
                area: q.area,
                checked_in_at: q.at,
                seal_version: q.seal_version,
                seal_pk: k.seal.clone(),
                fingerprint: k.fingerprint.clone(),
                guest_seal: q.guest_seal.clone(),
                table_seal: q.table_seal.clone(),
            }));
        }
        self.db(|c| checkins::binding(c, record, open_only))
    }
    fn set_table_seal(&mut self, record: &[u8], seal: &[u8]) -> Result<(), StoreError> {
        if local::set_queued_table(&self.local, record, seal)? {
            return Ok(());
        }
        if self.waiting()?.0 == 0 {
            match self.write(|tx| checkins::set_table_seal(tx, record, seal)) {
                Ok(_) => return Ok(()),
                Err(e) if e.is_unreachable() => {}
                Err(e) => return Err(e),
            }
        }
        self.enqueue_event("table", record, 0, seal)
    }
    fn check_out_record(&mut self, record: &[u8], now: i64) -> Result<bool, StoreError> {
        if local::queued_checkin(&self.local, record)?.is_some() {
            local::close_queued(&self.local, record)?;
            self.enqueue_event("check-out", record, now, &[])?;
            return Ok(true);
        }
        if self.waiting()?.0 == 0 {
            match self.write(|tx| checkins::check_out_record(tx, record, now)) {
                Ok(done) => return Ok(done),
                Err(e) if e.is_unreachable() => {}
                Err(e) => return Err(e),
            }
        }
        self.enqueue_event("check-out", record, now, &[])?;
        Ok(true)
    }
    fn close_all(
        &mut self,
        area: Option<i64>,
        now: i64,
        note: &dyn Fn(u64) -> String,
    ) -> Result<u64, StoreError> {
        self.operator_only()?;
        self.write(|tx| {
            let n = checkins::close_all(tx, area, now)?;
            let detail = note(n);
            venue_rows::append_audit(tx, &AuditNote::change(now, "all-checked-out", &detail))?;
            Ok(n)
        })
    }
    fn close_overdue(&mut self, now: i64) -> Result<u64, StoreError> {
        match self.write(|tx| checkins::close_overdue(tx, now)) {
            Err(e) if e.is_unreachable() => Ok(0),
            other => other,
        }
    }
    fn idle_maintenance(&mut self) -> Result<(), StoreError> {
        // Reconnects when the retry time has come; a view older than the areas follows.
        let _ = self.fresh_view();
        Ok(())
    }
    fn open_checkins(&self, area: Option<i64>) -> Result<Vec<OpenCheckinRow>, StoreError> {
        let mut rows = match self.db(|c| checkins::open_checkins(c, area)) {
            Ok(rows) => rows,
            Err(e) if e.is_unreachable() => Vec::new(),
            Err(e) => return Err(e),
        };
        let queued = self
            .local
            .prepare("SELECT record, area_id, at FROM outbox WHERE kind = 'scan' AND step = 'in'")?
            .query_map([], |r| {
                Ok(OpenCheckinRow {
                    record: r.get(0)?,
                    area: r.get(1)?,
                    checked_in_at: r.get(2)?,
                })
            })?
            .collect::<Result<Vec<_>, _>>()?;
        rows.extend(
            queued
                .into_iter()
                .filter(|q| area.is_none_or(|a| a == q.area)),
        );
        rows.sort_by_key(|r| std::cmp::Reverse(r.checked_in_at));
        Ok(rows)
    }
    fn arrivals(&self, start: i64, now: i64) -> Result<Vec<(i64, u32)>, StoreError> {
        match self.db(|c| checkins::arrivals(c, start, now)) {
            Err(e) if e.is_unreachable() => Ok(Vec::new()),
            other => other,
        }
    }
    fn latest_read(&self) -> Result<Option<i64>, StoreError> {
        let here = local::get_meta(&self.local, Meta::ClockSeen)?.and_then(|v| v.parse().ok());
        match self.db(checkins::latest_read) {
            Ok(there) => Ok(here.max(there)),
            Err(e) if e.is_unreachable() => Ok(here),
            Err(e) => Err(e),
        }
    }
    fn purge(&mut self, plan: &PurgePlan, note_time: bool) -> Result<PurgeCounts, StoreError> {
        if note_time {
            local::put_meta(&self.local, Meta::ClockSeen, &plan.now.to_string())?;
        }
        let expired_here = local::drop_expired(&self.local, plan.cutoff, plan.audit_cutoff)?;
        let mut counts = match self.link.role {
            // A counter's part: stays that ran out end; deleting is the operator's.
            ServerRole::Counter => PurgeCounts {
                auto_checked_out: self.close_overdue(plan.now)?,
                ..PurgeCounts::default()
            },
            ServerRole::Operator => match self.write(|tx| checkins::purge(tx, plan)) {
                Err(e) if e.is_unreachable() => PurgeCounts::default(),
                other => other?,
            },
        };
        counts.checkins += expired_here;
        Ok(counts)
    }

    fn request_decided(
        &self,
        request_id: &[u8],
    ) -> Result<Option<(String, Option<i64>)>, StoreError> {
        self.operator_only()?;
        self.db(|c| requests::decided(c, request_id))
    }
    fn count_matching(&self, m: &Matching<'_>, key_id: i64) -> Result<(u64, u64), StoreError> {
        self.operator_only()?;
        self.db(|c| requests::count_matching(c, m, key_id))
    }
    fn count_matching_for_key(&self, m: &Matching<'_>, key_id: i64) -> Result<u64, StoreError> {
        self.operator_only()?;
        self.db(|c| requests::count_matching_for_key(c, m, key_id))
    }
    fn for_each_matching(
        &self,
        m: &Matching<'_>,
        key_id: i64,
        f: &mut dyn FnMut(MatchingRow) -> Result<(), crate::Error>,
    ) -> Result<(), crate::Error> {
        self.operator_only()?;
        let mut out = Ok(());
        self.db(|c| {
            out = requests::for_each_matching(c, m, key_id, f);
            match &out {
                Err(crate::Error::Store(e)) => Err(e.clone_shallow()),
                _ => Ok(()),
            }
        })?;
        out
    }
    fn request_seen(
        &mut self,
        request_id: &[u8],
        office_id: &str,
        case: &str,
        note: &AuditNote<'_>,
    ) -> Result<bool, StoreError> {
        self.operator_only()?;
        self.write(|tx| requests::seen(tx, request_id, office_id, case, note))
    }
    fn decide_request(&mut self, d: &Decision<'_>, note: &AuditNote<'_>) -> Result<(), StoreError> {
        self.operator_only()?;
        self.write(|tx| requests::decide(tx, d, note))
    }
    fn append_audit(&mut self, note: &AuditNote<'_>) -> Result<(), StoreError> {
        match self.link.role {
            ServerRole::Operator => self.write(|tx| venue_rows::append_audit(tx, note)),
            ServerRole::Counter => {
                local::note_pc_event(&self.local, note.at, note.event, note.detail)
            }
        }
    }
    fn audit_entries(&self) -> Result<Vec<AuditRow>, StoreError> {
        self.operator_only()?;
        self.db(venue_rows::audit_entries)
    }
    fn audit_anchors(&self) -> Result<AuditAnchors, StoreError> {
        self.operator_only()?;
        self.db(venue_rows::audit_anchors)
    }

    fn checkpoint(&mut self) -> Result<bool, StoreError> {
        let emptied = crate::store::sqlite::truncate_log(&self.local)?;
        if self.link.role == ServerRole::Operator {
            // Rewrites the tables, so that deleted rows leave their files.
            // One statement at a time: several in one message would run as a transaction.
            self.db(|c| {
                for table in [
                    "checkins",
                    "scan_events",
                    "audit_log",
                    "area_tables",
                    "areas",
                ] {
                    c.batch_execute(&format!("VACUUM FULL {table}"))?;
                }
                Ok(())
            })?;
        }
        Ok(emptied)
    }

    fn empty_log(&mut self) -> Result<bool, StoreError> {
        crate::store::sqlite::truncate_log(&self.local)
    }

    fn sync_state(&self) -> SyncState {
        // Asks the server only when it is due: a counter offline does not wait on every call.
        let online = self.db(|_| Ok(())).is_ok();
        let (waiting, failed) = self.waiting().unwrap_or((0, 0));
        let problem = self.problem.borrow();
        SyncState {
            server: true,
            role: Some(self.link.role),
            online,
            waiting,
            failed,
            problem: (!online).then(|| {
                problem
                    .as_ref()
                    .map_or("db-offline", StoreError::sync_code)
                    .to_string()
            }),
            detail: (!online)
                .then(|| problem.as_ref().map(|p| p.to_string()))
                .flatten(),
        }
    }

    fn forward_pending(
        &mut self,
        budget: Duration,
        decide: &mut dyn FnMut(i64, i64, &PriorScan) -> Result<ScanStep, crate::Error>,
    ) -> Result<ForwardReport, crate::Error> {
        self.forward_waiting(budget, decide)
    }

    fn as_server(&mut self) -> Option<&mut ServerStore> {
        Some(self)
    }

    fn server_role(&self) -> Option<ServerRole> {
        Some(self.link.role)
    }
}
