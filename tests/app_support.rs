//! What the app needs from the core beyond check-ins: the setup steps, the operator PIN,
//! the arrivals chart, tapping a table number, passphrase feedback and the demo venue.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{at, contact, pass, venue};
use tresen_protocol::checkin_record::Method;
use tresen_protocol::key_file::{self, Passphrase};
use tresen_protocol::venue_keys::VenueSecretKeys;
use tresen_venue::scan_session::{ScanSession, SessionOutcome};
use tresen_venue::{Error, Refusal, SetupStep};

#[test]
fn setup_steps_follow_the_data() {
    let now = at(2026, 11, 20, 12, 0);
    let mut v = venue(now);
    // A fresh venue (areas exist in the fixture) still needs its backup.
    assert_eq!(v.venue.setup_step().unwrap(), SetupStep::Backup);
    v.venue.postpone_backup(now).unwrap();
    assert_eq!(v.venue.setup_step().unwrap(), SetupStep::Pin);
    // Postponing does not silence the warning.
    assert!(v.venue.backup_status(now).unwrap().warning.is_some());
    v.venue.set_operator_pin("470815", 0).unwrap();
    assert_eq!(v.venue.setup_step().unwrap(), SetupStep::Done);
    // Every area closed for the night is not a way back into the wizard; every area
    // deleted is.
    for a in [v.terrasse, v.bar] {
        v.venue.close_area(a).unwrap();
    }
    assert_eq!(v.venue.setup_step().unwrap(), SetupStep::Done);
    for a in [v.terrasse, v.bar] {
        v.venue.archive_area(a, now).unwrap();
    }
    assert_eq!(v.venue.setup_step().unwrap(), SetupStep::Areas);
    // A verified copy on another drive completes the backup step even without postponing
    // (one on the same drive does not: tests/keys.rs).
    let mut w = venue(now);
    let Some(stick) = common::drive() else {
        return;
    };
    let copy = stick.path.join("copy.age");
    let key_file = w.key_file.clone();
    w.venue
        .backup_key_file(&key_file, &copy, &pass(), now)
        .unwrap();
    assert_eq!(w.venue.setup_step().unwrap(), SetupStep::Pin);
    // A key replaced later has no copy yet: the warning says so, the wizard stays done.
    w.venue.set_operator_pin("470815", 0).unwrap();
    w.venue
        .replace_key(&w.dir.path().join("new.age"), &pass(), now)
        .unwrap();
    assert!(w.venue.backup_status(now).unwrap().warning.is_some());
    assert_eq!(w.venue.setup_step().unwrap(), SetupStep::Done);
}

#[test]
fn the_operator_pin_is_checked_and_paused_after_failures() {
    let now = at(2026, 11, 20, 12, 0);
    let mut v = venue(now);
    assert!(matches!(
        v.venue.check_operator_pin("470815", now),
        Err(Error::NoPin)
    ));
    assert!(matches!(
        v.venue.set_operator_pin("123456", 0),
        Err(Error::WeakPin(_))
    ));
    assert!(!v.venue.has_operator_pin().unwrap());
    v.venue.set_operator_pin("470815", 0).unwrap();
    v.venue.check_operator_pin("470815", now).unwrap();
    for left in (1..=4).rev() {
        match v.venue.check_operator_pin("000001", now) {
            Err(Error::WrongPin { attempts_left }) => assert_eq!(attempts_left, left),
            other => panic!("{other:?}"),
        }
    }
    assert!(matches!(
        v.venue.check_operator_pin("000001", now),
        Err(Error::PinLocked { seconds: 30 })
    ));
    // Even the right PIN waits out the pause, which survives a restart.
    v.reopen(now + 10);
    assert!(matches!(
        v.venue.check_operator_pin("470815", now + 10),
        Err(Error::PinLocked { seconds: 20 })
    ));
    v.venue.check_operator_pin("470815", now + 31).unwrap();
    assert_eq!(
        Error::WrongPin { attempts_left: 1 }.code(),
        "wrong-pin",
        "the window words errors by code"
    );
}

