//! Guest codes of version 1 (`TRG1`) and version 2 (`TRG2`) side by side, over the 10 000
//! realistic contacts of tests/corpus/contacts.jsonl: characters per code, QR version,
//! the time a code takes on the wire (serial, 10 bits per character) and typed by a
//! keyboard-wedge scanner, and the share read back from a 30 mm fob as a scanner's camera
//! sees it (tests/common/fob_camera.rs, decoded with rqrr).
//!
//! `cargo bench --bench guest_code`
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "../tests/common/fob_camera.rs"]
mod fob_camera;

use tresen_protocol::authority_keys::AuthorityKeys;
use tresen_protocol::contact::ContactData;
use tresen_protocol::guest_code::GuestCode;

fn corpus() -> Vec<ContactData> {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/corpus/contacts.jsonl"
    ))
    .expect("tests/corpus/contacts.jsonl");
    text.lines()
        .map(|l| serde_json::from_str(l).expect("a contact per line"))
        .collect()
}

fn qr_version(text: &str) -> i16 {
    // As printed (tresen-documents writes a Tresen code as one alphanumeric segment).
    let qr = tresen_documents::pdf::qr_code(text, qrcode::EcLevel::M).expect("fits a QR code");
    match qr.version() {
        qrcode::Version::Normal(v) => v,
        qrcode::Version::Micro(v) => v,
    }
}

fn pct(sorted: &[usize], p: f64) -> usize {
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

fn main() {
    let auth = AuthorityKeys::generate("Bench");
    let key = auth.contact_key();
    let contacts: Vec<ContactData> = corpus()
        .into_iter()
        .filter(|c| c.validated().is_ok())
        .collect();
    println!(
        "{} contacts of the corpus that version 1 accepts",
        contacts.len()
    );
    let mut texts: [Vec<String>; 2] = [Vec::new(), Vec::new()];
    for c in &contacts {
        texts[0].push(GuestCode::create_v1(c, &key).unwrap().to_text());
        texts[1].push(GuestCode::create(c, &key).unwrap().to_text());
    }
    println!(
        "{:<6} {:>7} {:>5} {:>5} {:>11} {:>13} {:>15} {:>11} {:>11} {:>8}",
        "code",
        "chars",
        "p95",
        "max",
        "QR version",
        "≤ 260 chars",
        "9600 baud",
        "115200",
        "wedge 2ms",
        "10ms"
    );
    for (name, t) in ["TRG1", "TRG2"].iter().zip(&texts) {
        let mut lens: Vec<usize> = t.iter().map(String::len).collect();
        lens.sort_unstable();
        let mut versions: Vec<usize> = t.iter().map(|x| qr_version(x) as usize).collect();
        versions.sort_unstable();
        let short = lens.iter().filter(|l| **l <= 260).count() as f64 / lens.len() as f64;
        let median = pct(&lens, 0.5);
        // A serial character is 10 bits (start, 8 data, stop); a wedge scanner types one
        // character per key report, plus Enter.
        let wire = |baud: f64| median as f64 * 10.0 / baud * 1000.0;
        let wedge = |ms: f64| (median + 1) as f64 * ms;
        println!(
            "{name:<6} {median:>7} {:>5} {:>5} {:>5} ({:>2}–{:>2}) {:>11.1} % {:>12.0} ms {:>8.1} ms {:>8.0} ms {:>5.0} ms",
            pct(&lens, 0.95),
            lens[lens.len() - 1],
            pct(&versions, 0.5),
            versions[0],
            versions[versions.len() - 1],
            short * 100.0,
            wire(9600.0),
            wire(115_200.0),
            wedge(2.0),
            wedge(10.0),
        );
    }
    let sample = 120;
    println!("\nread back from a 30 mm fob ({sample} codes each, rqrr):");
    for view in &fob_camera::VIEWS {
        let r: Vec<f64> = texts
            .iter()
            .map(|t| fob_camera::read_rate(&t[..sample], view))
            .collect();
        println!(
            "  {:<14} {} px across: TRG1 {:>5.1} %   TRG2 {:>5.1} %",
            view.name,
            view.pixels,
            r[0] * 100.0,
            r[1] * 100.0
        );
    }
}
