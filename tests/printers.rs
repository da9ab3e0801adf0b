//! Printing for real: every kind of document goes through a real CUPS scheduler to a
//! virtual IPP Everywhere printer (ippeveprinter) that keeps the job; the job must arrive
//! with its paper and copies, and its pages, rasterised, must decode to the expected
//! codes. A stopped printer gives a clear error and the PDF stays. The guest's slip goes
//! to a receipt printer simulated on a pseudo-terminal; the ESC/POS byte stream is parsed
//! and its QR code (native command or raster image) is exactly the registered code.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
#[path = "common/cups.rs"]
mod cups;

use std::io::Read;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use common::{at, contact, pass, venue};
use image::DynamicImage;
use serialport::SerialPort;
use tresen::printing::{
    deliver, print_slip, render, send_or_save, Cups, Document, JobState, PrintTo, PrinterError,
    ReceiptPrinter, SlipQr, SlipWidth, StopReason,
};
use tresen::Error;
use tresen_documents::documents::TableLayout;
use tresen_documents::pdf::Paper;

fn pages(pdf: &Path, dpi: u32) -> Vec<DynamicImage> {
    let dir = tempfile::tempdir().unwrap();
    let prefix = dir.path().join("page");
    let ok = Command::new("pdftoppm")
        .args(["-r", &dpi.to_string(), "-gray", "-png"])
        .arg(pdf)
        .arg(&prefix)
        .status()
        .expect("pdftoppm (poppler-utils) must be installed");
    assert!(ok.success());
    let mut files: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    files.iter().map(|p| image::open(p).unwrap()).collect()
}

fn decode_all(img: &DynamicImage) -> Vec<String> {
    let mut prepared = rqrr::PreparedImage::prepare(img.to_luma8());
    prepared
        .detect_grids()
        .into_iter()
        .filter_map(|g| g.decode().ok().map(|(_, s)| s))
        .collect()
}

fn wait_done(cups: &Cups, printer: &str, job: i32) {
    let t = Instant::now();
    loop {
        let s = cups.job(printer, job).unwrap();
        match s.state {
            JobState::Done => return,
            JobState::Queued | JobState::Printing => {}
            other => panic!("job {job} on {printer}: {other:?} {s:?}"),
        }
        assert!(t.elapsed() < Duration::from_secs(60), "job {job}: {s:?}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn every_document_arrives_on_its_paper_with_its_copies_and_decodes_back() {
    let t0 = at(2026, 11, 20, 12, 0);
    let mut v = venue(t0);
    let mut svc = cups::PrintService::start();
    svc.add_printer("buero");
    let cups = Cups::at(&svc.server);
    let listed = cups.printers().unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].name, "buero");
    assert!(
        listed[0].media.contains(&"iso_a3_297x420mm".to_string()),
        "{listed:?}"
    );

    let out = tempfile::tempdir().unwrap();
    let posters: Vec<String> = v
        .venue
        .poster_infos(&[])
        .unwrap()
        .into_iter()
        .map(|p| p.code)
        .collect();
    let tables: Vec<String> = v
        .venue
        .table_infos(v.terrasse, &[1, 2])
        .unwrap()
        .into_iter()
        .map(|t| t.code)
        .collect();
    let fob = v.venue.make_guest_code(&contact(1)).unwrap().to_text();
    let key_file = v.key_file.clone();
    let passphrase = pass();
    let fobs = [fob.clone()];
    // The document, its copies, the paper size it must arrive on, the codes it carries.
    type Case<'a> = (Document<'a>, u32, (u32, u32), Vec<String>);
    let cases: Vec<Case> = vec![
        (
            Document::Posters {
                areas: &[],
                paper: Paper::A4,
            },
            2,
            (21000, 29700),
            posters.clone(),
        ),
        (
            Document::Posters {
                areas: &[],
                paper: Paper::A3,
            },
            1,
            (29700, 42000),
            posters.clone(),
        ),
        (
            Document::TableCards {
                area: Some(v.terrasse),
                tables: &[1, 2],
                layout: TableLayout::Tents,
            },
            1,
            (21000, 29700),
            tables.clone(),
        ),
        (
            Document::TableCards {
                area: Some(v.terrasse),
                tables: &[1, 2],
                layout: TableLayout::Labels,
            },
            3,
            (21000, 29700),
            tables.clone(),
        ),
        (
            Document::FobCards { codes: &fobs },
            1,
            (21000, 29700),
            vec![fob.clone()],
        ),
        (
            Document::RecoverySheet {
                key_file: &key_file,
                passphrase: &passphrase,
            },
            1,
            (21000, 29700),
            Vec::new(),
        ),
    ];
    let n = cases.len();
    for (i, (doc, copies, _, _)) in cases.iter().enumerate() {
        let pdf = render(&mut v.venue, doc, t0).unwrap();
        let path = out.path().join(format!("{i}.pdf"));
        let to = PrintTo {
            cups: &cups,
            printer: "buero",
            copies: *copies,
        };
        let done = deliver(&pdf, doc.file_stem(), &path, Some(to)).unwrap();
        assert!(path.exists(), "the PDF is saved too");
        let sent = done.sent.unwrap();
        wait_done(&cups, "buero", sent.job);
    }
    let kept = svc.kept("buero", n);
    for (job, (doc, copies, size, codes)) in kept.iter().zip(&cases) {
        let what = doc.file_stem();
        assert_eq!(job.media_size(), *size, "{what}: {:?}", job.attributes);
        assert_eq!(job.copies(), *copies, "{what}: {:?}", job.attributes);
        let mut got: Vec<String> = pages(&job.pdf, 150).iter().flat_map(decode_all).collect();
        if codes.is_empty() {
            // The recovery sheet: its codes are parts of the key file, at least one.
            assert!(!got.is_empty(), "{what}: no code read back");
            continue;
        }
        got.sort();
        got.dedup();
        let mut want = codes.clone();
        want.sort();
        assert_eq!(got, want, "{what}: the printed codes");
    }
}

