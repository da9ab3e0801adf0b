//! Where a scan goes: to the server when it answers and nothing waits before it, else into
//! this PC's outbox under its event id, forwarded in order, in batches, once the server
//! answers again.

use super::*;

impl ServerStore {
    /// The area of a scan, from this counter's view of the venue (kept fresh by the
    /// server's notifications), so that a scan costs no extra round trip.
    fn scan_area(&self, id: i64) -> Result<Option<ScanArea>, StoreError> {
        Ok(self.area_row(id)?.as_ref().map(ScanArea::from))
    }

    pub(super) fn waiting(&self) -> Result<(u64, u64), StoreError> {
        local::waiting(&self.local)
    }

    pub(super) fn record_offline(
        &mut self,
        event_id: &[u8],
        n: &NewCheckin<'_>,
        decide: &mut dyn FnMut(&PriorScan) -> Result<ScanStep, crate::Error>,
    ) -> Result<ScanStep, crate::Error> {
        let queued = local::scans_of(&self.local, n.pseudonym)?;
        let area = self.scan_area(n.area)?;
        let due_at = n.due_at_in(area.as_ref());
        let prior = PriorScan {
            area,
            last_read_at: queued.iter().map(|q| q.at).max(),
            open: queued
                .iter()
                .rev()
                .find(|q| q.step.as_deref() == Some("in"))
                .map(|q| (q.record.clone(), q.area, q.at)),
        };
        let step = decide(&prior)?;
        let tx = self
            .local
            .unchecked_transaction()
            .map_err(StoreError::from)?;
        let mut q = Queued {
            seq: 0,
            event_id: event_id.to_vec(),
            kind: "scan".into(),
            record: n.record.to_vec(),
            area: n.area,
            venue_key_id: n.venue_key_id,
            at: n.now,
            due_at: due_at.unwrap_or(n.now),
            pseudonym: Some(n.pseudonym.to_vec()),
            guest_seal: n.guest_seal.to_vec(),
            table_seal: n.table_seal.to_vec(),
            seal_version: n.seal_version,
            step: None,
        };
        match &step {
            ScanStep::Ignore => return Ok(step),
            ScanStep::CheckOut { record } => {
                local::close_queued(&tx, record)?;
                q.step = Some("out".into());
            }
            ScanStep::CheckIn { moved_from } => {
                if let Some(r) = moved_from {
                    local::close_queued(&tx, r)?;
                }
                q.step = Some("in".into());
            }
        }
        local::enqueue(&tx, &q)?;
        if n.note_time {
            local::put_meta(&tx, Meta::ClockSeen, &n.now.to_string())?;
        }
        tx.commit().map_err(StoreError::from)?;
        Ok(step)
    }

    pub(super) fn enqueue_event(
        &self,
        kind: &str,
        record: &[u8],
        at: i64,
        seal: &[u8],
    ) -> Result<(), StoreError> {
        local::enqueue(
            &self.local,
            &Queued {
                seq: 0,
                event_id: tresen_protocol::crypto::random_bytes::<16>().to_vec(),
                kind: kind.into(),
                record: record.to_vec(),
                area: 0,
                venue_key_id: 0,
                at,
                due_at: 0,
                pseudonym: None,
                guest_seal: Vec::new(),
                table_seal: seal.to_vec(),
                seal_version: 0,
                step: None,
            },
        )
    }

    /// Applies one waiting event in its own server transaction: Some(true) if applied,
    /// Some(false) if the server had it already.
    /// Forwards a batch of waiting scans in one transaction, each in its own savepoint: a
    /// scan the server refuses is rolled back alone and reported, the others commit
    /// together (one flush for the batch). Server trouble aborts the batch, to be sent
    /// again; the scans' event ids make that harmless.
    pub(super) fn forward_batch(
        &self,
        batch: &[Queued],
        decide: &mut dyn FnMut(i64, i64, &PriorScan) -> Result<ScanStep, crate::Error>,
    ) -> Result<Vec<Result<bool, crate::Error>>, StoreError> {
        self.db(|c| {
            let mut tx = c.transaction()?;
            let mut results = Vec::with_capacity(batch.len());
            for q in batch {
                let mut sp = tx.savepoint("forward")?;
                let out = Self::apply_queued(&mut sp, q, decide);
                match out {
                    Ok(v) => {
                        sp.commit()?;
                        results.push(Ok(v));
                    }
                    Err(crate::Error::Store(e)) if e.is_unreachable() => return Err(e),
                    Err(crate::Error::Store(StoreError::Busy)) => return Err(StoreError::Busy),
                    Err(e) => {
                        sp.rollback()?;
                        results.push(Err(e));
                    }
                }
            }
            tx.commit()?;
            Ok(results)
        })
    }

