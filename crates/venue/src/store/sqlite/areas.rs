//! Locations, areas and their tables.

use rusqlite::{params, Connection, OptionalExtension};

use super::{requests::append_audit, unique_violation};
use crate::store::*;

fn duplicate(e: rusqlite::Error, name: &str) -> StoreError {
    if unique_violation(&e) {
        StoreError::Duplicate(name.to_string())
    } else {
        e.into()
    }
}

pub fn add_location(conn: &Connection, name: &str, now: i64) -> Result<i64, StoreError> {
    conn.execute(
        "INSERT INTO locations(name, created_at) VALUES (?1, ?2)",
        params![name, now],
    )
    .map_err(|e| duplicate(e, name))?;
    Ok(conn.last_insert_rowid())
}

pub fn location_name(conn: &Connection, id: i64) -> Result<Option<String>, StoreError> {
    Ok(conn
        .query_row("SELECT name FROM locations WHERE id = ?1", [id], |r| {
            r.get(0)
        })
        .optional()?)
}

/// Renames a row of `locations` or `areas`, with its audit entry, in one transaction.
fn rename(
    conn: &Connection,
    update: &str,
    id: i64,
    name: &str,
    note: &AuditNote<'_>,
) -> Result<(), StoreError> {
    let tx = conn.unchecked_transaction()?;
    tx.execute(update, params![name, id])
        .map_err(|e| duplicate(e, name))?;
    append_audit(&tx, note)?;
    tx.commit()?;
    Ok(())
}

pub fn rename_location(
    conn: &Connection,
    id: i64,
    name: &str,
    note: &AuditNote<'_>,
) -> Result<(), StoreError> {
    rename(
        conn,
        "UPDATE locations SET name = ?1 WHERE id = ?2",
        id,
        name,
        note,
    )
}

pub fn locations(conn: &Connection) -> Result<Vec<(i64, String)>, StoreError> {
    let mut st = conn.prepare("SELECT id, name FROM locations ORDER BY id")?;
    let rows = st.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
    Ok(rows.collect::<Result<_, _>>()?)
}

pub fn location_id(conn: &Connection, name: &str) -> Result<Option<i64>, StoreError> {
    Ok(conn
        .query_row("SELECT id FROM locations WHERE name = ?1", [name], |r| {
            r.get(0)
        })
        .optional()?)
}

pub fn add_area(
    conn: &Connection,
    location: i64,
    name: &str,
    max_stay_secs: i64,
    now: i64,
) -> Result<i64, StoreError> {
    conn.execute(
        "INSERT INTO areas(location_id, name, max_stay_secs, created_at) VALUES (?1, ?2, ?3, ?4)",
        params![location, name, max_stay_secs, now],
    )
    .map_err(|e| duplicate(e, name))?;
    Ok(conn.last_insert_rowid())
}

pub fn live_area_ids(
    conn: &Connection,
    name: &str,
    location: Option<&str>,
) -> Result<Vec<i64>, StoreError> {
    let mut st = conn.prepare(
        "SELECT a.id FROM areas a JOIN locations l ON l.id = a.location_id
         WHERE a.name = ?1 AND a.state <> 'archived' AND (?2 IS NULL OR l.name = ?2)",
    )?;
    let ids = st.query_map(params![name, location], |r| r.get(0))?;
    Ok(ids.collect::<Result<_, _>>()?)
}

const AREA_COLUMNS: &str = "a.id, a.location_id, l.name, a.name, a.state, a.max_stay_secs,
    a.generation, a.code_replaced_at, a.created_at, a.archived_at";

fn area_from(r: &rusqlite::Row<'_>) -> rusqlite::Result<AreaRow> {
    Ok(AreaRow {
        id: r.get(0)?,
        location_id: r.get(1)?,
        location: r.get(2)?,
        name: r.get(3)?,
        state: r.get(4)?,
        max_stay_secs: r.get(5)?,
        generation: r.get(6)?,
        code_replaced_at: r.get(7)?,
        created_at: r.get(8)?,
        archived_at: r.get(9)?,
        tables: Vec::new(),
        present: 0,
    })
}

pub fn areas(conn: &Connection, only: Option<i64>) -> Result<Vec<AreaRow>, StoreError> {
    let sql = format!(
        "SELECT {AREA_COLUMNS},
                (SELECT COUNT(*) FROM checkins c WHERE c.area_id = a.id AND c.checked_out_at IS NULL)
         FROM areas a JOIN locations l ON l.id = a.location_id
         WHERE ?1 IS NULL OR a.id = ?1 ORDER BY l.id, a.id"
    );
    let mut st = conn.prepare_cached(&sql)?;
    let mut areas: Vec<AreaRow> = st
        .query_map([only], |r| {
            let mut a = area_from(r)?;
            a.present = r.get(10)?;
            Ok(a)
        })?
        .collect::<Result<_, _>>()?;
    let mut tables = conn.prepare_cached(
        "SELECT number FROM area_tables WHERE area_id = ?1 AND removed_at IS NULL ORDER BY number",
    )?;
    for a in &mut areas {
        a.tables = tables
            .query_map([a.id], |r| r.get(0))?
            .collect::<Result<_, _>>()?;
    }
    Ok(areas)
}

