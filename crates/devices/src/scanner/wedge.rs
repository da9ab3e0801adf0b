//! Keyboard-wedge scanners type into whatever has focus. The app keeps a field focused
//! that collects keystrokes with their times; this decoder tells a scanner's fast burst
//! ending in Enter from a person typing, and strips an AIM identifier in whatever form a
//! layout mismatch turned it into. The code text itself recovers layout swaps
//! (see `textcode::unframe`).

use std::time::Duration;

/// Keystrokes of a burst must come at most this far apart on average (scanners type a
/// character every 1–20 ms; people rarely faster than 60 ms).
pub const MAX_MEAN_GAP: Duration = Duration::from_millis(35);
/// Shorter input is taken as typing, not a scan.
pub const MIN_LEN: usize = 8;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WedgeError {
    #[error("the input was typed, not scanned (too slow); scan again or use the form")]
    TooSlow,
    #[error("the input is too short to be a code")]
    TooShort,
}

impl WedgeError {
    /// A stable name for the kind of error, for the window to word.
    pub fn code(&self) -> &'static str {
        match self {
            WedgeError::TooSlow => "typed-not-scanned",
            WedgeError::TooShort => "too-short",
        }
    }
}

/// Decides whether `text`, typed with the given gaps between keystrokes (milliseconds,
/// one fewer than characters, or empty if unknown), was a scan; returns the text to read.
pub fn decode(text: &str, gaps_ms: &[u32]) -> Result<String, WedgeError> {
    let text = text.trim_matches(|c: char| c.is_whitespace() || c.is_control());
    if text.chars().count() < MIN_LEN {
        return Err(WedgeError::TooShort);
    }
    if !gaps_ms.is_empty() {
        let mean = gaps_ms.iter().map(|&g| u64::from(g)).sum::<u64>() / gaps_ms.len() as u64;
        if Duration::from_millis(mean) > MAX_MEAN_GAP {
            return Err(WedgeError::TooSlow);
        }
    }
    Ok(strip_aim(text).to_string())
}

/// Drops a leading AIM identifier (`]Q1`; `+Q1` from a US scanner on a German PC; `9Q1`
/// from a German scanner on a US PC) in front of a Tresen code.
fn strip_aim(text: &str) -> &str {
    let upper = text.to_ascii_uppercase();
    for start in 1..=3 {
        if upper.len() > start
            && text.is_char_boundary(start)
            && (upper[start..].starts_with("TRG") || upper[start..].starts_with("TRV"))
        {
            return &text[start..];
        }
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bursts_are_scans_and_typing_is_not() {
        assert_eq!(
            decode("TRV1ABCDEFGH\r", &[5; 11]),
            Ok("TRV1ABCDEFGH".into())
        );
        assert_eq!(decode("TRV1ABCDEFGH", &[120; 11]), Err(WedgeError::TooSlow));
        assert_eq!(decode("TRV1", &[]), Err(WedgeError::TooShort));
        assert_eq!(decode("]Q1TRV1ABCDEFGH", &[]), Ok("TRV1ABCDEFGH".into()));
        assert_eq!(decode("+Q1TRV1ABCDEFGH", &[]), Ok("TRV1ABCDEFGH".into()));
        assert_eq!(
            decode("https://example.org", &[]),
            Ok("https://example.org".into())
        );
    }
}