#[test]
fn arrivals_are_counted_per_hour_of_the_business_day() {
    let now = at(2026, 11, 20, 14, 30);
    let mut v = venue(now);
    let ter = v.terrasse;
    // Yesterday evening's guest belongs to another business day (days end at 05:00).
    let yesterday = at(2026, 11, 19, 23, 0);
    let code = v.venue.make_guest_code(&contact(0)).unwrap();
    v.venue
        .check_in(&code, ter, None, Method::Fob, yesterday)
        .unwrap();
    for (i, t) in [
        at(2026, 11, 20, 12, 5),
        at(2026, 11, 20, 12, 55),
        at(2026, 11, 20, 14, 1),
    ]
    .into_iter()
    .enumerate()
    {
        let code = v.venue.make_guest_code(&contact(i + 1)).unwrap();
        v.venue.check_in(&code, ter, None, Method::Fob, t).unwrap();
    }
    let hours = v.venue.arrivals_by_hour(now).unwrap();
    assert_eq!(hours.first().map(|h| h.0), Some(at(2026, 11, 20, 5, 0)));
    assert_eq!(hours.len(), 10, "05:00 to 14:00");
    let by_hour: Vec<u32> = hours.iter().map(|h| h.1).collect();
    assert_eq!(by_hour, vec![0, 0, 0, 0, 0, 0, 0, 2, 0, 1]);
}

#[test]
fn a_tapped_table_number_assigns_the_last_guest() {
    let now = at(2026, 11, 20, 12, 0);
    let mut v = venue(now);
    let mut counter = ScanSession::new(Some(v.terrasse));
    assert_eq!(
        counter.tap_table(&mut v.venue, 4, now).unwrap(),
        SessionOutcome::Refused(Refusal::NoGuestForTable)
    );
    let code = v.venue.make_guest_code(&contact(1)).unwrap().to_text();
    counter
        .handle(&mut v.venue, &code, Method::Fob, now)
        .unwrap();
    assert_eq!(counter.waiting_for_table(now + 5), Some(v.terrasse));
    // A table the area does not have is refused and the guest still waits.
    assert!(matches!(
        counter.tap_table(&mut v.venue, 99, now + 5).unwrap(),
        SessionOutcome::Refused(Refusal::NoSuchTable(_, 99))
    ));
    assert!(matches!(
        counter.tap_table(&mut v.venue, 4, now + 6).unwrap(),
        SessionOutcome::TableAssigned { table: 4, .. }
    ));
    assert_eq!(counter.waiting_for_table(now + 7), None);
}

#[test]
fn passphrase_feedback_matches_the_check() {
    for (p, ok) in [
        ("", false),
        ("kurz", false),
        ("cafemoench123", false),
        ("correct horse battery staple tresen", true),
    ] {
        let pass = Passphrase::new(p);
        let s = key_file::strength(&pass, &["Café Mönch"]);
        assert_eq!(s.enough, ok, "{p}: {s:?}");
        assert_eq!(key_file::check_strength(&pass, &["Café Mönch"]).is_ok(), ok);
    }
}

#[test]
fn the_demo_venue_answers_its_own_office() {
    let now = tresen_protocol::time::now();
    let dir = tempfile::tempdir().unwrap();
    let (demo, mut k) = tresen::demo::Demo::create(dir.path(), now).unwrap();
    assert_eq!(k.setup_step().unwrap(), SetupStep::Done);
    assert_eq!(k.present_total(now).unwrap(), 5);
    let request = demo.make_request(&k.fingerprint(), now).unwrap();
    let text = std::fs::read(&request).unwrap();
    let review = k.review_request(&text, now).unwrap();
    assert_eq!(review.matching, 5);
    let keys =
        VenueSecretKeys::read_key_file(&demo.key_file, &Passphrase::new(tresen::demo::PASSPHRASE))
            .unwrap();
    let out = dir.path().join("answer.tresen");
    let report = k
        .approve_request(&text, &keys, &out, &|_, _| {}, now)
        .unwrap();
    assert_eq!(report.records, 5);
    let desk =
        tresen_office::desk::OfficeDesk::open(&demo.office_dir, &demo.office_passphrase()).unwrap();
    let csv = dir.path().join("contacts.csv");
    let json = dir.path().join("contacts.json");
    desk.open_answer(&text, &out, &csv, &json).unwrap();
    let csv = std::fs::read_to_string(&csv).unwrap();
    assert!(csv.contains("Erika Mustermann"), "{csv}");
    // The demo's guest codes scan like real ones.
    let mut counter = ScanSession::new(Some(k.area_id("Bar").unwrap()));
    let r = counter
        .handle(&mut k, &demo.guest_codes[6], Method::Fob, now)
        .unwrap();
    assert!(matches!(r, SessionOutcome::Guest(_)), "{r:?}");
}

