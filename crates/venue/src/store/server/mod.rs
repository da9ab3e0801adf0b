//! The venue's store in a PostgreSQL server shared by several counters. Every write is
//! confirmed only after the server committed it. When the server cannot be reached, a
//! counter goes on scanning into its local outbox and forwards the scans in order once
//! the server is back; each scan carries an event id that the server records in the same
//! transaction, so a scan forwarded twice (after a crash or a lost connection) is applied
//! once. The server holds what the SQLite store holds and nothing more: sealed parts,
//! areas, times and today's pseudonyms.

mod areas;
mod checkins;
pub mod link;
pub mod listen;
pub mod local;
mod requests;
pub mod schema;
mod venue_rows;

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use postgres::error::SqlState;
use postgres::fallible_iterator::FallibleIterator;
use postgres::{Client, Transaction};
use rusqlite::Connection;
use serde::{Deserialize, Serialize};
use tresen_protocol::encoding::hex;
use tresen_protocol::join_file::ServerLogin;

use super::*;
pub use link::{ServerLink, ServerRole};
use local::Queued;

/// How long a counter waits before it tries an unreachable server again: twice as long
/// after each failed try, up to a minute (a connect to a silent host blocks for up to the
/// connect timeout, which must not land on the counter often).
const RETRY_FIRST: Duration = Duration::from_secs(2);
const RETRY_MAX: Duration = Duration::from_secs(60);
/// A connection unused for this long is checked with a round trip before its next use.
const IDLE_CHECK: Duration = Duration::from_secs(5);
/// How long that check waits for the server.
const CHECK_TIMEOUT: Duration = Duration::from_secs(2);

/// Removes this PC's link to a server after a setup or a join that failed, so that the
/// data folder is as it was before.
pub fn forget_link(data_dir: &Path) {
    for f in [link::LINK_FILE, local::LOCAL_FILE] {
        let _ = std::fs::remove_file(data_dir.join(f));
        let _ = std::fs::remove_file(data_dir.join(format!("{f}-wal")));
        let _ = std::fs::remove_file(data_dir.join(format!("{f}-shm")));
    }
}

pub(crate) fn pg_err(e: &postgres::Error) -> StoreError {
    if let Some(db) = e.as_db_error() {
        let msg = db.message().to_string();
        return match db.code() {
            c if *c == SqlState::INSUFFICIENT_PRIVILEGE => StoreError::Forbidden(msg),
            c if *c == SqlState::DISK_FULL => StoreError::DiskFull,
            c if *c == SqlState::INVALID_PASSWORD
                || *c == SqlState::INVALID_AUTHORIZATION_SPECIFICATION =>
            {
                StoreError::LoginRefused(msg)
            }
            c if *c == SqlState::ADMIN_SHUTDOWN
                || *c == SqlState::CRASH_SHUTDOWN
                || *c == SqlState::CANNOT_CONNECT_NOW
                || *c == SqlState::CONNECTION_FAILURE
                || *c == SqlState::TOO_MANY_CONNECTIONS =>
            {
                StoreError::Offline(msg)
            }
            c if *c == SqlState::T_R_SERIALIZATION_FAILURE
                || *c == SqlState::T_R_DEADLOCK_DETECTED
                || *c == SqlState::LOCK_NOT_AVAILABLE =>
            {
                StoreError::Busy
            }
            _ => StoreError::Other(msg),
        };
    }
    if is_tls(e) {
        return StoreError::Tls(chain(e));
    }
    StoreError::Offline(chain(e))
}

fn chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut src = e.source();
    while let Some(x) = src {
        s.push_str(": ");
        s.push_str(&x.to_string());
        src = x.source();
    }
    s
}

