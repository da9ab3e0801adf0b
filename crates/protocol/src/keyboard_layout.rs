//! Keyboard layouts as a keyboard-wedge scanner and the PC see them: which HID key a
//! character is typed with, and which character a HID key produces. Used to undo layout
//! mismatches (a scanner set to US typing into a German PC, and the reverse) and, by the
//! USB reader, to decode keyboard reports independently of the PC's own layout.

/// A physical key press: HID usage id (page 0x07) and modifier level.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct KeyStroke {
    pub usage: u8,
    pub level: Level,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Level {
    Plain,
    Shift,
    AltGr,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Layout {
    /// US English (ANSI).
    Us,
    /// German (QWERTZ, ISO).
    De,
}

impl Layout {
    pub const ALL: [Layout; 2] = [Layout::Us, Layout::De];

    fn table(self) -> &'static [(u8, Level, char)] {
        match self {
            Layout::Us => US,
            Layout::De => DE,
        }
    }

    /// The character this layout produces for a key press, if any.
    pub fn char_for(self, key: KeyStroke) -> Option<char> {
        if let Some(c) = letter_or_digit(self, key) {
            return Some(c);
        }
        self.table()
            .iter()
            .find(|(u, l, _)| *u == key.usage && *l == key.level)
            .map(|(_, _, c)| *c)
    }

    /// The key press that types `c` on this layout, if it can be typed directly.
    pub fn key_for(self, c: char) -> Option<KeyStroke> {
        for usage in 0x04..=0x27u8 {
            for level in [Level::Plain, Level::Shift] {
                let key = KeyStroke { usage, level };
                if letter_or_digit(self, key) == Some(c) {
                    return Some(key);
                }
            }
        }
        self.table()
            .iter()
            .find(|(_, _, ch)| *ch == c)
            .map(|(usage, level, _)| KeyStroke {
                usage: *usage,
                level: *level,
            })
    }

    pub fn parse(name: &str) -> Option<Layout> {
        match name.to_ascii_lowercase().as_str() {
            "us" | "en-us" | "en" => Some(Layout::Us),
            "de" | "de-de" | "german" | "qwertz" => Some(Layout::De),
            _ => None,
        }
    }
}

/// What a PC set to `read_as` shows when a scanner set to `typed_with` types `text`.
/// Characters the scanner cannot type, or the PC cannot show, become U+FFFD.
pub fn retype(text: &str, typed_with: Layout, read_as: Layout) -> String {
    text.chars()
        .map(|c| {
            typed_with
                .key_for(c)
                .and_then(|k| read_as.char_for(k))
                .unwrap_or('\u{FFFD}')
        })
        .collect()
}

fn letter_or_digit(layout: Layout, key: KeyStroke) -> Option<char> {
    let shift = match key.level {
        Level::Plain => false,
        Level::Shift => true,
        Level::AltGr => return None,
    };
    let u = key.usage;
    let c = match u {
        0x04..=0x1D => {
            let mut letter = (b'a' + (u - 0x04)) as char;
            if layout == Layout::De {
                letter = match letter {
                    'y' => 'z',
                    'z' => 'y',
                    other => other,
                };
            }
            if shift {
                letter.to_ascii_uppercase()
            } else {
                letter
            }
        }
        0x1E..=0x27 if !shift => {
            if u == 0x27 {
                '0'
            } else {
                (b'1' + (u - 0x1E)) as char
            }
        }
        _ => return None,
    };
    Some(c)
}

use Level::{AltGr, Plain, Shift};

const US: &[(u8, Level, char)] = &[
    (0x1E, Shift, '!'),
    (0x1F, Shift, '@'),
    (0x20, Shift, '#'),
    (0x21, Shift, '$'),
    (0x22, Shift, '%'),
    (0x23, Shift, '^'),
    (0x24, Shift, '&'),
    (0x25, Shift, '*'),
    (0x26, Shift, '('),
    (0x27, Shift, ')'),
    (0x28, Plain, '\n'),
    (0x2B, Plain, '\t'),
    (0x2C, Plain, ' '),
    (0x2C, Shift, ' '),
    (0x2D, Plain, '-'),
    (0x2D, Shift, '_'),
    (0x2E, Plain, '='),
    (0x2E, Shift, '+'),
    (0x2F, Plain, '['),
    (0x2F, Shift, '{'),
    (0x30, Plain, ']'),
    (0x30, Shift, '}'),
    (0x31, Plain, '\\'),
    (0x31, Shift, '|'),
    (0x33, Plain, ';'),
    (0x33, Shift, ':'),
    (0x34, Plain, '\''),
    (0x34, Shift, '"'),
    (0x35, Plain, '`'),
    (0x35, Shift, '~'),
    (0x36, Plain, ','),
    (0x36, Shift, '<'),
    (0x37, Plain, '.'),
    (0x37, Shift, '>'),
    (0x38, Plain, '/'),
    (0x38, Shift, '?'),
    (0x58, Plain, '\n'),
];

const DE: &[(u8, Level, char)] = &[
    (0x1E, Shift, '!'),
    (0x1F, Shift, '"'),
    (0x1F, AltGr, '²'),
    (0x20, Shift, '§'),
    (0x20, AltGr, '³'),
    (0x21, Shift, '$'),
    (0x22, Shift, '%'),
    (0x23, Shift, '&'),
    (0x24, Shift, '/'),
    (0x24, AltGr, '{'),
    (0x25, Shift, '('),
    (0x25, AltGr, '['),
    (0x26, Shift, ')'),
    (0x26, AltGr, ']'),
    (0x27, Shift, '='),
    (0x27, AltGr, '}'),
    (0x14, AltGr, '@'),
    (0x08, AltGr, '€'),
    (0x10, AltGr, 'µ'),
    (0x28, Plain, '\n'),
    (0x2B, Plain, '\t'),
    (0x2C, Plain, ' '),
    (0x2C, Shift, ' '),
    (0x2D, Plain, 'ß'),
    (0x2D, Shift, '?'),
    (0x2D, AltGr, '\\'),
    (0x2F, Plain, 'ü'),
    (0x2F, Shift, 'Ü'),
    (0x30, Plain, '+'),
    (0x30, Shift, '*'),
    (0x30, AltGr, '~'),
    (0x32, Plain, '#'),
    (0x32, Shift, '\''),
    (0x31, Plain, '#'),
    (0x31, Shift, '\''),
    (0x33, Plain, 'ö'),
    (0x33, Shift, 'Ö'),
    (0x34, Plain, 'ä'),
    (0x34, Shift, 'Ä'),
    (0x35, Shift, '°'),
    (0x36, Plain, ','),
    (0x36, Shift, ';'),
    (0x37, Plain, '.'),
    (0x37, Shift, ':'),
    (0x38, Plain, '-'),
    (0x38, Shift, '_'),
    (0x64, Plain, '<'),
    (0x64, Shift, '>'),
    (0x64, AltGr, '|'),
    (0x58, Plain, '\n'),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn us_scanner_on_german_pc_swaps_y_and_z_and_symbols() {
        assert_eq!(retype("Yz-]", Layout::Us, Layout::De), "Zyß+");
        assert_eq!(retype("Zyß+", Layout::De, Layout::Us), "Yz-]");
    }

    #[test]
    fn every_typeable_char_roundtrips_on_its_own_layout() {
        for layout in Layout::ALL {
            for c in (' '..='~').chain("äöüÄÖÜß§°€".chars()) {
                if let Some(k) = layout.key_for(c) {
                    assert_eq!(layout.char_for(k), Some(c), "{layout:?} {c:?}");
                }
            }
        }
    }
}