    pub(super) fn apply_queued(
        tx: &mut Transaction<'_>,
        q: &Queued,
        decide: &mut dyn FnMut(i64, i64, &PriorScan) -> Result<ScanStep, crate::Error>,
    ) -> Result<bool, crate::Error> {
        match q.kind.as_str() {
            "scan" => {
                let pseudonym = q.pseudonym.clone().unwrap_or_default();
                let n = NewCheckin {
                    record: &q.record,
                    area: q.area,
                    venue_key_id: q.venue_key_id,
                    now: q.at,
                    due_at: Some(q.due_at),
                    pseudonym: &pseudonym,
                    guest_seal: &q.guest_seal,
                    table_seal: &q.table_seal,
                    seal_version: q.seal_version,
                    note_time: false,
                };
                checkins::record_scan(tx, &q.event_id, &n, None, &mut |p| decide(q.area, q.at, p))
                    .map(|s| s.is_some())
            }
            kind => {
                let fresh = tx
                    .execute(
                        "INSERT INTO scan_events(id, at) VALUES ($1, $2) ON CONFLICT DO NOTHING",
                        &[&q.event_id, &q.at],
                    )
                    .map_err(StoreError::from)?;
                if fresh > 0 {
                    if kind == "table" {
                        checkins::set_table_seal(tx, &q.record, &q.table_seal)?;
                    } else {
                        checkins::check_out_record(tx, &q.record, q.at)?;
                    }
                }
                Ok(fresh > 0)
            }
        }
    }

    /// A scan: committed on the server when it answers and nothing waits here before it,
    /// else kept in the outbox.
    pub(super) fn scan(
        &mut self,
        n: &NewCheckin<'_>,
        decide: &mut dyn FnMut(&PriorScan) -> Result<ScanStep, crate::Error>,
    ) -> Result<ScanStep, crate::Error> {
        let event_id = tresen_protocol::crypto::random_bytes::<16>();
        // Scans keep their order: while any wait here, a new one waits behind them.
        if self.waiting()?.0 == 0 {
            let mut out: Result<Option<ScanStep>, crate::Error> = Ok(None);
            let area = self.scan_area(n.area)?;
            let done = self.db(|c| {
                let mut tx = c.transaction()?;
                out = checkins::record_scan(&mut tx, &event_id, n, area.clone(), decide);
                match &out {
                    Ok(_) => tx.commit()?,
                    Err(crate::Error::Store(e)) => return Err(e.clone_shallow()),
                    Err(_) => {}
                }
                Ok(())
            });
            match done {
                Ok(()) => {
                    let step = out?.unwrap_or(ScanStep::Ignore);
                    if n.note_time && step != ScanStep::Ignore {
                        local::put_meta(&self.local, Meta::ClockSeen, &n.now.to_string())?;
                    }
                    return Ok(step);
                }
                Err(e) if e.is_unreachable() => {
                    tracing::warn!(event = "server.offline", error = %e);
                }
                Err(e) => return Err(e.into()),
            }
        }
        // Not confirmed by the server (it may have committed before the connection
        // broke): kept here under the same event id, which the server recognises.
        self.record_offline(&event_id, n, decide)
    }

    /// Forwards waiting scans in order, batch by batch, until none wait, the server is
    /// gone again, or the budget is spent.
    pub(super) fn forward_waiting(
        &mut self,
        budget: Duration,
        decide: &mut dyn FnMut(i64, i64, &PriorScan) -> Result<ScanStep, crate::Error>,
    ) -> Result<ForwardReport, crate::Error> {
        let start = Instant::now();
        let mut report = ForwardReport::default();
        while start.elapsed() < budget {
            let batch = local::next(&self.local, 64)?;
            if batch.is_empty() {
                break;
            }
            let results = match self.forward_batch(&batch, decide) {
                Ok(r) => r,
                Err(e) if e.is_unreachable() || matches!(e, StoreError::Busy) => break,
                Err(e) => return Err(e.into()),
            };
            let tx = self
                .local
                .unchecked_transaction()
                .map_err(StoreError::from)?;
            for (q, r) in batch.iter().zip(results) {
                match r {
                    Ok(true) => report.forwarded += 1,
                    Ok(false) => report.already += 1,
                    Err(e) => {
                        tracing::error!(event = "server.forward_refused", error = %e);
                        local::set_failed(&tx, q.seq, &e.to_string())?;
                        report.failed += 1;
                        continue;
                    }
                }
                local::forwarded(&tx, q.seq)?;
            }
            tx.commit().map_err(StoreError::from)?;
        }
        report.waiting = self.waiting()?.0;
        Ok(report)
    }
}
