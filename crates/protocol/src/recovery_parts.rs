//! The parts of the key recovery sheet: the armoured key file cut into pieces, each with a
//! header line, one QR code per part. See docs/protocol.md, section 13.

/// The QR parts of a key file: `TRESEN-KEY/1 i/n` on the first line, then a piece of
/// the armoured key file.
pub const PART_HEADER: &str = "TRESEN-KEY/1";
/// Small parts with error correction Q survive creases, glare and blurry photos.
const PART_BYTES: usize = 130;

pub fn key_parts(key_file: &str) -> Vec<String> {
    let bytes = key_file.as_bytes();
    let n = bytes.len().div_ceil(PART_BYTES).max(1);
    let size = bytes.len().div_ceil(n);
    bytes
        .chunks(size.max(1))
        .enumerate()
        .map(|(i, chunk)| {
            format!(
                "{PART_HEADER} {}/{n}\n{}",
                i + 1,
                String::from_utf8_lossy(chunk)
            )
        })
        .collect()
}

/// The part number and the number of parts of a part's text.
pub fn part_number(content: &str) -> Option<(usize, usize)> {
    let head = content.split_once('\n')?.0;
    let (i, n) = head.strip_prefix(PART_HEADER)?.trim().split_once('/')?;
    Some((i.parse().ok()?, n.parse().ok()?))
}
