//! Test vectors of the request protocol, quoted by docs/protocol.md: an office
//! certificate, a signed request, and an answer (tests/vectors/requests-v2.json), and the
//! version 1 answer that is still read (tests/vectors/requests-v1.json).
//!
//! `cargo test --test request_vectors -- --ignored generate` writes a fresh version 2 file.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use serde_json::{json, Value};
use tresen_protocol::answer::{
    AnswerEntry, AnswerReader, AnswerRecord, AnswerTo, AnswerWriter, Version,
};
use tresen_protocol::certificate::{CertBody, Certificate};
use tresen_protocol::checkin_record::Method;
use tresen_protocol::contact::ContactData;
use tresen_protocol::crypto::{self, SealSecretKey, SigningKey};
use tresen_protocol::encoding::b64;
use tresen_protocol::guest_code::{ContactKey, GuestCode};
use tresen_protocol::office_keys::OfficeKeys;
use tresen_protocol::request::{self, RequestBody};
use tresen_protocol::venue_keys::VenueSecretKeys;

const FILE: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/vectors/requests-v2.json"
);
const FILE_V1: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/vectors/requests-v1.json"
);
const DOC: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/docs/protocol.md");
const ISSUED: i64 = 1_795_000_000;

fn seed(label: &str) -> [u8; 32] {
    crypto::sha256(&[b"tresen test vector ", label.as_bytes()])
}

fn unhex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

fn office() -> OfficeKeys {
    OfficeKeys {
        office_id: "ga-beispiel".into(),
        signing: SigningKey::from_bytes(&seed("office ed25519")).unwrap(),
        encryption: SealSecretKey::from_bytes(&seed("office x25519")).unwrap(),
    }
}

fn venue() -> VenueSecretKeys {
    VenueSecretKeys {
        seal: SealSecretKey::from_bytes(&seed("venue x25519")).unwrap(),
        sign: SigningKey::from_bytes(&seed("venue ed25519")).unwrap(),
    }
}

fn vectors() -> Value {
    serde_json::from_str(&std::fs::read_to_string(FILE).unwrap()).unwrap()
}

fn vectors_v1() -> Value {
    serde_json::from_str(&std::fs::read_to_string(FILE_V1).unwrap()).unwrap()
}

/// The vector authority's contact key (tests/vectors/v1.json, guest_code).
fn contact_secret() -> SealSecretKey {
    SealSecretKey::from_bytes(&seed("contact key")).unwrap()
}

fn contact() -> ContactData {
    ContactData {
        name: "Erika Mustermann".into(),
        street: "Heidestraße 17".into(),
        postcode: "51147".into(),
        city: "Köln".into(),
        phone: "+4922112345678".into(),
        email: "erika@example.org".into(),
    }
}

fn records(answer: &[u8], o: &OfficeKeys, id: &[u8; 16], venue: &str) -> Vec<AnswerEntry> {
    let mut r = AnswerReader::open(answer, o, id, venue).unwrap();
    let mut out = Vec::new();
    while let Some(e) = r.next_entry().unwrap() {
        out.push(e);
    }
    r.finish().unwrap();
    out
}

#[test]
#[ignore = "writes tests/vectors/requests-v2.json"]
fn generate() {
    let root = SigningKey::from_bytes(&seed("authority root")).unwrap();
    let o = office();
    let cert = Certificate::sign(
        &root,
        &CertBody {
            office_id: o.office_id.clone(),
            name: "Gesundheitsamt Beispielstadt".into(),
            signing_key: b64(&o.signing.public_key()),
            encryption_key: b64(&o.encryption.public_key()),
            issued_at: ISSUED,
            expires_at: ISSUED + 365 * 86_400,
        },
    );
    let v = venue();
    let body = RequestBody {
        request_id: "00112233445566778899aabbccddeeff".into(),
        office: cert.clone(),
        venue: v.public().fingerprint_text(),
        areas: vec!["Terrasse".into()],
        from: ISSUED - 2 * 86_400,
        until: ISSUED - 86_400,
        case_reference: "AZ 2026-4711".into(),
        reason: "Positiver Test einer Person, die am Abend anwesend war.".into(),
        issued_at: ISSUED,
        expires_at: ISSUED + 7 * 86_400,
    };
    let text = request::sign(&o.signing, &body);
    let mut answer = Vec::new();
    let id: [u8; 16] = unhex(&body.request_id).try_into().unwrap();
    let mut w = AnswerWriter::new(
        &mut answer,
        &AnswerTo {
            request_id: id,
            office_id: &o.office_id,
            office_key: &o.encryption.public_key(),
            venue: &v.public(),
            records: 1,
            now: ISSUED + 60,
        },
        &v.sign,
    )
    .unwrap();
    let ck = ContactKey::new(contact_secret().public_key());
    let blob = GuestCode::create(&contact(), &ck).unwrap().contact_blob();
    w.push(&AnswerEntry::Record(AnswerRecord {
        record_id: Some(seed("record id")[..16].try_into().unwrap()),
        location: "Filiale 1".into(),
        area: "Terrasse".into(),
        table: Some(12),
        checked_in_at: ISSUED - 2 * 86_400 + 3600,
        checked_out_at: Some(ISSUED - 2 * 86_400 + 7200),
        method: Method::Fob,
        contact_blob: blob,
    }))
    .unwrap();
    w.finish().unwrap();
    let out = json!({
        "office": {
            "signing_secret_hex": tresen_protocol::encoding::hex(&o.signing.to_bytes()[..]),
            "encryption_secret_hex": tresen_protocol::encoding::hex(&o.encryption.to_bytes()[..]),
            "certificate_body": cert.body,
            "certificate_signature": cert.signature,
        },
        "request": { "text": text, "verify_at": ISSUED + 1 },
        "answer": { "base64": b64(&answer) },
    });
    std::fs::write(FILE, serde_json::to_string_pretty(&out).unwrap() + "\n").unwrap();
}

