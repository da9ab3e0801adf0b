//! Locations, areas and their tables in the server database.

use std::collections::HashMap;

use postgres::GenericClient;

use crate::store::*;

pub fn add_location(c: &mut impl GenericClient, name: &str, now: i64) -> Result<i64, StoreError> {
    Ok(c.query_one(
        "INSERT INTO locations(name, created_at) VALUES ($1, $2) RETURNING id",
        &[&name, &now],
    )
    .map_err(|e| super::duplicate(e, name))?
    .get(0))
}

pub fn rename(
    c: &mut impl GenericClient,
    table: &str,
    id: i64,
    name: &str,
) -> Result<(), StoreError> {
    let sql = match table {
        "locations" => "UPDATE locations SET name = $1 WHERE id = $2",
        _ => "UPDATE areas SET name = $1 WHERE id = $2",
    };
    c.execute(sql, &[&name, &id])
        .map_err(|e| super::duplicate(e, name))?;
    Ok(())
}

pub fn locations(c: &mut impl GenericClient) -> Result<Vec<(i64, String)>, StoreError> {
    Ok(c.query("SELECT id, name FROM locations ORDER BY id", &[])?
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect())
}

pub fn add_area(
    c: &mut impl GenericClient,
    location: i64,
    name: &str,
    max_stay_secs: i64,
    now: i64,
) -> Result<i64, StoreError> {
    Ok(c.query_one(
        "INSERT INTO areas(location_id, name, max_stay_secs, created_at) VALUES ($1, $2, $3, $4)
         RETURNING id",
        &[&location, &name, &max_stay_secs, &now],
    )
    .map_err(|e| super::duplicate(e, name))?
    .get(0))
}

/// Every area with its tables and the guests present, and every live table's code: what
/// a counter needs to scan, also while the database is away.
pub struct AreaView {
    pub areas: Vec<AreaRow>,
    pub codes: HashMap<(i64, u16), TableCode>,
}

pub fn area_view(c: &mut impl GenericClient) -> Result<AreaView, StoreError> {
    let mut areas: Vec<AreaRow> = c
        .query(
            "SELECT a.id, a.location_id, l.name, a.name, a.state, a.max_stay_secs,
                    a.generation, a.code_replaced_at, a.created_at, a.archived_at,
                    (SELECT COUNT(*) FROM checkins c
                     WHERE c.area_id = a.id AND c.checked_out_at IS NULL)
             FROM areas a JOIN locations l ON l.id = a.location_id ORDER BY l.id, a.id",
            &[],
        )?
        .iter()
        .map(|r| AreaRow {
            id: r.get(0),
            location_id: r.get(1),
            location: r.get(2),
            name: r.get(3),
            state: r.get(4),
            max_stay_secs: r.get(5),
            generation: u16::try_from(r.get::<_, i32>(6)).unwrap_or(u16::MAX),
            code_replaced_at: r.get(7),
            created_at: r.get(8),
            archived_at: r.get(9),
            tables: Vec::new(),
            present: u32::try_from(r.get::<_, i64>(10)).unwrap_or(u32::MAX),
        })
        .collect();
    let mut codes = HashMap::new();
    let mut tables: HashMap<i64, Vec<u16>> = HashMap::new();
    for r in c.query(
        "SELECT area_id, number, generation, code_replaced_at FROM area_tables
         WHERE removed_at IS NULL ORDER BY area_id, number",
        &[],
    )? {
        let (Ok(number), Ok(generation)) = (
            u16::try_from(r.get::<_, i32>(1)),
            u16::try_from(r.get::<_, i32>(2)),
        ) else {
            continue;
        };
        let area: i64 = r.get(0);
        tables.entry(area).or_default().push(number);
        codes.insert(
            (area, number),
            TableCode {
                generation,
                replaced_at: r.get(3),
            },
        );
    }
    for a in &mut areas {
        a.tables = tables.remove(&a.id).unwrap_or_default();
    }
    Ok(AreaView { areas, codes })
}

pub fn set_max_stay(
    c: &mut impl GenericClient,
    id: i64,
    secs: i64,
    now: i64,
) -> Result<(), StoreError> {
    c.execute(
        "UPDATE areas SET max_stay_secs = $1 WHERE id = $2",
        &[&secs, &id],
    )?;
    c.execute(
        "UPDATE checkins SET due_at = GREATEST($3, checked_in_at + $1)
         WHERE area_id = $2 AND checked_out_at IS NULL",
        &[&secs, &id, &now],
    )?;
    Ok(())
}

pub fn set_area_state(c: &mut impl GenericClient, id: i64, state: &str) -> Result<(), StoreError> {
    c.execute("UPDATE areas SET state = $1 WHERE id = $2", &[&state, &id])?;
    Ok(())
}

pub fn archive_area(c: &mut impl GenericClient, id: i64, now: i64) -> Result<u64, StoreError> {
    let closed = c.execute(
        "UPDATE checkins SET checked_out_at = $1, checkout_reason = 'area-deleted'
         WHERE area_id = $2 AND checked_out_at IS NULL",
        &[&now, &id],
    )?;
    c.execute(
        "UPDATE areas SET state = 'archived', archived_at = $1 WHERE id = $2",
        &[&now, &id],
    )?;
    Ok(closed)
}

pub fn replace_area_code(c: &mut impl GenericClient, id: i64, now: i64) -> Result<(), StoreError> {
    c.execute(
        "UPDATE areas SET generation = generation + 1, code_replaced_at = $1 WHERE id = $2",
        &[&now, &id],
    )?;
    Ok(())
}

pub fn add_tables(
    c: &mut impl GenericClient,
    area: i64,
    numbers: &[u16],
) -> Result<(), StoreError> {
    for &n in numbers {
        let number = i32::from(n);
        let back = c.execute(
            "UPDATE area_tables SET removed_at = NULL, generation = generation + 1,
             code_replaced_at = removed_at
             WHERE area_id = $1 AND number = $2 AND removed_at IS NOT NULL",
            &[&area, &number],
        )?;
        if back > 0 {
            continue;
        }
        c.execute(
            "INSERT INTO area_tables(area_id, number) VALUES ($1, $2)",
            &[&area, &number],
        )
        .map_err(|e| super::duplicate(e, &n.to_string()))?;
    }
    Ok(())
}

pub fn remove_table(
    c: &mut impl GenericClient,
    area: i64,
    table: u16,
    now: i64,
) -> Result<bool, StoreError> {
    Ok(c.execute(
        "UPDATE area_tables SET removed_at = $1
         WHERE area_id = $2 AND number = $3 AND removed_at IS NULL",
        &[&now, &area, &i32::from(table)],
    )? > 0)
}

pub fn replace_table_code(
    c: &mut impl GenericClient,
    area: i64,
    table: u16,
    now: i64,
) -> Result<bool, StoreError> {
    Ok(c.execute(
        "UPDATE area_tables SET generation = generation + 1, code_replaced_at = $1
         WHERE area_id = $2 AND number = $3 AND removed_at IS NULL",
        &[&now, &area, &i32::from(table)],
    )? > 0)
}
