//! The compact contact plaintext of guest codes of version 2 (`TRG2`): the fields packed
//! into a bit stream — text in a 6-bit alphabet of the characters German, Austrian and
//! Swiss addresses use, digits in 4 bits, well-known e-mail domains as an index — and
//! padded to one of two sizes, so that the length of a code tells only whether the
//! contact is unusually long. See docs/protocol.md, "Compact contact plaintext".

use zeroize::Zeroizing;

use crate::contact::{ContactData, ContactError};

pub const FORMAT_VERSION: u8 = 2;
/// The size class nearly every contact fits (a code of at most 259 characters).
pub const SMALL_LEN: usize = 103;
/// The size class every contact that version 1 accepts fits.
pub const LARGE_LEN: usize = 188;

const END: u8 = 0;
const CAP: u8 = 1;
const ESC: u8 = 2;
/// Symbols 3 to 63, in order: the letters, the digits, punctuation, accented letters,
/// and three street fragments.
const CHARS: [&str; 61] = [
    "a", "b", "c", "d", "e", "f", "g", "h", "i", "j", "k", "l", "m", "n", "o", "p", "q", "r", "s",
    "t", "u", "v", "w", "x", "y", "z", "0", "1", "2", "3", "4", "5", "6", "7", "8", "9", " ", "-",
    ".", ",", "'", "/", "&", "_", "+", "(", ")", "ä", "ö", "ü", "ß", "é", "è", "à", "ç", "ô", "â",
    "ê", "str.", "straße", "strasse",
];
/// E-mail domains sent as a 5-bit index (31: another domain, sent as text).
pub const DOMAINS: [&str; 31] = [
    "gmail.com",
    "web.de",
    "gmx.de",
    "gmx.net",
    "t-online.de",
    "yahoo.de",
    "yahoo.com",
    "hotmail.com",
    "hotmail.de",
    "outlook.com",
    "outlook.de",
    "icloud.com",
    "me.com",
    "freenet.de",
    "aol.com",
    "live.de",
    "posteo.de",
    "mailbox.org",
    "arcor.de",
    "googlemail.com",
    "bluewin.ch",
    "gmx.ch",
    "gmx.at",
    "aon.at",
    "a1.net",
    "chello.at",
    "hispeed.ch",
    "sunrise.ch",
    "protonmail.com",
    "proton.me",
    "aol.de",
];

const MODE_TEXT: u32 = 0;
const MODE_RAW: u32 = 1;
const MODE_DIGITS: u32 = 2;
const MODE_PLUS_DIGITS: u32 = 3;

/// How a field's letters are written by default: in names and places a word starts
/// upper case; a postcode is upper case; an e-mail address lower case.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Case {
    Words,
    Upper,
    Lower,
}

struct Bits {
    out: Vec<u8>,
    len: usize,
}

impl Bits {
    fn new() -> Self {
        Self {
            out: Vec::with_capacity(LARGE_LEN),
            len: 0,
        }
    }

    fn put(&mut self, value: u32, n: usize) {
        for i in (0..n).rev() {
            if self.len.is_multiple_of(8) {
                self.out.push(0);
            }
            if (value >> i) & 1 == 1 {
                if let Some(last) = self.out.last_mut() {
                    *last |= 0x80 >> (self.len % 8);
                }
            }
            self.len += 1;
        }
    }
}

struct Reader<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl Reader<'_> {
    fn get(&mut self, n: usize) -> Result<u32, ContactError> {
        let mut v = 0;
        for _ in 0..n {
            let byte = self
                .bytes
                .get(self.pos / 8)
                .ok_or(ContactError::Malformed)?;
            v = (v << 1) | u32::from((byte >> (7 - self.pos % 8)) & 1);
            self.pos += 1;
        }
        Ok(v)
    }
}

fn at_word_start(prev: Option<char>) -> bool {
    matches!(prev, None | Some(' ' | '-' | '\'' | '.' | '/' | '('))
}