#[test]
fn a_stopped_printer_is_named_and_the_pdf_is_kept() {
    let t0 = at(2026, 11, 20, 12, 0);
    let mut v = venue(t0);
    let mut svc = cups::PrintService::start();
    svc.add_printer("laser");
    svc.stop("laser", "Papierstau im Fach 2");
    let cups = Cups::at(&svc.server);
    let doc = Document::Posters {
        areas: &[],
        paper: Paper::A4,
    };
    let pdf = render(&mut v.venue, &doc, t0).unwrap();
    let out = tempfile::tempdir().unwrap();
    let path = out.path().join("aushang.pdf");
    let to = PrintTo {
        cups: &cups,
        printer: "laser",
        copies: 1,
    };
    let e = deliver(&pdf, "aushang", &path, Some(to)).unwrap_err();
    match &e {
        Error::Printer {
            source:
                PrinterError::Stopped {
                    printer,
                    reason,
                    message,
                },
            pdf: Some(kept),
        } => {
            assert_eq!(printer, "laser");
            assert_eq!(*reason, StopReason::Paused);
            assert!(message.contains("Papierstau"), "{message}");
            assert_eq!(kept, &path);
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(e.code(), "printer-stopped");
    assert_eq!(e.params()["pdf"], path.display().to_string());
    assert_eq!(std::fs::read(&path).unwrap(), pdf.bytes, "the PDF is kept");

    // A printer that does not exist, and a name that would change the address.
    for (i, name) in ["nirgends", "../admin"].into_iter().enumerate() {
        let to = PrintTo {
            cups: &cups,
            printer: name,
            copies: 1,
        };
        let e = deliver(
            &pdf,
            "aushang",
            &out.path().join(format!("{i}.pdf")),
            Some(to),
        )
        .unwrap_err();
        assert_eq!(e.code(), "printer-unknown", "{name}: {e}");
    }

    // Started again, the printer takes the job.
    svc.start_again("laser");
    let to = PrintTo {
        cups: &cups,
        printer: "laser",
        copies: 1,
    };
    let done = deliver(&pdf, "aushang", &out.path().join("again.pdf"), Some(to)).unwrap();
    wait_done(&cups, "laser", done.sent.unwrap().job);

    // The guest's card at the counter leaves no file when it prints, and is saved when
    // the printer fails.
    let card = out.path().join("karte.pdf");
    let to = PrintTo {
        cups: &cups,
        printer: "laser",
        copies: 1,
    };
    let done = send_or_save(&pdf, "gast-code", &card, to).unwrap();
    assert!(done.path.is_none() && !card.exists());
    wait_done(&cups, "laser", done.sent.unwrap().job);
    svc.stop("laser", "Deckel offen");
    let to = PrintTo {
        cups: &cups,
        printer: "laser",
        copies: 1,
    };
    let e = send_or_save(&pdf, "gast-code", &card, to).unwrap_err();
    assert_eq!(e.code(), "printer-stopped");
    assert_eq!(std::fs::read(&card).unwrap(), pdf.bytes, "saved, not lost");

    // No print service at all.
    let gone = Cups::at("127.0.0.1:1");
    let to = PrintTo {
        cups: &gone,
        printer: "laser",
        copies: 1,
    };
    let e = deliver(&pdf, "aushang", &out.path().join("gone.pdf"), Some(to)).unwrap_err();
    assert_eq!(e.code(), "printer-service-unreachable");
}

// ----- the receipt printer -----

/// The ESC/POS commands of a slip, as a receipt printer reads them.
#[derive(Debug, Default)]
struct Slip {
    init: bool,
    qr_model: Option<u8>,
    qr_size: Option<u8>,
    qr_ec: Option<u8>,
    qr_data: Option<String>,
    qr_printed: bool,
    raster: Option<image::GrayImage>,
    text: String,
    cut: bool,
}

fn parse_escpos(b: &[u8]) -> Slip {
    let mut s = Slip::default();
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            0x1b => match b[i + 1] {
                b'@' => {
                    s.init = true;
                    i += 2;
                }
                b'a' | b'E' | b'-' | b'G' | b'M' | b't' | b'd' | b'J' | b'!' => i += 3,
                other => panic!("unknown ESC {other:#x} at {i}"),
            },
            0x1d => match b[i + 1] {
                b'(' if b[i + 2] == b'k' => {
                    let len = b[i + 3] as usize | (b[i + 4] as usize) << 8;
                    let body = &b[i + 5..i + 5 + len];
                    assert_eq!(body[0], 49, "QR commands (cn 49)");
                    match body[1] {
                        65 => s.qr_model = Some(body[2]),
                        67 => s.qr_size = Some(body[2]),
                        69 => s.qr_ec = Some(body[2]),
                        80 => {
                            assert_eq!(body[2], 48);
                            s.qr_data = Some(String::from_utf8(body[3..].to_vec()).unwrap());
                        }
                        81 => s.qr_printed = true,
                        f => panic!("unknown QR function {f}"),
                    }
                    i += 5 + len;
                }
                b'v' if b[i + 2] == b'0' => {
                    let xb = b[i + 4] as usize | (b[i + 5] as usize) << 8;
                    let h = b[i + 6] as usize | (b[i + 7] as usize) << 8;
                    let data = &b[i + 8..i + 8 + xb * h];
                    let img = image::GrayImage::from_fn((xb * 8) as u32, h as u32, |x, y| {
                        let byte = data[y as usize * xb + x as usize / 8];
                        let dark = byte & (0x80 >> (x % 8)) != 0;
                        image::Luma([if dark { 0 } else { 255 }])
                    });
                    s.raster = Some(img);
                    i += 8 + xb * h;
                }
                b'V' => {
                    s.cut = true;
                    i += if b[i + 2] >= 65 { 4 } else { 3 };
                }
                b'!' | b'B' => i += 3,
                other => panic!("unknown GS {other:#x} at {i}"),
            },
            c => {
                s.text.push(c as char);
                i += 1;
            }
        }
    }
    s
}

