//! The health office's contact list, opened in a real spreadsheet: LibreOffice Calc
//! (headless) imports the exported CSV with formula evaluation on and saves it as flat
//! OpenDocument (.fods). No cell may have become a formula, and every cell must show
//! exactly what the export wrote: the guest's text, with a leading apostrophe where the
//! text started like a formula. A control file with the same payloads, not neutralised,
//! goes through the same import to show that it really does evaluate formulas.
//!
//! Needs `soffice` (scripts/setup-spreadsheet.sh installs it). Without it the test is
//! skipped with a message; with TRESEN_REQUIRE_SPREADSHEET=1 (CI) it fails instead.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use tresen_office::export::{spreadsheet_safe, ContactRow, CsvExport, RowPlace};
use tresen_protocol::contact::ContactData;

/// LibreOffice's CSV import options, by token: field separator `,` (44), text delimiter `"`
/// (34), UTF-8 (76), start at line 1, no column formats (all "Standard"), German (1031),
/// quoted fields NOT as text, detect special numbers, (two export-only tokens), trim
/// spaces, (export-only), and token 13: EVALUATE FORMULAS. This is the most trusting way a
/// person can open the file; the control case proves that it evaluates `=1+1`.
const CSV_FILTER: &str = "CSV:44,34,76,1,,1031,false,true,false,false,true,,true";

/// A conversion that takes longer than this has hung.
const SOFFICE_TIMEOUT: Duration = Duration::from_secs(180);

const TABLE: &str = "urn:oasis:names:tc:opendocument:xmlns:table:1.0";
const TEXT: &str = "urn:oasis:names:tc:opendocument:xmlns:text:1.0";
const OFFICE: &str = "urn:oasis:names:tc:opendocument:xmlns:office:1.0";

/// The CSV columns that carry guest data (and the location, area and problems, which go
/// through the same function), in the order the test fills them.
const GUEST_COLUMNS: [&str; 9] = [
    "name", "street", "postcode", "city", "phone", "email", "area", "problems", "location",
];

struct Payload {
    /// Line in the fixture, for messages.
    line: usize,
    /// Whether the export must put an apostrophe in front.
    quote: bool,
    text: String,
}

fn corpus() -> Vec<Payload> {
    let file = include_str!("fixtures/formula-payloads.txt");
    let mut out = Vec::new();
    for (i, line) in file.lines().enumerate() {
        let line_no = i + 1;
        if line.trim().is_empty() || line.starts_with('#') {
            continue;
        }
        let (kind, json) = line
            .split_once(' ')
            .unwrap_or_else(|| panic!("formula-payloads.txt:{line_no}: no payload"));
        let quote = match kind {
            "quote" => true,
            "keep" => false,
            _ => panic!("formula-payloads.txt:{line_no}: unknown kind {kind:?}"),
        };
        let text: String = serde_json::from_str(json.trim())
            .unwrap_or_else(|e| panic!("formula-payloads.txt:{line_no}: {e}"));
        out.push(Payload {
            line: line_no,
            quote,
            text,
        });
    }
    out
}

/// What the export must write for a payload.
fn expected_cell(p: &Payload) -> String {
    let cleaned: String = p
        .text
        .chars()
        .map(|c| if c.is_control() { '\u{FFFD}' } else { c })
        .collect();
    if p.quote {
        format!("'{cleaned}")
    } else {
        cleaned
    }
}

