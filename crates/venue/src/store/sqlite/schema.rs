//! The SQLite database's schema, its versioned migrations, and opening it with durable
//! settings (WAL, synchronous=FULL, secure_delete).

use std::path::Path;

use rusqlite::Connection;

use crate::store::StoreError;

pub const DB_FILE: &str = "tresen.sqlite3";

pub const MIGRATIONS: &[&str] = &[
    // 1: the first schema.
    r#"
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE settings (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE venue (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    name TEXT NOT NULL,
    address TEXT NOT NULL,
    created_at INTEGER NOT NULL
);
CREATE TABLE venue_keys (
    id INTEGER PRIMARY KEY,
    seal_pk BLOB NOT NULL,
    sign_pk BLOB NOT NULL,
    fingerprint BLOB NOT NULL UNIQUE,
    created_at INTEGER NOT NULL,
    retired_at INTEGER
);
CREATE TABLE key_backups (
    id INTEGER PRIMARY KEY,
    venue_key_id INTEGER NOT NULL REFERENCES venue_keys(id),
    event TEXT NOT NULL CHECK (event IN ('copied', 'verified')),
    at INTEGER NOT NULL,
    place TEXT NOT NULL
);
CREATE TABLE trust (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    root_key BLOB NOT NULL,
    serial INTEGER NOT NULL,
    raw TEXT NOT NULL,
    imported_at INTEGER NOT NULL
);
CREATE TABLE contact_keys (
    key_id BLOB PRIMARY KEY,
    public_key BLOB NOT NULL,
    first_seen INTEGER NOT NULL
);
CREATE TABLE locations (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    created_at INTEGER NOT NULL
);
CREATE TABLE areas (
    id INTEGER PRIMARY KEY,
    location_id INTEGER NOT NULL REFERENCES locations(id),
    name TEXT NOT NULL,
    state TEXT NOT NULL DEFAULT 'open' CHECK (state IN ('open', 'closed', 'archived')),
    max_stay_secs INTEGER NOT NULL,
    generation INTEGER NOT NULL DEFAULT 1,
    code_replaced_at INTEGER,
    created_at INTEGER NOT NULL,
    archived_at INTEGER
);
CREATE UNIQUE INDEX areas_live_name ON areas(location_id, name) WHERE state <> 'archived';
CREATE TABLE area_tables (
    area_id INTEGER NOT NULL REFERENCES areas(id),
    number INTEGER NOT NULL CHECK (number BETWEEN 1 AND 65535),
    generation INTEGER NOT NULL DEFAULT 1,
    code_replaced_at INTEGER,
    PRIMARY KEY (area_id, number)
);
CREATE TABLE checkins (
    id BLOB PRIMARY KEY,
    area_id INTEGER NOT NULL REFERENCES areas(id),
    venue_key_id INTEGER NOT NULL REFERENCES venue_keys(id),
    checked_in_at INTEGER NOT NULL,
    due_at INTEGER NOT NULL,
    checked_out_at INTEGER,
    checkout_reason TEXT,
    pseudonym BLOB,
    last_read_at INTEGER NOT NULL,
    guest_seal BLOB NOT NULL,
    table_seal BLOB NOT NULL
) WITHOUT ROWID;
-- Few indexes: every index page a check-in touches is written and synced on the scan path.
CREATE INDEX checkins_pseudonym ON checkins(pseudonym) WHERE pseudonym IS NOT NULL;
CREATE INDEX checkins_open ON checkins(due_at, area_id) WHERE checked_out_at IS NULL;
"#,
    // 2: data requests and the audit log.
    r#"
CREATE TABLE requests (
    request_id BLOB PRIMARY KEY,
    office_id TEXT NOT NULL,
    case_reference TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('seen', 'approved', 'declined')),
    seen_at INTEGER NOT NULL,
    decided_at INTEGER,
    decision TEXT
);
CREATE TABLE audit_log (
    seq INTEGER PRIMARY KEY,
    at INTEGER NOT NULL,
    event TEXT NOT NULL,
    request_id TEXT NOT NULL,
    office TEXT NOT NULL,
    detail TEXT NOT NULL,
    hash BLOB NOT NULL
);
CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
"#,
    // 3: tables can be removed; the row stays so that a re-added number gets a new code.
    r#"
ALTER TABLE area_tables ADD COLUMN removed_at INTEGER;
"#,
    // 4: check-in seals bound to their metadata (record version 2; older rows stay 1).
    r#"
ALTER TABLE checkins ADD COLUMN seal_version INTEGER NOT NULL DEFAULT 1;
-- A copy of the key file on the same drive as the key file is recorded but not counted.
ALTER TABLE key_backups ADD COLUMN same_medium INTEGER NOT NULL DEFAULT 0;
-- The audit log keeps its entries for a retention period; entries up to the base (the
-- last purged entry, kept in meta.audit_base) may be deleted, no others.
DROP TRIGGER audit_log_no_delete;
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
WHEN OLD.seq > COALESCE((SELECT CAST(substr(value, 1, instr(value, ':') - 1) AS INTEGER)
                         FROM meta WHERE key = 'audit_base'), 0)
BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
"#,
    // 5: a scan writes its check-in into an unindexed log, one page to sync instead of a
    // page of the table and of each index; idle moments move the log into the indexed
    // table. `checkins` is both together, for every reader; writes through it reach both.
    r#"
ALTER TABLE checkins RENAME TO checkins_indexed;
CREATE TABLE checkins_log (
    id BLOB NOT NULL,
    area_id INTEGER NOT NULL REFERENCES areas(id),
    venue_key_id INTEGER NOT NULL REFERENCES venue_keys(id),
    checked_in_at INTEGER NOT NULL,
    due_at INTEGER NOT NULL,
    checked_out_at INTEGER,
    checkout_reason TEXT,
    pseudonym BLOB,
    last_read_at INTEGER NOT NULL,
    guest_seal BLOB NOT NULL,
    table_seal BLOB NOT NULL,
    seal_version INTEGER NOT NULL DEFAULT 1
);
CREATE VIEW checkins AS
    SELECT id, area_id, venue_key_id, checked_in_at, due_at, checked_out_at, checkout_reason,
           pseudonym, last_read_at, guest_seal, table_seal, seal_version FROM checkins_indexed
    UNION ALL
    SELECT id, area_id, venue_key_id, checked_in_at, due_at, checked_out_at, checkout_reason,
           pseudonym, last_read_at, guest_seal, table_seal, seal_version FROM checkins_log;
CREATE TRIGGER checkins_insert INSTEAD OF INSERT ON checkins BEGIN
    INSERT INTO checkins_log(id, area_id, venue_key_id, checked_in_at, due_at, checked_out_at,
        checkout_reason, pseudonym, last_read_at, guest_seal, table_seal, seal_version)
    VALUES (NEW.id, NEW.area_id, NEW.venue_key_id, NEW.checked_in_at, NEW.due_at,
        NEW.checked_out_at, NEW.checkout_reason, NEW.pseudonym, NEW.last_read_at,
        NEW.guest_seal, NEW.table_seal, COALESCE(NEW.seal_version, 1));
END;
CREATE TRIGGER checkins_update INSTEAD OF UPDATE ON checkins BEGIN
    UPDATE checkins_indexed SET area_id = NEW.area_id, venue_key_id = NEW.venue_key_id,
        checked_in_at = NEW.checked_in_at, due_at = NEW.due_at,
        checked_out_at = NEW.checked_out_at, checkout_reason = NEW.checkout_reason,
        pseudonym = NEW.pseudonym, last_read_at = NEW.last_read_at,
        guest_seal = NEW.guest_seal, table_seal = NEW.table_seal,
        seal_version = NEW.seal_version
    WHERE id = OLD.id;
    UPDATE checkins_log SET area_id = NEW.area_id, venue_key_id = NEW.venue_key_id,
        checked_in_at = NEW.checked_in_at, due_at = NEW.due_at,
        checked_out_at = NEW.checked_out_at, checkout_reason = NEW.checkout_reason,
        pseudonym = NEW.pseudonym, last_read_at = NEW.last_read_at,
        guest_seal = NEW.guest_seal, table_seal = NEW.table_seal,
        seal_version = NEW.seal_version
    WHERE id = OLD.id;
END;
CREATE TRIGGER checkins_delete INSTEAD OF DELETE ON checkins BEGIN
    DELETE FROM checkins_indexed WHERE id = OLD.id;
    DELETE FROM checkins_log WHERE id = OLD.id;
END;
"#,
];

