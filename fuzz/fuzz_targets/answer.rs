#![no_main]
//! Any answer file: refused with an error, never a panic or an unbounded allocation.

use libfuzzer_sys::fuzz_target;
use tresen::crypto::{SealSecretKey, SigningKey};
use tresen::office::OfficeKeys;

fuzz_target!(|data: &[u8]| {
    let _ = tresen::answer::verify(data, "AAAA-BBBB-CCCC-DDDD-EEEE", &[0u8; 16]);
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
    if let Ok(reader) = tresen::answer::AnswerReader::open(data, &office, &[0u8; 16]) {
        for r in reader.take(10_000) {
            if r.is_err() {
                break;
            }
        }
    }
});
