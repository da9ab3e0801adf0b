//! Scanners over real pseudo-terminals (the simulator writes the way serial scanners do),
//! recorded HID reports through the USB reader's decoders, and scan-to-assign.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::{Duration, Instant};

use common::{at, contact, venue};
use tresen_devices::scanner::framing::{FramingConfig, Terminator};
use tresen_devices::scanner::hid::{KeyboardDecoder, PosDecoder};
use tresen_devices::scanner::serial::{SerialConfig, SerialScanner};
use tresen_devices::scanner::sim::{SerialSim, SimConfig};
use tresen_devices::scanner::{DeviceState, Scan, ScannerEvent, Scanners, Symbology};
use tresen_protocol::checkin_record::Method;
use tresen_protocol::guest_code::GuestCode;
use tresen_protocol::keyboard_layout::Layout;
use tresen_protocol::textcode::CodeTextError;
use tresen_venue::scan_session::{ScanSession, SessionOutcome};
use tresen_venue::{Refusal, ScanOutcome};

const TABLE_CODE: &str = "TRV1C82C7M5VPDB8A000003G00Q008LVMGQM";

fn next_scan(s: &mut Scanners, within: Duration) -> Scan {
    let end = Instant::now() + within;
    while Instant::now() < end {
        if let Some(ScannerEvent::Scan(scan)) = s.next_event(Duration::from_millis(50)) {
            return scan;
        }
    }
    panic!("no scan within {within:?}");
}

fn wait_state(s: &mut Scanners, want: fn(&DeviceState) -> bool, within: Duration) -> Duration {
    let start = Instant::now();
    while start.elapsed() < within {
        if let Some(ScannerEvent::State { state, .. }) = s.next_event(Duration::from_millis(20)) {
            if want(&state) {
                return start.elapsed();
            }
        }
    }
    panic!("state not reached within {within:?}");
}

fn connected(s: &DeviceState) -> bool {
    matches!(s, DeviceState::Connected)
}

fn reader(path: &std::path::Path, baud: u32, framing: FramingConfig) -> Scanners {
    let mut s = Scanners::new();
    let mut cfg = SerialConfig::new(path, baud);
    cfg.framing = framing;
    s.add(Box::new(SerialScanner::new(cfg)));
    wait_state(&mut s, connected, Duration::from_secs(3));
    s
}

fn codes(n: usize) -> Vec<String> {
    let auth = tresen_protocol::authority_keys::AuthorityKeys::generate("Amt");
    (0..n)
        .map(|i| {
            GuestCode::create(&contact(i), &auth.contact_key())
                .unwrap()
                .to_text()
        })
        .collect()
}

#[test]
fn every_terminator_mode_over_a_pseudo_terminal() {
    let cs = codes(2);
    for (term, bytes) in [
        (Terminator::Cr, b"\r".to_vec()),
        (Terminator::Lf, b"\n".to_vec()),
        (Terminator::CrLf, b"\r\n".to_vec()),
        (Terminator::Pause(Duration::from_millis(40)), Vec::new()),
    ] {
        let mut sim = SerialSim::new(None).unwrap();
        let mut s = reader(
            sim.path(),
            115_200,
            FramingConfig {
                terminator: term,
                ..Default::default()
            },
        );
        let cfg = SimConfig {
            baud: 115_200,
            terminator: bytes,
            ..Default::default()
        };
        for c in &cs {
            sim.send(c, &cfg).unwrap();
            if matches!(term, Terminator::Pause(_)) {
                std::thread::sleep(Duration::from_millis(80));
            }
            assert_eq!(
                &next_scan(&mut s, Duration::from_secs(2)).text,
                c,
                "{term:?}"
            );
        }
    }
}

#[test]
fn aim_prefix_suffix_noise_split_and_merged_reads() {
    let cs = codes(3);
    let mut sim = SerialSim::new(None).unwrap();
    let mut s = reader(
        sim.path(),
        115_200,
        FramingConfig {
            prefix: "#".into(),
            suffix: "$".into(),
            ..Default::default()
        },
    );
    let cfg = SimConfig {
        baud: 115_200,
        aim: Some("]Q1".into()),
        prefix: "#".into(),
        suffix: "$".into(),
        chunk: 7,
        noise: vec![0x00, 0xFF, 0xF0, 0x11],
        ..Default::default()
    };
    sim.send(&cs[0], &cfg).unwrap();
    let got = next_scan(&mut s, Duration::from_secs(2));
    assert_eq!(got.text, cs[0]);
    assert_eq!(got.symbology, Some(Symbology::Qr));
    // Two scans in one write, and a third split in the middle of its AIM identifier.
    let merged = format!("]Q1#{}$\r]Q1#{}$\r]Q", cs[1], cs[2]);
    sim.send_raw(merged.as_bytes(), 115_200, 0).unwrap();
    assert_eq!(next_scan(&mut s, Duration::from_secs(2)).text, cs[1]);
    assert_eq!(next_scan(&mut s, Duration::from_secs(2)).text, cs[2]);
    sim.send_raw(format!("1#{}$\r", cs[0]).as_bytes(), 115_200, 3)
        .unwrap();
    assert_eq!(next_scan(&mut s, Duration::from_secs(2)).text, cs[0]);
}