/// A receipt printer on a pseudo-terminal: the slave is the port Tresen opens, the master
/// reads what it sends.
fn receipt_printer() -> (serialport::TTYPort, String) {
    let (master, slave) = serialport::TTYPort::pair().expect("a pseudo-terminal");
    let path = slave.name().expect("the pty has a name");
    // The slave stays open, or the master reads nothing once Tresen closes its end.
    std::mem::forget(slave);
    (master, path)
}

fn read_slip(master: &mut serialport::TTYPort) -> Vec<u8> {
    master.set_timeout(Duration::from_millis(500)).unwrap();
    let mut all = Vec::new();
    let mut buf = [0u8; 4096];
    let t = Instant::now();
    loop {
        match master.read(&mut buf) {
            Ok(n) if n > 0 => all.extend_from_slice(&buf[..n]),
            _ if !all.is_empty() => return all,
            _ => assert!(t.elapsed() < Duration::from_secs(10), "no slip arrived"),
        }
    }
}

/// Registers a guest and prints their slip on a receipt printer on a pty: the code
/// checked in, and the slip as the printer read it.
fn registered_slip(guest: usize, width: SlipWidth, qr: SlipQr, baud: &str) -> (String, Slip) {
    let t0 = at(2026, 11, 20, 12, 0);
    let mut v = venue(t0);
    let (code, _) = v
        .venue
        .register_guest(&contact(guest), v.terrasse, None, t0)
        .unwrap();
    let code = code.to_text();
    let (mut master, path) = receipt_printer();
    let printer = ReceiptPrinter {
        device: format!("{path}{baud}"),
        width,
        qr,
    };
    let sender = {
        let code = code.clone();
        std::thread::spawn(move || print_slip(&printer, &code))
    };
    let bytes = read_slip(&mut master);
    sender.join().unwrap().unwrap();
    (code, parse_escpos(&bytes))
}

