#![no_main]
//! Any opened compact contact plaintext (`TRG2`): parsed or refused, never a panic; valid
//! data packs again to a plaintext that opens to the same contact (the encoder may choose
//! other modes than the input used).

use libfuzzer_sys::fuzz_target;
use tresen_protocol::contact_pack::{pack, unpack};

fuzz_target!(|data: &[u8]| {
    if let Ok(c) = unpack(data) {
        if c.check().is_ok() {
            let again = pack(&c).expect("valid data packs");
            assert_eq!(unpack(&again).expect("packed data opens"), c);
        }
    }
});