fn default_upper(case: Case, prev: Option<char>) -> bool {
    match case {
        Case::Words => at_word_start(prev),
        Case::Upper => true,
        Case::Lower => false,
    }
}

/// A field's text as 6-bit symbols; a character without a symbol is sent as ESC and its
/// code point (marked here by the top bit, written in 21 bits).
fn symbols(text: &str, case: Case) -> Vec<u32> {
    let chars: Vec<char> = text.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    let mut prev = None;
    while i < chars.len() {
        let upper_default = default_upper(case, prev);
        // The longest symbol that matches here, its first letter in either case.
        let mut best: Option<(usize, u32, bool)> = None;
        for (n, s) in CHARS.iter().enumerate() {
            let sym: Vec<char> = s.chars().collect();
            if sym.len() > chars.len() - i || best.is_some_and(|(len, _, _)| len >= sym.len()) {
                continue;
            }
            let first = chars[i];
            let lower_first: Vec<char> = first.to_lowercase().collect();
            let upper_first: Vec<char> = sym[0].to_uppercase().collect();
            let is_upper = first != sym[0] && upper_first == [first] && lower_first == [sym[0]];
            if first != sym[0] && !is_upper {
                continue;
            }
            if chars[i + 1..i + sym.len()] != sym[1..] {
                continue;
            }
            best = Some((sym.len(), n as u32 + 3, is_upper));
        }
        match best {
            Some((len, sym, is_upper)) => {
                let letter = chars[i].is_alphabetic();
                if letter && is_upper != upper_default {
                    out.push(u32::from(CAP));
                }
                out.push(sym);
                prev = chars.get(i + len - 1).copied();
                i += len;
            }
            None => {
                out.push(u32::from(ESC));
                out.push(u32::from(chars[i]) | 0x8000_0000);
                prev = Some(chars[i]);
                i += 1;
            }
        }
    }
    out
}

/// Writes one field in its shortest form.
fn put_field(bits: &mut Bits, text: &str, case: Case, digits_ok: bool) {
    let packed = symbols(text, case);
    let packed_bits: usize = packed
        .iter()
        .map(|s| if s & 0x8000_0000 != 0 { 21 } else { 6 })
        .sum::<usize>()
        + 6;
    let raw_bits = 7 + 8 * text.len();
    let (plus, digits) = match text.strip_prefix('+') {
        Some(d) => (true, d),
        None => (false, text),
    };
    let all_digits = digits_ok
        && !digits.is_empty()
        && digits.len() < 32
        && digits.bytes().all(|b| b.is_ascii_digit());
    if all_digits && 5 + 4 * digits.len() <= packed_bits.min(raw_bits) {
        bits.put(if plus { MODE_PLUS_DIGITS } else { MODE_DIGITS }, 2);
        bits.put(digits.len() as u32, 5);
        for b in digits.bytes() {
            bits.put(u32::from(b - b'0'), 4);
        }
    } else if packed_bits <= raw_bits {
        bits.put(MODE_TEXT, 2);
        for s in packed {
            if s & 0x8000_0000 != 0 {
                bits.put(s & 0x1F_FFFF, 21);
            } else {
                bits.put(s, 6);
            }
        }
        bits.put(u32::from(END), 6);
    } else {
        bits.put(MODE_RAW, 2);
        bits.put(text.len() as u32, 7);
        for b in text.bytes() {
            bits.put(u32::from(b), 8);
        }
    }
}

