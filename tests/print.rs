//! Every printed QR code is rendered (pdftoppm) and decoded back (rqrr) to exactly its
//! payload; texts are checked with pdftotext, fonts with pdffonts; the recovery sheet is
//! degraded like a phone photo and still restores a key file that opens.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::Path;
use std::process::Command;

use common::{at, contact, pass, venue};
use image::{DynamicImage, GrayImage, Luma};
use tresen::printing::{render as print, Document};
use tresen_documents::documents::{
    self, TableLayout, FOB_QR_MM, LABEL_QR_MM, POSTER_QR_MM, SHEET_QR_MM, TENT_QR_MM,
};
use tresen_documents::pdf::{Paper, QUIET_ZONE};
use tresen_protocol::guest_code::GuestCode;
use tresen_protocol::key_file::Passphrase;
use tresen_protocol::recovery_parts;
use tresen_protocol::venue_keys::VenueSecretKeys;

fn render(pdf: &[u8], dir: &Path, dpi: u32) -> Vec<DynamicImage> {
    let file = dir.join("doc.pdf");
    std::fs::write(&file, pdf).unwrap();
    let prefix = dir.join("page");
    let ok = Command::new("pdftoppm")
        .args(["-r", &dpi.to_string(), "-gray", "-png"])
        .arg(&file)
        .arg(&prefix)
        .status()
        .expect("pdftoppm (poppler-utils) must be installed");
    assert!(ok.success());
    let mut pages: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.file_name().unwrap().to_string_lossy().starts_with("page"))
        .collect();
    pages.sort();
    let imgs = pages.iter().map(|p| image::open(p).unwrap()).collect();
    for p in pages {
        std::fs::remove_file(p).unwrap();
    }
    imgs
}

fn decode_all(img: &DynamicImage) -> Vec<String> {
    let mut prepared = rqrr::PreparedImage::prepare(img.to_luma8());
    let mut out: Vec<String> = prepared
        .detect_grids()
        .into_iter()
        .filter_map(|g| g.decode().ok().map(|(_, s)| s))
        .collect();
    out.sort();
    out
}

fn pdftotext(pdf: &[u8], dir: &Path) -> String {
    let file = dir.join("text.pdf");
    std::fs::write(&file, pdf).unwrap();
    let out = Command::new("pdftotext")
        .arg(&file)
        .arg("-")
        .output()
        .unwrap();
    String::from_utf8(out.stdout).unwrap()
}

fn pdffonts(pdf: &[u8], dir: &Path) -> String {
    let file = dir.join("fonts.pdf");
    std::fs::write(&file, pdf).unwrap();
    String::from_utf8(Command::new("pdffonts").arg(&file).output().unwrap().stdout).unwrap()
}

/// The x extent of every word, from `pdftotext -bbox`.
fn word_boxes(pdf: &[u8], dir: &Path) -> (f32, Vec<(String, f32, f32)>) {
    let file = dir.join("bbox.pdf");
    std::fs::write(&file, pdf).unwrap();
    let out = Command::new("pdftotext")
        .arg("-bbox")
        .arg(&file)
        .arg("-")
        .output()
        .unwrap();
    let html = String::from_utf8(out.stdout).unwrap();
    let num = |s: &str, key: &str| -> f32 {
        let i = s.find(&format!("{key}=\"")).unwrap() + key.len() + 2;
        s[i..].split('"').next().unwrap().parse().unwrap()
    };
    let page = html.lines().find(|l| l.contains("<page")).unwrap();
    let width = num(page, "width");
    let words = html
        .lines()
        .filter(|l| l.contains("<word"))
        .map(|l| {
            let text = l
                .split('>')
                .nth(1)
                .unwrap()
                .split('<')
                .next()
                .unwrap()
                .to_string();
            (text, num(l, "xMin"), num(l, "xMax"))
        })
        .collect();
    (width, words)
}

fn module_mm(payload: &str, outer_mm: f32) -> f32 {
    module_mm_at(payload, outer_mm, qrcode::EcLevel::M)
}

fn module_mm_at(payload: &str, outer_mm: f32, ec: qrcode::EcLevel) -> f32 {
    let q = qrcode::QrCode::with_error_correction_level(payload.as_bytes(), ec).unwrap();
    outer_mm / (q.width() + 2 * QUIET_ZONE) as f32
}