fn is_tls(e: &(dyn std::error::Error + 'static)) -> bool {
    let mut src: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(x) = src {
        if x.downcast_ref::<rustls::Error>().is_some() {
            return true;
        }
        if let Some(io) = x.downcast_ref::<std::io::Error>() {
            if io
                .get_ref()
                .is_some_and(|inner| inner.downcast_ref::<rustls::Error>().is_some())
            {
                return true;
            }
        }
        src = x.source();
    }
    false
}

impl From<postgres::Error> for StoreError {
    fn from(e: postgres::Error) -> Self {
        pg_err(&e)
    }
}

/// A unique violation is a name that exists already.
pub(crate) fn duplicate(e: postgres::Error, name: &str) -> StoreError {
    if e.code() == Some(&SqlState::UNIQUE_VIOLATION) {
        StoreError::Duplicate(name.to_string())
    } else {
        e.into()
    }
}

/// The last view of the venue this counter had: what it needs to scan while the server
/// is away, kept on disk so that a restart without the server still scans.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct Snapshot {
    name: String,
    address: String,
    settings: Vec<(String, String)>,
    keys: Vec<StoredKey>,
    trust: Option<String>,
    contact_key_ids: Vec<Vec<u8>>,
    metas: Vec<(String, String)>,
    ever_verified: bool,
    locations: Vec<(i64, String)>,
    areas: Vec<AreaRow>,
    codes: Vec<(i64, u16, TableCode)>,
    backups: Vec<venue_rows::BackupRow>,
}

impl Snapshot {
    /// The copies that count: on another drive than the key file.
    fn counted<'a>(
        &'a self,
        key_id: i64,
        event: &'a str,
        primary: &'a str,
    ) -> impl Iterator<Item = &'a venue_rows::BackupRow> + 'a {
        self.backups.iter().filter(move |b| {
            b.key_id == key_id && b.event == event && !b.same_medium && b.place != primary
        })
    }
}

struct View {
    snap: Snapshot,
    codes: HashMap<(i64, u16), TableCode>,
}

impl View {
    fn new(snap: Snapshot) -> View {
        let codes = snap.codes.iter().map(|(a, n, c)| ((*a, *n), *c)).collect();
        View { snap, codes }
    }
}

/// Where a counter stands with the server: shown in the window and by `tresen status`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SyncState {
    /// False for a venue in its own SQLite file.
    pub server: bool,
    pub role: Option<ServerRole>,
    pub online: bool,
    /// Scans made here and not yet in the server's database.
    pub waiting: u64,
    /// Scans the server refused (kept here; the reason is in the log).
    pub failed: u64,
    /// Why the server cannot be reached: a code (`db-offline`, `db-tls`, `db-login`).
    pub problem: Option<String>,
    pub detail: Option<String>,
}

impl SyncState {
    pub fn embedded() -> SyncState {
        SyncState {
            server: false,
            role: None,
            online: true,
            waiting: 0,
            failed: 0,
            problem: None,
            detail: None,
        }
    }
}

/// What forwarding the outbox did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct ForwardReport {
    pub forwarded: u64,
    /// Already in the server's database (forwarded before a crash or a lost connection).
    pub already: u64,
    pub failed: u64,
    pub waiting: u64,
}

/// A counter login made for a join file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CounterRow {
    /// Its database login.
    pub login: String,
    pub name: String,
    pub created_at: i64,
    pub revoked_at: Option<i64>,
}

pub struct ServerStore {
    data_dir: PathBuf,
    link: ServerLink,
    db: RefCell<Option<Client>>,
    retry_at: Cell<Option<Instant>>,
    /// When the connection last answered; after a pause it is checked before use.
    answered_at: Cell<Instant>,
    failed_tries: Cell<u32>,
    problem: RefCell<Option<StoreError>>,
    local: Connection,
    view: RefCell<View>,
}

impl ServerStore {
    fn with_parts(
        data_dir: &Path,
        link: ServerLink,
        client: Option<Client>,
        local: Connection,
        snap: Snapshot,
    ) -> Self {
        ServerStore {
            data_dir: data_dir.to_path_buf(),
            link,
            db: RefCell::new(client),
            retry_at: Cell::new(None),
            answered_at: Cell::new(Instant::now()),
            failed_tries: Cell::new(0),
            problem: RefCell::new(None),
            local,
            view: RefCell::new(View::new(snap)),
        }
    }

