//! The daily pseudonym that links a guest's check-in and check-out on one business day
//! without storing the guest code's id. See docs/protocol.md, section 5.

use chrono::NaiveDate;
use hmac::{Hmac, Mac};
use sha2::Sha256;

/// HMAC-SHA256(secret, "tresen/pseudonym/v1" || 0x00 || code id || business day as
/// "YYYY-MM-DD"), truncated to 16 bytes.
pub fn pseudonym(secret: &[u8; 32], code_id: &[u8], business_day: NaiveDate) -> [u8; 16] {
    let mut mac = match <Hmac<Sha256> as Mac>::new_from_slice(secret) {
        Ok(m) => m,
        Err(_) => unreachable!("HMAC accepts keys of any length"),
    };
    mac.update(b"tresen/pseudonym/v1\0");
    mac.update(code_id);
    mac.update(business_day.format("%Y-%m-%d").to_string().as_bytes());
    let full = mac.finalize().into_bytes();
    let mut out = [0u8; 16];
    out.copy_from_slice(&full[..16]);
    out
}
