//! Cuts the byte stream of a serial scanner into scans: terminators (CR, LF, CRLF or a
//! pause), AIM symbology identifiers, configured prefixes and suffixes, noise at the
//! edges, scans split over several reads or several scans in one read.

use std::time::{Duration, Instant};

use super::Symbology;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Terminator {
    Cr,
    Lf,
    CrLf,
    /// No terminator: a scan ends when no byte arrived for this long.
    Pause(Duration),
}

impl Terminator {
    pub fn parse(s: &str) -> Option<Terminator> {
        match s.to_ascii_lowercase().as_str() {
            "cr" => Some(Terminator::Cr),
            "lf" => Some(Terminator::Lf),
            "crlf" => Some(Terminator::CrLf),
            "pause" => Some(Terminator::Pause(Duration::from_millis(60))),
            other => other
                .strip_prefix("pause:")
                .and_then(|ms| ms.trim_end_matches("ms").parse::<u64>().ok())
                .filter(|ms| (5..=2000).contains(ms))
                .map(|ms| Terminator::Pause(Duration::from_millis(ms))),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AimMode {
    /// Remove a leading AIM identifier (`]Q1`) and report the symbology.
    Strip,
    /// Leave the text as it came.
    Keep,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FramingConfig {
    pub terminator: Terminator,
    pub aim: AimMode,
    /// Text the scanner is configured to put before every scan.
    pub prefix: String,
    /// Text the scanner is configured to put after every scan (before the terminator).
    pub suffix: String,
    /// Longer input without a terminator is dropped as noise.
    pub max_len: usize,
}

impl Default for FramingConfig {
    fn default() -> Self {
        Self {
            terminator: Terminator::Cr,
            aim: AimMode::Strip,
            prefix: String::new(),
            suffix: String::new(),
            max_len: 4096,
        }
    }
}

/// One scan as cut from the stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Framed {
    pub text: String,
    pub symbology: Option<Symbology>,
    /// When the last byte of the scan arrived.
    pub last_byte_at: Instant,
}

pub struct Framer {
    cfg: FramingConfig,
    buf: Vec<u8>,
    last_byte_at: Option<Instant>,
    dropped: u64,
    /// Set after an over-long input: everything up to the next terminator is noise.
    overflowed: bool,
}

impl Framer {
    pub fn new(cfg: FramingConfig) -> Self {
        Self {
            cfg,
            buf: Vec::new(),
            last_byte_at: None,
            dropped: 0,
            overflowed: false,
        }
    }

    pub fn config(&self) -> &FramingConfig {
        &self.cfg
    }

    /// How many over-long inputs were dropped as noise.
    pub fn dropped(&self) -> u64 {
        self.dropped
    }

    /// Takes the bytes of one read; returns the scans completed by them.
    pub fn feed(&mut self, bytes: &[u8], now: Instant) -> Vec<Framed> {
        let mut out = Vec::new();
        if let Some(f) = self.poll(now) {
            out.push(f);
        }
        for &b in bytes {
            let cut = match self.cfg.terminator {
                Terminator::Cr => b == b'\r',
                Terminator::Lf => b == b'\n',
                Terminator::CrLf => b == b'\n' && self.buf.last() == Some(&b'\r'),
                Terminator::Pause(_) => false,
            };
            if cut {
                if self.cfg.terminator == Terminator::CrLf {
                    self.buf.pop();
                }
                if let Some(f) = self.finish(now) {
                    out.push(f);
                }
                continue;
            }
            if self.overflowed {
                continue;
            }
            self.buf.push(b);
            if self.buf.len() > self.cfg.max_len {
                self.buf.clear();
                self.dropped += 1;
                self.overflowed = true;
            }
        }
        if !bytes.is_empty() {
            self.last_byte_at = Some(now);
        }
        out
    }

    /// When [`Framer::poll`] should be called next (pause framing only).
    pub fn deadline(&self) -> Option<Instant> {
        match (self.cfg.terminator, self.last_byte_at) {
            (Terminator::Pause(gap), Some(t)) if !self.buf.is_empty() || self.overflowed => {
                Some(t + gap)
            }
            _ => None,
        }
    }

    /// Completes a scan after a pause (pause framing only).
    pub fn poll(&mut self, now: Instant) -> Option<Framed> {
        let due = self.deadline()?;
        if now >= due {
            let at = self.last_byte_at.unwrap_or(now);
            self.finish(at)
        } else {
            None
        }
    }

    fn finish(&mut self, at: Instant) -> Option<Framed> {
        let raw = std::mem::take(&mut self.buf);
        if std::mem::take(&mut self.overflowed) {
            return None;
        }
        clean(&raw, &self.cfg).map(|(text, symbology)| Framed {
            text,
            symbology,
            last_byte_at: at,
        })
    }
}

fn printable(b: u8) -> bool {
    (0x21..=0x7E).contains(&b)
}

/// Drops noise at the edges, the configured prefix/suffix and the AIM identifier.
/// Returns `None` for a frame with nothing left (an empty line, pure noise).
pub fn clean(raw: &[u8], cfg: &FramingConfig) -> Option<(String, Option<Symbology>)> {
    let start = raw.iter().position(|&b| printable(b))?;
    let end = raw.iter().rposition(|&b| printable(b))? + 1;
    let mut text = String::from_utf8_lossy(&raw[start..end]).into_owned();
    let mut symbology = None;
    // Scanners put the AIM identifier before or after their configured prefix.
    for _ in 0..2 {
        if !cfg.prefix.is_empty() {
            if let Some(rest) = text.strip_prefix(cfg.prefix.as_str()) {
                text = rest.to_string();
            }
        }
        if cfg.aim == AimMode::Strip && symbology.is_none() {
            if let Some((sym, rest)) = split_aim(&text) {
                symbology = Some(sym);
                text = rest.to_string();
            }
        }
    }
    if !cfg.suffix.is_empty() {
        if let Some(rest) = text.strip_suffix(cfg.suffix.as_str()) {
            text = rest.to_string();
        }
    }
    let text = text.trim().to_string();
    (!text.is_empty()).then_some((text, symbology))
}

/// Splits a leading AIM symbology identifier (`]` + code character + modifier) off.
pub fn split_aim(text: &str) -> Option<(Symbology, &str)> {
    let b = text.as_bytes();
    if b.len() >= 3 && b[0] == b']' && b[1].is_ascii_alphabetic() && b[2].is_ascii_alphanumeric() {
        Some((Symbology::from_aim(b[1] as char, b[2] as char), &text[3..]))
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(v: Vec<Framed>) -> Vec<String> {
        v.into_iter().map(|f| f.text).collect()
    }

    #[test]
    fn terminators_split_and_merged_reads() {
        let now = Instant::now();
        for (term, sep) in [
            (Terminator::Cr, "\r"),
            (Terminator::Lf, "\n"),
            (Terminator::CrLf, "\r\n"),
        ] {
            let mut f = Framer::new(FramingConfig {
                terminator: term,
                ..Default::default()
            });
            assert!(f.feed(b"TRV1AB", now).is_empty());
            let got = f.feed(format!("CD{sep}TRV1EF{sep}TRV").as_bytes(), now);
            assert_eq!(texts(got), vec!["TRV1ABCD", "TRV1EF"]);
            assert_eq!(
                texts(f.feed(format!("1GH{sep}").as_bytes(), now)),
                vec!["TRV1GH"]
            );
        }
    }

    #[test]
    fn aim_prefix_suffix_and_noise() {
        let now = Instant::now();
        let mut f = Framer::new(FramingConfig {
            prefix: "<<".into(),
            suffix: ">>".into(),
            ..Default::default()
        });
        let got = f.feed(b"\x00\xff]Q1<<TRG1XYZ>>\r\x00\r", now);
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].text, "TRG1XYZ");
        assert_eq!(got[0].symbology, Some(Symbology::Qr));
    }

    #[test]
    fn pause_framing() {
        let t = Instant::now();
        let gap = Duration::from_millis(50);
        let mut f = Framer::new(FramingConfig {
            terminator: Terminator::Pause(gap),
            ..Default::default()
        });
        assert!(f.feed(b"TRV1", t).is_empty());
        assert!(f.feed(b"AB", t + Duration::from_millis(10)).is_empty());
        assert_eq!(f.poll(t + Duration::from_millis(30)), None);
        let done = f.poll(t + Duration::from_millis(61)).unwrap();
        assert_eq!(done.text, "TRV1AB");
        assert_eq!(done.last_byte_at, t + Duration::from_millis(10));
        // A late byte after the pause starts a new scan; feeding completes the old one.
        assert!(f.feed(b"X", t + Duration::from_millis(100)).is_empty());
        let got = f.feed(b"Y", t + Duration::from_millis(200));
        assert_eq!(texts(got), vec!["X"]);
    }

    #[test]
    fn overlong_noise_is_dropped() {
        let now = Instant::now();
        let mut f = Framer::new(FramingConfig {
            max_len: 10,
            ..Default::default()
        });
        assert!(f.feed(&[b'A'; 25], now).is_empty());
        assert_eq!(f.dropped(), 1);
        assert_eq!(texts(f.feed(b"\rTRV1\r", now)), vec!["TRV1"]);
    }
}