#[test]
fn a_removed_table_is_refused_and_comes_back_with_a_new_code() {
    let now = at(2026, 11, 20, 12, 0);
    let mut v = venue(now);
    let ter = v.terrasse;
    let old_card = v.venue.table_code(ter, 4).unwrap();
    let mut counter = ScanSession::new(Some(ter));
    let guest = v.venue.make_guest_code(&contact(1)).unwrap().to_text();
    counter
        .handle(&mut v.venue, &guest, Method::Fob, now)
        .unwrap();
    assert!(matches!(
        v.venue.remove_table(ter, 99, now),
        Err(Error::UnknownTable(_, 99))
    ));
    v.venue.remove_table(ter, 4, now).unwrap();
    assert!(!v.venue.area(ter).unwrap().tables.contains(&4));
    assert!(v.venue.table_code(ter, 4).is_err());
    // The card of a removed table assigns nothing.
    assert_eq!(
        counter
            .handle(&mut v.venue, &old_card, Method::Fob, now + 5)
            .unwrap(),
        SessionOutcome::Refused(Refusal::NoSuchTable("Terrasse".into(), 4))
    );
    assert!(matches!(
        counter.tap_table(&mut v.venue, 4, now + 6).unwrap(),
        SessionOutcome::Refused(Refusal::NoSuchTable(_, 4))
    ));
    assert!(matches!(
        v.venue.remove_table(ter, 4, now),
        Err(Error::UnknownTable(_, 4))
    ));
    // Added again, the number gets a new code; the old card stays refused.
    v.venue.add_tables(ter, &[4]).unwrap();
    assert!(matches!(
        v.venue.add_tables(ter, &[4]),
        Err(Error::Duplicate(_))
    ));
    let new_card = v.venue.table_code(ter, 4).unwrap();
    assert_ne!(new_card, old_card);
    assert!(matches!(
        counter
            .handle(&mut v.venue, &old_card, Method::Fob, now + 7)
            .unwrap(),
        SessionOutcome::Refused(Refusal::ReplacedCode(_))
    ));
    assert!(matches!(
        counter
            .handle(&mut v.venue, &new_card, Method::Fob, now + 8)
            .unwrap(),
        SessionOutcome::TableAssigned { table: 4, .. }
    ));
}

#[test]
fn table_numbers_as_typed_are_checked() {
    use tresen_venue::parse_table_numbers;
    assert_eq!(parse_table_numbers("1-3, 7,").unwrap(), vec![1, 2, 3, 7]);
    assert_eq!(parse_table_numbers(" ").unwrap(), Vec::<u16>::new());
    for bad in ["0-3", "5-3", "1-1001", "x", "1-", "-4", "3.5", "70000"] {
        match parse_table_numbers(bad) {
            Err(Error::InvalidTables(part)) => assert_eq!(part, bad.trim(), "{bad}"),
            other => panic!("{bad}: {other:?}"),
        }
    }
    // Table 0 does not exist: refused when added, nothing is stored.
    let now = at(2026, 11, 20, 12, 0);
    let mut v = venue(now);
    let bar = v.bar;
    assert!(v.venue.add_tables(bar, &[2, 0]).is_err());
    assert!(v.venue.area(bar).unwrap().tables.is_empty());
}
