//! The venue row, its settings, its keys and their copies, and the trust file.

use rusqlite::{params, Connection, OptionalExtension};

use super::{put_meta, requests::append_audit};
use crate::store::*;

pub fn is_initialized(conn: &Connection) -> Result<bool, StoreError> {
    let n: i64 = conn.query_row("SELECT COUNT(*) FROM venue", [], |r| r.get(0))?;
    Ok(n == 1)
}

pub fn create_venue(conn: &Connection, v: &NewVenue<'_>) -> Result<(), StoreError> {
    let tx = conn.unchecked_transaction()?;
    tx.execute(
        "INSERT INTO venue(id, name, address, created_at) VALUES (1, ?1, ?2, ?3)",
        params![v.name, v.address, v.now],
    )?;
    for (k, value) in [
        (Meta::InstallId, v.install_id),
        (Meta::SecretStore, v.secret_store),
        (Meta::KeyFile, v.key_file),
        (Meta::SealV2Since, &v.now.to_string()),
    ] {
        put_meta(&tx, k, value)?;
    }
    tx.execute(
        "INSERT INTO venue_keys(seal_pk, sign_pk, fingerprint, created_at) VALUES (?1, ?2, ?3, ?4)",
        params![
            &v.key.seal[..],
            &v.key.sign[..],
            &v.key.fingerprint[..],
            v.now
        ],
    )?;
    store_trust(&tx, v.trust, v.now)?;
    tx.commit()?;
    Ok(())
}

pub fn name_address(conn: &Connection) -> Result<(String, String), StoreError> {
    Ok(
        conn.query_row("SELECT name, address FROM venue WHERE id = 1", [], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })?,
    )
}

pub fn settings(conn: &Connection) -> Result<Vec<(String, String)>, StoreError> {
    let mut st = conn.prepare("SELECT key, value FROM settings")?;
    let rows = st.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
    Ok(rows.collect::<Result<_, _>>()?)
}

pub fn set_setting(
    conn: &Connection,
    key: &str,
    value: &str,
    note: Option<&AuditNote<'_>>,
) -> Result<(), StoreError> {
    let tx = conn.unchecked_transaction()?;
    tx.execute(
        "INSERT INTO settings(key, value) VALUES (?1, ?2)
         ON CONFLICT(key) DO UPDATE SET value = excluded.value",
        params![key, value],
    )?;
    if let Some(n) = note {
        append_audit(&tx, n)?;
    }
    tx.commit()?;
    Ok(())
}

