#![no_main]
//! Any stored check-in seals, of either version: opening fails cleanly, never a panic.

use libfuzzer_sys::fuzz_target;
use tresen_protocol::checkin_record::{open, Binding};
use tresen_protocol::crypto::SealSecretKey;

fuzz_target!(|data: &[u8]| {
    let key = match SealSecretKey::from_bytes(&[9u8; 32]) {
        Ok(k) => k,
        Err(_) => return,
    };
    let binding = Binding {
        record_id: [1u8; 16],
        venue_fingerprint: [2u8; 32],
        area_id: 7,
        checked_in_at: 1_795_000_000,
    };
    let split = data.first().map(|b| *b as usize).unwrap_or(0).min(data.len());
    let (a, b) = data.split_at(split);
    for version in [1, 2, 3] {
        let _ = open(&key, version, &binding, a, b);
    }
});
