//! Hole 15 of the hardening issue: the append-only audit log kept text from refused,
//! unsigned files forever. Now it keeps only a hash, the size and the refusal code of such
//! a file, and its entries have a retention period after which a checkpoint keeps the
//! chain verifiable. And (hole 19) a replayed request's entry names its office.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{at, keys, no_progress, office, venue};

const MARKER: &str = "Geheimer Bereich Hinterzimmer";

fn all_text(v: &common::TestVenue) -> String {
    v.venue
        .audit_entries()
        .unwrap()
        .iter()
        .map(|e| format!("{} {} {} {}\n", e.event, e.request_id, e.office, e.detail))
        .collect()
}

#[test]
fn refused_files_leave_only_their_hash_size_and_refusal() {
    let now = at(2026, 11, 20, 12, 0);
    let mut v = venue(now - 86_400);
    let o = office(&mut v, "ga-mitte");
    let fp = v.venue.fingerprint();
    // Not a request at all, but text someone wants to keep in the venue's log forever.
    let junk = format!("{{\"format\":\"tresen-request\",\"note\":\"{MARKER}\"}}");
    // A genuine request for an area that does not exist: its office and id are known,
    // the area name (text from the file) is not logged.
    let unknown_area = o
        .desk
        .make_request(
            &tresen_office::desk::RequestSpec {
                venue: &fp,
                areas: &[MARKER.into()],
                from: now - 7200,
                until: now - 3600,
                case_reference: "AZ 15",
                reason: "Grund",
                valid_secs: 86_400,
            },
            now,
        )
        .unwrap();
    // An unsigned copy of it: the body with an empty signature.
    let mut unsigned: serde_json::Value = serde_json::from_str(&unknown_area).unwrap();
    unsigned["signature"] = "".into();
    let unsigned = unsigned.to_string();
    for (file, office_known) in [
        (junk.as_str(), false),
        (unknown_area.as_str(), true),
        (unsigned.as_str(), false),
    ] {
        assert!(v.venue.review_request(file.as_bytes(), now).is_err());
        let e = v.venue.audit_entries().unwrap().pop().unwrap();
        assert_eq!(e.event, "refused");
        let hash =
            tresen_protocol::encoding::hex(&tresen_protocol::crypto::sha256(&[file.as_bytes()]));
        let detail: serde_json::Value = serde_json::from_str(&e.detail).unwrap();
        assert_eq!(detail["sha256"], hash.as_str(), "{}", e.detail);
        assert_eq!(detail["bytes"], file.len(), "{}", e.detail);
        for key in detail.as_object().unwrap().keys() {
            assert!(
                ["refusal", "sha256", "bytes"].contains(&key.as_str()) || key.ends_with("_at"),
                "nothing else: {}",
                e.detail
            );
        }
        assert_eq!(e.office.is_empty(), !office_known, "{e:?}");
        assert_eq!(e.request_id.is_empty(), !office_known, "{e:?}");
    }
    let log = all_text(&v);
    assert!(!log.contains(MARKER), "{log}");
    assert!(
        log.contains("request-malformed") && log.contains("request-unknown-area"),
        "{log}"
    );
    v.venue.verify_audit().unwrap();
}

#[test]
fn a_replayed_request_is_logged_with_its_office() {
    let now = at(2026, 11, 20, 12, 0);
    let mut v = venue(now - 86_400);
    let o = office(&mut v, "ga-mitte");
    let req = o
        .desk
        .make_request(
            &tresen_office::desk::RequestSpec {
                venue: &v.venue.fingerprint(),
                areas: &[],
                from: now - 7200,
                until: now - 3600,
                case_reference: "AZ 19",
                reason: "Grund",
                valid_secs: 86_400,
            },
            now,
        )
        .unwrap();
    let answer = v.dir.path().join("answer");
    v.venue
        .approve_request(req.as_bytes(), &keys(&v), &answer, &no_progress, now)
        .unwrap();
    assert!(v.venue.review_request(req.as_bytes(), now + 60).is_err());
    let e = v.venue.audit_entries().unwrap().pop().unwrap();
    assert_eq!(
        (e.event.as_str(), e.office.as_str()),
        ("refused", "ga-mitte")
    );
    let detail: serde_json::Value = serde_json::from_str(&e.detail).unwrap();
    assert_eq!(detail["refusal"], "request-replayed", "{}", e.detail);
}

#[test]
fn old_entries_are_purged_behind_a_checkpoint_and_the_chain_still_verifies() {
    let t0 = at(2024, 11, 1, 12, 0);
    let mut v = venue(t0);
    // Three entries in the first year, two a year later.
    for (i, t) in [
        t0,
        t0 + 86_400,
        t0 + 2 * 86_400,
        t0 + 400 * 86_400,
        t0 + 401 * 86_400,
    ]
    .into_iter()
    .enumerate()
    {
        v.venue
            .set_setting("double-read-seconds", &(i + 1).to_string(), t)
            .unwrap();
    }
    let before = v.venue.audit_entries().unwrap();
    assert_eq!(before.len(), 5);
    v.venue.verify_audit().unwrap();
    // The operator confirms the clock (nothing happened for a long time), then the purge
    // runs: the default keeps two years.
    let now = t0 + 2 * 365 * 86_400 + 10 * 86_400;
    v.venue.confirm_clock(now).unwrap();
    let report = v.venue.purge(now).unwrap();
    assert_eq!(report.audit_entries_deleted, 3);
    let after = v.venue.audit_entries().unwrap();
    let events: Vec<&str> = after.iter().map(|e| e.event.as_str()).collect();
    assert_eq!(
        events,
        [
            "setting-changed",
            "setting-changed",
            "clock-confirmed",
            "purged"
        ]
    );
    assert_eq!(
        after[0].seq, 4,
        "numbers go on where the deleted entries stopped"
    );
    assert_eq!(v.venue.verify_audit().unwrap(), 4);
    // An entry dated before the cutoff behind newer ones (a clock that was set back) does
    // not take the newer ones with it.
    v.venue.set_setting("double-read-seconds", "9", t0).unwrap();
    v.venue
        .set_setting("double-read-seconds", "8", now + 60)
        .unwrap();
    let kept = v.venue.audit_entries().unwrap().len();
    assert_eq!(v.venue.purge(now + 120).unwrap().audit_entries_deleted, 0);
    assert_eq!(v.venue.audit_entries().unwrap().len(), kept);
    v.venue.verify_audit().unwrap();
    // Only purged entries may be deleted; the rest stays append-only.
    let conn = v.venue.sqlite();
    assert!(conn
        .execute("DELETE FROM audit_log WHERE seq = 4", [])
        .is_err());
    assert!(conn
        .execute("UPDATE audit_log SET detail = 'x' WHERE seq = 5", [])
        .is_err());
    // An altered checkpoint is found out.
    conn.execute(
        "UPDATE meta SET value = '3:' || substr(value, 3, 62) || '00' WHERE key = 'audit_base'",
        [],
    )
    .unwrap();
    assert!(v.venue.verify_audit().is_err());
}
