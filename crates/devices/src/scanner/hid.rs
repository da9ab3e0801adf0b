//! Decoders for the reports USB HID scanners send: boot-protocol keyboard reports (keycodes
//! mapped through the layout the scanner is set to, independent of the PC's layout) and
//! HID point-of-sale scanned-data reports (usage page 0x8C). The USB reader feeds the
//! reports it reads from the device into these decoders; tests feed recorded reports.

use tresen_protocol::keyboard_layout::{KeyStroke, Layout, Level};

use super::Symbology;

/// Keyboard modifier bits of a boot report.
const LEFT_CTRL: u8 = 0x01;
const LEFT_SHIFT: u8 = 0x02;
const LEFT_ALT: u8 = 0x04;
const RIGHT_SHIFT: u8 = 0x20;
const RIGHT_ALT: u8 = 0x40;
const ENTER: u8 = 0x28;
const KEYPAD_ENTER: u8 = 0x58;
const ERROR_ROLL_OVER: u8 = 0x01;

/// Decodes 8-byte boot keyboard reports (modifiers, reserved, six key codes) into lines.
#[derive(Debug, Clone)]
pub struct KeyboardDecoder {
    layout: Layout,
    previous: [u8; 6],
    line: String,
    max_len: usize,
}

impl KeyboardDecoder {
    pub fn new(layout: Layout) -> Self {
        Self {
            layout,
            previous: [0; 6],
            line: String::new(),
            max_len: 4096,
        }
    }

    /// Takes one report; returns a completed line when Enter was pressed. A report that
    /// starts with a report id (9 bytes) is accepted too.
    pub fn feed(&mut self, report: &[u8]) -> Option<String> {
        let r = match report.len() {
            8 => report,
            9 => &report[1..],
            _ => return None,
        };
        let modifiers = r[0];
        let mut keys = [0u8; 6];
        keys.copy_from_slice(&r[2..8]);
        if keys.contains(&ERROR_ROLL_OVER) {
            return None;
        }
        let level = if modifiers & RIGHT_ALT != 0
            || (modifiers & LEFT_CTRL != 0 && modifiers & LEFT_ALT != 0)
        {
            Level::AltGr
        } else if modifiers & (LEFT_SHIFT | RIGHT_SHIFT) != 0 {
            Level::Shift
        } else {
            Level::Plain
        };
        let mut done = None;
        for &k in keys.iter().filter(|&&k| k != 0) {
            if self.previous.contains(&k) {
                continue;
            }
            if k == ENTER || k == KEYPAD_ENTER {
                done = Some(std::mem::take(&mut self.line));
                continue;
            }
            if let Some(c) =
                keypad(k).or_else(|| self.layout.char_for(KeyStroke { usage: k, level }))
            {
                if self.line.len() < self.max_len && c != '\n' {
                    self.line.push(c);
                }
            }
        }
        self.previous = keys;
        done.filter(|l| !l.is_empty())
    }
}

fn keypad(usage: u8) -> Option<char> {
    match usage {
        0x59..=0x61 => Some((b'1' + (usage - 0x59)) as char),
        0x62 => Some('0'),
        _ => None,
    }
}

/// Builds the boot keyboard reports a scanner set to `layout` sends for `text` followed
/// by Enter: a press and a release per character (for tests and the simulator).
pub fn keyboard_reports(text: &str, layout: Layout) -> Vec<[u8; 8]> {
    let mut out = Vec::new();
    for c in text.chars().chain(std::iter::once('\n')) {
        let key = if c == '\n' {
            Some(KeyStroke {
                usage: ENTER,
                level: Level::Plain,
            })
        } else {
            layout.key_for(c)
        };
        let Some(key) = key else { continue };
        let modifiers = match key.level {
            Level::Plain => 0,
            Level::Shift => LEFT_SHIFT,
            Level::AltGr => RIGHT_ALT,
        };
        out.push([modifiers, 0, key.usage, 0, 0, 0, 0, 0]);
        out.push([0; 8]);
    }
    out
}