#[test]
fn pacing_at_9600_and_115200_baud() {
    let cs = codes(1);
    for baud in [9600u32, 115_200] {
        let mut sim = SerialSim::new(None).unwrap();
        let mut s = reader(sim.path(), baud, FramingConfig::default());
        let t = sim
            .send(
                &cs[0],
                &SimConfig {
                    baud,
                    ..Default::default()
                },
            )
            .unwrap();
        let wire = t.last_byte - t.first_byte;
        let expected = Duration::from_secs_f64((cs[0].len() + 1) as f64 * 10.0 / f64::from(baud));
        assert!(
            wire >= expected.mul_f64(0.9),
            "{baud}: {wire:?} < {expected:?}"
        );
        assert!(
            wire <= expected.mul_f64(1.5) + Duration::from_millis(5),
            "{baud}: {wire:?}"
        );
        assert_eq!(next_scan(&mut s, Duration::from_secs(2)).text, cs[0]);
    }
}

#[test]
fn an_unplugged_scanner_resumes_within_two_seconds() {
    let cs = codes(2);
    let dir = tempfile::tempdir().unwrap();
    let link = dir.path().join("by-id-scanner");
    let mut sim = SerialSim::new(Some(&link)).unwrap();
    let mut s = reader(&link, 115_200, FramingConfig::default());
    let cfg = SimConfig {
        baud: 115_200,
        ..Default::default()
    };
    sim.send(&cs[0], &cfg).unwrap();
    assert_eq!(next_scan(&mut s, Duration::from_secs(2)).text, cs[0]);
    sim.unplug();
    wait_state(
        &mut s,
        |st| matches!(st, DeviceState::Waiting { .. }),
        Duration::from_secs(2),
    );
    let mut sim = SerialSim::new(Some(&link)).unwrap();
    let back = wait_state(&mut s, connected, Duration::from_secs(2));
    assert!(back < Duration::from_secs(2));
    sim.send(&cs[1], &cfg).unwrap();
    assert_eq!(next_scan(&mut s, Duration::from_secs(2)).text, cs[1]);
    assert_eq!(s.states().values().next(), Some(&DeviceState::Connected));
}

#[test]
fn foreign_and_corrupted_codes_are_refused_without_stopping_the_reader() {
    let t0 = at(2026, 11, 20, 12, 0);
    let mut v = venue(t0);
    let ter = v.terrasse;
    let good = GuestCode::create(&contact(1), &v.authority.contact_key())
        .unwrap()
        .to_text();
    let mut corrupted = good.clone().into_bytes();
    corrupted[100] = if corrupted[100] == b'5' { b'6' } else { b'5' };
    let corrupted = String::from_utf8(corrupted).unwrap();
    let mut sim = SerialSim::new(None).unwrap();
    let mut s = reader(sim.path(), 115_200, FramingConfig::default());
    let cfg = SimConfig {
        baud: 115_200,
        ..Default::default()
    };
    let mut counter = ScanSession::new(Some(ter));
    let mut outcomes = Vec::new();
    for text in [
        "https://example.org/menu",
        corrupted.as_str(),
        good.as_str(),
    ] {
        sim.send(text, &cfg).unwrap();
        let scan = next_scan(&mut s, Duration::from_secs(2));
        outcomes.push(
            counter
                .handle(&mut v.venue, &scan.text, Method::Fob, t0)
                .unwrap(),
        );
    }
    assert_eq!(
        outcomes[0],
        SessionOutcome::Refused(Refusal::Code(CodeTextError::Foreign))
    );
    assert_eq!(
        outcomes[1],
        SessionOutcome::Refused(Refusal::Code(CodeTextError::Misread))
    );
    assert!(matches!(
        outcomes[2],
        SessionOutcome::Guest(ScanOutcome::CheckedIn { .. })
    ));
}

fn reports(file: &str) -> Vec<Vec<u8>> {
    let path = format!("{}/tests/fixtures/hid/{file}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(|l| {
            l.split_whitespace()
                .map(|b| u8::from_str_radix(b, 16).unwrap())
                .collect()
        })
        .collect()
}

fn type_through(decoder: &mut KeyboardDecoder, reports: &[Vec<u8>]) -> Vec<String> {
    reports.iter().filter_map(|r| decoder.feed(r)).collect()
}

#[test]
fn recorded_keyboard_reports_of_us_and_german_scanners() {
    let us = reports("us-table-code.hex");
    let de = reports("de-table-code.hex");
    assert_eq!(
        type_through(&mut KeyboardDecoder::new(Layout::Us), &us),
        vec![TABLE_CODE.to_string()]
    );
    assert_eq!(
        type_through(&mut KeyboardDecoder::new(Layout::De), &de),
        vec![format!("{TABLE_CODE}Yz-")]
    );
    // Read with the wrong layout, the layout-dependent keys come out wrong; the code
    // characters themselves are the same on both layouts.
    assert_eq!(
        type_through(&mut KeyboardDecoder::new(Layout::Us), &de),
        vec![format!("{TABLE_CODE}Zy/")]
    );
    let parsed = tresen_protocol::venue_code::VenueCode::parse(TABLE_CODE).unwrap();
    assert_eq!((parsed.area_id, parsed.table), (7, 3));
}

