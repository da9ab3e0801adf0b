//! The daily pseudonym that links a guest's check-in and check-out on one business day
//! without storing the guest code's id. See docs/protocol.md, section 5.

use chrono::{Datelike, NaiveDate};
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
    // Written out by hand: chrono's strftime parser costs more than the HMAC on a scan.
    let (y, m, d) = (
        business_day.year(),
        business_day.month(),
        business_day.day(),
    );
    mac.update(format!("{y:04}-{m:02}-{d:02}").as_bytes());
    let full = mac.finalize().into_bytes();
    let mut out = [0u8; 16];
    out.copy_from_slice(&full[..16]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The day is hashed exactly as docs/protocol.md §5 says: "YYYY-MM-DD".
    #[test]
    fn the_day_is_written_as_year_month_day() {
        let secret = [7u8; 32];
        let mut day = NaiveDate::from_ymd_opt(999, 12, 25).unwrap_or_default();
        for _ in 0..400 {
            let mut mac =
                <Hmac<Sha256> as Mac>::new_from_slice(&secret).unwrap_or_else(|_| unreachable!());
            mac.update(b"tresen/pseudonym/v1\0");
            mac.update(b"code");
            mac.update(day.format("%Y-%m-%d").to_string().as_bytes());
            assert_eq!(
                pseudonym(&secret, b"code", day)[..],
                mac.finalize().into_bytes()[..16]
            );
            day = day + chrono::Days::new(3001);
        }
    }
}
