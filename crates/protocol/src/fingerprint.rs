//! Fingerprints as people see them: the first 100 bits of a SHA-256, in the code text's
//! base-32 alphabet, in groups of four (`XXXX-XXXX-XXXX-XXXX-XXXX`). See docs/protocol.md,
//! section 6.

pub fn fingerprint_text(fp: &[u8; 32]) -> String {
    let s = crate::textcode::encode_base32(&fp[..15]);
    crate::textcode::group4(&s[..20])
}

/// A fingerprint as typed, for comparing: letters and digits only, upper case.
pub fn normalize(s: &str) -> String {
    s.chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .collect::<String>()
        .to_ascii_uppercase()
}
