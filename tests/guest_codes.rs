//! Guest codes survive real scanners (layout swaps, Caps Lock, terminators), fit on a fob,
//! and never turn a misread into another valid code.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use rand::{Rng, SeedableRng};
use tresen_protocol::authority_keys::AuthorityKeys;
use tresen_protocol::guest_code::GuestCode;
use tresen_protocol::keyboard_layout::{retype, Layout};
use tresen_protocol::textcode::CodeTextError;

fn code() -> (AuthorityKeys, GuestCode, String) {
    let auth = AuthorityKeys::generate("Amt");
    let code = GuestCode::create(&common::contact(7), &auth.contact_key()).unwrap();
    let text = code.to_text();
    (auth, code, text)
}

#[test]
fn code_roundtrips_and_opens_only_with_the_contact_key() {
    let (auth, code, text) = code();
    let parsed = GuestCode::parse(&text).unwrap();
    assert_eq!(parsed, code);
    let c = tresen_office::authority::open_guest_code(&auth, &parsed).unwrap();
    assert_eq!(c.name, "Gast Nummer 7");
    assert_eq!(c.phone, "+4930100007");
    let other = AuthorityKeys::generate("Anderes Amt");
    assert!(tresen_office::authority::open_guest_code(&other, &parsed).is_err());
}

#[test]
fn layout_swaps_and_caps_lock_are_recovered() {
    let (_, code, text) = code();
    for (scanner, pc) in [(Layout::Us, Layout::De), (Layout::De, Layout::Us)] {
        let typed = retype(&text, scanner, pc);
        assert_eq!(
            GuestCode::parse(&typed).unwrap(),
            code,
            "{scanner:?} -> {pc:?}"
        );
        let typed_terminated = format!("{}\n", retype(&text.to_lowercase(), scanner, pc));
        assert_eq!(GuestCode::parse(&typed_terminated).unwrap(), code);
    }
}

#[test]
fn ten_thousand_single_character_corruptions_are_all_rejected() {
    let (_, _, text) = code();
    let chars: Vec<char> = text.chars().collect();
    let pool: Vec<char> = (' '..='~').chain("äöüßÄÖÜ§°".chars()).collect();
    let mut rng = rand::rngs::StdRng::seed_from_u64(0x7e5e);
    let mut tried = 0;
    while tried < 10_000 {
        let pos = rng.random_range(0..chars.len());
        let c = pool[rng.random_range(0..pool.len())];
        if c.eq_ignore_ascii_case(&chars[pos]) {
            continue;
        }
        let mut bad = chars.clone();
        bad[pos] = c;
        let bad: String = bad.into_iter().collect();
        assert!(
            GuestCode::parse(&bad).is_err(),
            "corruption at {pos} to {c:?} was accepted"
        );
        tried += 1;
    }
}

#[test]
fn dropped_or_added_characters_are_rejected() {
    let (_, _, text) = code();
    for pos in [4, 100, 300, text.len() - 1] {
        let mut shorter = text.clone();
        shorter.remove(pos);
        assert!(GuestCode::parse(&shorter).is_err());
        let mut longer = text.clone();
        longer.insert(pos, '7');
        assert!(GuestCode::parse(&longer).is_err());
    }
}

#[test]
fn foreign_codes_get_their_own_reason() {
    assert_eq!(
        GuestCode::parse("https://example.org/checkin?id=1").unwrap_err(),
        CodeTextError::Foreign.into()
    );
    assert_eq!(
        GuestCode::parse("4006381333931").unwrap_err(),
        CodeTextError::Foreign.into()
    );
    assert_eq!(
        GuestCode::parse("\r\n").unwrap_err(),
        CodeTextError::Empty.into()
    );
}

#[test]
fn fits_a_fob_qr_code_of_version_12_or_less_at_medium_correction() {
    // The longest contact data that validates still gives the same code length.
    let (_, _, text) = code();
    let qr =
        qrcode::QrCode::with_error_correction_level(text.as_bytes(), qrcode::EcLevel::M).unwrap();
    match qr.version() {
        qrcode::Version::Normal(v) => assert!(v <= 12, "QR version {v}"),
        other => panic!("unexpected {other:?}"),
    }
    let auth = AuthorityKeys::generate("Amt");
    let mut long = common::contact(1);
    long.name = "N".repeat(64);
    long.street = "S".repeat(60);
    long.city = "C".repeat(30);
    long.postcode = "12345".into();
    long.email = "ab@x.de".into();
    let t2 = GuestCode::create(&long, &auth.contact_key())
        .unwrap()
        .to_text();
    assert_eq!(
        t2.len(),
        text.len(),
        "all codes have one length: padding hides content"
    );
}
