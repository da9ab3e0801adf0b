#![no_main]
//! Any stored check-in seals: opening fails cleanly, never a panic.

use libfuzzer_sys::fuzz_target;
use tresen::crypto::SealSecretKey;

fuzz_target!(|data: &[u8]| {
    let key = match SealSecretKey::from_bytes(&[9u8; 32]) {
        Ok(k) => k,
        Err(_) => return,
    };
    let split = data.first().map(|b| *b as usize).unwrap_or(0).min(data.len());
    let (a, b) = data.split_at(split);
    let _ = tresen::checkin_record::open(&key, &[1u8; 16], a, b);
});
