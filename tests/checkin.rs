//! Check-in, check-out, moves, double reads, business days, maximum stay, areas and
//! codes, retention — against a real database.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{at, contact, venue};
use tresen_protocol::checkin_record::Method;
use tresen_protocol::guest_code::GuestCode;
use tresen_protocol::textcode::CodeTextError;
use tresen_protocol::venue_keys::VenueSecretKeys;
use tresen_venue::{AreaState, Error, Refusal, ScanOutcome, Scanned, Venue};

fn guest(v: &common::TestVenue, i: usize) -> String {
    GuestCode::create(&contact(i), &v.authority.contact_key())
        .unwrap()
        .to_text()
}

fn refusal(e: Error) -> Refusal {
    match e {
        Error::Refused(r) => r,
        other => panic!("expected a refusal, got {other:?}"),
    }
}

fn count(v: &common::TestVenue, sql: &str) -> i64 {
    v.venue.sqlite().query_row(sql, [], |r| r.get(0)).unwrap()
}

#[test]
fn check_in_out_move_and_double_read() {
    let t0 = at(2026, 11, 20, 18, 0);
    let mut v = venue(t0);
    let (ter, bar) = (v.terrasse, v.bar);
    let g = guest(&v, 1);
    let o = v
        .venue
        .scan_guest(&g, ter, Some(4), Method::Fob, t0)
        .unwrap();
    assert!(matches!(o, ScanOutcome::CheckedIn { table: Some(4), .. }));
    // A second read within the window is ignored and changes nothing.
    let o = v
        .venue
        .scan_guest(&g, ter, None, Method::Fob, t0 + 2)
        .unwrap();
    assert_eq!(o, ScanOutcome::DoubleRead { area: ter });
    assert_eq!(count(&v, "SELECT COUNT(*) FROM checkins"), 1);
    // At another area: moved.
    let o = v
        .venue
        .scan_guest(&g, bar, None, Method::Fob, t0 + 600)
        .unwrap();
    assert!(
        matches!(o, ScanOutcome::Moved { from_area, to_area, .. } if from_area == ter && to_area == bar)
    );
    assert_eq!(v.venue.present_total(t0 + 600).unwrap(), 1);
    // At the same area again: checked out.
    let o = v
        .venue
        .scan_guest(&g, bar, None, Method::Fob, t0 + 1200)
        .unwrap();
    assert!(
        matches!(o, ScanOutcome::CheckedOut { area, checked_in_at, .. } if area == bar && checked_in_at == t0 + 600)
    );
    assert_eq!(v.venue.present_total(t0 + 1200).unwrap(), 0);
    // The checkout scan read twice is a double read, not a new check-in.
    let o = v
        .venue
        .scan_guest(&g, bar, None, Method::Fob, t0 + 1201)
        .unwrap();
    assert_eq!(o, ScanOutcome::DoubleRead { area: bar });
    assert_eq!(count(&v, "SELECT COUNT(*) FROM checkins"), 2);
}

#[test]
fn business_day_ends_at_five_so_a_night_at_the_bar_is_one_visit() {
    let t0 = at(2026, 11, 20, 23, 30);
    let mut v = venue(t0);
    let bar = v.bar;
    let g = guest(&v, 2);
    v.venue
        .set_setting("default-max-stay-minutes", "600", 0)
        .unwrap();
    v.venue.set_max_stay(bar, 600, 0).unwrap();
    v.venue.scan_guest(&g, bar, None, Method::Fob, t0).unwrap();
    // 02:00 the next calendar day, same business day: checks out.
    let o = v
        .venue
        .scan_guest(&g, bar, None, Method::Fob, at(2026, 11, 21, 2, 0))
        .unwrap();
    assert!(matches!(o, ScanOutcome::CheckedOut { .. }));
    // 06:00: a new business day, so the same code checks in anew.
    let o = v
        .venue
        .scan_guest(&g, bar, None, Method::Fob, at(2026, 11, 21, 6, 0))
        .unwrap();
    assert!(matches!(o, ScanOutcome::CheckedIn { .. }));
}

