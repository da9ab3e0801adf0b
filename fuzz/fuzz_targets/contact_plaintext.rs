#![no_main]
//! Any opened contact plaintext: parsed or refused; valid data re-encodes byte for byte.

use libfuzzer_sys::fuzz_target;
use tresen_protocol::contact::ContactData;

fuzz_target!(|data: &[u8]| {
    if let Ok(c) = ContactData::from_padded(data) {
        if c.check().is_ok() {
            assert_eq!(&c.to_padded().expect("valid data encodes")[..], data);
        }
    }
});