fn get_field(r: &mut Reader<'_>, case: Case) -> Result<String, ContactError> {
    match r.get(2)? {
        MODE_TEXT => {
            let mut out = String::new();
            let mut prev = None;
            let mut cap = false;
            loop {
                let s = r.get(6)? as u8;
                match s {
                    END if !cap => return Ok(out),
                    CAP if !cap => cap = true,
                    ESC if !cap => {
                        let c = char::from_u32(r.get(21)?).ok_or(ContactError::Malformed)?;
                        out.push(c);
                        prev = Some(c);
                    }
                    s if s >= 3 => {
                        let text = CHARS[usize::from(s - 3)];
                        let upper = default_upper(case, prev) != cap;
                        let mut chars = text.chars();
                        let first = chars.next().ok_or(ContactError::Malformed)?;
                        if cap && !first.is_alphabetic() {
                            return Err(ContactError::Malformed);
                        }
                        if upper && first.is_alphabetic() {
                            let up: Vec<char> = first.to_uppercase().collect();
                            // ß has no single upper-case letter here; ẞ goes behind ESC.
                            if up.len() != 1 {
                                return Err(ContactError::Malformed);
                            }
                            out.extend(up);
                        } else {
                            out.push(first);
                        }
                        out.extend(chars);
                        prev = text.chars().last();
                        cap = false;
                    }
                    _ => return Err(ContactError::Malformed),
                }
            }
        }
        MODE_RAW => {
            let n = r.get(7)? as usize;
            let bytes = (0..n)
                .map(|_| r.get(8).map(|b| b as u8))
                .collect::<Result<Vec<u8>, _>>()?;
            String::from_utf8(bytes).map_err(|_| ContactError::Malformed)
        }
        mode => {
            let n = r.get(5)? as usize;
            let mut out = String::with_capacity(n + 1);
            if mode == MODE_PLUS_DIGITS {
                out.push('+');
            }
            for _ in 0..n {
                let d = r.get(4)?;
                out.push(char::from_digit(d, 10).ok_or(ContactError::Malformed)?);
            }
            Ok(out)
        }
    }
}

/// Packs validated contact data: the version byte, the fields, zero padding to the
/// smaller size class it fits.
pub fn pack(c: &ContactData) -> Result<Zeroizing<Vec<u8>>, ContactError> {
    c.check()?;
    let mut bits = Bits::new();
    bits.put(u32::from(FORMAT_VERSION), 8);
    put_field(&mut bits, &c.name, Case::Words, false);
    put_field(&mut bits, &c.street, Case::Words, false);
    put_field(&mut bits, &c.postcode, Case::Upper, true);
    put_field(&mut bits, &c.city, Case::Words, false);
    put_field(&mut bits, &c.phone, Case::Lower, true);
    match c.email.split_once('@') {
        None => bits.put(0, 1),
        Some((local, domain)) => {
            bits.put(1, 1);
            put_field(&mut bits, local, Case::Lower, false);
            match DOMAINS.iter().position(|d| *d == domain) {
                Some(i) => bits.put(i as u32, 5),
                None => {
                    bits.put(31, 5);
                    put_field(&mut bits, domain, Case::Lower, false);
                }
            }
        }
    }
    let mut out = Zeroizing::new(std::mem::take(&mut bits.out));
    let class = if out.len() <= SMALL_LEN {
        SMALL_LEN
    } else if out.len() <= LARGE_LEN {
        LARGE_LEN
    } else {
        return Err(ContactError::TooLongInTotal);
    };
    out.resize(class, 0);
    Ok(out)
}

