//! The text form shared by all scannable codes: a four-character prefix (`TR`, a kind
//! letter, a version digit) followed by the body and a CRC-32 in a base-32 alphabet that
//! keyboard-wedge scanners type identically on US and German layouts (no Y, Z or
//! punctuation), which QR codes store in their compact alphanumeric mode, and which is
//! read case-insensitively (Caps Lock). See docs/protocol.md, "Code text".

use std::sync::OnceLock;

use crate::keyboard_layout::{retype, Layout};

/// The 32 symbols, in value order. `I` and `O` are left out so codes typed by hand are not
/// confused with `1` and `0`; `Y` and `Z` are left out because they swap between QWERTY
/// and QWERTZ.
pub const ALPHABET: &str = "0123456789ABCDEFGHJKLMNPQRSTUVWX";
const PREFIX_LEN: usize = 4;
const CRC_LEN: usize = 4;
const CRC: crc::Crc<u32> = crc::Crc::<u32>::new(&crc::CRC_32_ISO_HDLC);

/// The kinds of code; the letter is the third character of the prefix.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Guest,
    Venue,
}

impl Kind {
    fn letter(self) -> char {
        match self {
            Kind::Guest => 'G',
            Kind::Venue => 'V',
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CodeTextError {
    #[error("the scan was empty")]
    Empty,
    #[error("this is not a Tresen code (foreign QR code or barcode)")]
    Foreign,
    #[error("this code has version {0}, which this version of Tresen cannot read; please update")]
    UnsupportedVersion(char),
    #[error("the code was misread (checksum does not match); please scan again")]
    Misread,
}

fn encoding() -> &'static data_encoding::Encoding {
    static ENC: OnceLock<data_encoding::Encoding> = OnceLock::new();
    ENC.get_or_init(|| {
        let mut spec = data_encoding::Specification::new();
        spec.symbols.push_str(ALPHABET);
        spec.check_trailing_bits = true;
        let letters: String = ALPHABET.chars().filter(char::is_ascii_alphabetic).collect();
        spec.translate.from = letters.to_ascii_lowercase();
        spec.translate.to = letters;
        match spec.encoding() {
            Ok(e) => e,
            // The specification above is a constant; a failure is a programming error.
            Err(e) => unreachable!("invalid base-32 specification: {e}"),
        }
    })
}

pub fn encode_base32(bytes: &[u8]) -> String {
    encoding().encode(bytes)
}

pub fn decode_base32(text: &str) -> Option<Vec<u8>> {
    encoding().decode(text.as_bytes()).ok()
}

/// Builds the full code text: prefix, then base-32 of `body || crc32(prefix || body)`.
pub fn frame(kind: Kind, version: u8, body: &[u8]) -> String {
    let prefix = prefix(kind, version);
    let mut data = body.to_vec();
    data.extend_from_slice(&crc(&prefix, body).to_be_bytes());
    let mut out = prefix;
    out.push_str(&encode_base32(&data));
    out
}

fn prefix(kind: Kind, version: u8) -> String {
    format!("TR{}{}", kind.letter(), version)
}

fn crc(prefix: &str, body: &[u8]) -> u32 {
    let mut d = CRC.digest();
    d.update(prefix.as_bytes());
    d.update(body);
    d.finalize()
}

/// A decoded frame: the kind, the version and the checked body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frame {
    pub kind: Kind,
    pub version: u8,
    pub body: Vec<u8>,
}

/// Reads a scanned text. Surrounding white space and control characters (scanner
/// terminators) are dropped; upper/lower case does not matter; a text typed through a
/// US↔German layout mismatch is recovered. Anything else that does not match the checksum
/// is refused: a misread never turns into another valid code.
pub fn unframe(raw: &str) -> Result<Frame, CodeTextError> {
    let text = raw.trim_matches(|c: char| c.is_whitespace() || c.is_control());
    if text.is_empty() {
        return Err(CodeTextError::Empty);
    }
    let first = unframe_exact(text);
    if first.is_ok() || text.chars().all(|c| c.is_ascii_alphanumeric()) {
        return first;
    }
    for (typed, read) in [(Layout::De, Layout::Us), (Layout::Us, Layout::De)] {
        // Undo the mismatch: what the PC showed, typed back on the PC's layout, is what
        // the scanner meant on its own layout.
        let recovered = retype(text, read, typed);
        if let Ok(frame) = unframe_exact(&recovered) {
            return Ok(frame);
        }
    }
    first
}

fn unframe_exact(text: &str) -> Result<Frame, CodeTextError> {
    let upper = text.to_ascii_uppercase();
    if !upper.starts_with("TR") || upper.len() < PREFIX_LEN || !upper.is_char_boundary(PREFIX_LEN) {
        return Err(CodeTextError::Foreign);
    }
    let (prefix, rest) = upper.split_at(PREFIX_LEN);
    let mut p = prefix.chars().skip(2);
    let kind = match p.next() {
        Some('G') => Kind::Guest,
        Some('V') => Kind::Venue,
        _ => return Err(CodeTextError::Foreign),
    };
    let version = match (kind, p.next()) {
        (_, Some('1')) => 1u8,
        (Kind::Guest, Some('2')) => 2u8,
        (_, Some(c)) if c.is_ascii_digit() => return Err(CodeTextError::UnsupportedVersion(c)),
        _ => return Err(CodeTextError::Foreign),
    };
    let data = decode_base32(rest).ok_or(CodeTextError::Misread)?;
    if data.len() < CRC_LEN {
        return Err(CodeTextError::Misread);
    }
    let (body, sum) = data.split_at(data.len() - CRC_LEN);
    let mut sum_bytes = [0u8; CRC_LEN];
    sum_bytes.copy_from_slice(sum);
    if crc(prefix, body) != u32::from_be_bytes(sum_bytes) {
        return Err(CodeTextError::Misread);
    }
    Ok(Frame {
        kind,
        version,
        body: body.to_vec(),
    })
}

/// Groups a base-32 string in blocks of four for reading aloud (fingerprints).
pub fn group4(s: &str) -> String {
    s.as_bytes()
        .chunks(4)
        .map(|c| String::from_utf8_lossy(c).into_owned())
        .collect::<Vec<_>>()
        .join("-")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn alphabet_survives_layout_swap() {
        for l in [(Layout::Us, Layout::De), (Layout::De, Layout::Us)] {
            assert_eq!(retype(ALPHABET, l.0, l.1), ALPHABET);
            assert_eq!(retype("TRGV", l.0, l.1), "TRGV");
        }
    }

    #[test]
    fn frame_roundtrip_case_and_terminators() {
        let t = frame(Kind::Venue, 1, b"hello world");
        assert!(t.starts_with("TRV1"));
        let f = unframe(&format!("  {}\r\n", t.to_lowercase())).unwrap();
        assert_eq!(f.body, b"hello world");
        assert_eq!(f.kind, Kind::Venue);
    }

    #[test]
    fn foreign_and_misread() {
        assert_eq!(unframe("https://example.org"), Err(CodeTextError::Foreign));
        assert_eq!(unframe(""), Err(CodeTextError::Empty));
        assert_eq!(
            unframe("TRG9AAAA"),
            Err(CodeTextError::UnsupportedVersion('9'))
        );
        let mut t = frame(Kind::Guest, 1, b"abc").into_bytes();
        let last = t.len() - 3;
        t[last] = if t[last] == b'A' { b'B' } else { b'A' };
        assert_eq!(
            unframe(std::str::from_utf8(&t).unwrap()),
            Err(CodeTextError::Misread)
        );
    }
}
