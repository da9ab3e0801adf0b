//! What a counter of a server venue keeps on its own disk: this PC's settings (its install
//! id, where its secret is, its key file and PIN), the outbox of scans made while the
//! database could not be reached, and the last view of the venue's areas and keys, so that
//! it can go on scanning without the database. The outbox is as durable as the SQLite
//! store (WAL, synchronous=FULL) and its rows are overwritten when deleted.

use std::path::Path;

use rusqlite::{params, Connection, OptionalExtension};

use crate::store::sqlite::schema::configure;
use crate::store::{Meta, StoreError};

pub const LOCAL_FILE: &str = "counter.sqlite3";

const MIGRATIONS: &[&str] = &[
    r#"
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE outbox (
    seq INTEGER PRIMARY KEY,
    event_id BLOB NOT NULL UNIQUE,
    kind TEXT NOT NULL CHECK (kind IN ('scan', 'table', 'check-out')),
    record BLOB NOT NULL,
    area_id INTEGER NOT NULL DEFAULT 0,
    venue_key_id INTEGER NOT NULL DEFAULT 0,
    at INTEGER NOT NULL,
    due_at INTEGER NOT NULL DEFAULT 0,
    pseudonym BLOB,
    guest_seal BLOB,
    table_seal BLOB,
    seal_version INTEGER NOT NULL DEFAULT 0,
    -- What this counter decided while offline: 'in' or 'out' (scans only).
    step TEXT,
    -- Why the database refused it (kept, not retried, shown until resolved).
    failed TEXT
);
CREATE INDEX outbox_pseudonym ON outbox(pseudonym) WHERE pseudonym IS NOT NULL;
CREATE TABLE snapshot (id INTEGER PRIMARY KEY CHECK (id = 1), json TEXT NOT NULL);
"#,
    r#"
CREATE TABLE pc_events (
    seq INTEGER PRIMARY KEY,
    at INTEGER NOT NULL,
    event TEXT NOT NULL,
    detail TEXT NOT NULL
);
"#,
];

/// The meta keys kept on this PC rather than in the venue's database.
pub fn is_local(key: Meta) -> bool {
    matches!(
        key,
        Meta::InstallId
            | Meta::SecretStore
            | Meta::KeyFile
            | Meta::OperatorPin
            | Meta::OperatorPinFailures
            | Meta::OperatorPinFailedAt
            | Meta::ClockSeen
    )
}

pub fn open(data_dir: &Path) -> Result<Connection, StoreError> {
    std::fs::create_dir_all(data_dir).map_err(|source| StoreError::DataDir {
        path: data_dir.to_path_buf(),
        source,
    })?;
    let conn = Connection::open(data_dir.join(LOCAL_FILE))?;
    configure(&conn)?;
    let found: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    let known = MIGRATIONS.len() as i64;
    if found > known {
        return Err(StoreError::TooNew { found, known });
    }
    for (i, sql) in MIGRATIONS.iter().enumerate().skip(found as usize) {
        let tx = conn.unchecked_transaction()?;
        tx.execute_batch(sql)?;
        tx.pragma_update(None, "user_version", (i + 1) as i64)?;
        tx.commit()?;
    }
    Ok(conn)
}

pub fn get_meta(conn: &Connection, key: Meta) -> Result<Option<String>, StoreError> {
    Ok(conn
        .query_row("SELECT value FROM meta WHERE key = ?1", [key.key()], |r| {
            r.get(0)
        })
        .optional()?)
}

pub fn put_meta(conn: &Connection, key: Meta, value: &str) -> Result<(), StoreError> {
    conn.execute(
        "INSERT INTO meta(key, value) VALUES (?1, ?2)
         ON CONFLICT(key) DO UPDATE SET value = excluded.value",
        params![key.key(), value],
    )?;
    Ok(())
}

/// Notes what happened on this counter PC alone (its PIN set, PIN failures, its operator
/// screens opened): a counter may not write the venue's audit log, whose chain only the
/// operator's PC extends.
pub fn note_pc_event(
    conn: &Connection,
    at: i64,
    event: &str,
    detail: &str,
) -> Result<(), StoreError> {
    conn.execute(
        "INSERT INTO pc_events(at, event, detail) VALUES (?1, ?2, ?3)",
        params![at, event, detail],
    )?;
    Ok(())
}

/// Scans that waited (or were refused) past the retention period go like the check-ins on
/// the server would; this PC's own events after the audit period.
pub fn drop_expired(conn: &Connection, cutoff: i64, audit_cutoff: i64) -> Result<u64, StoreError> {
    let scans = conn.execute("DELETE FROM outbox WHERE at < ?1", [cutoff])?;
    conn.execute("DELETE FROM pc_events WHERE at < ?1", [audit_cutoff])?;
    Ok(scans as u64)
}

/// A scan, table or check-out waiting to be forwarded, in the order it was made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Queued {
    pub seq: i64,
    pub event_id: Vec<u8>,
    pub kind: String,
    pub record: Vec<u8>,
    pub area: i64,
    pub venue_key_id: i64,
    pub at: i64,
    pub due_at: i64,
    pub pseudonym: Option<Vec<u8>>,
    pub guest_seal: Vec<u8>,
    pub table_seal: Vec<u8>,
    pub seal_version: u8,
    pub step: Option<String>,
}