#[test]
fn corpus_is_neutralised_as_declared() {
    let corpus = corpus();
    assert!(corpus.len() >= 100, "only {} payloads", corpus.len());
    let mut wrong = Vec::new();
    for p in &corpus {
        let got = spreadsheet_safe(&p.text);
        if got != expected_cell(p) {
            wrong.push(format!(
                "line {}: {:?} -> {got:?}, expected {:?}",
                p.line,
                p.text,
                expected_cell(p)
            ));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[test]
fn libreoffice_evaluates_no_exported_cell() {
    let Some(soffice) = soffice() else {
        return;
    };
    let corpus = corpus();
    let n = corpus.len();
    let dir = tempfile::tempdir().expect("tempdir");

    // The export: row i carries payload (i + k) % n in its k-th guest column, so every
    // payload is in every guest column once.
    let export_csv = dir.path().join("export.csv");
    let mut export = CsvExport::new(std::fs::File::create(&export_csv).expect("create export.csv"))
        .expect("header");
    for i in 0..n {
        let p = |k: usize| corpus[(i + k) % n].text.clone();
        let contact = ContactData {
            name: p(0),
            street: p(1),
            postcode: p(2),
            city: p(3),
            phone: p(4),
            email: p(5),
        };
        let row = ContactRow::new(
            Some(contact),
            Some(p(7)),
            RowPlace {
                record: None,
                location: p(8),
                area: p(6),
                table: Some(1),
                checked_in_at: 1_700_000_000 + i as i64 * 60,
                checked_out_at: None,
                method: "scan",
            },
        );
        export.push(&row).expect("push");
    }
    export.finish().expect("finish");

    // The control: the same payloads written the same way, but not neutralised.
    let control_csv = dir.path().join("control.csv");
    let mut control = csv::WriterBuilder::new()
        .quote_style(csv::QuoteStyle::Always)
        .terminator(csv::Terminator::CRLF)
        .from_path(&control_csv)
        .expect("create control.csv");
    control.write_record(["=1+1"]).expect("control row");
    for p in &corpus {
        control.write_record([&p.text]).expect("control row");
    }
    control.flush().expect("flush control.csv");
    drop(control);

    let started = Instant::now();
    convert(&soffice, dir.path(), &[&export_csv, &control_csv]);
    eprintln!(
        "LibreOffice imported and converted {} + {} rows in {:.2} s",
        n + 1,
        n + 1,
        started.elapsed().as_secs_f64()
    );

    // The control case: the same import does evaluate formulas.
    let control_xml = read(&dir.path().join("out/control.fods"));
    let control_doc = roxmltree::Document::parse(&control_xml).expect("control.fods is XML");
    let control_rows = rows(&control_doc, n + 1);
    let first = &control_rows[0][0];
    assert_eq!(
        (first.formula.as_deref(), first.value.as_deref()),
        (Some("of:=1+1"), Some("2")),
        "the control cell \"=1+1\" did not become a formula: the filter options \
         {CSV_FILTER:?} do not evaluate formulas, so the test would prove nothing"
    );
    let raw_formulas: Vec<&str> = corpus
        .iter()
        .zip(&control_rows[1..])
        .filter(|(_, row)| row[0].formula.is_some())
        .map(|(p, _)| p.text.as_str())
        .collect();
    for must in ["=1+1", "=cmd|' /C calc'!A0"] {
        assert!(
            raw_formulas.contains(&must),
            "control: {must:?} did not become a formula"
        );
    }
    eprintln!(
        "control: {} of {n} payloads became formulas when not neutralised",
        raw_formulas.len()
    );

    // The export: no formula anywhere, and every guest cell shows what was written.
    let export_xml = read(&dir.path().join("out/export.fods"));
    let export_doc = roxmltree::Document::parse(&export_xml).expect("export.fods is XML");
    let formulas: Vec<String> = export_doc
        .descendants()
        .filter_map(|n| n.attribute((TABLE, "formula")))
        .map(str::to_string)
        .collect();
    assert!(
        formulas.is_empty(),
        "cells of the export became formulas: {formulas:?}"
    );
    let export_rows = rows(&export_doc, n + 1);
    let header: Vec<&str> = export_rows[0].iter().map(|c| c.text.as_str()).collect();
    let columns: Vec<usize> = GUEST_COLUMNS
        .iter()
        .map(|name| {
            header
                .iter()
                .position(|h| h == name)
                .unwrap_or_else(|| panic!("no column {name:?} in the header {header:?}"))
        })
        .collect();
    let mut wrong = Vec::new();
    for (i, row) in export_rows[1..].iter().enumerate() {
        for (k, &col) in columns.iter().enumerate() {
            let p = &corpus[(i + k) % n];
            let want = expected_cell(p);
            let cell = row.get(col).cloned().unwrap_or_default();
            let kind_ok = match cell.value_type.as_deref() {
                Some("string") => true,
                None => want.is_empty(),
                Some(_) => false,
            };
            if cell.text != want || !kind_ok {
                wrong.push(format!(
                    "row {}, column {col}: payload line {} {:?} shows as {:?} ({}), written {want:?}",
                    i + 2,
                    p.line,
                    p.text,
                    cell.text,
                    cell.value_type.as_deref().unwrap_or("empty")
                ));
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "{} cells differ from what was written:\n{}",
        wrong.len(),
        wrong.join("\n")
    );
}

/// The `soffice` on PATH, or None (skipped) — or a failure with TRESEN_REQUIRE_SPREADSHEET=1.
fn soffice() -> Option<PathBuf> {
    let found = std::env::var_os("PATH").and_then(|path| {
        std::env::split_paths(&path)
            .map(|d| d.join("soffice"))
            .find(|p| p.is_file())
    });
    if found.is_none() {
        assert!(
            std::env::var("TRESEN_REQUIRE_SPREADSHEET").as_deref() != Ok("1"),
            "LibreOffice (soffice) is not installed: run scripts/setup-spreadsheet.sh"
        );
        eprintln!(
            "SKIPPED: LibreOffice (soffice) is not installed, the export was not opened in a \
             spreadsheet; run scripts/setup-spreadsheet.sh (CI sets TRESEN_REQUIRE_SPREADSHEET=1)"
        );
    }
    found
}

/// One soffice run converts all `inputs` to `dir/out/*.fods`, with its own profile and
/// home directory, so it runs as root and next to other instances.
fn convert(soffice: &Path, dir: &Path, inputs: &[&Path]) {
    let home = dir.join("home");
    std::fs::create_dir_all(&home).expect("home");
    let log = |name: &str| std::fs::File::create(dir.join(name)).expect("log file");
    let mut child = Command::new(soffice)
        .arg(format!(
            "-env:UserInstallation=file://{}",
            dir.join("profile").display()
        ))
        .args([
            "--headless",
            "--norestore",
            "--nolockcheck",
            "--nodefault",
            &format!("--infilter={CSV_FILTER}"),
            "--convert-to",
            "fods",
            "--outdir",
        ])
        .arg(dir.join("out"))
        .args(inputs)
        .env("HOME", &home)
        .stdin(Stdio::null())
        .stdout(log("soffice.out"))
        .stderr(log("soffice.err"))
        .spawn()
        .expect("start soffice");
    let deadline = Instant::now() + SOFFICE_TIMEOUT;
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait for soffice") {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("soffice did not finish within {SOFFICE_TIMEOUT:?}");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let output = format!(
        "{}{}",
        std::fs::read_to_string(dir.join("soffice.out")).unwrap_or_default(),
        std::fs::read_to_string(dir.join("soffice.err")).unwrap_or_default()
    );
    assert!(status.success(), "soffice failed ({status}):\n{output}");
    for input in inputs {
        let out = dir
            .join("out")
            .join(input.with_extension("fods").file_name().expect("file name"));
        assert!(
            out.is_file(),
            "soffice wrote no {}:\n{output}",
            out.display()
        );
    }
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

#[derive(Clone, Debug, Default)]
struct Cell {
    formula: Option<String>,
    /// office:value-type: "string", "float", "date", …; none for an empty cell.
    value_type: Option<String>,
    value: Option<String>,
    text: String,
}

/// The first `want` rows of the first sheet, repeated rows and cells expanded.
fn rows(doc: &roxmltree::Document, want: usize) -> Vec<Vec<Cell>> {
    let table = doc
        .descendants()
        .find(|n| n.has_tag_name((TABLE, "table")))
        .expect("a sheet");
    let mut out = Vec::new();
    for row in table
        .descendants()
        .filter(|n| n.has_tag_name((TABLE, "table-row")))
    {
        let mut cells = Vec::new();
        for cell in row.children().filter(|n| {
            n.has_tag_name((TABLE, "table-cell")) || n.has_tag_name((TABLE, "covered-table-cell"))
        }) {
            let c = Cell {
                formula: cell.attribute((TABLE, "formula")).map(str::to_string),
                value_type: cell.attribute((OFFICE, "value-type")).map(str::to_string),
                value: cell.attribute((OFFICE, "value")).map(str::to_string),
                text: cell_text(cell),
            };
            // Trailing empty cells may be repeated up to the last column of the sheet.
            let repeat = repeated(cell, "number-columns-repeated").min(64);
            cells.extend(std::iter::repeat_n(c, repeat));
        }
        let repeat = repeated(row, "number-rows-repeated").min(want.saturating_sub(out.len()));
        out.extend(std::iter::repeat_n(cells, repeat));
        if out.len() >= want {
            break;
        }
    }
    assert_eq!(out.len(), want, "rows in the sheet");
    out
}

fn repeated(node: roxmltree::Node, attribute: &str) -> usize {
    node.attribute((TABLE, attribute))
        .and_then(|v| v.parse().ok())
        .unwrap_or(1)
}

/// A cell's text as shown: its paragraphs joined by line breaks, with ODF's space, tab
/// and line-break elements expanded.
fn cell_text(cell: roxmltree::Node) -> String {
    fn inline(node: roxmltree::Node, out: &mut String) {
        for c in node.children() {
            if c.is_text() {
                out.push_str(c.text().unwrap_or_default());
            } else if c.has_tag_name((TEXT, "s")) {
                let count = c
                    .attribute((TEXT, "c"))
                    .and_then(|v| v.parse().ok())
                    .unwrap_or(1);
                out.extend(std::iter::repeat_n(' ', count));
            } else if c.has_tag_name((TEXT, "tab")) {
                out.push('\t');
            } else if c.has_tag_name((TEXT, "line-break")) {
                out.push('\n');
            } else if c.is_element() {
                inline(c, out); // span, a, …
            }
        }
    }
    let paragraphs: Vec<String> = cell
        .children()
        .filter(|n| n.has_tag_name((TEXT, "p")))
        .map(|p| {
            let mut s = String::new();
            inline(p, &mut s);
            s
        })
        .collect();
    paragraphs.join("\n")
}
