#![no_main]
//! What operators type: table numbers ("1-12, 15"), scanner settings (`PATH@BAUD`,
//! `VID:PID`), the receipt printer's port and the scanners of the app's preferences file. Never panics; accepted table
//! lists stay within their limits; accepted settings pass their own check.

use libfuzzer_sys::fuzz_target;
use tresen_devices::printer::receipt::ReceiptPort;
use tresen_devices::setting::ScannerSetting;
use tresen_venue::parse_table_numbers;

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
    for s in [
        ScannerSetting::parse_serial(&text, "cr"),
        ScannerSetting::parse_usb(&text, "de"),
    ]
    .into_iter()
    .flatten()
    {
        assert!(s.check().is_ok());
    }
    if let Ok(port) = ReceiptPort::parse(&text) {
        assert!(port.path().starts_with('/'));
        if let ReceiptPort::Serial { baud, .. } = port {
            assert!((1200..=921_600).contains(&baud));
        }
    }
    if let Ok(scanners) = serde_json::from_slice::<Vec<ScannerSetting>>(data) {
        for s in &scanners {
            let _ = s.check();
        }
    }
});