    /// Tries the server at the next use, whatever the wait (the app's listener saw it
    /// come back).
    pub fn retry_now(&self) {
        self.retry_at.set(None);
        self.failed_tries.set(0);
    }

    fn note_failed_connect(&self) {
        let n = self.failed_tries.get().saturating_add(1);
        self.failed_tries.set(n);
        let wait = RETRY_FIRST
            .saturating_mul(1u32 << n.saturating_sub(1).min(6))
            .min(RETRY_MAX);
        self.retry_at.set(Some(Instant::now() + wait));
    }
    /// Opens the store of a server venue: the local part at once, the server as soon as
    /// it answers.
    pub fn open(data_dir: &Path) -> Result<ServerStore, StoreError> {
        let link = ServerLink::load(data_dir)?;
        let local = local::open(data_dir)?;
        let snap = match local::load_snapshot(&local)? {
            Some(json) => serde_json::from_str(&json).unwrap_or_default(),
            None => Snapshot::default(),
        };
        let store = ServerStore::with_parts(data_dir, link, None, local, snap);
        // A key the server offers that this PC does not know stops it here, before any
        // scan is sealed to it; an unreachable server does not.
        match store.db(|_| Ok(())) {
            Err(e) if !e.is_unreachable() => Err(e),
            _ => Ok(store),
        }
    }

    /// Sets up the schema of a new server venue as its operator and links this PC to it.
    pub fn create(data_dir: &Path, login: ServerLogin) -> Result<ServerStore, StoreError> {
        let mut client = link::connect(&login)?;
        schema::migrate(&mut client, &login.dbname)?;
        if venue_rows::is_initialized(&mut client)? {
            return Err(StoreError::Other(format!(
                "the database '{}' holds a venue already; join it with a join file instead",
                login.dbname
            )));
        }
        let link = ServerLink {
            version: 1,
            role: ServerRole::Operator,
            login,
            pinned_keys: Vec::new(),
            pinned_root: None,
        };
        std::fs::create_dir_all(data_dir).map_err(|source| StoreError::DataDir {
            path: data_dir.to_path_buf(),
            source,
        })?;
        link.save(data_dir)?;
        let local = local::open(data_dir)?;
        Ok(ServerStore::with_parts(
            data_dir,
            link,
            Some(client),
            local,
            Snapshot::default(),
        ))
    }

    /// Links this PC to a server venue as a counter, with the login and the key a join
    /// file gave: the server must offer that very key.
    pub fn join(
        data_dir: &Path,
        login: ServerLogin,
        fingerprint: [u8; 32],
        root: [u8; 32],
    ) -> Result<ServerStore, StoreError> {
        let mut client = link::connect(&login)?;
        schema::check_version(&mut client)?;
        let keys = venue_rows::keys(&mut client)?;
        let offered = current_fingerprint(&keys)?;
        if offered != fingerprint {
            return Err(StoreError::KeyNotPinned(hex(&offered)));
        }
        std::fs::create_dir_all(data_dir).map_err(|source| StoreError::DataDir {
            path: data_dir.to_path_buf(),
            source,
        })?;
        let link = ServerLink {
            version: 1,
            role: ServerRole::Counter,
            login,
            pinned_keys: vec![hex(&fingerprint)],
            pinned_root: Some(hex(&root)),
        };
        link.save(data_dir)?;
        let local = local::open(data_dir)?;
        let store =
            ServerStore::with_parts(data_dir, link, Some(client), local, Snapshot::default());
        store.with_client(|c| store.refresh(c))?;
        Ok(store)
    }

    pub fn role(&self) -> ServerRole {
        self.link.role
    }

    pub fn login(&self) -> &ServerLogin {
        &self.link.login
    }

    fn operator_only(&self) -> Result<(), StoreError> {
        match self.link.role {
            ServerRole::Operator => Ok(()),
            ServerRole::Counter => Err(StoreError::Forbidden(
                "a counter may not do this; do it on the operator's PC".into(),
            )),
        }
    }

