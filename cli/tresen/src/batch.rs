//! Reading lines from standard input or a file for batches: scans one per line, guests'
//! contact data field by field on a terminal or as JSON lines from a script.

use std::io::Write;
use std::path::Path;

use tresen_protocol::contact::ContactData;

use crate::Result;

/// Reads guests' contact data from standard input and hands each to `f` (with a "line N: "
/// prefix for messages in a batch): on a terminal one prompt per field, else one JSON
/// object per line. A line that is not a contact is refused on its own. Returns how many
/// were refused.
pub fn for_each_contact(mut f: impl FnMut(&ContactData, &str) -> Result<bool>) -> Result<usize> {
    use std::io::IsTerminal;
    if std::io::stdin().is_terminal() {
        let c = prompt_contact()?;
        return Ok(usize::from(!f(&c, "")?));
    }
    let mut input = std::io::stdin().lock();
    let (mut n, mut refused) = (0usize, 0usize);
    while let Some(line) = read_scan_line(&mut input)? {
        n += 1;
        let prefix = format!("line {n}: ");
        let contact = match line {
            ScanLine::Text(t) if t.trim().is_empty() => continue,
            ScanLine::Text(t) => serde_json::from_str::<ContactData>(&t).map_err(|e| {
                format!("not a contact (one JSON object per line with name, street, postcode, city, phone, email): {e}")
            }),
            ScanLine::NotText => Err("the line is not text (UTF-8)".to_string()),
            ScanLine::TooLong => Err("the line is far too long for contact data".to_string()),
        };
        match contact {
            Ok(c) => {
                if !f(&c, &prefix)? {
                    refused += 1;
                }
            }
            Err(why) => {
                println!("{prefix}refused: {why}");
                refused += 1;
            }
        }
    }
    Ok(refused)
}

/// Asks for a guest's contact data field by field on the terminal.
fn prompt_contact() -> Result<ContactData> {
    use std::io::BufRead;
    let ask = |label: &str| -> Result<String> {
        eprint!("{label}: ");
        std::io::stderr().flush()?;
        let mut line = String::new();
        std::io::stdin().lock().read_line(&mut line)?;
        Ok(line.trim_end_matches(['\r', '\n']).to_string())
    };
    Ok(ContactData {
        name: ask("Name")?,
        street: ask("Street and house number")?,
        postcode: ask("Postcode")?,
        city: ask("City")?,
        phone: ask("Phone")?,
        email: ask("E-mail (optional)")?,
    })
}

/// One line of a batch of scans.
pub enum ScanLine {
    Text(String),
    NotText,
    TooLong,
}

/// No code is longer; a longer line is a misread, read past without keeping it.
const MAX_SCAN_LINE: u64 = 16 * 1024;

/// Reads one line (without its CR/LF), bounded in length; `None` at the end.
pub fn read_scan_line(r: &mut dyn std::io::BufRead) -> std::io::Result<Option<ScanLine>> {
    use std::io::{BufRead, Read};
    let mut buf = Vec::new();
    let n = r.take(MAX_SCAN_LINE + 1).read_until(b'\n', &mut buf)?;
    if n == 0 {
        return Ok(None);
    }
    if buf.last() != Some(&b'\n') && buf.len() as u64 > MAX_SCAN_LINE {
        // Skip the rest of the overlong line a chunk at a time.
        loop {
            let mut rest = Vec::new();
            let m = r.take(MAX_SCAN_LINE).read_until(b'\n', &mut rest)?;
            if m == 0 || rest.last() == Some(&b'\n') {
                break;
            }
        }
        return Ok(Some(ScanLine::TooLong));
    }
    while matches!(buf.last(), Some(b'\n' | b'\r')) {
        buf.pop();
    }
    Ok(Some(match String::from_utf8(buf) {
        Ok(t) => ScanLine::Text(t),
        Err(_) => ScanLine::NotText,
    }))
}

pub fn open(p: &Path) -> Result<std::fs::File> {
    std::fs::File::open(p).map_err(|e| format!("could not read {}: {e}", p.display()).into())
}
