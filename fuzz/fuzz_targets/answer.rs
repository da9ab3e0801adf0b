#![no_main]
//! Any answer file, and any chunk plaintext of either version: refused with an error,
//! never a panic or an unbounded allocation.

use libfuzzer_sys::fuzz_target;
use tresen_protocol::answer::{decode_chunk, AnswerReader, Version};
use tresen_protocol::crypto::{SealSecretKey, SigningKey};
use tresen_protocol::office_keys::OfficeKeys;

fuzz_target!(|data: &[u8]| {
    for v in [Version::V1, Version::V2] {
        let _ = decode_chunk(v, data);
    }
    let (Ok(signing), Ok(encryption)) = (
        SigningKey::from_bytes(&[5u8; 32]),
        SealSecretKey::from_bytes(&[6u8; 32]),
    ) else {
        return;
    };
    let office = OfficeKeys {
        office_id: "x".into(),
        signing,
        encryption,
    };
    if let Ok(mut reader) = AnswerReader::open(data, &office, &[0u8; 16], "AAAA-BBBB-CCCC-DDDD-EEEE") {
        for _ in 0..10_000 {
            match reader.next_entry() {
                Ok(Some(_)) => {}
                _ => return,
            }
        }
        let _ = reader.finish();
    }
});