#[test]
fn a_guest_code_typed_by_keyboard_scanners_of_both_layouts() {
    let code = codes(1).remove(0);
    for layout in Layout::ALL {
        let reps: Vec<Vec<u8>> = tresen_devices::scanner::hid::keyboard_reports(&code, layout)
            .into_iter()
            .map(|r| r.to_vec())
            .collect();
        let got = type_through(&mut KeyboardDecoder::new(layout), &reps);
        assert_eq!(got, vec![code.clone()]);
        assert!(GuestCode::parse(&got[0]).is_ok());
    }
}

#[test]
fn recorded_point_of_sale_reports_over_several_reports() {
    let want = std::fs::read_to_string(format!(
        "{}/tests/fixtures/hid/pos-guest-code.txt",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap();
    let mut d = PosDecoder::new();
    let mut got = Vec::new();
    for r in reports("pos-guest-code.hex") {
        if let Some(scan) = d.feed(&r).unwrap() {
            got.push(scan);
        }
    }
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].0, want.trim());
    assert_eq!(got[0].1, Some(Symbology::Qr));
    assert!(GuestCode::parse(&got[0].0).is_ok());
    // A report that lies about its length is refused and the decoder starts over.
    let mut bad = reports("pos-guest-code.hex")[0].clone();
    bad[1] = 60;
    assert!(d.feed(&bad).is_err());
    assert!(d.feed(&bad[..20]).is_err());
}

#[test]
fn scan_to_assign_tables_and_switch_areas() {
    let t0 = at(2026, 11, 20, 12, 0);
    let mut v = venue(t0);
    let (ter, bar) = (v.terrasse, v.bar);
    let table3 = v.venue.table_code(ter, 3).unwrap();
    let bar_code = v.venue.area_code(bar).unwrap();
    let ter_code = v.venue.area_code(ter).unwrap();
    let g1 = GuestCode::create(&contact(1), &v.authority.contact_key())
        .unwrap()
        .to_text();
    let g2 = GuestCode::create(&contact(2), &v.authority.contact_key())
        .unwrap()
        .to_text();
    let mut c = ScanSession::new(None);
    let k = &mut v.venue;
    assert_eq!(
        c.handle(k, &g1, Method::Fob, t0).unwrap(),
        SessionOutcome::Refused(Refusal::NoAreaSelected)
    );
    assert_eq!(
        c.handle(k, &table3, Method::Fob, t0).unwrap(),
        SessionOutcome::Refused(Refusal::NoGuestForTable)
    );
    assert_eq!(
        c.handle(k, &ter_code, Method::Fob, t0).unwrap(),
        SessionOutcome::AreaSelected { area: ter }
    );
    let SessionOutcome::Guest(ScanOutcome::CheckedIn { record, .. }) =
        c.handle(k, &g1, Method::Fob, t0).unwrap()
    else {
        panic!()
    };
    assert_eq!(
        c.handle(k, &table3, Method::Fob, t0 + 5).unwrap(),
        SessionOutcome::TableAssigned {
            record,
            area: ter,
            table: 3
        }
    );
    let keys =
        tresen_protocol::venue_keys::VenueSecretKeys::read_key_file(&v.key_file, &common::pass())
            .unwrap();
    assert_eq!(k.open_checkin(record, &keys).unwrap().table, Some(3));
    // The table card only counts right after a check-in.
    assert_eq!(
        c.handle(k, &table3, Method::Fob, t0 + 6).unwrap(),
        SessionOutcome::Refused(Refusal::NoGuestForTable)
    );
    // Switch to the bar; a bar guest cannot take a terrace table.
    assert_eq!(
        c.handle(k, &bar_code, Method::Fob, t0 + 7).unwrap(),
        SessionOutcome::AreaSelected { area: bar }
    );
    assert!(matches!(
        c.handle(k, &g2, Method::Fob, t0 + 8).unwrap(),
        SessionOutcome::Guest(ScanOutcome::CheckedIn { .. })
    ));
    assert_eq!(
        c.handle(k, &table3, Method::Fob, t0 + 9).unwrap(),
        SessionOutcome::Refused(Refusal::TableInOtherArea)
    );
    // Too late for a table: more than two minutes after the check-in.
    assert!(matches!(
        c.handle(k, &ter_code, Method::Fob, t0 + 10).unwrap(),
        SessionOutcome::AreaSelected { .. }
    ));
    let g3 = GuestCode::create(&contact(3), &v.authority.contact_key())
        .unwrap()
        .to_text();
    assert!(matches!(
        c.handle(k, &g3, Method::Fob, t0 + 11).unwrap(),
        SessionOutcome::Guest(_)
    ));
    assert_eq!(
        c.handle(k, &table3, Method::Fob, t0 + 11 + 121).unwrap(),
        SessionOutcome::Refused(Refusal::NoGuestForTable)
    );
}