/// Unpacks a compact plaintext of either size without validating the content (the
/// health office keeps invalid data and flags it).
pub fn unpack(bytes: &[u8]) -> Result<ContactData, ContactError> {
    if (bytes.len() != SMALL_LEN && bytes.len() != LARGE_LEN) || bytes[0] != FORMAT_VERSION {
        return Err(ContactError::Malformed);
    }
    let mut r = Reader { bytes, pos: 8 };
    let name = get_field(&mut r, Case::Words)?;
    let street = get_field(&mut r, Case::Words)?;
    let postcode = get_field(&mut r, Case::Upper)?;
    let city = get_field(&mut r, Case::Words)?;
    let phone = get_field(&mut r, Case::Lower)?;
    let email = match r.get(1)? {
        0 => String::new(),
        _ => {
            let local = get_field(&mut r, Case::Lower)?;
            let domain = match r.get(5)? as usize {
                31 => get_field(&mut r, Case::Lower)?,
                i => DOMAINS.get(i).ok_or(ContactError::Malformed)?.to_string(),
            };
            format!("{local}@{domain}")
        }
    };
    // Everything after the last field is zero: nothing can hide in the padding.
    while r.pos < bytes.len() * 8 {
        if r.get(1)? != 0 {
            return Err(ContactError::Malformed);
        }
    }
    Ok(ContactData {
        name,
        street,
        postcode,
        city,
        phone,
        email,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn contact(name: &str, street: &str, postcode: &str, city: &str, email: &str) -> ContactData {
        ContactData {
            name: name.into(),
            street: street.into(),
            postcode: postcode.into(),
            city: city.into(),
            phone: "+4930123456789".into(),
            email: email.into(),
        }
    }

    #[test]
    fn round_trips_what_addresses_hold() {
        for c in [
            contact(
                "Erika Mustermann",
                "Heidestraße 17",
                "51147",
                "Köln",
                "erika@gmail.com",
            ),
            contact(
                "Anna-Katharina von Ölsen",
                "Kaiser-Wilhelm-Str. 12a",
                "D-01067",
                "Frankfurt am Main",
                "",
            ),
            contact(
                "Zoë O'Brien",
                "Bühlmannstrasse 77",
                "4170",
                "Renens",
                "Zoe.OBrien@Example.CH",
            ),
            contact(
                "ŁUKASZ ŻÓŁW",
                "ul. Długa 5/7",
                "SW1A 1AA",
                "Łódź",
                "lz@poczta.onet.pl",
            ),
            contact("李小龙", "中山路 1号", "200000", "上海", ""),
            contact(
                "McDonald",
                "(Hinterhaus) Am Markt 1",
                "1010",
                "Wien",
                "a+b_c@x-y.at",
            ),
            contact("ẞtraße Test", "straße 1", "10115", "Berlin", "x@web.de"),
        ] {
            let c = c.validated().unwrap();
            let packed = pack(&c).unwrap();
            assert!(packed.len() == SMALL_LEN || packed.len() == LARGE_LEN);
            assert_eq!(unpack(&packed).unwrap(), c, "{c:?}");
        }
    }

    #[test]
    fn a_typical_contact_takes_the_small_size() {
        let c = contact(
            "Erika Mustermann",
            "Heidestraße 17",
            "51147",
            "Köln",
            "erika@gmail.com",
        );
        let packed = pack(&c.validated().unwrap()).unwrap();
        assert_eq!(packed.len(), SMALL_LEN);
    }

    #[test]
    fn the_longest_contacts_of_version_one_still_fit() {
        // 184 bytes in version 1's plaintext, its most; text that packs badly.
        let c = ContactData {
            name: "ä".repeat(32),
            street: "語".repeat(21),
            postcode: "ABCDE-1234".into(),
            city: "ü".repeat(5),
            phone: "+1234567890123".into(),
            email: "éééé@exa.org".into(),
        };
        let c = c.validated().unwrap();
        assert_eq!(
            c.to_padded().unwrap().iter().rposition(|b| *b != 0),
            Some(183)
        );
        let packed = pack(&c).unwrap();
        assert_eq!(packed.len(), LARGE_LEN);
        assert_eq!(unpack(&packed).unwrap(), c);
    }

    #[test]
    fn refuses_what_no_encoder_makes() {
        let c = contact("Erika", "Weg 1", "12345", "Ort", "");
        let mut packed = pack(&c.validated().unwrap()).unwrap().to_vec();
        *packed.last_mut().unwrap() = 1;
        assert_eq!(unpack(&packed), Err(ContactError::Malformed));
        let mut wrong = packed.clone();
        wrong[0] = 1;
        assert_eq!(unpack(&wrong), Err(ContactError::Malformed));
        assert_eq!(unpack(&packed[..50]), Err(ContactError::Malformed));
    }
}
