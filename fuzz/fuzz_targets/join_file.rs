#![no_main]
//! Any decrypted join file content (protocol §15): refused with an error or read, never a
//! panic; what is read carries a 32-byte pseudonym secret.

use libfuzzer_sys::fuzz_target;
use tresen_protocol::join_file::JoinFile;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        if let Ok(file) = JoinFile::from_plaintext(text) {
            assert!(file.secret().is_ok());
        }
    }
});