    /// Runs `f` on the server connection, connecting first if needed. A connection that
    /// breaks is dropped, so the next call connects again.
    fn db<T>(&self, f: impl FnOnce(&mut Client) -> Result<T, StoreError>) -> Result<T, StoreError> {
        // A server restarted during a pause leaves a connection that fails its next use; a
        // round trip finds out before the work starts, so that the work gets a fresh one.
        if self.answered_at.get().elapsed() > IDLE_CHECK {
            let mut guard = self.db.borrow_mut();
            if guard
                .as_mut()
                .is_some_and(|c| c.is_valid(CHECK_TIMEOUT).is_err())
            {
                *guard = None;
            }
        }
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

    fn with_client<T>(
        &self,
        f: impl FnOnce(&mut Client) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let mut guard = self.db.borrow_mut();
        let Some(client) = guard.as_mut() else {
            return Err(self.last_problem());
        };
        let out = f(client);
        if out.is_ok() {
            self.answered_at.set(Instant::now());
        }
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

    fn last_problem(&self) -> StoreError {
        self.problem
            .borrow()
            .as_ref()
            .map(StoreError::clone_shallow)
            .unwrap_or_else(|| StoreError::Offline("not connected yet".into()))
    }

    fn connect(&self) -> Result<Client, StoreError> {
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
    fn refresh(&self, c: &mut Client) -> Result<(), StoreError> {
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
    fn check_pinned(&self, keys: &[StoredKey]) -> Result<(), StoreError> {
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
    fn check_root(&self, trust: Option<&str>) -> Result<(), StoreError> {
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

    fn pin(&mut self, fingerprint: &[u8]) -> Result<(), StoreError> {
        let h = hex(fingerprint);
        if !self.link.pinned_keys.contains(&h) {
            self.link.pinned_keys.push(h);
            self.link.save(&self.data_dir)?;
        }
        Ok(())
    }

    /// The view, brought up to date first if another PC changed the areas (and the server
    /// is there to ask).
    fn fresh_view(&self) -> std::cell::Ref<'_, View> {
        let _ = self.db(|c| {
            if c.notifications().iter().count()? > 0 {
                self.refresh(c)?;
            }
            Ok(())
        });
        self.view.borrow()
    }

    /// A write in one server transaction.
    fn write<T>(
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
    fn write_config<T>(
        &self,
        f: impl FnOnce(&mut Transaction<'_>) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        self.operator_only()?;
        let v = self.write(f)?;
        let _ = self.db(|c| self.refresh(c));
        Ok(v)
    }

    // ----- the outbox -----

    fn waiting(&self) -> Result<(u64, u64), StoreError> {
        local::waiting(&self.local)
    }

    fn record_offline(
        &mut self,
        event_id: &[u8],
        n: &NewCheckin<'_>,
        decide: &mut dyn FnMut(&PriorScan) -> Result<ScanStep, crate::Error>,
    ) -> Result<ScanStep, crate::Error> {
        let queued = local::scans_of(&self.local, n.pseudonym)?;
        let prior = PriorScan {
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
            due_at: n.due_at,
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

    fn enqueue_event(
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
    fn forward_batch(
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

    fn apply_queued(
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
                    due_at: q.due_at,
                    pseudonym: &pseudonym,
                    guest_seal: &q.guest_seal,
                    table_seal: &q.table_seal,
                    seal_version: q.seal_version,
                    note_time: false,
                };
                checkins::record_scan(tx, &q.event_id, &n, &mut |p| decide(q.area, q.at, p))
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

    // ----- counters and join files -----

    /// Makes a database login for a new counter, in the counters' group: what a join file
    /// carries.
    pub fn create_counter_login(
        &mut self,
        label: &str,
        now: i64,
    ) -> Result<ServerLogin, StoreError> {
        self.operator_only()?;
        let group = ServerLink::counter_group(&self.link.login.dbname)?;
        let suffix =
            tresen_protocol::textcode::encode_base32(&tresen_protocol::crypto::random_bytes::<5>())
                .to_lowercase();
        let role = format!("{}_c_{suffix}", self.link.login.dbname);
        let password =
            tresen_protocol::encoding::hex(&tresen_protocol::crypto::random_bytes::<24>());
        // The server gets only the SCRAM verifier, so the password is in no statement log.
        // The verifier is base64 and '$'-separated: nothing in it needs quoting.
        let verifier = postgres_protocol::password::scram_sha_256(password.as_bytes());
        self.write(|tx| {
            tx.batch_execute(&format!(
                "CREATE ROLE {role} LOGIN PASSWORD '{verifier}' IN ROLE {group}"
            ))?;
            tx.execute(
                "INSERT INTO counters(role, label, created_at) VALUES ($1, $2, $3)",
                &[&role, &label, &now],
            )?;
            Ok(())
        })?;
        let l = &self.link.login;
        Ok(ServerLogin {
            host: l.host.clone(),
            port: l.port,
            dbname: l.dbname.clone(),
            user: role,
            password,
            ca_pem: l.ca_pem.clone(),
        })
    }

    pub fn counters(&self) -> Result<Vec<CounterRow>, StoreError> {
        self.operator_only()?;
        self.db(|c| {
            Ok(c.query(
                "SELECT role, label, created_at, revoked_at FROM counters ORDER BY created_at",
                &[],
            )?
            .iter()
            .map(|r| CounterRow {
                login: r.get(0),
                name: r.get(1),
                created_at: r.get(2),
                revoked_at: r.get(3),
            })
            .collect())
        })
    }

    /// Takes a counter's login away (a stolen or retired PC): it can no longer connect,
    /// and its open sessions end.
    pub fn revoke_counter(&mut self, role: &str, now: i64) -> Result<bool, StoreError> {
        self.operator_only()?;
        let known = self.db(|c| {
            Ok(c.query_opt(
                "SELECT 1 FROM counters WHERE role = $1 AND revoked_at IS NULL",
                &[&role],
            )?
            .is_some())
        })?;
        if !known {
            return Ok(false);
        }
        link::valid_ident(role)?;
        self.write(|tx| {
            // Ending its sessions needs the operator to hold the role.
            tx.batch_execute(&format!(
                "ALTER ROLE {role} NOLOGIN; GRANT {role} TO CURRENT_USER"
            ))?;
            tx.execute(
                "UPDATE counters SET revoked_at = $2 WHERE role = $1",
                &[&role, &now],
            )?;
            Ok(())
        })?;
        // Only once NOLOGIN is committed: a session ended before that could be replaced by
        // a new login, which NOLOGIN would not end later.
        self.db(|c| {
            for _ in 0..50 {
                let left: i64 = c
                    .query_one(
                        "SELECT COUNT(pg_terminate_backend(pid)) FROM pg_stat_activity
                         WHERE usename = $1",
                        &[&role],
                    )?
                    .get(0);
                if left == 0 {
                    return Ok(());
                }
                std::thread::sleep(Duration::from_millis(20));
            }
            Err(StoreError::Other(format!(
                "the sessions of {role} did not end; revoke it again"
            )))
        })?;
        Ok(true)
    }
}

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
        let event_id = tresen_protocol::crypto::random_bytes::<16>();
        // Scans keep their order: while any wait here, a new one waits behind them.
        if self.waiting()?.0 == 0 {
            let mut out: Result<Option<ScanStep>, crate::Error> = Ok(None);
            let done = self.db(|c| {
                let mut tx = c.transaction()?;
                out = checkins::record_scan(&mut tx, &event_id, n, decide);
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

    fn checkpoint(&mut self) -> Result<(), StoreError> {
        self.local
            .query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))?;
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
        Ok(())
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

    fn as_server(&mut self) -> Option<&mut ServerStore> {
        Some(self)
    }

    fn server_role(&self) -> Option<ServerRole> {
        Some(self.link.role)
    }
}

/// The fingerprint of the key the venue seals to now (the newest one not retired), worked
/// out from the keys themselves: a server's fingerprint column is not evidence of them.
fn current_fingerprint(keys: &[StoredKey]) -> Result<[u8; 32], StoreError> {
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