#[test]
fn the_slip_holds_exactly_the_registered_code_as_a_native_qr_command() {
    for (i, width) in [SlipWidth::Mm58, SlipWidth::Mm80].into_iter().enumerate() {
        let (code, slip) = registered_slip(3 + i, width, SlipQr::Native, "@19200");
        assert!(slip.init, "initialised");
        assert_eq!(slip.qr_model, Some(50), "QR model 2");
        assert_eq!(slip.qr_ec, Some(49), "error correction M");
        let size = slip.qr_size.unwrap();
        let modules = 53 + 8;
        assert!(size >= 3 && size as u32 * modules <= width.dots(), "{size}");
        assert_eq!(slip.qr_data.as_deref(), Some(code.as_str()));
        assert!(slip.qr_printed && slip.cut);
        assert!(slip.text.contains("Gast-Code"), "{}", slip.text);
        assert!(slip.text.contains("An der Theke vorzeigen"));
        assert!(slip.raster.is_none());
    }
}

#[test]
fn a_raster_slip_decodes_to_the_registered_code() {
    let (code, slip) = registered_slip(5, SlipWidth::Mm58, SlipQr::Raster, "");
    assert!(slip.qr_data.is_none(), "no QR command on a raster slip");
    let img = slip.raster.expect("a raster image");
    assert!(img.width() <= SlipWidth::Mm58.dots());
    let got = decode_all(&DynamicImage::ImageLuma8(img));
    assert_eq!(got, vec![code]);
    assert!(slip.cut);
}

#[test]
fn a_missing_or_unset_receipt_printer_is_named() {
    let printer = ReceiptPrinter {
        device: "/dev/ttyTRESEN-none@9600".into(),
        width: SlipWidth::Mm58,
        qr: SlipQr::Native,
    };
    let e = print_slip(&printer, "TRG2x").unwrap_err();
    assert_eq!(e.code(), "receipt-open-failed");
    assert_eq!(e.params()["path"], "/dev/ttyTRESEN-none");
    let bad = ReceiptPrinter {
        device: "ttyUSB0".into(),
        ..printer
    };
    assert_eq!(
        print_slip(&bad, "TRG2x").unwrap_err().code(),
        "receipt-setting-invalid"
    );
}
