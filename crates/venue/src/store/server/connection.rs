//! The store's connection to the server: connecting with a growing wait after failures,
//! refreshing the view of the venue and checking the pinned key and root on the way, and
//! the write transactions every change goes through.

use super::*;

impl ServerStore {
    /// Tries the server at the next use, whatever the wait (the app's listener saw it
    /// come back).
    pub fn retry_now(&self) {
        self.retry_at.set(None);
        self.failed_tries.set(0);
    }

    pub(super) fn note_failed_connect(&self) {
        let n = self.failed_tries.get().saturating_add(1);
        self.failed_tries.set(n);
        let wait = RETRY_FIRST
            .saturating_mul(1u32 << n.saturating_sub(1).min(6))
            .min(RETRY_MAX);
        self.retry_at.set(Some(Instant::now() + wait));
    }

    /// Runs `f` on the server connection, connecting first if needed. A connection that
    /// breaks is dropped, so the next call connects again.
    pub(super) fn db<T>(
        &self,
        f: impl FnOnce(&mut Client) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let fresh = self.db.borrow().is_none();
        if fresh {
            if let Some(at) = self.retry_at.get() {
                if Instant::now() < at {
                    return Err(self.last_problem());
                }
            }
            match self.connect() {
                Ok(c) => {
                    *self.db.borrow_mut() = Some(c);
                    self.retry_now();
                    *self.problem.borrow_mut() = None;
                }
                Err(e) => {
                    self.note_failed_connect();
                    let shown = e.clone_shallow();
                    *self.problem.borrow_mut() = Some(e);
                    return Err(shown);
                }
            }
            // The first use after connecting brings the saved view up to date and checks
            // the key the server offers; a key this PC does not know ends the connection.
            if let Err(e) = self.with_client(|c| self.refresh(c)) {
                *self.db.borrow_mut() = None;
                self.note_failed_connect();
                *self.problem.borrow_mut() = Some(e.clone_shallow());
                return Err(e);
            }
        }
        self.with_client(f)
    }

    pub(super) fn with_client<T>(
        &self,
        f: impl FnOnce(&mut Client) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let mut guard = self.db.borrow_mut();
        let Some(client) = guard.as_mut() else {
            return Err(self.last_problem());
        };
        let out = f(client);
        if let Err(e) = &out {
            if e.is_unreachable() || client.is_closed() {
                // The next call connects again at once; only a failed connect waits.
                *guard = None;
                self.retry_at.set(None);
                *self.problem.borrow_mut() = Some(e.clone_shallow());
            }
        }
        out
    }

    pub(super) fn last_problem(&self) -> StoreError {
        self.problem
            .borrow()
            .as_ref()
            .map(StoreError::clone_shallow)
            .unwrap_or_else(|| StoreError::Offline("not connected yet".into()))
    }

    pub(super) fn connect(&self) -> Result<Client, StoreError> {
        let mut c = link::connect(&self.link.login)?;
        match self.link.role {
            ServerRole::Operator => schema::migrate(&mut c, &self.link.login.dbname)?,
            ServerRole::Counter => schema::check_version(&mut c)?,
        }
        c.batch_execute("LISTEN tresen_areas")?;
        Ok(c)
    }

    /// Reads the venue's view from the server, checks its key against the pinned ones and
    /// saves it for times without the server.
    pub(super) fn refresh(&self, c: &mut Client) -> Result<(), StoreError> {
        let mut tx = c
            .build_transaction()
            .read_only(true)
            .isolation_level(postgres::IsolationLevel::RepeatableRead)
            .start()?;
        let initialized = venue_rows::is_initialized(&mut tx)?;
        if !initialized {
            return Ok(());
        }
        let keys = venue_rows::keys(&mut tx)?;
        self.check_pinned(&keys)?;
        let trust = venue_rows::trust(&mut tx)?;
        self.check_root(trust.as_deref())?;
        let (name, address) = venue_rows::name_address(&mut tx)?;
        let view = areas::area_view(&mut tx)?;
        let mut metas = Vec::new();
        for k in [Meta::SealV2Since, Meta::BackupPostponedAt] {
            if let Some(v) = venue_rows::get_meta(&mut tx, k)? {
                metas.push((k.key().to_string(), v));
            }
        }
        let snap = Snapshot {
            name,
            address,
            settings: venue_rows::settings(&mut tx)?,
            keys,
            trust,
            contact_key_ids: venue_rows::contact_key_ids(&mut tx)?,
            metas,
            ever_verified: venue_rows::ever_verified(&mut tx)?,
            backups: venue_rows::backups(&mut tx)?,
            locations: areas::locations(&mut tx)?,
            codes: view.codes.iter().map(|(&(a, n), &c)| (a, n, c)).collect(),
            areas: view.areas,
        };
        tx.commit()?;
        // Drained: the view is as new as the notifications so far.
        let _ = c.notifications().iter().count()?;
        let json = serde_json::to_string(&snap).map_err(|e| StoreError::Other(e.to_string()))?;
        local::save_snapshot(&self.local, &json)?;
        *self.view.borrow_mut() = View::new(snap);
        Ok(())
    }