#[test]
fn posters_decode_back_and_long_names_stay_on_the_page() {
    let t0 = at(2026, 11, 20, 12, 0);
    let mut v = venue(t0);
    let loc = v.venue.location_id("Filiale 1").unwrap();
    let long: String = "Großer Wintergarten mit Blick über den Fluß und die Brücke zur Altstadt – Nichtraucherbereich für Familien, Gäste und Gruppen aus aller Welt"
        .chars()
        .take(119)
        .collect::<String>()
        + "n";
    let long = long.as_str();
    assert_eq!(long.chars().count(), 120);
    let long_id = v.venue.add_area(loc, long, None, t0).unwrap();
    let tmp = tempfile::tempdir().unwrap();
    for paper in [Paper::A4, Paper::A3] {
        let infos = v.venue.poster_infos(&[]).unwrap();
        assert_eq!(infos.len(), 3);
        let doc = Document::Posters { areas: &[], paper };
        let pdf = print(&mut v.venue, &doc, t0).unwrap();
        assert_eq!(pdf.pages, 3);
        let pages = render(&pdf.bytes, tmp.path(), 100);
        for (page, info) in pages.iter().zip(&infos) {
            assert_eq!(decode_all(page), vec![info.code.clone()]);
            assert!(module_mm(&info.code, POSTER_QR_MM) >= 1.0);
        }
        let text = pdftotext(&pdf.bytes, tmp.path());
        for needle in [
            "Café Mönch",
            "Terrasse",
            "Einchecken",
            "Check-in",
            "Datenschutz",
            "28 Tagen",
            "Schlüssel / key",
        ] {
            assert!(
                text.contains(needle),
                "{needle} missing from the poster text"
            );
        }
        let words: String = text.split_whitespace().collect();
        assert!(
            words.contains(&long.split_whitespace().collect::<String>()),
            "the long name is not all there"
        );
        let (width, boxes) = word_boxes(&pdf.bytes, tmp.path());
        for (w, x0, x1) in boxes {
            assert!(
                x0 >= 0.0 && x1 <= width,
                "'{w}' runs off the page ({x0}..{x1} of {width})"
            );
        }
        let fonts = pdffonts(&pdf.bytes, tmp.path());
        let row = fonts.lines().nth(2).expect("a font");
        let cols: Vec<&str> = row.split_whitespace().collect();
        assert!(
            cols[0].contains('+') && cols[0].contains("DejaVu"),
            "{fonts}"
        );
        assert_eq!(
            &cols[cols.len() - 5..cols.len() - 2],
            &["yes", "yes", "yes"],
            "embedded, subset, unicode: {fonts}"
        );
    }
    let _ = long_id;
}

#[test]
fn table_cards_as_tents_and_labels_decode_back() {
    let t0 = at(2026, 11, 20, 12, 0);
    let mut v = venue(t0);
    let tmp = tempfile::tempdir().unwrap();
    let infos = v.venue.table_infos(v.terrasse, &[]).unwrap();
    assert_eq!(infos.len(), 10);
    let doc = Document::TableCards {
        area: Some(v.terrasse),
        tables: &[],
        layout: TableLayout::Tents,
    };
    let tents = print(&mut v.venue, &doc, t0).unwrap();
    assert_eq!(tents.pages, 3);
    // Each card, cut out of its page (as the printed card would be), decodes to its code
    // on both faces.
    let mut found = Vec::new();
    for page in render(&tents.bytes, tmp.path(), 150) {
        let g = page.to_luma8();
        let (w, h) = g.dimensions();
        for i in 0..4 {
            let (x, y) = ((i % 2) * w / 2, (i / 2) * h / 2);
            for half in 0..2 {
                let face =
                    image::imageops::crop_imm(&g, x, y + half * h / 4, w / 2, h / 4).to_image();
                found.extend(decode_all(&DynamicImage::ImageLuma8(face)));
            }
        }
    }
    let mut want: Vec<String> = infos
        .iter()
        .flat_map(|t| [t.code.clone(), t.code.clone()])
        .collect();
    want.sort();
    found.sort();
    assert_eq!(
        found, want,
        "each tent carries its table's code on both faces"
    );
    assert!(module_mm(&infos[0].code, TENT_QR_MM) >= 1.0);
    let text = pdftotext(&tents.bytes, tmp.path());
    assert!(text.contains("Tisch 10") && text.contains("Terrasse"));

    let some = v.venue.table_infos(v.terrasse, &[2, 5]).unwrap();
    let doc = Document::TableCards {
        area: Some(v.terrasse),
        tables: &[2, 5],
        layout: TableLayout::Labels,
    };
    let labels = print(&mut v.venue, &doc, t0).unwrap();
    assert_eq!(labels.pages, 1);
    let got = decode_all(&render(&labels.bytes, tmp.path(), 200)[0]);
    let mut want: Vec<String> = some.iter().map(|t| t.code.clone()).collect();
    want.sort();
    assert_eq!(got, want);
    assert!(module_mm(&some[0].code, LABEL_QR_MM) >= 1.0);
}