/// The HID point-of-sale scanned-data report (usage page 0x8C), 64 bytes:
///
/// | byte  | content |
/// |-------|---------|
/// | 0     | report id (0x02) |
/// | 1     | number of data bytes in this report (0–56) |
/// | 2..5  | AIM symbology identifier, e.g. `]Q1` (zeros if unknown) |
/// | 5..61 | decoded data |
/// | 61..63| reserved |
/// | 63    | bit 0: more data follows in the next report |
pub const POS_REPORT_LEN: usize = 64;
pub const POS_REPORT_ID: u8 = 0x02;
pub const POS_DATA_MAX: usize = 56;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PosError {
    #[error("a point-of-sale report is too short ({0} bytes)")]
    Short(usize),
    #[error("a point-of-sale report claims {0} data bytes (at most 56)")]
    BadLength(u8),
    #[error("the scan is longer than 4096 bytes")]
    TooLong,
}

/// Collects HID POS reports into complete scans (several reports for long codes).
#[derive(Debug, Clone, Default)]
pub struct PosDecoder {
    data: Vec<u8>,
    aim: Option<[u8; 3]>,
}

impl PosDecoder {
    pub fn new() -> Self {
        Self::default()
    }

    /// Takes one report; returns the scan (text and symbology) once it is complete.
    /// Reports with another report id (status, feature reports) are ignored.
    pub fn feed(&mut self, report: &[u8]) -> Result<Option<(String, Option<Symbology>)>, PosError> {
        if report.first() != Some(&POS_REPORT_ID) {
            return Ok(None);
        }
        if report.len() < POS_REPORT_LEN {
            self.data.clear();
            return Err(PosError::Short(report.len()));
        }
        let len = report[1];
        if usize::from(len) > POS_DATA_MAX {
            self.data.clear();
            return Err(PosError::BadLength(len));
        }
        if self.data.is_empty() && report[2] == b']' {
            self.aim = Some([report[2], report[3], report[4]]);
        }
        self.data
            .extend_from_slice(&report[5..5 + usize::from(len)]);
        if self.data.len() > 4096 {
            self.data.clear();
            return Err(PosError::TooLong);
        }
        if report[63] & 0x01 != 0 {
            return Ok(None);
        }
        let data = std::mem::take(&mut self.data);
        let sym = self
            .aim
            .take()
            .map(|a| Symbology::from_aim(a[1] as char, a[2] as char));
        let text = String::from_utf8_lossy(&data)
            .trim_matches(|c: char| c.is_control() || c.is_whitespace())
            .to_string();
        Ok((!text.is_empty()).then_some((text, sym)))
    }
}

/// Builds the POS reports a scanner sends for `data` (for tests and the simulator).
pub fn pos_reports(data: &[u8], aim: &[u8; 3]) -> Vec<[u8; POS_REPORT_LEN]> {
    let chunks: Vec<&[u8]> = if data.is_empty() {
        vec![&[][..]]
    } else {
        data.chunks(POS_DATA_MAX).collect()
    };
    let n = chunks.len();
    chunks
        .into_iter()
        .enumerate()
        .map(|(i, chunk)| {
            let mut r = [0u8; POS_REPORT_LEN];
            r[0] = POS_REPORT_ID;
            r[1] = chunk.len() as u8;
            r[2..5].copy_from_slice(aim);
            r[5..5 + chunk.len()].copy_from_slice(chunk);
            r[63] = u8::from(i + 1 < n);
            r
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keyboard_reports_roundtrip_on_each_layout() {
        for layout in Layout::ALL {
            let mut d = KeyboardDecoder::new(layout);
            let mut got = None;
            for r in keyboard_reports("TRV1 ab-Yz", layout) {
                if let Some(l) = d.feed(&r) {
                    got = Some(l);
                }
            }
            assert_eq!(got.as_deref(), Some("TRV1 ab-Yz"), "{layout:?}");
        }
    }

    #[test]
    fn pos_reports_roundtrip() {
        let data: Vec<u8> = (0..150).map(|i| b'A' + (i % 26) as u8).collect();
        let mut d = PosDecoder::new();
        let reports = pos_reports(&data, b"]Q1");
        assert_eq!(reports.len(), 3);
        assert_eq!(d.feed(&reports[0]), Ok(None));
        assert_eq!(d.feed(&reports[1]), Ok(None));
        let (text, sym) = d.feed(&reports[2]).unwrap().unwrap();
        assert_eq!(text.as_bytes(), &data[..]);
        assert_eq!(sym, Some(Symbology::Qr));
    }
}