/// The two tables behind the view `checkins`. A statement that must report how many
/// check-ins it changed runs on each (SQLite counts no rows changed through a view). The
/// log first: another process may move the log into the indexed table between the two
/// statements, and a row moved after the first is then found by the second.
pub const CHECKIN_TABLES: [&str; 2] = ["checkins_log", "checkins_indexed"];

/// Moves the scans' log into the indexed table, within the caller's transaction.
pub const DRAIN_CHECKIN_LOG: &str = "
    INSERT INTO checkins_indexed(id, area_id, venue_key_id, checked_in_at, due_at,
        checked_out_at, checkout_reason, pseudonym, last_read_at, guest_seal, table_seal,
        seal_version)
    SELECT id, area_id, venue_key_id, checked_in_at, due_at, checked_out_at, checkout_reason,
        pseudonym, last_read_at, guest_seal, table_seal, seal_version
    FROM checkins_log ORDER BY rowid;
    DELETE FROM checkins_log;";

pub fn schema_version() -> i64 {
    MIGRATIONS.len() as i64
}

/// Opens (creating if needed) the database in `data_dir` and brings its schema up to date.
pub fn open(data_dir: &Path) -> Result<Connection, StoreError> {
    std::fs::create_dir_all(data_dir).map_err(|source| StoreError::DataDir {
        path: data_dir.to_path_buf(),
        source,
    })?;
    restrict_dir(data_dir);
    let conn = Connection::open(data_dir.join(DB_FILE)).map_err(super::err)?;
    configure(&conn)?;
    migrate(&conn)?;
    Ok(conn)
}