const QUEUED_COLUMNS: &str = "seq, event_id, kind, record, area_id, venue_key_id, at, due_at,
    pseudonym, COALESCE(guest_seal, x''), COALESCE(table_seal, x''), seal_version, step";

fn queued_from(r: &rusqlite::Row<'_>) -> rusqlite::Result<Queued> {
    Ok(Queued {
        seq: r.get(0)?,
        event_id: r.get(1)?,
        kind: r.get(2)?,
        record: r.get(3)?,
        area: r.get(4)?,
        venue_key_id: r.get(5)?,
        at: r.get(6)?,
        due_at: r.get(7)?,
        pseudonym: r.get(8)?,
        guest_seal: r.get(9)?,
        table_seal: r.get(10)?,
        seal_version: r.get(11)?,
        step: r.get(12)?,
    })
}

/// (waiting to be forwarded, refused by the database).
pub fn waiting(conn: &Connection) -> Result<(u64, u64), StoreError> {
    Ok(conn
        .prepare_cached("SELECT COUNT(*) FILTER (WHERE failed IS NULL), COUNT(failed) FROM outbox")?
        .query_row([], |r| Ok((r.get(0)?, r.get(1)?)))?)
}

/// Keeps an event the database refused, with the reason, out of the way of the others.
pub fn set_failed(conn: &Connection, seq: i64, reason: &str) -> Result<(), StoreError> {
    conn.prepare_cached("UPDATE outbox SET failed = ?2 WHERE seq = ?1")?
        .execute(params![seq, reason])?;
    Ok(())
}

pub fn next(conn: &Connection, limit: usize) -> Result<Vec<Queued>, StoreError> {
    let mut st = conn.prepare_cached(&format!(
        "SELECT {QUEUED_COLUMNS} FROM outbox WHERE failed IS NULL ORDER BY seq LIMIT ?1"
    ))?;
    let rows = st.query_map([limit as i64], queued_from)?;
    Ok(rows.collect::<Result<_, _>>()?)
}

pub fn forwarded(conn: &Connection, seq: i64) -> Result<(), StoreError> {
    conn.prepare_cached("DELETE FROM outbox WHERE seq = ?1")?
        .execute([seq])?;
    Ok(())
}

pub fn enqueue(conn: &Connection, q: &Queued) -> Result<(), StoreError> {
    conn.prepare_cached(
        "INSERT INTO outbox(event_id, kind, record, area_id, venue_key_id, at, due_at, pseudonym,
                            guest_seal, table_seal, seal_version, step)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
    )?
    .execute(params![
        q.event_id,
        q.kind,
        q.record,
        q.area,
        q.venue_key_id,
        q.at,
        q.due_at,
        q.pseudonym,
        q.guest_seal,
        q.table_seal,
        q.seal_version,
        q.step
    ])?;
    Ok(())
}

/// The scans of one pseudonym waiting here, oldest first.
pub fn scans_of(conn: &Connection, pseudonym: &[u8]) -> Result<Vec<Queued>, StoreError> {
    let mut st = conn.prepare_cached(&format!(
        "SELECT {QUEUED_COLUMNS} FROM outbox WHERE pseudonym = ?1 AND kind = 'scan' ORDER BY seq"
    ))?;
    let rows = st.query_map([pseudonym], queued_from)?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// A waiting scan that checked a guest in, by its record id.
pub fn queued_checkin(conn: &Connection, record: &[u8]) -> Result<Option<Queued>, StoreError> {
    Ok(conn
        .prepare_cached(&format!(
            "SELECT {QUEUED_COLUMNS} FROM outbox WHERE record = ?1 AND kind = 'scan' AND step = 'in'"
        ))?
        .query_row([record], queued_from)
        .optional()?)
}

/// Changes the table of a check-in still waiting here.
pub fn set_queued_table(conn: &Connection, record: &[u8], seal: &[u8]) -> Result<bool, StoreError> {
    Ok(conn
        .prepare_cached(
            "UPDATE outbox SET table_seal = ?2 WHERE record = ?1 AND kind = 'scan' AND step = 'in'",
        )?
        .execute(params![record, seal])?
        > 0)
}

/// Marks a waiting check-in as checked out again (by a later scan or by staff).
pub fn close_queued(conn: &Connection, record: &[u8]) -> Result<(), StoreError> {
    conn.prepare_cached(
        "UPDATE outbox SET step = 'in-closed' WHERE record = ?1 AND kind = 'scan' AND step = 'in'",
    )?
    .execute([record])?;
    Ok(())
}

pub fn load_snapshot(conn: &Connection) -> Result<Option<String>, StoreError> {
    Ok(conn
        .query_row("SELECT json FROM snapshot WHERE id = 1", [], |r| r.get(0))
        .optional()?)
}

pub fn save_snapshot(conn: &Connection, json: &str) -> Result<(), StoreError> {
    conn.execute(
        "INSERT INTO snapshot(id, json) VALUES (1, ?1)
         ON CONFLICT(id) DO UPDATE SET json = excluded.json",
        [json],
    )?;
    Ok(())
}
