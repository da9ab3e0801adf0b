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
    mac.update(day_text(business_day).as_bytes());
    let full = mac.finalize().into_bytes();
    let mut out = [0u8; 16];
    out.copy_from_slice(&full[..16]);
    out
}

/// The day as chrono's "%Y-%m-%d" writes it (with a sign outside the years 0 to 9999),
/// without its strftime parser, which costs more than the HMAC on a scan.
fn day_text(day: NaiveDate) -> String {
    let (y, m, d) = (day.year(), day.month(), day.day());
    if (0..10_000).contains(&y) {
        format!("{y:04}-{m:02}-{d:02}")
    } else {
        format!("{y:+05}-{m:02}-{d:02}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The day is hashed exactly as docs/protocol.md §5 says: "YYYY-MM-DD".
    #[test]
    fn the_day_is_written_as_chrono_writes_it() {
        let mut days: Vec<NaiveDate> = [(-1, 3, 1), (0, 1, 1), (9999, 12, 31), (10000, 1, 1)]
            .iter()
            .filter_map(|&(y, m, d)| NaiveDate::from_ymd_opt(y, m, d))
            .collect();
        assert_eq!(days.len(), 4);
        let mut day = NaiveDate::from_ymd_opt(999, 12, 25).unwrap_or_default();
        for _ in 0..400 {
            days.push(day);
            day = day + chrono::Days::new(3001);
        }
        for day in days {
            assert_eq!(day_text(day), day.format("%Y-%m-%d").to_string());
        }
    }
}