#[test]
fn request_and_answer_vectors() {
    let v = vectors();
    let root = SigningKey::from_bytes(&seed("authority root")).unwrap();
    let text = v["request"]["text"].as_str().unwrap();
    let at = v["request"]["verify_at"].as_i64().unwrap();
    let req = request::verify(text.as_bytes(), &root.public_key(), at).unwrap();
    assert_eq!(req.office.body.office_id, "ga-beispiel");
    assert_eq!(req.body.case_reference, "AZ 2026-4711");
    assert_eq!(req.body.venue, venue().public().fingerprint_text());
    let o = office();
    assert_eq!(b64(&o.signing.public_key()), req.office.body.signing_key);
    // The answer opens for the office, comes from the vector venue, and holds one record.
    use base64::Engine;
    let answer = base64::engine::general_purpose::STANDARD
        .decode(v["answer"]["base64"].as_str().unwrap())
        .unwrap();
    let entries = records(&answer, &o, &req.request_id, &req.body.venue);
    let [AnswerEntry::Record(r)] = &entries[..] else {
        panic!("one record expected: {entries:?}");
    };
    assert_eq!(r.table, Some(12));
    assert_eq!(
        (r.location.as_str(), r.area.as_str()),
        ("Filiale 1", "Terrasse")
    );
    assert_eq!(
        r.record_id,
        Some(seed("record id")[..16].try_into().unwrap())
    );
    // The contact blob is a real one: it opens with the vector authority's contact key.
    let c =
        tresen_protocol::guest_code::open_contact_blob(&r.contact_blob, &contact_secret()).unwrap();
    assert_eq!(c, contact());
}

/// Answers of version 1 (area names only, a fixed contact blob) are still read.
#[test]
fn version_1_answer_is_still_read() {
    let v = vectors_v1();
    let root = SigningKey::from_bytes(&seed("authority root")).unwrap();
    let text = v["request"]["text"].as_str().unwrap();
    let at = v["request"]["verify_at"].as_i64().unwrap();
    let req = request::verify(text.as_bytes(), &root.public_key(), at).unwrap();
    use base64::Engine;
    let answer = base64::engine::general_purpose::STANDARD
        .decode(v["answer"]["base64"].as_str().unwrap())
        .unwrap();
    let r = AnswerReader::open(&answer[..], &office(), &req.request_id, &req.body.venue).unwrap();
    assert_eq!(r.version(), Version::V1);
    let entries = records(&answer, &office(), &req.request_id, &req.body.venue);
    let [AnswerEntry::Record(r)] = &entries[..] else {
        panic!("one record expected: {entries:?}");
    };
    assert_eq!((r.record_id, r.location.as_str()), (None, ""));
    assert_eq!(r.area, "Filiale 1/Terrasse");
    assert_eq!(r.table, Some(12));
}

#[test]
fn protocol_doc_quotes_the_request_vectors() {
    let doc: String = std::fs::read_to_string(DOC)
        .unwrap()
        .split_whitespace()
        .collect();
    let (v, v1) = (vectors(), vectors_v1());
    for needle in [
        v1["request"]["text"].as_str().unwrap(),
        v1["answer"]["base64"].as_str().unwrap(),
        v["office"]["signing_secret_hex"].as_str().unwrap(),
        v["office"]["encryption_secret_hex"].as_str().unwrap(),
        v["office"]["certificate_body"].as_str().unwrap(),
        v["office"]["certificate_signature"].as_str().unwrap(),
        v["request"]["text"].as_str().unwrap(),
        v["answer"]["base64"].as_str().unwrap(),
    ] {
        let flat: String = needle.split_whitespace().collect();
        assert!(
            doc.contains(&flat),
            "docs/protocol.md does not quote {}",
            &needle[..20.min(needle.len())]
        );
    }
}