pub fn area_row(conn: &Connection, id: i64) -> Result<Option<AreaRow>, StoreError> {
    Ok(conn
        .prepare_cached(&format!(
            "SELECT {AREA_COLUMNS} FROM areas a JOIN locations l ON l.id = a.location_id WHERE a.id = ?1"
        ))?
        .query_row([id], area_from)
        .optional()?)
}

pub fn has_table(conn: &Connection, area: i64, table: u16) -> Result<bool, StoreError> {
    Ok(conn
        .prepare_cached(
            "SELECT 1 FROM area_tables WHERE area_id = ?1 AND number = ?2 AND removed_at IS NULL",
        )?
        .query_row(params![area, table], |_| Ok(()))
        .optional()?
        .is_some())
}

pub fn table_code(
    conn: &Connection,
    area: i64,
    table: u16,
) -> Result<Option<TableCode>, StoreError> {
    Ok(conn
        .prepare_cached(
            "SELECT generation, code_replaced_at FROM area_tables
             WHERE area_id = ?1 AND number = ?2 AND removed_at IS NULL",
        )?
        .query_row(params![area, table], |r| {
            Ok(TableCode {
                generation: r.get(0)?,
                replaced_at: r.get(1)?,
            })
        })
        .optional()?)
}

pub fn rename_area(
    conn: &Connection,
    id: i64,
    name: &str,
    note: &AuditNote<'_>,
) -> Result<(), StoreError> {
    rename(
        conn,
        "UPDATE areas SET name = ?1 WHERE id = ?2",
        id,
        name,
        note,
    )
}

pub fn set_max_stay(
    conn: &Connection,
    id: i64,
    secs: i64,
    now: i64,
    note: Option<&AuditNote<'_>>,
) -> Result<(), StoreError> {
    let tx = conn.unchecked_transaction()?;
    tx.execute(
        "UPDATE areas SET max_stay_secs = ?1 WHERE id = ?2",
        params![secs, id],
    )?;
    super::checkin_log::on_checkin_tables(
        &tx,
        "UPDATE {checkins} SET due_at = MAX(?3, checked_in_at + ?1)
         WHERE area_id = ?2 AND checked_out_at IS NULL",
        params![secs, id, now],
    )?;
    if let Some(n) = note {
        append_audit(&tx, n)?;
    }
    tx.commit()?;
    Ok(())
}

pub fn set_area_state(conn: &Connection, id: i64, state: &str) -> Result<(), StoreError> {
    conn.execute(
        "UPDATE areas SET state = ?1 WHERE id = ?2",
        params![state, id],
    )?;
    Ok(())
}

pub fn archive_area(
    conn: &Connection,
    id: i64,
    now: i64,
    note: &AuditNote<'_>,
) -> Result<u64, StoreError> {
    let tx = conn.unchecked_transaction()?;
    let closed = super::checkin_log::on_checkin_tables(
        &tx,
        "UPDATE {checkins} SET checked_out_at = ?1, checkout_reason = 'area-deleted'
         WHERE area_id = ?2 AND checked_out_at IS NULL",
        params![now, id],
    )?;
    tx.execute(
        "UPDATE areas SET state = 'archived', archived_at = ?1 WHERE id = ?2",
        params![now, id],
    )?;
    append_audit(&tx, note)?;
    tx.commit()?;
    Ok(closed as u64)
}

pub fn replace_area_code(conn: &Connection, id: i64, now: i64) -> Result<(), StoreError> {
    conn.execute(
        "UPDATE areas SET generation = generation + 1, code_replaced_at = ?1 WHERE id = ?2",
        params![now, id],
    )?;
    Ok(())
}

pub fn add_tables(conn: &Connection, area: i64, numbers: &[u16]) -> Result<(), StoreError> {
    let tx = conn.unchecked_transaction()?;
    for &n in numbers {
        // A removed number comes back with a new code: its old card stays refused.
        let back = tx.execute(
            "UPDATE area_tables SET removed_at = NULL, generation = generation + 1,
             code_replaced_at = removed_at
             WHERE area_id = ?1 AND number = ?2 AND removed_at IS NOT NULL",
            params![area, n],
        )?;
        if back > 0 {
            continue;
        }
        tx.execute(
            "INSERT INTO area_tables(area_id, number) VALUES (?1, ?2)",
            params![area, n],
        )
        .map_err(|e| duplicate(e, &n.to_string()))?;
    }
    tx.commit()?;
    Ok(())
}

pub fn remove_table(
    conn: &Connection,
    area: i64,
    table: u16,
    now: i64,
) -> Result<bool, StoreError> {
    Ok(conn.execute(
        "UPDATE area_tables SET removed_at = ?1
         WHERE area_id = ?2 AND number = ?3 AND removed_at IS NULL",
        params![now, area, table],
    )? > 0)
}

pub fn replace_table_code(
    conn: &Connection,
    area: i64,
    table: u16,
    now: i64,
) -> Result<bool, StoreError> {
    Ok(conn.execute(
        "UPDATE area_tables SET generation = generation + 1, code_replaced_at = ?1
         WHERE area_id = ?2 AND number = ?3 AND removed_at IS NULL",
        params![now, area, table],
    )? > 0)
}
