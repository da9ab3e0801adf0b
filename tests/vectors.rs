//! The wire formats' test vectors (tests/vectors/v1.json, and v2.json for the formats of
//! version 2), which docs/protocol.md quotes, and the RFC 9180 vector of the HPKE suite
//! the formats use.
//!
//! `cargo test --test vectors -- --ignored generate_v2` writes a fresh v2.json from the
//! keys and codes of v1.json. v1.json is kept as recorded: its check-in record is of
//! version 1, which is still read. The normal tests check both files against the code
//! and the documentation.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;

use serde_json::{json, Value};
use tresen_protocol::checkin_record::{self, Method};
use tresen_protocol::contact::ContactData;
use tresen_protocol::crypto::{self, SealSecretKey, SigningKey};
use tresen_protocol::encoding;
use tresen_protocol::guest_code::{self, GuestCode};
use tresen_protocol::key_file::Passphrase;
use tresen_protocol::textcode::{self, Kind};
use tresen_protocol::trust;
use tresen_protocol::venue_code::VenueCode;
use tresen_protocol::venue_keys::VenueSecretKeys;
use tresen_venue::local_secret::LocalSecret;

const FILE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/vectors/v1.json");
const FILE_V2: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/vectors/v2.json");
const FILE_TRG2: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/vectors/trg2.json");
/// The binding of the version 2 check-in vector.
const AREA_ID: u32 = 7;
const CHECKED_IN_AT: i64 = 1_795_000_000;
const DOC: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/docs/protocol.md");

fn hex(b: &[u8]) -> String {
    encoding::hex(b)
}

fn unhex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

fn seed(label: &str) -> [u8; 32] {
    crypto::sha256(&[b"tresen test vector ", label.as_bytes()])
}

fn vectors() -> Value {
    serde_json::from_str(&std::fs::read_to_string(FILE).expect("tests/vectors/v1.json")).unwrap()
}

fn vectors_v2() -> Value {
    serde_json::from_str(&std::fs::read_to_string(FILE_V2).expect("tests/vectors/v2.json")).unwrap()
}

fn vector_venue(v: &Value) -> VenueSecretKeys {
    VenueSecretKeys {
        seal: SealSecretKey::from_bytes(&unhex(s(v, "venue_keys.x25519_secret_hex"))).unwrap(),
        sign: SigningKey::from_bytes(&unhex(s(v, "venue_keys.ed25519_secret_hex"))).unwrap(),
    }
}

fn binding(
    record: &[u8],
    public: &tresen_protocol::venue_keys::VenuePublicKeys,
) -> checkin_record::Binding {
    checkin_record::Binding {
        record_id: record.try_into().unwrap(),
        venue_fingerprint: public.fingerprint(),
        area_id: AREA_ID,
        checked_in_at: CHECKED_IN_AT,
    }
}

#[test]
#[ignore = "writes tests/vectors/v2.json"]
fn generate_v2() {
    let v = vectors();
    let venue = vector_venue(&v);
    let public = venue.public();
    let code = GuestCode::parse(s(&v, "guest_code.text")).unwrap();
    let record = seed("record id")[..16].to_vec();
    let b = binding(&record, &public);
    let guest_seal =
        checkin_record::seal_guest(&public.seal, &b, Method::Fob, &code.contact_blob()).unwrap();
    let table_seal = checkin_record::seal_table(&public.seal, &b, Some(12)).unwrap();
    let out = json!({
        "checkin": {
            "record_id_hex": hex(&record),
            "venue_fingerprint_hex": hex(&public.fingerprint()),
            "area_id": AREA_ID,
            "checked_in_at": CHECKED_IN_AT,
            "aad_hex": hex(&b.aad()),
            "method": "fob", "table": 12,
            "contact_blob_hex": hex(&code.contact_blob()),
            "guest_seal_hex": hex(&guest_seal),
            "table_seal_hex": hex(&table_seal),
        },
    });
    std::fs::write(FILE_V2, serde_json::to_string_pretty(&out).unwrap() + "\n").unwrap();
}

fn vectors_trg2() -> Value {
    serde_json::from_str(&std::fs::read_to_string(FILE_TRG2).expect("tests/vectors/trg2.json"))
        .unwrap()
}