pub fn keys(conn: &Connection) -> Result<Vec<StoredKey>, StoreError> {
    let mut st = conn.prepare_cached(
        "SELECT id, seal_pk, sign_pk, fingerprint, retired_at FROM venue_keys ORDER BY id",
    )?;
    let rows = st.query_map([], |r| {
        Ok(StoredKey {
            id: r.get(0)?,
            seal: r.get(1)?,
            sign: r.get(2)?,
            fingerprint: r.get(3)?,
            retired_at: r.get(4)?,
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

pub fn replace_key(
    conn: &Connection,
    old_id: i64,
    new: &NewKey,
    key_file: &str,
    note: &AuditNote<'_>,
) -> Result<KeyUse, StoreError> {
    let now = note.at;
    let tx = conn.unchecked_transaction()?;
    super::checkins::close_overdue(&tx, now)?;
    let (checkins, from, until): (u64, Option<i64>, Option<i64>) = tx.query_row(
        "SELECT COUNT(*), MIN(checked_in_at), MAX(COALESCE(checked_out_at, ?2)) FROM checkins WHERE venue_key_id = ?1",
        params![old_id, now],
        |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
    )?;
    tx.execute(
        "UPDATE venue_keys SET retired_at = ?1 WHERE id = ?2",
        params![now, old_id],
    )?;
    tx.execute(
        "INSERT INTO venue_keys(seal_pk, sign_pk, fingerprint, created_at) VALUES (?1, ?2, ?3, ?4)",
        params![&new.seal[..], &new.sign[..], &new.fingerprint[..], now],
    )?;
    put_meta(&tx, Meta::KeyFile, key_file)?;
    append_audit(&tx, note)?;
    tx.commit()?;
    Ok(KeyUse {
        checkins,
        from,
        until: if checkins > 0 { until } else { None },
    })
}

pub fn record_key_copy(
    conn: &Connection,
    key_id: i64,
    events: &[&str],
    place: &str,
    same_medium: bool,
    now: i64,
) -> Result<(), StoreError> {
    let tx = conn.unchecked_transaction()?;
    for event in events {
        tx.execute(
            "INSERT INTO key_backups(venue_key_id, event, at, place, same_medium)
             VALUES (?1, ?2, ?3, ?4, ?5)",
            params![key_id, event, now, place, same_medium],
        )?;
    }
    tx.commit()?;
    Ok(())
}

pub fn copy_times(conn: &Connection, key_id: i64, primary: &str) -> Result<CopyTimes, StoreError> {
    // A copy that has since become the key file itself (the PC's copy was deleted) is no
    // second copy any more.
    let last = |event: &str, counted_only: bool| -> Result<Option<i64>, StoreError> {
        Ok(conn.query_row(
            "SELECT MAX(at) FROM key_backups WHERE venue_key_id = ?1 AND event = ?2
             AND (?3 = 0 OR (same_medium = 0 AND place <> ?4))",
            params![key_id, event, counted_only, primary],
            |r| r.get(0),
        )?)
    };
    Ok(CopyTimes {
        copied_at: last("copied", true)?,
        verified_at: last("verified", true)?,
        any_copy_at: last("copied", false)?,
    })
}

pub fn ever_verified(conn: &Connection) -> Result<bool, StoreError> {
    Ok(conn
        .query_row(
            "SELECT 1 FROM key_backups WHERE event = 'verified' AND same_medium = 0 LIMIT 1",
            [],
            |_| Ok(()),
        )
        .optional()?
        .is_some())
}

pub fn latest_counted_copy(
    conn: &Connection,
    key_id: i64,
    primary: &str,
) -> Result<Option<String>, StoreError> {
    Ok(conn
        .query_row(
            "SELECT place FROM key_backups WHERE venue_key_id = ?1 AND event = 'verified'
             AND same_medium = 0 AND place <> ?2 ORDER BY at DESC, id DESC LIMIT 1",
            params![key_id, primary],
            |r| r.get(0),
        )
        .optional()?)
}

pub fn trust(conn: &Connection) -> Result<Option<String>, StoreError> {
    Ok(conn
        .query_row("SELECT raw FROM trust WHERE id = 1", [], |r| r.get(0))
        .optional()?)
}

pub fn store_trust(conn: &Connection, t: &TrustRow, now: i64) -> Result<(), StoreError> {
    conn.execute(
        "INSERT INTO trust(id, root_key, serial, raw, imported_at) VALUES (1, ?1, ?2, ?3, ?4)
         ON CONFLICT(id) DO UPDATE SET root_key = excluded.root_key, serial = excluded.serial,
             raw = excluded.raw, imported_at = excluded.imported_at",
        params![&t.root_key[..], t.serial as i64, t.raw, now],
    )?;
    conn.execute(
        "INSERT OR IGNORE INTO contact_keys(key_id, public_key, first_seen) VALUES (?1, ?2, ?3)",
        params![&t.contact_key_id[..], &t.contact_key[..], now],
    )?;
    Ok(())
}

pub fn contact_key_ids(conn: &Connection) -> Result<Vec<Vec<u8>>, StoreError> {
    let mut st = conn.prepare("SELECT key_id FROM contact_keys")?;
    let rows = st.query_map([], |r| r.get::<_, Vec<u8>>(0))?;
    Ok(rows.collect::<Result<_, _>>()?)
}
