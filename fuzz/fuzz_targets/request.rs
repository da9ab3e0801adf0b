#![no_main]
//! Any request file: refused with an error or verified, never a panic.

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = tresen_protocol::request::verify(data, &[3u8; 32], 1_795_000_000);
    let _ = tresen_protocol::request::parse_own(data, &[3u8; 32]);
});