/// The data folder holds only sealed data, but there is no reason for others to list it.
fn restrict_dir(dir: &Path) {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let _ = std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700));
    }
}

/// How long a statement waits for another process's write before it reports the database
/// busy.
pub const BUSY_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(5);

pub fn configure(conn: &Connection) -> Result<(), StoreError> {
    conn.busy_timeout(BUSY_TIMEOUT).map_err(super::err)?;
    let mode: String = conn
        .query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))
        .map_err(super::err)?;
    if !mode.eq_ignore_ascii_case("wal") {
        return Err(StoreError::Corrupt(format!(
            "could not switch to WAL mode (got {mode})"
        )));
    }
    // Checkpoints run in idle moments (`Venue::use_idle_time`); the automatic one, far
    // later than SQLite's default of 1000 pages, only keeps the log bounded when there are
    // none (a long batch of check-ins). The log's file is written over in place when the
    // log starts anew (cheaper to sync than a growing file), and shrunk if a long batch
    // made it larger than 16 MiB.
    conn.execute_batch(
        "PRAGMA synchronous = FULL;
         PRAGMA secure_delete = ON;
         PRAGMA foreign_keys = ON;
         PRAGMA wal_autocheckpoint = 8000;
         PRAGMA journal_size_limit = 16777216;",
    )
    .map_err(super::err)
}

fn migrate(conn: &Connection) -> Result<(), StoreError> {
    let found: i64 = conn
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .map_err(super::err)?;
    let known = schema_version();
    if found > known {
        return Err(StoreError::TooNew { found, known });
    }
    for (i, sql) in MIGRATIONS.iter().enumerate().skip(found as usize) {
        let tx = conn.unchecked_transaction().map_err(super::err)?;
        tx.execute_batch(sql).map_err(super::err)?;
        tx.pragma_update(None, "user_version", (i + 1) as i64)
            .map_err(super::err)?;
        tx.commit().map_err(super::err)?;
    }
    Ok(())
}