#[test]
fn fob_cards_carry_the_code_but_not_the_name() {
    let t0 = at(2026, 11, 20, 12, 0);
    let v = venue(t0);
    let tmp = tempfile::tempdir().unwrap();
    let codes: Vec<String> = (0..3)
        .map(|i| {
            let mut c = contact(i);
            c.name = format!("Zacharias Quellenberg {i}");
            GuestCode::create(&c, &v.authority.contact_key())
                .unwrap()
                .to_text()
        })
        .collect();
    let pdf = documents::fob_cards(&codes).unwrap();
    let mut got = decode_all(&render(&pdf.bytes, tmp.path(), 200)[0]);
    got.sort();
    let mut want = codes.clone();
    want.sort();
    assert_eq!(got, want);
    assert!(module_mm(&codes[0], FOB_QR_MM) >= 0.5);
    let text = pdftotext(&pdf.bytes, tmp.path());
    assert!(!text.contains("Zacharias") && !text.contains("Quellenberg"));
    assert!(text.contains("Gast-Code"));
}

// --- image degradation for the recovery sheet ---

fn warp(img: &GrayImage, f: impl Fn(f32, f32) -> (f32, f32)) -> GrayImage {
    let (w, h) = img.dimensions();
    GrayImage::from_fn(w, h, |x, y| {
        let (sx, sy) = f(x as f32, y as f32);
        if sx >= 0.0 && sy >= 0.0 && (sx as u32) < w && (sy as u32) < h {
            *img.get_pixel(sx as u32, sy as u32)
        } else {
            Luma([255])
        }
    })
}

fn degrade(page: &DynamicImage) -> DynamicImage {
    let img = page.to_luma8();
    let (w, h) = img.dimensions();
    let (cx, cy) = (w as f32 / 2.0, h as f32 / 2.0);
    // Turned by 6 degrees and photographed at an angle: a projective (perspective)
    // transform that makes the top of the page about 10 % narrower than the bottom.
    let (s, c) = (6f32.to_radians().sin(), 6f32.to_radians().cos());
    let p = 0.10 / h as f32;
    let img = warp(&img, |x, y| {
        let (dx, dy) = (x - cx, y - cy);
        let (rx, ry) = (c * dx + s * dy, -s * dx + c * dy);
        let d = 1.0 + p * ry;
        (cx + rx / d, cy + ry / d)
    });
    // Blur, uneven light (darker to the right) and sensor noise.
    let img = image::imageops::blur(&img, 1.0);
    let mut seed = 0x2545_f491u32;
    let img = GrayImage::from_fn(w, h, |x, y| {
        seed ^= seed << 13;
        seed ^= seed >> 17;
        seed ^= seed << 5;
        let noise = (seed % 33) as f32 - 16.0;
        let light = 1.0 - 0.35 * x as f32 / w as f32;
        let v = img.get_pixel(x, y)[0] as f32 * light + noise;
        Luma([v.clamp(0.0, 255.0) as u8])
    });
    DynamicImage::ImageLuma8(img)
}

#[test]
fn the_recovery_sheet_restores_a_key_file_from_a_degraded_photo() {
    // The key file of the test vectors (docs/protocol.md), so that the printed codes, and
    // with them this test's pixels, are the same on every run.
    let vectors: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/vectors/v1.json"
        ))
        .unwrap(),
    )
    .unwrap();
    let key_text = vectors["key_file"]["text"].as_str().unwrap().to_string();
    let fingerprint = vectors["key_file"]["fingerprint"]
        .as_str()
        .unwrap()
        .to_string();
    let tmp = tempfile::tempdir().unwrap();
    let pdf =
        documents::recovery_sheet("Café Mönch", &fingerprint, "2026-11-20", &key_text).unwrap();
    let text = pdftotext(&pdf.bytes, tmp.path());
    assert!(text.contains(&fingerprint) && text.contains("BEGIN AGE ENCRYPTED FILE"));
    assert!(!text.contains("x25519-secret"), "never the key in clear");
    // About what a phone camera resolves on an A4 page filling the frame.
    let page = render(&pdf.bytes, tmp.path(), 200).remove(0);
    let parts = recovery_parts::key_parts(&key_text);
    assert_eq!(
        documents::restore_key_file(std::slice::from_ref(&page)).unwrap(),
        key_text,
        "the clean page restores"
    );
    assert!(module_mm_at(&parts[0], SHEET_QR_MM, qrcode::EcLevel::Q) >= 0.8);
    let photo = degrade(&page);
    if let Ok(dir) = std::env::var("TRESEN_DEBUG_DIR") {
        photo.save(Path::new(&dir).join("photo.png")).unwrap();
    }
    let restored = documents::restore_key_file(std::slice::from_ref(&photo)).unwrap();
    assert_eq!(restored, key_text);
    let out = tmp.path().join("restored.age");
    std::fs::write(&out, &restored).unwrap();
    let keys = VenueSecretKeys::read_key_file(&out, &pass()).unwrap();
    assert_eq!(keys.public().fingerprint_text(), fingerprint);
    // A photo showing only the first part says which parts are missing.
    let gray = page.to_luma8();
    let (w, h) = gray.dimensions();
    let half = image::imageops::crop_imm(&gray, 0, 0, w / 2, h * 40 / 100).to_image();
    match documents::restore_key_file(&[DynamicImage::ImageLuma8(half)]) {
        Err(documents::RestoreError::Missing { missing, total }) => {
            assert_eq!(total, parts.len());
            assert!(!missing.contains(&1) && missing.contains(&2), "{missing:?}");
        }
        other => panic!("expected missing parts, got {other:?}"),
    }
    assert_eq!(
        documents::restore_key_file(&[DynamicImage::ImageLuma8(GrayImage::new(50, 50))]),
        Err(documents::RestoreError::NoCodes)
    );
}

