//! Guest codes survive real scanners (layout swaps, Caps Lock, terminators), fit on a fob,
//! and never turn a misread into another valid code.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
#[path = "common/fob_camera.rs"]
mod fob_camera;

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

/// A code of each version: the compact one made now (`TRG2`), and the first (`TRG1`),
/// which may be printed on fobs already and is still read.
fn codes() -> Vec<(AuthorityKeys, GuestCode, String)> {
    let (auth, v2, t2) = code();
    let v1 = GuestCode::create_v1(&common::contact(7), &auth.contact_key()).unwrap();
    let t1 = v1.to_text();
    assert!(t2.starts_with("TRG2") && t1.starts_with("TRG1"));
    vec![(AuthorityKeys::generate("Amt"), v1, t1), (auth, v2, t2)]
}

#[test]
fn code_roundtrips_and_opens_only_with_the_contact_key() {
    let (auth, code, text) = code();
    let v1 = GuestCode::create_v1(&common::contact(7), &auth.contact_key()).unwrap();
    for (code, text) in [(code, text), (v1.clone(), v1.to_text())] {
        let parsed = GuestCode::parse(&text).unwrap();
        assert_eq!(parsed, code);
        let c = tresen_office::authority::open_guest_code(&auth, &parsed).unwrap();
        assert_eq!(c.name, "Gast Nummer 7");
        assert_eq!(c.phone, "+4930100007");
        let other = AuthorityKeys::generate("Anderes Amt");
        assert!(tresen_office::authority::open_guest_code(&other, &parsed).is_err());
    }
}

#[test]
fn layout_swaps_and_caps_lock_are_recovered() {
    for (_, code, text) in codes() {
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
}

#[test]
fn ten_thousand_single_character_corruptions_are_all_rejected() {
    for (_, _, text) in codes() {
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
}

#[test]
fn dropped_or_added_characters_are_rejected() {
    for (_, _, text) in codes() {
        let n = text.len();
        for pos in [4, n / 3, 2 * n / 3, n - 1] {
            let mut shorter = text.clone();
            shorter.remove(pos);
            assert!(GuestCode::parse(&shorter).is_err());
            let mut longer = text.clone();
            longer.insert(pos, '7');
            assert!(GuestCode::parse(&longer).is_err());
        }
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

fn qr_version(text: &str) -> i16 {
    let qr = tresen_documents::pdf::qr_code(text, qrcode::EcLevel::M).unwrap();
    match qr.version() {
        qrcode::Version::Normal(v) => v,
        other => panic!("unexpected {other:?}"),
    }
}

#[test]
fn a_code_fits_a_fob_qr_code_of_version_9_and_its_length_tells_only_its_size_class() {
    let (_, _, text) = code();
    assert!(text.len() <= 259, "{} characters", text.len());
    assert!(qr_version(&text) <= 9, "QR version {}", qr_version(&text));
    // Version 1 codes, still read, fit version 12.
    let (_, _, v1) = codes().remove(0);
    assert!(qr_version(&v1) <= 12);
    // Contacts of other lengths in the same class give the same code length; only an
    // unusually long contact takes the large class, and it still fits a fob.
    let auth = AuthorityKeys::generate("Amt");
    let mut short = common::contact(1);
    short.name = "Al Bo".into();
    short.street = "Weg 1".into();
    let mut long = common::contact(1);
    long.name = "N".repeat(64);
    long.street = "S".repeat(60);
    long.city = "C".repeat(30);
    long.postcode = "12345".into();
    long.email = "ab@x.de".into();
    let make = |c| GuestCode::create(c, &auth.contact_key()).unwrap().to_text();
    assert_eq!(make(&short).len(), text.len(), "padding hides content");
    let long = make(&long);
    assert!(long.len() > text.len());
    assert!(qr_version(&long) <= 12, "QR version {}", qr_version(&long));
}

/// The realistic contacts of `tests/corpus/contacts.jsonl` (`scripts/contact-corpus.py`).
pub fn corpus() -> Vec<tresen_protocol::contact::ContactData> {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/corpus/contacts.jsonl"
    ))
    .unwrap();
    text.lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

#[test]
fn nearly_every_realistic_contact_takes_the_small_size_and_none_is_refused() {
    use tresen_protocol::contact_pack::{pack, SMALL_LEN};
    let all = corpus();
    assert!(all.len() >= 10_000);
    let (mut accepted, mut small) = (0usize, 0usize);
    for c in &all {
        // Whatever version 1 accepts, version 2 takes too.
        let Ok(clean) = c.validated() else {
            continue;
        };
        accepted += 1;
        let packed = pack(&clean).unwrap_or_else(|e| panic!("{c:?}: {e}"));
        if packed.len() == SMALL_LEN {
            small += 1;
        }
    }
    assert!(accepted >= 9_900, "only {accepted} of the corpus validate");
    let share = small as f64 / accepted as f64;
    eprintln!(
        "{small} of {accepted} contacts ({:.1} %) take the small size",
        share * 100.0
    );
    assert!(share >= 0.95, "{:.1} % small", share * 100.0);
}

/// The same guests' codes of both versions, printed on a 30 mm fob and seen by a scanner's
/// camera at an angle, out of focus and noisy: the compact code, with larger modules,
/// reads at least as often (`cargo bench --bench guest_code` prints the shares).
#[test]
fn compact_codes_read_at_least_as_well_on_a_fob() {
    let auth = AuthorityKeys::generate("Amt");
    let key = auth.contact_key();
    let guests: Vec<_> = corpus().into_iter().take(24).collect();
    let v1: Vec<String> = guests
        .iter()
        .map(|c| GuestCode::create_v1(c, &key).unwrap().to_text())
        .collect();
    let v2: Vec<String> = guests
        .iter()
        .map(|c| GuestCode::create(c, &key).unwrap().to_text())
        .collect();
    for view in &fob_camera::VIEWS {
        let (r1, r2) = (
            fob_camera::read_rate(&v1, view),
            fob_camera::read_rate(&v2, view),
        );
        eprintln!(
            "{}: TRG1 {:.0} %, TRG2 {:.0} %",
            view.name,
            r1 * 100.0,
            r2 * 100.0
        );
        assert!(r2 >= r1, "{}: TRG2 {r2} < TRG1 {r1}", view.name);
    }
}
