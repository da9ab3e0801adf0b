//! Holes 6 and 8–12 and the office's part of 16 of the hardening issue: what someone who
//! can write the venue's database, a withdrawn office, a wrong key file, or whoever can
//! swap a file in a shared folder can do to an answer — and cannot.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{at, contact, keys, no_progress, office, read_csv, venue, TestVenue};
use tresen_office::desk::DeskError;
use tresen_protocol::answer::{AnswerEntry, AnswerRecord, AnswerTo, AnswerWriter};
use tresen_protocol::checkin_record::Method;
use tresen_protocol::guest_code::GuestCode;
use tresen_protocol::request::RequestError;
use tresen_venue::{Error, ScanOutcome};

/// Checks a guest in at `t` and out 90 minutes later; returns the record id.
fn visit(v: &mut TestVenue, i: usize, area: i64, t: i64) -> Vec<u8> {
    let code = GuestCode::create(&contact(i), &v.authority.contact_key())
        .unwrap()
        .to_text();
    let ScanOutcome::CheckedIn { record, .. } = v
        .venue
        .scan_guest(
            &code,
            area,
            Some(1).filter(|_| area == v.terrasse),
            Method::Fob,
            t,
        )
        .unwrap()
    else {
        panic!("not checked in");
    };
    v.venue
        .scan_guest(&code, area, None, Method::Fob, t + 90 * 60)
        .unwrap();
    record.0.to_vec()
}

fn column(rows: &[Vec<String>], header: &[&str], name: &str) -> Vec<String> {
    let i = header.iter().position(|h| *h == name).unwrap();
    rows.iter().map(|r| r[i].clone()).collect()
}

const HEADER: [&str; 15] = tresen_office::export::CSV_HEADER;

/// Hole 8: area and check-in time were plain columns, not bound to the seals, so anyone
/// who can write the database could move a guest to another area or time unnoticed.
/// Hole 9: one damaged row aborted the whole approval.
#[test]
fn rows_moved_or_damaged_in_the_database_are_flagged_and_the_rest_is_answered() {
    let t0 = at(2026, 11, 10, 18, 0);
    let mut v = venue(t0 - 86_400);
    let ter = v.terrasse;
    let ids: Vec<Vec<u8>> = (0..5)
        .map(|i| visit(&mut v, i, ter, t0 + i as i64 * 600))
        .collect();
    let o = office(&mut v, "ga-mitte");
    let conn = v.venue.sqlite();
    // Moved from the terrace to the bar, a check-in time shifted by an hour, and a seal
    // damaged on disk.
    conn.execute(
        "UPDATE checkins SET area_id = ?1 WHERE id = ?2",
        rusqlite::params![v.bar, &ids[0]],
    )
    .unwrap();
    conn.execute(
        "UPDATE checkins SET checked_in_at = checked_in_at - 3600 WHERE id = ?1",
        [&ids[1]],
    )
    .unwrap();
    conn.execute(
        "UPDATE checkins SET guest_seal = CAST(substr(guest_seal, 1, 100) || x'00' || substr(guest_seal, 102) AS BLOB) WHERE id = ?1",
        [&ids[2]],
    )
    .unwrap();
    // ...and a seal of the wrong type altogether.
    conn.execute(
        "UPDATE checkins SET table_seal = 'not a seal' WHERE id = ?1",
        [&ids[3]],
    )
    .unwrap();
    let now = at(2026, 11, 12, 9, 0);
    let req = o
        .desk
        .make_request(
            &tresen_office::desk::RequestSpec {
                venue: &v.venue.fingerprint(),
                areas: &[],
                from: t0 - 7200,
                until: t0 + 86_400,
                case_reference: "AZ 8",
                reason: "Grund",
                valid_secs: 86_400,
            },
            now,
        )
        .unwrap();
    let answer = v.dir.path().join("answer");
    let report = v
        .venue
        .approve_request(req.as_bytes(), &keys(&v), &answer, &no_progress, now)
        .unwrap();
    assert_eq!((report.records, report.flagged), (1, 4));
    let audit = v.venue.audit_entries().unwrap();
    let detail: serde_json::Value = serde_json::from_str(&audit.last().unwrap().detail).unwrap();
    assert_eq!(
        (detail["records"].as_u64(), detail["flagged"].as_u64()),
        (Some(1), Some(4))
    );

    let (csv, json) = (o.dir.join("c.csv"), o.dir.join("c.json"));
    let r = o
        .desk
        .open_answer(req.as_bytes(), &answer, &csv, &json)
        .unwrap();
    assert_eq!((r.records, r.damaged, r.flagged), (5, 4, 4));
    let rows = read_csv(&csv);
    let records = column(&rows, &HEADER, "record");
    let valid = column(&rows, &HEADER, "valid");
    let problems = column(&rows, &HEADER, "problems");
    for id in &ids[..4] {
        let id = tresen_protocol::textcode::encode_base32(id);
        let i = records.iter().position(|r| *r == id).expect("flagged row");
        assert_eq!(valid[i], "no");
        assert!(problems[i].contains("could not open"), "{}", problems[i]);
        assert_eq!(column(&rows, &HEADER, "name")[i], "", "nothing opened");
    }
    for id in &ids[4..] {
        let id = tresen_protocol::textcode::encode_base32(id);
        let i = records.iter().position(|r| *r == id).unwrap();
        assert_eq!(valid[i], "yes");
        assert_eq!(column(&rows, &HEADER, "location")[i], "Filiale 1");
    }
}

