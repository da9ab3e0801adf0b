#![no_main]
//! Any decrypted key file content: refused with an error or parsed, never a panic.

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = tresen_protocol::venue_keys::VenueSecretKeys::from_text(text);
    }
});
