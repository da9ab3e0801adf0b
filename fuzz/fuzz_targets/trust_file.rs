#![no_main]
//! Any trust file: refused with an error or verified, never a panic.

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let _ = tresen_protocol::trust::verify(&text, None);
    let _ = tresen_protocol::trust::verify(&text, Some((&[7u8; 32], 3)));
});