/// The sheet printed by the use case both front ends call, and restored by the other: the
/// restored file is checked with the passphrase at once. A wrong passphrase or another
/// venue's sheet leaves no file behind; an earlier key of this venue is kept and said so.
#[test]
fn the_key_restore_use_case_verifies_what_it_restores() {
    use tresen::key_restore::restore_key;
    let t0 = at(2026, 11, 20, 12, 0);
    let mut v = venue(t0);
    let tmp = tempfile::tempdir().unwrap();
    let sheet = |v: &mut common::TestVenue, key_file: &Path, dir: &Path| {
        let doc = Document::RecoverySheet {
            key_file,
            passphrase: &pass(),
        };
        let pdf = print(&mut v.venue, &doc, t0).unwrap();
        let png = dir.join("sheet.png");
        render(&pdf.bytes, dir, 200).remove(0).save(&png).unwrap();
        png
    };
    let pages = tmp.path().join("pages");
    std::fs::create_dir(&pages).unwrap();
    let key_file = v.key_file.clone();
    let png = sheet(&mut v, &key_file, &pages);

    // The sheet is printed only from a key file that opens: a wrong passphrase prints none.
    let wrong = Passphrase::new("not the passphrase at all, sorry");
    let doc = Document::RecoverySheet {
        key_file: &key_file,
        passphrase: &wrong,
    };
    assert!(print(&mut v.venue, &doc, t0).is_err());

    let out = tmp.path().join("restored.age");
    let err = restore_key(&mut v.venue, &[png.as_path()], &out, Some(&wrong), t0).unwrap_err();
    assert_eq!(err.code(), "wrong-passphrase");
    assert!(
        !out.exists(),
        "a restored file that does not open is not kept"
    );
    let r = restore_key(&mut v.venue, &[png.as_path()], &out, Some(&pass()), t0).unwrap();
    assert!(r.verified && !r.earlier_key, "{r:?}");
    assert_eq!(
        std::fs::read(&out).unwrap(),
        std::fs::read(&key_file).unwrap()
    );
    // Never over an existing file.
    assert!(restore_key(&mut v.venue, &[png.as_path()], &out, Some(&pass()), t0).is_err());

    // Another venue's sheet is refused and removed again.
    let mut other = venue(t0);
    let other_dir = tmp.path().join("other");
    std::fs::create_dir(&other_dir).unwrap();
    let other_key = other.key_file.clone();
    let other_png = sheet(&mut other, &other_key, &other_dir);
    let out2 = tmp.path().join("other.age");
    let err = restore_key(
        &mut v.venue,
        &[other_png.as_path()],
        &out2,
        Some(&pass()),
        t0,
    )
    .unwrap_err();
    assert_eq!(err.code(), "key-mismatch");
    assert!(!out2.exists());

    // After the key is replaced, the old sheet restores the earlier key, which is kept.
    let new_key = tmp.path().join("new-key.age");
    v.venue.replace_key(&new_key, &pass(), t0 + 60).unwrap();
    let out3 = tmp.path().join("earlier.age");
    let r = restore_key(
        &mut v.venue,
        &[png.as_path()],
        &out3,
        Some(&pass()),
        t0 + 120,
    )
    .unwrap();
    assert!(r.earlier_key && !r.verified, "{r:?}");
    assert!(out3.exists());
}