/// `cargo test --test vectors -- --ignored generate_trg2` writes a fresh trg2.json: a
/// compact guest code (version 2) of the contact of v1.json, sealed to its contact key.
#[test]
#[ignore = "writes tests/vectors/trg2.json"]
fn generate_trg2() {
    let v = vectors();
    let pk: [u8; 32] = unhex(s(&v, "guest_code.contact_public_hex"))
        .try_into()
        .unwrap();
    let contact: ContactData = serde_json::from_value(v["guest_code"]["contact"].clone()).unwrap();
    let code = GuestCode::create(&contact, &guest_code::ContactKey::new(pk)).unwrap();
    let packed = tresen_protocol::contact_pack::pack(&contact.validated().unwrap()).unwrap();
    let out = json!({
        "guest_code_v2": {
            "key_id_hex": hex(&code.key_id),
            "code_id_hex": hex(&code.code_id),
            "enc_hex": hex(&code.sealed[..32]),
            "contact_packed_hex": hex(&packed),
            "contact_blob_hex": hex(&code.contact_blob()),
            "text": code.to_text(),
        },
    });
    std::fs::write(
        FILE_TRG2,
        serde_json::to_string_pretty(&out).unwrap() + "\n",
    )
    .unwrap();
}

#[test]
fn compact_guest_code_vector() {
    let v = vectors();
    let t = vectors_trg2();
    let sk = SealSecretKey::from_bytes(&unhex(s(&v, "guest_code.contact_secret_hex"))).unwrap();
    let code = GuestCode::parse(s(&t, "guest_code_v2.text")).unwrap();
    assert_eq!(code.version, 2);
    assert_eq!(hex(&code.key_id), s(&t, "guest_code_v2.key_id_hex"));
    assert_eq!(hex(&code.sealed[..32]), s(&t, "guest_code_v2.enc_hex"));
    // The code id is derived from the encapsulated key.
    let id = crypto::sha256(&[b"tresen/guest-code-id/v2", &code.sealed[..32]]);
    assert_eq!(hex(&id[..12]), s(&t, "guest_code_v2.code_id_hex"));
    assert_eq!(hex(&code.code_id), s(&t, "guest_code_v2.code_id_hex"));
    assert_eq!(
        hex(&code.contact_blob()),
        s(&t, "guest_code_v2.contact_blob_hex")
    );
    let c = guest_code::open_contact_blob(&code.contact_blob(), &sk).unwrap();
    let want: ContactData = serde_json::from_value(v["guest_code"]["contact"].clone()).unwrap();
    assert_eq!(c, want);
    // The packed plaintext is what the contact packs to, byte for byte.
    let packed = tresen_protocol::contact_pack::pack(&want.validated().unwrap()).unwrap();
    assert_eq!(hex(&packed), s(&t, "guest_code_v2.contact_packed_hex"));
    let mut aad = b"TRG2".to_vec();
    aad.extend_from_slice(&code.key_id);
    let opened = sk
        .open(guest_code::HPKE_INFO_V2, &aad, &code.sealed)
        .unwrap();
    assert_eq!(hex(&opened), s(&t, "guest_code_v2.contact_packed_hex"));
    assert_eq!(s(&t, "guest_code_v2.text").len(), 259);
}

fn s<'a>(v: &'a Value, path: &str) -> &'a str {
    path.split('.')
        .fold(v, |v, k| &v[k])
        .as_str()
        .unwrap_or_else(|| panic!("{path} missing"))
}

#[test]
fn code_text_and_venue_code_vectors() {
    let v = vectors();
    let f = textcode::unframe(s(&v, "code_text.text")).unwrap();
    assert_eq!(f.kind, Kind::Venue);
    assert_eq!(hex(&f.body), s(&v, "code_text.body_hex"));
    assert_eq!(
        textcode::frame(Kind::Venue, 1, &f.body),
        s(&v, "code_text.text")
    );
    let vc = VenueCode::parse(s(&v, "venue_code.text")).unwrap();
    assert_eq!(hex(&vc.venue_tag), s(&v, "venue_code.venue_tag_hex"));
    assert_eq!((vc.area_id, vc.table, vc.generation), (7, 3, 2));
    assert_eq!(vc.to_text(), s(&v, "venue_code.text"));
}