/// Hole 10: area names were cut at 255 bytes, in the middle of a character, and the
/// location was missing from the answer.
#[test]
fn long_names_of_multibyte_characters_and_emoji_arrive_whole() {
    let t0 = at(2026, 11, 10, 18, 0);
    let mut v = venue(t0 - 86_400);
    let location: String = "🍺ä".repeat(60);
    let area: String = "Straßencafé 🌞 "
        .repeat(8)
        .trim()
        .chars()
        .take(120)
        .collect();
    assert_eq!(location.chars().count(), 120);
    assert!(location.len() > 255 && area.len() > 120);
    let loc = v.venue.add_location(&location, t0 - 3600).unwrap();
    let a = v.venue.add_area(loc, &area, None, t0 - 3600).unwrap();
    visit(&mut v, 1, a, t0);
    let o = office(&mut v, "ga-mitte");
    let now = at(2026, 11, 12, 9, 0);
    let req = o
        .desk
        .make_request(
            &tresen_office::desk::RequestSpec {
                venue: &v.venue.fingerprint(),
                areas: &[format!("{location}/{area}")],
                from: t0 - 60,
                until: t0 + 3600,
                case_reference: "AZ 10",
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
    let (csv, json) = (o.dir.join("c.csv"), o.dir.join("c.json"));
    let r = o
        .desk
        .open_answer(req.as_bytes(), &answer, &csv, &json)
        .unwrap();
    assert_eq!((r.records, r.flagged), (1, 0));
    let rows = read_csv(&csv);
    assert_eq!(column(&rows, &HEADER, "location"), [location]);
    assert_eq!(column(&rows, &HEADER, "area"), [area]);
}

/// Hole 11: approving with another key file than the one the request names marked the
/// request answered, although the office could never open that answer.
#[test]
fn approving_with_the_wrong_key_file_changes_nothing() {
    let t0 = at(2026, 11, 10, 18, 0);
    let mut v = venue(t0 - 86_400);
    let ter = v.terrasse;
    visit(&mut v, 1, ter, t0);
    let old_keys = keys(&v);
    let new_file = v.dir.path().join("new-key.age");
    v.venue
        .replace_key(&new_file, &common::pass(), t0 + 7200)
        .unwrap();
    let ter = v.terrasse;
    visit(&mut v, 2, ter, t0 + 9000);
    let o = office(&mut v, "ga-mitte");
    let now = at(2026, 11, 12, 9, 0);
    let req = o
        .desk
        .make_request(
            &tresen_office::desk::RequestSpec {
                venue: &v.venue.fingerprint(),
                areas: &[],
                from: t0 - 60,
                until: t0 + 86_400,
                case_reference: "AZ 11",
                reason: "Grund",
                valid_secs: 86_400,
            },
            now,
        )
        .unwrap();
    let answer = v.dir.path().join("answer");
    let e = v
        .venue
        .approve_request(req.as_bytes(), &old_keys, &answer, &no_progress, now)
        .unwrap_err();
    assert!(matches!(e, Error::KeyMismatch { .. }), "{e}");
    assert!(!answer.exists());
    // Nothing was marked: the right key file answers it now.
    let new_keys =
        tresen_protocol::venue_keys::VenueSecretKeys::read_key_file(&new_file, &common::pass())
            .unwrap();
    let report = v
        .venue
        .approve_request(req.as_bytes(), &new_keys, &answer, &no_progress, now)
        .unwrap();
    assert_eq!((report.records, report.not_opened), (1, 1));
    let r = o
        .desk
        .open_answer(
            req.as_bytes(),
            &answer,
            &o.dir.join("c.csv"),
            &o.dir.join("c.json"),
        )
        .unwrap();
    assert_eq!(r.records, 1);
}

/// Hole 6: a request was accepted whenever the office certificate was signed by the root
/// and not expired; an office dropped from the trust file kept its power for two years.
#[test]
fn a_withdrawn_office_and_an_unlisted_office_are_refused() {
    let t0 = at(2026, 11, 10, 18, 0);
    let mut v = venue(t0 - 86_400);
    let ter = v.terrasse;
    visit(&mut v, 1, ter, t0);
    let auth_dir = v.dir.path().join("authority");
    let now = at(2026, 11, 12, 9, 0);
    let ask = |o: &common::Office, v: &TestVenue, case: &str| {
        o.desk
            .make_request(
                &tresen_office::desk::RequestSpec {
                    venue: &v.venue.fingerprint(),
                    areas: &[],
                    from: t0 - 60,
                    until: t0 + 3600,
                    case_reference: case,
                    reason: "Grund",
                    valid_secs: 86_400,
                },
                now,
            )
            .unwrap()
    };
    // Certified by the root but not in the venue's trust file.
    let unlisted = common::office_unlisted(&v, "ga-neu");
    let e = v
        .venue
        .review_request(ask(&unlisted, &v, "AZ 1").as_bytes(), now)
        .unwrap_err();
    assert!(
        matches!(e, Error::Request(RequestError::OfficeNotListed(ref id)) if id == "ga-neu"),
        "{e}"
    );
    assert_eq!(e.code(), "request-office-not-listed");
    // Listed: accepted. Then the authority withdraws it and the venue imports the next
    // trust file: refused, although its certificate is still valid.
    let o = office(&mut v, "ga-mitte");
    v.venue
        .review_request(ask(&o, &v, "AZ 2").as_bytes(), now)
        .unwrap();
    std::fs::write(
        auth_dir.join(tresen_office::authority::TRUST_FILE),
        v.venue.trust().unwrap().raw,
    )
    .unwrap();
    let (serial, next) =
        tresen_office::authority::withdraw_office(&auth_dir, &v.authority, "ga-mitte", now)
            .unwrap();
    assert!(
        !next.contains("ga-mitte") || {
            let t = tresen_protocol::trust::verify(&next, None).unwrap();
            t.body.offices.is_empty()
        }
    );
    v.venue.update_trust(&next, now).unwrap();
    assert_eq!(v.venue.trust().unwrap().body.serial, serial);
    let e = v
        .venue
        .review_request(ask(&o, &v, "AZ 3").as_bytes(), now)
        .unwrap_err();
    assert!(
        matches!(e, Error::Request(RequestError::OfficeNotListed(_))),
        "{e}"
    );
    assert!(matches!(
        tresen_office::authority::withdraw_office(&auth_dir, &v.authority, "ga-mitte", now),
        Err(tresen_office::authority::AuthorityError::UnknownOffice(_))
    ));
}

/// Hole 12: the office read the answer file twice (signature, then records), so a file
/// swapped in between injected records. Here the path is a FIFO that serves the genuine
/// answer to the first reader and a forged one (sealed to the office, signed by someone
/// else) to a second reader: the office must read only once.
#[cfg(unix)]
#[test]
fn the_answer_is_read_once_so_a_swapped_file_injects_nothing() {
    let t0 = at(2026, 11, 10, 18, 0);
    let mut v = venue(t0 - 86_400);
    let ter = v.terrasse;
    visit(&mut v, 1, ter, t0);
    let o = office(&mut v, "ga-mitte");
    let now = at(2026, 11, 12, 9, 0);
    let fp = v.venue.fingerprint();
    let req = o
        .desk
        .make_request(
            &tresen_office::desk::RequestSpec {
                venue: &fp,
                areas: &[],
                from: t0 - 60,
                until: t0 + 3600,
                case_reference: "AZ 12",
                reason: "Grund",
                valid_secs: 86_400,
            },
            now,
        )
        .unwrap();
    let genuine_path = v.dir.path().join("genuine");
    v.venue
        .approve_request(req.as_bytes(), &keys(&v), &genuine_path, &no_progress, now)
        .unwrap();
    let genuine = std::fs::read(&genuine_path).unwrap();
    // The forgery: the venue's public keys in the header, an injected guest, signed with
    // a key that is not the venue's.
    let id = tresen_protocol::request::parse_id(
        &tresen_protocol::request::parse_own(req.as_bytes(), &o.desk.keys.signing.public_key())
            .unwrap()
            .request_id,
    )
    .unwrap();
    let mut forged = Vec::new();
    let not_the_venue = tresen_protocol::crypto::SigningKey::generate();
    let mut w = AnswerWriter::new(
        &mut forged,
        &AnswerTo {
            request_id: id,
            office_id: "ga-mitte",
            office_key: &o.desk.keys.encryption.public_key(),
            venue: &v.venue.venue_public_keys(),
            records: 1,
            now,
        },
        &not_the_venue,
    )
    .unwrap();
    let injected = GuestCode::create(&contact(666), &v.authority.contact_key()).unwrap();
    w.push(&AnswerEntry::Record(AnswerRecord {
        record_id: Some([6; 16]),
        location: "Filiale 1".into(),
        area: "Terrasse".into(),
        table: Some(6),
        checked_in_at: t0,
        checked_out_at: None,
        method: Method::Fob,
        contact_blob: injected.contact_blob(),
    }))
    .unwrap();
    w.finish().unwrap();

    let fifo = v.dir.path().join("shared-folder-answer");
    assert!(std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap()
        .success());
    let path = fifo.clone();
    std::thread::spawn(move || {
        use std::io::Write;
        for content in [genuine, forged] {
            // Blocks until a reader opens the FIFO; with one pass the second never comes.
            let Ok(mut f) = std::fs::OpenOptions::new().write(true).open(&path) else {
                return;
            };
            let _ = f.write_all(&content);
            drop(f);
            // A second opener is served only after the first reader is done with its copy.
            std::thread::sleep(std::time::Duration::from_secs(1));
        }
    });
    let (csv, json) = (o.dir.join("c.csv"), o.dir.join("c.json"));
    let r = o
        .desk
        .open_answer(req.as_bytes(), &fifo, &csv, &json)
        .unwrap();
    assert_eq!(r.records, 1);
    let names = column(&read_csv(&csv), &HEADER, "name");
    assert_eq!(names, ["Gast Nummer 1"]);
}

/// The office checks every record against its request: a record outside the requested
/// areas or window (here from a venue that answers more than it was asked) is listed and
/// flagged without opening its contact data.
#[test]
fn records_outside_the_request_are_flagged_and_not_opened() {
    let t0 = at(2026, 11, 10, 18, 0);
    let mut v = venue(t0 - 86_400);
    let o = office(&mut v, "ga-mitte");
    let now = at(2026, 11, 12, 9, 0);
    let req = o
        .desk
        .make_request(
            &tresen_office::desk::RequestSpec {
                venue: &v.venue.fingerprint(),
                areas: &["Terrasse".into()],
                from: t0,
                until: t0 + 3600,
                case_reference: "AZ 8b",
                reason: "Grund",
                valid_secs: 86_400,
            },
            now,
        )
        .unwrap();
    let id = tresen_protocol::request::parse_id(
        &tresen_protocol::request::parse_own(req.as_bytes(), &o.desk.keys.signing.public_key())
            .unwrap()
            .request_id,
    )
    .unwrap();
    let venue_keys = keys(&v);
    let mut bytes = Vec::new();
    let mut w = AnswerWriter::new(
        &mut bytes,
        &AnswerTo {
            request_id: id,
            office_id: "ga-mitte",
            office_key: &o.desk.keys.encryption.public_key(),
            venue: &venue_keys.public(),
            records: 3,
            now,
        },
        &venue_keys.sign,
    )
    .unwrap();
    let rec = |i: usize, area: &str, at: i64| {
        AnswerEntry::Record(AnswerRecord {
            record_id: Some([i as u8; 16]),
            location: "Filiale 1".into(),
            area: area.into(),
            table: None,
            checked_in_at: at,
            checked_out_at: Some(at + 1800),
            method: Method::Fob,
            contact_blob: GuestCode::create(&contact(i), &v.authority.contact_key())
                .unwrap()
                .contact_blob(),
        })
    };
    w.push(&rec(1, "Terrasse", t0 + 600)).unwrap();
    w.push(&rec(2, "Bar", t0 + 600)).unwrap();
    w.push(&rec(3, "Terrasse", t0 - 86_400)).unwrap();
    w.finish().unwrap();
    let answer = v.dir.path().join("answer");
    std::fs::write(&answer, &bytes).unwrap();
    let (csv, json) = (o.dir.join("c.csv"), o.dir.join("c.json"));
    let r = o
        .desk
        .open_answer(req.as_bytes(), &answer, &csv, &json)
        .unwrap();
    assert_eq!((r.records, r.out_of_scope, r.flagged), (3, 2, 2));
    let rows = read_csv(&csv);
    assert_eq!(
        column(&rows, &HEADER, "name"),
        ["Gast Nummer 1", "", ""],
        "contact data outside the request stays sealed"
    );
    assert!(column(&rows, &HEADER, "problems")[1].contains("outside the requested"));
}

/// Hole 16 (office): the clear-text contact list was written 0644 and through a dangling
/// symbolic link.
#[cfg(unix)]
#[test]
fn the_contact_list_is_private_and_never_written_through_a_link() {
    use std::os::unix::fs::PermissionsExt;
    let t0 = at(2026, 11, 10, 18, 0);
    let mut v = venue(t0 - 86_400);
    let ter = v.terrasse;
    visit(&mut v, 1, ter, t0);
    let o = office(&mut v, "ga-mitte");
    let now = at(2026, 11, 12, 9, 0);
    let req = o
        .desk
        .make_request(
            &tresen_office::desk::RequestSpec {
                venue: &v.venue.fingerprint(),
                areas: &[],
                from: t0 - 60,
                until: t0 + 3600,
                case_reference: "AZ 16",
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
    // A dangling link where the list would go: refused, nothing created at its target.
    let target = v.dir.path().join("attacker-readable.csv");
    let link = o.dir.join("linked.csv");
    std::os::unix::fs::symlink(&target, &link).unwrap();
    let e = o
        .desk
        .open_answer(req.as_bytes(), &answer, &link, &o.dir.join("l.json"))
        .unwrap_err();
    assert!(matches!(e, DeskError::Invalid(_)), "{e}");
    assert!(!target.exists() && !o.dir.join("l.json").exists());
    let (csv, json) = (o.dir.join("c.csv"), o.dir.join("c.json"));
    o.desk
        .open_answer(req.as_bytes(), &answer, &csv, &json)
        .unwrap();
    for p in [&csv, &json] {
        let mode = std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "{}", p.display());
    }
}

/// A database writer with the venue's public key can make a record of the old format
/// (bound to its id only) for any area and time. Records of version 1 dated after the
/// venue switched to version 2 are flagged, not answered as genuine.
#[test]
fn an_old_format_record_dated_after_the_upgrade_is_flagged() {
    let t0 = at(2026, 11, 10, 18, 0);
    let mut v = venue(t0 - 86_400);
    let ter = v.terrasse;
    visit(&mut v, 1, ter, t0);
    let o = office(&mut v, "ga-mitte");
    // The forgery: a fresh id, a guest's contact blob, sealed the old way (an old record
    // holds an old code's blob).
    let id = [0x42u8; 16];
    let pk = v.venue.venue_public_keys().seal;
    let blob = GuestCode::create_v1(&contact(9), &v.authority.contact_key())
        .unwrap()
        .contact_blob();
    let mut pt = vec![1u8, 1];
    pt.extend_from_slice(&blob);
    let guest = tresen_protocol::crypto::seal(
        &pk,
        tresen_protocol::checkin_record::GUEST_INFO_V1,
        &id,
        &pt,
    )
    .unwrap();
    let table = tresen_protocol::crypto::seal(
        &pk,
        tresen_protocol::checkin_record::TABLE_INFO_V1,
        &id,
        &[1, 0, 4],
    )
    .unwrap();
    v.venue
        .sqlite()
        .execute(
            "INSERT INTO checkins(id, area_id, venue_key_id, checked_in_at, due_at, checked_out_at, last_read_at, guest_seal, table_seal, seal_version)
             VALUES (?1, ?2, 1, ?3, ?3 + 3600, ?3 + 1800, ?3, ?4, ?5, 1)",
            rusqlite::params![&id[..], ter, t0 + 600, guest, table],
        )
        .unwrap();
    let now = at(2026, 11, 12, 9, 0);
    let req = o
        .desk
        .make_request(
            &tresen_office::desk::RequestSpec {
                venue: &v.venue.fingerprint(),
                areas: &[],
                from: t0 - 60,
                until: t0 + 3600,
                case_reference: "AZ 5b",
                reason: "Grund",
                valid_secs: 86_400,
            },
            now,
        )
        .unwrap();
    let answer = v.dir.path().join("answer");
    let r = v
        .venue
        .approve_request(req.as_bytes(), &keys(&v), &answer, &no_progress, now)
        .unwrap();
    assert_eq!((r.records, r.flagged), (1, 1));
    let (csv, json) = (o.dir.join("c.csv"), o.dir.join("c.json"));
    o.desk
        .open_answer(req.as_bytes(), &answer, &csv, &json)
        .unwrap();
    let rows = read_csv(&csv);
    let problems = column(&rows, &HEADER, "problems");
    assert!(
        problems.iter().any(|p| p.contains("made or moved by hand")),
        "{problems:?}"
    );
    assert!(!column(&rows, &HEADER, "name").contains(&"Gast Nummer 9".to_string()));
}
