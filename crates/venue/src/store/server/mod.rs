//! The venue's store in a PostgreSQL server shared by several counters. Every write is
//! confirmed only after the server committed it. When the server cannot be reached, a
//! counter goes on scanning into its local outbox and forwards the scans in order once
//! the server is back; each scan carries an event id that the server records in the same
//! transaction, so a scan forwarded twice (after a crash or a lost connection) is applied
//! once. The server holds what the SQLite store holds and nothing more: sealed parts,
//! areas, times and today's pseudonyms.

mod areas;
mod checkins;
mod connection;
pub mod link;
pub mod listen;
pub mod local;
mod logins;
mod outbox;
mod requests;
pub mod schema;
mod venue_rows;
mod venue_store;

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
            failed_tries: Cell::new(0),
            problem: RefCell::new(None),
            local,
            view: RefCell::new(View::new(snap)),
        }
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
        let offered = connection::current_fingerprint(&keys)?;
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
}