#[test]
fn guest_code_vector() {
    let v = vectors();
    let sk = SealSecretKey::from_bytes(&unhex(s(&v, "guest_code.contact_secret_hex"))).unwrap();
    assert_eq!(
        hex(&sk.public_key()),
        s(&v, "guest_code.contact_public_hex")
    );
    let pk: [u8; 32] = unhex(s(&v, "guest_code.contact_public_hex"))
        .try_into()
        .unwrap();
    assert_eq!(
        hex(&guest_code::key_id(&pk)),
        s(&v, "guest_code.key_id_hex")
    );
    let code = GuestCode::parse(s(&v, "guest_code.text")).unwrap();
    assert_eq!(hex(&code.key_id), s(&v, "guest_code.key_id_hex"));
    assert_eq!(hex(&code.code_id), s(&v, "guest_code.code_id_hex"));
    let c = guest_code::open_contact_blob(&code.contact_blob(), &sk).unwrap();
    let want: ContactData = serde_json::from_value(v["guest_code"]["contact"].clone()).unwrap();
    assert_eq!(c, want);
    assert_eq!(
        hex(&c.to_padded().unwrap()),
        s(&v, "guest_code.contact_padded_hex")
    );
}

#[test]
fn venue_keys_check_in_and_pseudonym_vectors() {
    let v = vectors();
    let seal = SealSecretKey::from_bytes(&unhex(s(&v, "venue_keys.x25519_secret_hex"))).unwrap();
    let sign = SigningKey::from_bytes(&unhex(s(&v, "venue_keys.ed25519_secret_hex"))).unwrap();
    let keys = VenueSecretKeys { seal, sign };
    let public = keys.public();
    assert_eq!(hex(&public.seal), s(&v, "venue_keys.seal_public_hex"));
    assert_eq!(hex(&public.sign), s(&v, "venue_keys.sign_public_hex"));
    assert_eq!(
        hex(&public.fingerprint()),
        s(&v, "venue_keys.fingerprint_hex")
    );
    assert_eq!(public.fingerprint_text(), s(&v, "venue_keys.fingerprint"));
    // The version 1 record (bound to the record id only) still opens.
    let record = unhex(s(&v, "checkin.record_id_hex"));
    let mut b = binding(&record, &public);
    b.area_id = 0;
    b.checked_in_at = 0;
    let opened = checkin_record::open(
        &keys.seal,
        1,
        &b,
        &unhex(s(&v, "checkin.guest_seal_hex")),
        &unhex(s(&v, "checkin.table_seal_hex")),
    )
    .unwrap();
    assert_eq!(opened.method, Method::Fob);
    assert_eq!(opened.table, Some(12));
    assert_eq!(hex(&opened.contact_blob), s(&v, "checkin.contact_blob_hex"));
    let secret: [u8; 32] = unhex(s(&v, "pseudonym.secret_hex")).try_into().unwrap();
    let day =
        chrono::NaiveDate::parse_from_str(s(&v, "pseudonym.business_day"), "%Y-%m-%d").unwrap();
    let p = LocalSecret::from_bytes(secret).pseudonym(&unhex(s(&v, "pseudonym.code_id_hex")), day);
    assert_eq!(hex(&p), s(&v, "pseudonym.pseudonym_hex"));
}

