//! Hole 13 of the hardening issue: the wall clock drove irreversible purges and expiry. A
//! clock jumped forward wiped every check-in at the next purge; a clock set back revived
//! expired requests. The store keeps the latest time it has seen; a clock far behind or
//! ahead of it stops purges and approvals until the operator confirms the time.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{at, contact, keys, no_progress, office, venue};
use tresen_protocol::checkin_record::Method;
use tresen_protocol::guest_code::GuestCode;
use tresen_venue::{ClockState, Error};

fn count(v: &common::TestVenue) -> i64 {
    v.venue
        .sqlite()
        .query_row("SELECT COUNT(*) FROM checkins", [], |r| r.get(0))
        .unwrap()
}

fn guests(v: &mut common::TestVenue, from: i64, n: usize) {
    let ter = v.terrasse;
    for i in 0..n {
        let code = GuestCode::create(&contact(i), &v.authority.contact_key())
            .unwrap()
            .to_text();
        let t = from + i as i64 * 3600;
        v.venue
            .scan_guest(&code, ter, None, Method::Fob, t)
            .unwrap();
        v.venue
            .scan_guest(&code, ter, None, Method::Fob, t + 1800)
            .unwrap();
    }
}

#[test]
fn a_clock_jumped_forward_purges_nothing_until_the_operator_confirms() {
    let t0 = at(2026, 11, 20, 12, 0);
    let mut v = venue(t0 - 86_400);
    guests(&mut v, t0, 5);
    assert_eq!(count(&v), 5);
    // A wrong BIOS battery or a spoofed time server: two months ahead.
    let wrong = t0 + 60 * 86_400;
    assert!(matches!(
        v.venue.clock_state(wrong).unwrap(),
        ClockState::Ahead { .. }
    ));
    let report = v.venue.purge(wrong).unwrap();
    assert!(report.skipped_clock);
    // A smaller jump, well within the retention period, would still purge days of
    // check-ins that must be kept: it waits for the operator too.
    assert!(v.venue.purge(t0 + 10 * 86_400).unwrap().skipped_clock);
    // A long weekend with the PC switched off is normal.
    assert_eq!(
        v.venue.clock_state(t0 + 2 * 86_400).unwrap(),
        ClockState::Ok
    );
    assert_eq!(count(&v), 5, "nothing was deleted");
    // Reopening (the app's start) does not purge either.
    v.reopen(wrong);
    assert_eq!(count(&v), 5);
    // Scans still work (the counter keeps going) but do not move the latest time seen.
    guests(&mut v, wrong, 1);
    assert!(matches!(
        v.venue.clock_state(wrong + 7200).unwrap(),
        ClockState::Ahead { .. }
    ));
    // The operator confirms: the time is accepted, the confirmation is in the audit log,
    // and the purge runs.
    let before = v.venue.confirm_clock(wrong).unwrap();
    assert!(matches!(before, ClockState::Ahead { .. }));
    assert_eq!(v.venue.clock_state(wrong).unwrap(), ClockState::Ok);
    let last = v.venue.audit_entries().unwrap().pop().unwrap();
    assert_eq!(last.event, "clock-confirmed");
    assert_eq!(v.venue.purge(wrong).unwrap().checkins_deleted, 5);
    v.venue.verify_audit().unwrap();
}

#[test]
fn a_clock_set_back_approves_nothing_and_the_purge_waits() {
    let t0 = at(2026, 11, 20, 12, 0);
    let mut v = venue(t0 - 86_400);
    guests(&mut v, t0, 3);
    let o = office(&mut v, "ga-mitte");
    let fp = v.venue.fingerprint();
    // A request that expired on 23 November; the venue has seen 25 November.
    let req = o
        .desk
        .make_request(
            &tresen_office::desk::RequestSpec {
                venue: &fp,
                areas: &[],
                from: t0 - 60,
                until: t0 + 86_400,
                case_reference: "AZ 13",
                reason: "Grund",
                valid_secs: 86_400,
            },
            t0 + 2 * 86_400,
        )
        .unwrap();
    common::purge_daily(&mut v.venue, t0, t0 + 5 * 86_400);
    let back = t0 + 2 * 86_400 + 3600;
    assert!(matches!(
        v.venue.clock_state(back).unwrap(),
        ClockState::Behind { .. }
    ));
    let answer = v.dir.path().join("answer");
    let e = v
        .venue
        .approve_request(req.as_bytes(), &keys(&v), &answer, &no_progress, back)
        .unwrap_err();
    assert!(matches!(e, Error::ClockSuspect { .. }), "{e}");
    assert_eq!(e.code(), "clock-suspect");
    assert!(e.to_string().contains("clock of this PC looks wrong"));
    assert!(!answer.exists());
    assert!(v.venue.purge(back).unwrap().skipped_clock);
    // Less than a day behind is normal (a clock corrected by a few minutes or hours).
    assert_eq!(
        v.venue.clock_state(t0 + 5 * 86_400 - 3600).unwrap(),
        ClockState::Ok
    );
}

/// A counter that runs every day never trips the guard: every hour's purge and the scans
/// move the latest time seen forward.
#[test]
fn a_clock_that_runs_normally_is_never_suspect() {
    let t0 = at(2026, 11, 1, 12, 0);
    let mut v = venue(t0);
    for day in 0..40 {
        let t = t0 + day * 86_400;
        v.venue.purge(t).unwrap();
        assert_eq!(v.venue.clock_state(t).unwrap(), ClockState::Ok, "day {day}");
    }
}
