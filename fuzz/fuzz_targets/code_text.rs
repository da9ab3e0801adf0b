#![no_main]
//! Any scanned text: never panics; whatever parses re-encodes to an equivalent code.

use libfuzzer_sys::fuzz_target;
use tresen_protocol::guest_code::GuestCode;
use tresen_protocol::textcode;
use tresen_protocol::venue_code::VenueCode;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    if let Ok(frame) = textcode::unframe(&text) {
        let again = textcode::frame(frame.kind, frame.version, &frame.body);
        assert_eq!(textcode::unframe(&again).as_ref(), Ok(&frame));
    }
    if let Ok(code) = GuestCode::parse(&text) {
        assert_eq!(GuestCode::parse(&code.to_text()).as_ref(), Ok(&code));
    }
    if let Ok(code) = VenueCode::parse(&text) {
        assert_eq!(VenueCode::parse(&code.to_text()), Ok(code));
    }
});