    /// A key the server offers must be one this PC accepted (from its own setup, its own
    /// key replacement or its join file): a database that swaps the venue key would
    /// otherwise have guests' contacts sealed to a key of its choosing.
    pub(super) fn check_pinned(&self, keys: &[StoredKey]) -> Result<(), StoreError> {
        if self.link.pinned_keys.is_empty() {
            return Ok(());
        }
        let fingerprint = hex(&current_fingerprint(keys)?);
        if self.link.pinned_keys.contains(&fingerprint) {
            Ok(())
        } else {
            Err(StoreError::KeyNotPinned(fingerprint))
        }
    }

    /// The trust file in the database must have the root this PC was set up with: a
    /// database that swaps it could list an office of its own making and have guests'
    /// contacts sealed to it.
    pub(super) fn check_root(&self, trust: Option<&str>) -> Result<(), StoreError> {
        let (Some(pinned), Some(raw)) = (&self.link.pinned_root, trust) else {
            return Ok(());
        };
        let root = tresen_protocol::trust::verify(raw, None)
            .map_err(|e| StoreError::Corrupt(format!("the stored trust file: {e}")))?
            .root_key;
        if hex(&root) == *pinned {
            Ok(())
        } else {
            Err(StoreError::RootNotPinned(hex(&root)))
        }
    }

    pub(super) fn pin(&mut self, fingerprint: &[u8]) -> Result<(), StoreError> {
        let h = hex(fingerprint);
        if !self.link.pinned_keys.contains(&h) {
            self.link.pinned_keys.push(h);
            self.link.save(&self.data_dir)?;
        }
        Ok(())
    }

    /// The view, brought up to date first if another PC changed the areas (and the server
    /// is there to ask).
    pub(super) fn fresh_view(&self) -> std::cell::Ref<'_, View> {
        let _ = self.db(|c| {
            if c.notifications().iter().count()? > 0 {
                self.refresh(c)?;
            }
            Ok(())
        });
        self.view.borrow()
    }

    /// A write in one server transaction.
    pub(super) fn write<T>(
        &self,
        f: impl FnOnce(&mut Transaction<'_>) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        // A connection the server dropped (a restart) fails at BEGIN, before anything was
        // sent that could commit: then, and only then, the write runs again on a new one.
        let mut f = Some(f);
        let began = Cell::new(false);
        let mut attempt = || {
            self.db(|c| {
                let mut tx = c.transaction()?;
                began.set(true);
                let f = f
                    .take()
                    .ok_or_else(|| StoreError::Other("a write ran twice".into()))?;
                let v = f(&mut tx)?;
                tx.commit()?;
                Ok(v)
            })
        };
        let had_connection = self.db.borrow().is_some();
        match attempt() {
            Err(e) if had_connection && e.is_unreachable() && !began.get() => {
                attempt().map_err(|again| if began.get() { again } else { e })
            }
            out => out,
        }
    }

    /// A write that changes what counters scan against: the view follows.
    pub(super) fn write_config<T>(
        &self,
        f: impl FnOnce(&mut Transaction<'_>) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        self.operator_only()?;
        let v = self.write(f)?;
        let _ = self.db(|c| self.refresh(c));
        Ok(v)
    }
}

/// The fingerprint of the key the venue seals to now (the newest one not retired), worked
/// out from the keys themselves: a server's fingerprint column is not evidence of them.
pub(super) fn current_fingerprint(keys: &[StoredKey]) -> Result<[u8; 32], StoreError> {
    let key = keys
        .iter()
        .filter(|k| k.retired_at.is_none())
        .max_by_key(|k| k.id)
        .ok_or_else(|| StoreError::Corrupt("the venue has no current key".into()))?;
    let bad = || StoreError::Corrupt("a stored venue key is damaged".into());
    let public = tresen_protocol::venue_keys::VenuePublicKeys {
        seal: key.seal.as_slice().try_into().map_err(|_| bad())?,
        sign: key.sign.as_slice().try_into().map_err(|_| bad())?,
    };
    Ok(public.fingerprint())
}