#[test]
fn maximum_stay_and_closing_time_close_open_check_ins() {
    let t0 = at(2026, 11, 20, 12, 0);
    let mut v = venue(t0);
    let (ter, bar) = (v.terrasse, v.bar);
    v.venue.set_max_stay(ter, 60, 0).unwrap();
    v.venue
        .scan_guest(&guest(&v, 1), ter, None, Method::Fob, t0)
        .unwrap();
    v.venue
        .scan_guest(&guest(&v, 2), bar, None, Method::Fob, t0)
        .unwrap();
    v.venue
        .scan_guest(&guest(&v, 3), bar, None, Method::Fob, t0)
        .unwrap();
    assert_eq!(v.venue.present_total(t0 + 3599).unwrap(), 3);
    assert_eq!(v.venue.present_total(t0 + 3600).unwrap(), 2);
    let closed_at: i64 = v
        .venue
        .sqlite()
        .query_row(
            "SELECT checked_out_at FROM checkins WHERE area_id = ?1",
            [ter],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(
        closed_at,
        t0 + 3600,
        "closed when the stay ended, not when noticed"
    );
    assert_eq!(v.venue.close_all(None, t0 + 4000).unwrap(), 2);
    assert_eq!(v.venue.present_total(t0 + 4000).unwrap(), 0);
}

#[test]
fn check_ins_hold_no_contact_data_or_code_id_in_clear() {
    let t0 = at(2026, 11, 20, 12, 0);
    let mut v = venue(t0);
    let ter = v.terrasse;
    let mut c = contact(1);
    c.name = "Zacharias Quellenberg".into();
    c.email = "zq@beispiel.de".into();
    let code = GuestCode::create(&c, &v.authority.contact_key()).unwrap();
    let text = code.to_text();
    v.venue
        .scan_guest(&text, ter, Some(3), Method::Fob, t0)
        .unwrap();
    let (reg, _) = v
        .venue
        .register_guest(&contact(99), ter, None, t0 + 10)
        .unwrap();
    let dir = v.data_dir();
    drop(v.venue);
    let mut all = Vec::new();
    for e in std::fs::read_dir(&dir).unwrap() {
        all.extend(std::fs::read(e.unwrap().path()).unwrap());
    }
    let contains = |needle: &[u8]| all.windows(needle.len()).any(|w| w == needle);
    for needle in [
        &b"Zacharias"[..],
        b"Quellenberg",
        b"beispiel",
        b"Gast Nummer 99",
        b"Lindenstra",
        &code.code_id[..],
        &reg.code_id[..],
        &code.sealed[..32],
        &text.as_bytes()[..40],
    ] {
        assert!(!contains(needle), "found {needle:?} in the data folder");
    }
}

#[test]
fn the_counter_cannot_open_check_ins_but_the_key_file_can() {
    let t0 = at(2026, 11, 20, 12, 0);
    let mut v = venue(t0);
    let ter = v.terrasse;
    let code = GuestCode::create(&contact(5), &v.authority.contact_key()).unwrap();
    let ScanOutcome::CheckedIn { record, .. } = v
        .venue
        .scan_guest(&code.to_text(), ter, None, Method::AppCode, t0)
        .unwrap()
    else {
        panic!("not checked in")
    };
    v.venue.assign_table(record, 7).unwrap();
    // Any key the counter could make up fails.
    let stranger = VenueSecretKeys::generate();
    assert!(v.venue.open_checkin(record, &stranger).is_err());
    // The operator's key file opens it; the contact blob inside opens only for the authority.
    let keys = VenueSecretKeys::read_key_file(&v.key_file, &common::pass()).unwrap();
    let opened = v.venue.open_checkin(record, &keys).unwrap();
    assert_eq!(opened.table, Some(7));
    assert_eq!(opened.method, Method::AppCode);
    assert_eq!(opened.contact_blob, code.contact_blob());
    let c =
        tresen_protocol::guest_code::open_contact_blob(&opened.contact_blob, &v.authority.contact)
            .unwrap();
    assert_eq!(c.name, "Gast Nummer 5");
}

#[test]
fn table_must_exist_and_scans_are_classified() {
    let t0 = at(2026, 11, 20, 12, 0);
    let mut v = venue(t0);
    let (ter, bar) = (v.terrasse, v.bar);
    let g = guest(&v, 1);
    assert_eq!(
        refusal(
            v.venue
                .scan_guest(&g, ter, Some(11), Method::Fob, t0)
                .unwrap_err()
        ),
        Refusal::NoSuchTable("Terrasse".into(), 11)
    );
    let area_code = v.venue.area_code(bar).unwrap();
    let table_code = v.venue.table_code(ter, 3).unwrap();
    assert_eq!(v.venue.classify(&area_code).unwrap(), Scanned::Area(bar));
    assert_eq!(
        v.venue.classify(&table_code).unwrap(),
        Scanned::Table(ter, 3)
    );
    assert!(matches!(v.venue.classify(&g).unwrap(), Scanned::Guest(_)));
    assert_eq!(
        refusal(
            v.venue
                .scan_guest(&table_code, ter, None, Method::Fob, t0)
                .unwrap_err()
        ),
        Refusal::NotAGuestCode
    );
    assert_eq!(
        refusal(v.venue.classify("]Q1 https://example.org").unwrap_err()),
        Refusal::Code(CodeTextError::Foreign)
    );
    let mut bad = g.clone().into_bytes();
    bad[200] = if bad[200] == b'7' { b'8' } else { b'7' };
    assert_eq!(
        refusal(
            v.venue
                .classify(std::str::from_utf8(&bad).unwrap())
                .unwrap_err()
        ),
        Refusal::Code(CodeTextError::Misread)
    );
}

#[test]
fn foreign_venue_and_other_authority_are_refused() {
    let t0 = at(2026, 11, 20, 12, 0);
    let mut v = venue(t0);
    let other = venue(t0);
    let ter = v.terrasse;
    let foreign_area = other.venue.area_code(other.bar).unwrap();
    assert_eq!(
        refusal(v.venue.classify(&foreign_area).unwrap_err()),
        Refusal::ForeignVenue
    );
    let other_authority_code = guest(&other, 1);
    assert_eq!(
        refusal(
            v.venue
                .scan_guest(&other_authority_code, ter, None, Method::Fob, t0)
                .unwrap_err()
        ),
        Refusal::OtherAuthority
    );
    assert_eq!(count(&v, "SELECT COUNT(*) FROM checkins"), 0);
}

#[test]
fn a_replaced_code_is_refused_with_a_clear_message() {
    let t0 = at(2026, 11, 20, 12, 0);
    let mut v = venue(t0);
    let (ter, bar) = (v.terrasse, v.bar);
    let old_area = v.venue.area_code(bar).unwrap();
    let old_table = v.venue.table_code(ter, 2).unwrap();
    let new_area = v.venue.replace_area_code(bar, t0 + 60).unwrap();
    let new_table = v.venue.replace_table_code(ter, 2, t0 + 60).unwrap();
    assert_ne!(old_area, new_area);
    let when = Some(t0 + 60);
    assert_eq!(
        refusal(v.venue.classify(&old_area).unwrap_err()),
        Refusal::ReplacedCode(when)
    );
    assert_eq!(
        refusal(v.venue.classify(&old_table).unwrap_err()),
        Refusal::ReplacedCode(when)
    );
    assert!(refusal(v.venue.classify(&old_area).unwrap_err())
        .to_string()
        .contains("replaced"));
    assert_eq!(v.venue.classify(&new_area).unwrap(), Scanned::Area(bar));
    assert_eq!(
        v.venue.classify(&new_table).unwrap(),
        Scanned::Table(ter, 2)
    );
    // Other tables keep their codes.
    let t3 = v.venue.table_code(ter, 3).unwrap();
    assert_eq!(v.venue.classify(&t3).unwrap(), Scanned::Table(ter, 3));
}

#[test]
fn closed_and_archived_areas_refuse_check_ins_and_archived_ones_are_kept_until_purge() {
    let t0 = at(2026, 11, 1, 12, 0);
    let mut v = venue(t0);
    let (ter, bar) = (v.terrasse, v.bar);
    let g1 = guest(&v, 1);
    v.venue.scan_guest(&g1, bar, None, Method::Fob, t0).unwrap();
    v.venue.close_area(ter).unwrap();
    assert_eq!(
        refusal(
            v.venue
                .scan_guest(&guest(&v, 2), ter, None, Method::Fob, t0)
                .unwrap_err()
        ),
        Refusal::AreaClosed("Terrasse".into())
    );
    v.venue.reopen_area(ter).unwrap();
    v.venue
        .scan_guest(&guest(&v, 2), ter, None, Method::Fob, t0)
        .unwrap();
    // Guest 1 leaves the bar while... the bar is deleted: checked out, archived, kept.
    let code = v.venue.area_code(bar).unwrap();
    assert_eq!(v.venue.archive_area(bar, t0 + 3600).unwrap(), 1);
    assert_eq!(
        refusal(
            v.venue
                .scan_guest(&guest(&v, 3), bar, None, Method::Fob, t0 + 3700)
                .unwrap_err()
        ),
        Refusal::AreaArchived("Bar".into())
    );
    assert_eq!(
        refusal(v.venue.classify(&code).unwrap_err()),
        Refusal::AreaArchived("Bar".into())
    );
    assert!(matches!(v.venue.area_id("Bar"), Err(Error::UnknownArea(_))));
    // A new "Bar" may be made while the old one is archived.
    let loc = v.venue.location_id("Filiale 1").unwrap();
    let bar2 = v.venue.add_area(loc, "Bar", None, t0 + 3800).unwrap();
    assert_ne!(bar2, bar);
    // Still there 27 days later (kept for requests), with its check-in.
    common::purge_daily(&mut v.venue, t0 + 3800, t0 + 27 * 86_400);
    let a = v.venue.area(bar).unwrap();
    assert_eq!(a.state, AreaState::Archived);
    assert_eq!(
        count(
            &v,
            &format!("SELECT COUNT(*) FROM checkins WHERE area_id = {bar}")
        ),
        1
    );
    // Gone once the retention period has passed.
    common::purge_daily(&mut v.venue, t0 + 27 * 86_400, t0 + 3600 + 28 * 86_400 + 1);
    assert!(v.venue.area(bar).is_err());
    assert_eq!(
        count(
            &v,
            &format!("SELECT COUNT(*) FROM checkins WHERE area_id = {bar}")
        ),
        0
    );
}

/// Review finding: lowering an area's maximum stay back-dated the check-outs of guests
/// present longer, so they seemed to have left hours ago. Now they stay until now.
#[test]
fn a_shorter_maximum_stay_never_back_dates_a_check_out() {
    let t0 = at(2026, 11, 20, 19, 0);
    let mut v = venue(t0 - 3600);
    let ter = v.terrasse;
    let code = GuestCode::create(&contact(1), &v.authority.contact_key())
        .unwrap()
        .to_text();
    v.venue
        .scan_guest(&code, ter, None, Method::Fob, t0)
        .unwrap();
    let later = t0 + 4 * 3600;
    v.venue.set_max_stay(ter, 5, later).unwrap();
    v.venue.present(later + 1).unwrap();
    let out: Option<i64> = v
        .venue
        .sqlite()
        .query_row("SELECT checked_out_at FROM checkins", [], |r| r.get(0))
        .unwrap();
    assert_eq!(
        out,
        Some(later),
        "checked out when the stay was shortened, not at 19:05"
    );
    assert_eq!(
        v.venue.audit_entries().unwrap().last().unwrap().event,
        "max-stay-changed"
    );
}

#[test]
fn retention_purges_exactly_what_is_due() {
    let now = at(2026, 11, 30, 12, 0);
    let start = now - 40 * 86_400;
    let mut v = venue(start);
    let ter = v.terrasse;
    v.venue.set_setting("retention-days", "7", 0).unwrap();
    v.venue.set_max_stay(ter, 60, 0).unwrap();
    // One check-in every 12 hours for 40 days, each checked out after 30 minutes.
    let mut ends = Vec::new();
    for i in 0..80 {
        let t = start + i * 43_200;
        let g = guest(&v, i as usize);
        v.venue.scan_guest(&g, ter, None, Method::Fob, t).unwrap();
        v.venue
            .scan_guest(&g, ter, None, Method::Fob, t + 1800)
            .unwrap();
        ends.push(t + 1800);
    }
    let cutoff = now - 7 * 86_400;
    let due = ends.iter().filter(|&&e| e < cutoff).count() as u64;
    let report = v.venue.purge(now).unwrap();
    assert_eq!(report.checkins_deleted, due);
    let remaining: Vec<i64> = {
        let mut st = v
            .venue
            .sqlite()
            .prepare("SELECT checked_out_at FROM checkins ORDER BY 1")
            .unwrap();
        st.query_map([], |r| r.get(0))
            .unwrap()
            .map(Result::unwrap)
            .collect()
    };
    let want: Vec<i64> = ends.iter().copied().filter(|&e| e >= cutoff).collect();
    assert_eq!(remaining, want);
    // Past business days' pseudonyms are cleared: they can never match again.
    assert_eq!(
        count(
            &v,
            "SELECT COUNT(*) FROM checkins WHERE pseudonym IS NOT NULL"
        ),
        0
    );
    // A second purge finds nothing more.
    assert_eq!(v.venue.purge(now).unwrap().checkins_deleted, 0);
    // Settings refuse values outside their range.
    assert!(v.venue.set_setting("retention-days", "0", 0).is_err());
    assert!(v.venue.set_setting("retention-days", "abc", 0).is_err());
    assert!(v.venue.set_setting("no-such-setting", "1", 0).is_err());
}

/// A purge while another program reads the database (a `tresen` command beside the app)
/// cannot empty the log, which still holds the deleted check-in: the purge says so, and
/// the next one (hourly in the app) empties it with nothing new to delete.
#[test]
fn a_purge_that_cannot_empty_the_log_says_so_and_the_next_one_empties_it() {
    let t0 = at(2026, 10, 1, 12, 0);
    let mut v = venue(t0);
    let ter = v.terrasse;
    let code = GuestCode::create(&contact(1), &v.authority.contact_key()).unwrap();
    v.venue
        .scan_guest(&code.to_text(), ter, None, Method::Fob, t0)
        .unwrap();
    let seal: Vec<u8> = v
        .venue
        .sqlite()
        .query_row("SELECT guest_seal FROM checkins", [], |r| r.get(0))
        .unwrap();
    v.venue.close_all(None, t0 + 60).unwrap();
    let later = t0 + 30 * 86_400;
    v.venue.confirm_clock(later).unwrap();
    let dir = v.venue.data_dir().to_path_buf();
    let seal_in_files = || common::folder_holds(&dir, &seal[..48]);
    let wal = dir.join("tresen.sqlite3-wal");

    let reader = rusqlite::Connection::open(dir.join("tresen.sqlite3")).unwrap();
    reader.execute_batch("BEGIN").unwrap();
    let _: i64 = reader
        .query_row("SELECT COUNT(*) FROM checkins_log", [], |r| r.get(0))
        .unwrap();
    let report = v.venue.purge(later).unwrap();
    assert_eq!(report.checkins_deleted, 1);
    assert!(report.log_kept, "the purge says the log was kept");
    assert!(
        seal_in_files(),
        "the reader's snapshot keeps the row in the files"
    );
    reader.execute_batch("COMMIT").unwrap();
    drop(reader);

    let report = v.venue.purge(later + 3600).unwrap();
    assert_eq!(
        report,
        tresen_venue::PurgeReport::default(),
        "nothing new to delete"
    );
    assert_eq!(std::fs::metadata(&wal).unwrap().len(), 0);
    assert!(!seal_in_files(), "sealed data survived the next purge");
}

#[test]
fn purged_data_is_gone_from_the_database_file() {
    purged_check_in_is_gone(false);
}

/// The same for a check-in that an idle moment moved from the scans' log into the
/// indexed table before it was purged: neither table's pages keep it.
#[test]
fn purged_data_is_gone_from_the_database_file_after_an_idle_moment() {
    purged_check_in_is_gone(true);
}

fn purged_check_in_is_gone(idle_moment: bool) {
    let t0 = at(2026, 10, 1, 12, 0);
    let mut v = venue(t0);
    let ter = v.terrasse;
    let code = GuestCode::create(&contact(1), &v.authority.contact_key()).unwrap();
    let ScanOutcome::CheckedIn { record, .. } = v
        .venue
        .scan_guest(&code.to_text(), ter, None, Method::Fob, t0)
        .unwrap()
    else {
        panic!()
    };
    let in_log = |v: &Venue| -> i64 {
        v.sqlite()
            .query_row("SELECT COUNT(*) FROM checkins_log", [], |r| r.get(0))
            .unwrap()
    };
    assert_eq!(in_log(&v.venue), 1);
    if idle_moment {
        v.venue.use_idle_time().unwrap();
        assert_eq!(in_log(&v.venue), 0, "moved into the indexed table");
    }
    let seal: Vec<u8> = v
        .venue
        .sqlite()
        .query_row("SELECT guest_seal FROM checkins", [], |r| r.get(0))
        .unwrap();
    v.venue.close_all(None, t0 + 60).unwrap();
    // Nothing happened for longer than the retention period: the clock looks wrong until
    // the operator confirms it (see tests/clock.rs); then the purge runs.
    assert!(v.venue.purge(t0 + 30 * 86_400).unwrap().skipped_clock);
    v.venue.confirm_clock(t0 + 30 * 86_400).unwrap();
    assert_eq!(v.venue.purge(t0 + 30 * 86_400).unwrap().checkins_deleted, 1);
    let dir = v.data_dir();
    drop(v.venue);
    assert!(
        !common::folder_holds(&dir, &seal[..48]),
        "sealed data survived"
    );
    assert!(!common::folder_holds(&dir, &record.0), "record id survived");
}

#[test]
fn register_guest_without_code_validates_and_seals_at_once() {
    let t0 = at(2026, 11, 20, 12, 0);
    let mut v = venue(t0);
    let ter = v.terrasse;
    let mut bad = contact(1);
    bad.phone = "12".into();
    assert!(matches!(
        v.venue.register_guest(&bad, ter, None, t0),
        Err(Error::Contact(
            tresen_protocol::contact::ContactError::BadPhone
        ))
    ));
    bad = contact(1);
    bad.name = "Mallory\u{1b}[31m".into();
    assert!(matches!(
        v.venue.register_guest(&bad, ter, None, t0),
        Err(Error::Contact(_))
    ));
    assert_eq!(count(&v, "SELECT COUNT(*) FROM checkins"), 0);
    let (code, o) = v
        .venue
        .register_guest(&contact(1), ter, Some(1), t0)
        .unwrap();
    assert!(matches!(o, ScanOutcome::CheckedIn { table: Some(1), .. }));
    // The printed fob works for check-out.
    let o = v
        .venue
        .scan_guest(&code.to_text(), ter, None, Method::Fob, t0 + 100)
        .unwrap();
    assert!(matches!(o, ScanOutcome::CheckedOut { .. }));
}

#[test]
fn names_are_validated() {
    let t0 = at(2026, 11, 20, 12, 0);
    let mut v = venue(t0);
    let loc = v.venue.location_id("Filiale 1").unwrap();
    assert!(matches!(
        v.venue.add_area(loc, "  ", None, t0),
        Err(Error::InvalidName(_))
    ));
    assert!(matches!(
        v.venue.add_area(loc, "a\u{0}b", None, t0),
        Err(Error::InvalidName(_))
    ));
    assert!(matches!(
        v.venue.add_area(loc, &"x".repeat(121), None, t0),
        Err(Error::InvalidName(_))
    ));
    assert!(matches!(
        v.venue.add_area(loc, "Bar", None, t0),
        Err(Error::Duplicate(_))
    ));
    let long = "Ä".repeat(120);
    let id = v.venue.add_area(loc, &long, None, t0).unwrap();
    assert_eq!(v.venue.area(id).unwrap().name, long);
    assert!(matches!(
        v.venue.add_tables(id, &[0]),
        Err(Error::InvalidName(_))
    ));
}

#[test]
fn a_full_disk_gives_a_clear_error_and_changes_nothing() {
    let t0 = at(2026, 11, 20, 12, 0);
    let mut v = venue(t0);
    let ter = v.terrasse;
    v.venue
        .scan_guest(&guest(&v, 1), ter, None, Method::Fob, t0)
        .unwrap();
    // SQLite reports a full disk (SQLITE_FULL) when it cannot grow the file; cap the
    // file at its current size to reach the same path deterministically.
    let pages: i64 = count(&v, "PRAGMA page_count");
    v.venue
        .sqlite()
        .query_row(&format!("PRAGMA max_page_count = {pages}"), [], |_| Ok(()))
        .unwrap();
    let mut full = None;
    for i in 2..2000 {
        match v
            .venue
            .scan_guest(&guest(&v, i), ter, None, Method::Fob, t0 + i as i64)
        {
            Ok(_) => continue,
            Err(e) => {
                full = Some((i, e));
                break;
            }
        }
    }
    let (i, e) = full.expect("the database never filled up");
    assert!(
        matches!(e, Error::Store(tresen_venue::store::StoreError::DiskFull)),
        "{e:?}"
    );
    assert!(e.to_string().contains("disk is full"));
    assert_eq!(count(&v, "SELECT COUNT(*) FROM checkins"), (i - 1) as i64);
    assert!(tresen_venue::store::SqliteStore::open(&v.data_dir())
        .and_then(|s| s.integrity_ok())
        .unwrap());
}

#[test]
fn a_really_full_disk_loses_nothing_and_recovers() {
    let Some(fs) = common::tiny_tmpfs(2048) else {
        return;
    };
    let t0 = at(2026, 11, 20, 12, 0);
    let auth = tresen_protocol::authority_keys::AuthorityKeys::generate("Amt");
    let trust = auth.trust_file(1, t0).unwrap();
    let outside = tempfile::tempdir().unwrap();
    let data = fs.path.join("data");
    let p = common::pass();
    let mut k = tresen_venue::Venue::init(
        &data,
        &tresen_venue::VenueSetup {
            name: "Café Voll",
            address: "Weg 1",
            trust_file: &trust,
            expect_root: &tresen_protocol::trust::root_fingerprint(&auth.root.public_key()),
            key_file: &outside.path().join("k.age"),
            passphrase: &p,
            secret_store: tresen_venue::local_secret::SecretStore::File,
        },
        t0,
    )
    .unwrap();
    let loc = k.add_location("L", t0).unwrap();
    let area = k.add_area(loc, "A", None, t0).unwrap();
    let code = |i| {
        GuestCode::create(&contact(i), &auth.contact_key())
            .unwrap()
            .to_text()
    };
    k.scan_guest(&code(0), area, None, Method::Fob, t0).unwrap();
    let filler = common::fill(&fs.path);
    let mut confirmed = 1;
    let err = loop {
        match k.scan_guest(
            &code(confirmed),
            area,
            None,
            Method::Fob,
            t0 + confirmed as i64,
        ) {
            Ok(_) => confirmed += 1,
            Err(e) => break e,
        }
        assert!(confirmed < 5000, "the disk never filled up");
    };
    assert!(
        matches!(err, Error::Store(tresen_venue::store::StoreError::DiskFull)),
        "{err:?}"
    );
    drop(k);
    std::fs::remove_file(filler).unwrap();
    let mut k = tresen_venue::Venue::open(&data, t0 + 10_000).unwrap();
    let n: i64 = k
        .sqlite()
        .query_row("SELECT COUNT(*) FROM checkins", [], |r| r.get(0))
        .unwrap();
    assert_eq!(
        n, confirmed as i64,
        "every confirmed check-in survived, the failed one left no trace"
    );
    let check: String = k
        .sqlite()
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap();
    assert_eq!(check, "ok");
    k.scan_guest(&code(9999), area, None, Method::Fob, t0 + 10_001)
        .unwrap();
}

/// The log's header changes exactly when the log starts anew, which syncs it a second time:
/// that must happen in an idle moment, never within a scan.
#[test]
fn idle_moments_copy_the_log_and_start_it_anew_so_that_no_scan_pays_for_it() {
    let t0 = at(2026, 11, 20, 18, 0);
    let mut v = venue(t0);
    let ter = v.terrasse;
    let wal = v.data_dir().join("tresen.sqlite3-wal");
    let header = || std::fs::read(&wal).unwrap()[..32].to_vec();
    let codes: Vec<String> = (0..400).map(|i| guest(&v, i)).collect();
    let mut restarted_in_a_scan = 0;
    for (i, code) in codes.iter().enumerate() {
        v.venue.use_idle_time().unwrap();
        let before = header();
        let o = v
            .venue
            .scan_guest(code, ter, None, Method::Fob, t0 + i as i64)
            .unwrap();
        assert!(matches!(o, ScanOutcome::CheckedIn { .. }));
        if header() != before {
            restarted_in_a_scan += 1;
        }
    }
    assert_eq!(restarted_in_a_scan, 0);
    let idle_restarts: String = v
        .venue
        .sqlite()
        .query_row(
            "SELECT value FROM meta WHERE key = 'log_restarts'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert!(idle_restarts.parse::<u32>().unwrap() >= 1);
    // Copied into the database: the log stays far below its automatic limit.
    assert!(std::fs::metadata(&wal).unwrap().len() < 8 * 1024 * 1024);
    assert_eq!(count(&v, "SELECT COUNT(*) FROM checkins"), 400);
}

/// Another process writing (a long CLI purge, say) must not make the counter's idle moment
/// wait for it: the log is then started anew by that process's commit.
#[test]
fn an_idle_moment_does_not_wait_for_another_process_writing() {
    let t0 = at(2026, 11, 20, 18, 0);
    let mut v = venue(t0);
    let ter = v.terrasse;
    let codes: Vec<String> = (0..250).map(|i| guest(&v, i)).collect();
    for (i, code) in codes.iter().enumerate() {
        v.venue
            .scan_guest(code, ter, None, Method::Fob, t0 + i as i64)
            .unwrap();
    }
    let other = rusqlite::Connection::open(v.data_dir().join("tresen.sqlite3")).unwrap();
    other.execute_batch("BEGIN IMMEDIATE").unwrap();
    let start = std::time::Instant::now();
    v.venue.use_idle_time().unwrap();
    assert!(
        start.elapsed() < std::time::Duration::from_secs(2),
        "waited {:?} for the other writer",
        start.elapsed()
    );
    other.execute_batch("ROLLBACK").unwrap();
    let o = v
        .venue
        .scan_guest(&guest(&v, 999), ter, None, Method::Fob, t0 + 400)
        .unwrap();
    assert!(matches!(o, ScanOutcome::CheckedIn { .. }));
}

/// The area is read inside the scan's own transaction: an area that does not exist is
/// refused before anything else is decided, a double read included, and nothing is written.
#[test]
fn a_scan_into_an_unknown_area_is_refused_and_writes_nothing() {
    let t0 = at(2026, 11, 20, 18, 0);
    let mut v = venue(t0);
    let ter = v.terrasse;
    let g = guest(&v, 1);
    v.venue.scan_guest(&g, ter, None, Method::Fob, t0).unwrap();
    for (area, table, at) in [
        (9_999, None, t0 + 1),
        (9_999, Some(1), t0 + 600),
        (9_999, None, t0 + 600),
    ] {
        let e = v
            .venue
            .scan_guest(&g, area, table, Method::Fob, at)
            .unwrap_err();
        assert!(matches!(e, Error::UnknownArea(_)), "{e:?}");
    }
    assert_eq!(count(&v, "SELECT COUNT(*) FROM checkins"), 1);
    assert_eq!(v.venue.present_total(t0 + 600).unwrap(), 1);
}