#[test]
fn checkin_record_v2_vector() {
    let v = vectors_v2();
    let keys = vector_venue(&vectors());
    let public = keys.public();
    let record = unhex(s(&v, "checkin.record_id_hex"));
    let b = binding(&record, &public);
    assert_eq!(
        hex(&public.fingerprint()),
        s(&v, "checkin.venue_fingerprint_hex")
    );
    assert_eq!(hex(&b.aad()), s(&v, "checkin.aad_hex"));
    let (g, t) = (
        unhex(s(&v, "checkin.guest_seal_hex")),
        unhex(s(&v, "checkin.table_seal_hex")),
    );
    let opened = checkin_record::open(&keys.seal, 2, &b, &g, &t).unwrap();
    assert_eq!(opened.method, Method::Fob);
    assert_eq!(opened.table, Some(12));
    assert_eq!(hex(&opened.contact_blob), s(&v, "checkin.contact_blob_hex"));
    // A row moved to another area or time, or read as version 1, does not open.
    for wrong in [
        checkin_record::Binding { area_id: 8, ..b },
        checkin_record::Binding {
            checked_in_at: CHECKED_IN_AT - 3600,
            ..b
        },
        checkin_record::Binding {
            venue_fingerprint: [0; 32],
            ..b
        },
    ] {
        assert!(checkin_record::open(&keys.seal, 2, &wrong, &g, &t).is_err());
    }
    assert!(checkin_record::open(&keys.seal, 1, &b, &g, &t).is_err());
}

#[test]
fn trust_and_key_file_vectors() {
    let v = vectors();
    let t = trust::verify(s(&v, "trust_file.text"), None).unwrap();
    assert_eq!(hex(&t.root_key), s(&v, "trust_file.root_public_hex"));
    assert_eq!(t.root_fingerprint(), s(&v, "trust_file.root_fingerprint"));
    assert_eq!(hex(&t.contact_key.key_id), s(&v, "guest_code.key_id_hex"));
    let keys = VenueSecretKeys::decrypt(
        &Passphrase::new(s(&v, "key_file.passphrase")),
        s(&v, "key_file.text").as_bytes(),
    )
    .unwrap();
    assert_eq!(
        keys.public().fingerprint_text(),
        s(&v, "key_file.fingerprint")
    );
}

#[test]
fn rfc9180_a_2_1_base_x25519_sha256_chacha20poly1305() {
    let sk = SealSecretKey::from_bytes(&unhex(
        "8057991eef8f1f1af18f4a9491d16a1ce333f695d4db8e38da75975c4478e0fb",
    ))
    .unwrap();
    assert_eq!(
        hex(&sk.public_key()),
        "4310ee97d88cc1f088a5576c77ab0cf5c3ac797f3d95139c6c84b5429c59662a"
    );
    let mut sealed = unhex("1afa08d3dec047a643885163f1180476fa7ddb54c6a8029ea33f95796bf2ac4a");
    sealed.extend(unhex(
        "1c5250d8034ec2b784ba2cfd69dbdb8af406cfe3ff938e131f0def8c8b60b4db21993c62ce81883d2dd1b51a28",
    ));
    let pt = sk
        .open(
            &unhex("4f6465206f6e2061204772656369616e2055726e"),
            &unhex("436f756e742d30"),
            &sealed,
        )
        .unwrap();
    assert_eq!(&pt[..], b"Beauty is truth, truth beauty");
}

#[test]
fn protocol_doc_quotes_every_vector() {
    let doc = std::fs::read_to_string(DOC).expect("docs/protocol.md");
    let flat: String = doc.split_whitespace().collect();
    let mut strings = BTreeMap::new();
    fn walk(path: String, v: &Value, out: &mut BTreeMap<String, String>) {
        match v {
            Value::Object(m) => m
                .iter()
                .for_each(|(k, v)| walk(format!("{path}.{k}"), v, out)),
            Value::String(s) => {
                out.insert(path, s.clone());
            }
            Value::Number(n) => {
                out.insert(path, n.to_string());
            }
            _ => {}
        }
    }
    walk("v1".into(), &vectors(), &mut strings);
    walk("v2".into(), &vectors_v2(), &mut strings);
    walk("trg2".into(), &vectors_trg2(), &mut strings);
    for (path, value) in strings {
        let needle: String = value.split_whitespace().collect();
        assert!(
            flat.contains(&needle),
            "docs/protocol.md does not quote {path}"
        );
    }
}

#[test]
fn protocol_doc_names_the_protocol_version_the_code_implements() {
    let doc = std::fs::read_to_string(DOC).expect("docs/protocol.md");
    let line = format!(
        "Protocol version {} (`tresen_protocol::PROTOCOL_VERSION`",
        tresen_protocol::PROTOCOL_VERSION
    );
    assert!(doc.contains(&line), "docs/protocol.md does not say: {line}");
}
