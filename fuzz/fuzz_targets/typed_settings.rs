#![no_main]
//! What operators type: table numbers ("1-12, 15") and the app's preferences file. Never
//! panics; accepted table lists stay within their limits.

use libfuzzer_sys::fuzz_target;
use tresen::kiosk::parse_table_numbers;
use tresen::preferences::Preferences;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    if let Ok(tables) = parse_table_numbers(&text) {
        assert!(tables.len() <= text.len() * 1000 + 1);
        for part in text.split(',').map(str::trim).filter(|p| p.contains('-')) {
            if let Some((a, b)) = part.split_once('-') {
                if let (Ok(a), Ok(b)) = (a.trim().parse::<u16>(), b.trim().parse::<u16>()) {
                    assert!(a >= 1 && b >= a && b - a <= 999);
                }
            }
        }
    }
    if let Ok(p) = serde_json::from_slice::<Preferences>(data) {
        for s in &p.scanners {
            let _ = s.source();
        }
    }
});
