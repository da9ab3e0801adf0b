//! Upgrades and downgrades of the venue's database: an older program refuses a database
//! a newer one wrote, with a clear message, and changes nothing in it.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;
use tresen_protocol::checkin_record::Method;
use tresen_venue::store::sqlite::schema::{schema_version, DB_FILE};
use tresen_venue::Venue;

#[test]
fn an_older_program_refuses_a_newer_database_and_changes_nothing() {
    let t = at(2026, 11, 30, 18, 0);
    let mut v = venue(t);
    let guest = v.venue.make_guest_code(&contact(1)).unwrap();
    v.venue
        .check_in(&guest, v.terrasse, None, Method::Fob, t + 1)
        .unwrap();
    let TestVenue { dir, venue, .. } = v;
    drop(venue);
    let data = dir.path().join("data");
    let db = data.join(DB_FILE);
    // What a newer Tresen leaves behind: one schema version more.
    {
        let c = rusqlite::Connection::open(&db).unwrap();
        c.pragma_update(None, "user_version", schema_version() + 1)
            .unwrap();
        c.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))
            .unwrap();
    }
    let before = std::fs::read(&db).unwrap();
    let e = Venue::open(&data, t + 5).err().unwrap();
    assert_eq!(e.code(), "db-too-new", "{e}");
    let message = e.to_string();
    assert!(message.contains("newer"), "{message}");
    assert_eq!(
        std::fs::read(&db).unwrap(),
        before,
        "the database was changed"
    );
    let c = rusqlite::Connection::open(&db).unwrap();
    let version: i64 = c
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .unwrap();
    assert_eq!(version, schema_version() + 1);
    let rows: i64 = c
        .query_row("SELECT COUNT(*) FROM checkins", [], |r| r.get(0))
        .unwrap();
    assert_eq!(rows, 1);
}
