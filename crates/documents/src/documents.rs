//! The documents Tresen prints: area posters, table cards, guest fob cards and the key
//! recovery sheet, and reading a recovery sheet back from a scan or photo.

use crate::pdf::{Canvas, Face, Fit, Paper, Pdf, PrintError};
use tresen_protocol::recovery_parts::{key_parts, part_number, PART_HEADER};

/// What a poster shows.
#[derive(Debug, Clone)]
pub struct PosterInfo {
    pub venue: String,
    pub location: String,
    pub area: String,
    pub code: String,
    /// The venue key fingerprint's short form.
    pub fingerprint: String,
    /// When the code was made (shown so staff can tell an old poster).
    pub code_date: String,
    pub retention_days: u32,
}

/// Outer sizes of the QR codes (quiet zone included), in mm, on A4.
pub const POSTER_QR_MM: f32 = 120.0;
pub const TENT_QR_MM: f32 = 44.0;
pub const LABEL_QR_MM: f32 = 33.0;
pub const FOB_QR_MM: f32 = 50.0;
pub const SHEET_QR_MM: f32 = 58.0;

pub fn posters(items: &[PosterInfo], paper: Paper) -> Result<Pdf, PrintError> {
    if items.is_empty() {
        return Err(PrintError::Nothing("no areas were chosen".into()));
    }
    let (w, h) = paper.size_mm();
    let k = w / 210.0;
    let mut c = Canvas::new("Tresen – Aushang")?;
    for p in items {
        let cx = w / 2.0;
        let mut y = h - 22.0 * k;
        y = c.block(&p.venue, cx, y, w - 30.0 * k, Fit(20.0 * k, 10.0 * k, 2));
        // A venue with one location names only the area.
        let place = if p.location.is_empty() {
            p.area.clone()
        } else {
            format!("{} · {}", p.location, p.area)
        };
        y = c.block(
            &place,
            cx,
            y - 4.0 * k,
            w - 30.0 * k,
            Fit(36.0 * k, 14.0 * k, 3),
        );
        let qr = POSTER_QR_MM * k;
        let qr_y = y - 6.0 * k - qr;
        c.qr(&p.code, cx - qr / 2.0, qr_y, qr)?;
        let mut y = qr_y - 8.0 * k;
        y = c.block(
            "Einchecken: Zeigen Sie Ihren Tresen-Schlüsselanhänger oder Gast-Code an der Theke.",
            cx,
            y,
            w - 40.0 * k,
            Fit(13.0 * k, 8.0, 3),
        );
        y = c.block(
            "Check-in: show your Tresen key fob or guest code at the counter.",
            cx,
            y - 1.0 * k,
            w - 40.0 * k,
            Fit(11.0 * k, 7.0, 3),
        );
        y = c.block(
            "Personal: diesen Code scannen, um den Bereich zu wählen. Staff: scan to choose this area.",
            cx, y - 3.0 * k, w - 40.0 * k, Fit(9.0 * k, 6.0, 3),
        );
        let privacy = format!(
            "Datenschutz: Ihre Kontaktdaten sind verschlüsselt. Nur das Gesundheitsamt kann sie lesen – auf eine begründete Anfrage und nach Freigabe durch den Betrieb. Alle Daten werden nach {d} Tagen gelöscht. · Privacy: your contact data is encrypted; only the health office can read it, on a justified request approved by the venue. Everything is deleted after {d} days.",
            d = p.retention_days
        );
        let _ = y;
        c.paragraph(&privacy, 20.0 * k, 34.0 * k, w - 40.0 * k, 8.0 * k);
        c.text(
            Face::Sans,
            &format!(
                "Schlüssel / key {} · Code vom / of {}",
                p.fingerprint, p.code_date
            ),
            20.0 * k,
            12.0 * k,
            7.0 * k,
        );
        c.finish_page((w, h));
    }
    Ok(c.finish())
}

#[derive(Debug, Clone)]
pub struct TableInfo {
    pub area: String,
    pub table: u16,
    pub code: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TableLayout {
    /// A6 table tents, four to an A4 page, with cut and fold marks.
    Tents,
    /// A4 label sheets, 3 × 8 labels of 70 × 37 mm.
    Labels,
}

fn tent_face(
    c: &mut Canvas,
    venue: &str,
    t: &TableInfo,
    x: f32,
    y: f32,
    w: f32,
    h: f32,
) -> Result<(), PrintError> {
    let qr = TENT_QR_MM;
    c.qr(&t.code, x + 4.0, y + (h - qr) / 2.0, qr)?;
    let tx = x + qr + 6.0;
    let tw = w - qr - 10.0;
    let cx = tx + tw / 2.0;
    let mut yy = y + h - 12.0;
    yy = c.block(&t.area, cx, yy, tw, Fit(16.0, 7.0, 3));
    c.block(
        &format!("Tisch {}", t.table),
        cx,
        yy - 4.0,
        tw,
        Fit(26.0, 12.0, 2),
    );
    c.block(venue, cx, y + 8.0, tw, Fit(8.0, 5.0, 1));
    Ok(())
}

pub fn table_cards(
    venue: &str,
    items: &[TableInfo],
    layout: TableLayout,
) -> Result<Pdf, PrintError> {
    if items.is_empty() {
        return Err(PrintError::Nothing("no tables were chosen".into()));
    }
    let mut c = Canvas::new("Tresen – Tischkarten")?;
    let (pw, ph) = Paper::A4.size_mm();
    match layout {
        TableLayout::Tents => {
            let (w, h) = (105.0, 148.5);
            for chunk in items.chunks(4) {
                for (i, t) in chunk.iter().enumerate() {
                    let x = (i % 2) as f32 * w;
                    let y = ph - (i / 2 + 1) as f32 * h;
                    // The lower half faces the guest; the upper half is turned so it
                    // reads from the other side once folded.
                    tent_face(&mut c, venue, t, x, y, w, h / 2.0)?;
                    c.rotate_180(x + w / 2.0, y + h * 0.75);
                    tent_face(&mut c, venue, t, x, y + h / 2.0, w, h / 2.0)?;
                    c.restore();
                    c.line(x + 3.0, y + h / 2.0, x + w - 3.0, y + h / 2.0, 0.4, true);
                }
                // Cut marks between the four cards and at the page edges.
                for (x1, y1, x2, y2) in [
                    (w - 4.0, 0.0, w - 4.0, 0.0),
                    (w, 0.0, w, 6.0),
                    (w, ph - 6.0, w, ph),
                    (0.0, ph / 2.0, 6.0, ph / 2.0),
                    (pw - 6.0, ph / 2.0, pw, ph / 2.0),
                    (w - 3.0, ph / 2.0, w + 3.0, ph / 2.0),
                    (w, ph / 2.0 - 3.0, w, ph / 2.0 + 3.0),
                ] {
                    c.line(x1, y1, x2, y2, 0.5, false);
                }
                c.finish_page((pw, ph));
            }
        }
        TableLayout::Labels => {
            let (cols, rows, w, h) = (3usize, 8usize, 70.0, 37.0);
            let top = (ph - rows as f32 * h) / 2.0;
            for chunk in items.chunks(cols * rows) {
                for (i, t) in chunk.iter().enumerate() {
                    let x = (i % cols) as f32 * w;
                    let y = ph - top - (i / cols + 1) as f32 * h;
                    let qr = LABEL_QR_MM;
                    c.qr(&t.code, x + 2.0, y + (h - qr) / 2.0, qr)?;
                    let tx = x + qr + 3.0;
                    let tw = w - qr - 5.0;
                    let cx = tx + tw / 2.0;
                    let yy = c.block(&t.area, cx, y + h - 9.0, tw, Fit(10.0, 5.0, 2));
                    c.block(
                        &format!("Tisch {}", t.table),
                        cx,
                        yy - 2.0,
                        tw,
                        Fit(16.0, 8.0, 1),
                    );
                }
                c.finish_page((pw, ph));
            }
        }
    }
    Ok(c.finish())
}

/// Guest codes on credit-card-sized cards (85.6 × 54 mm), ten to an A4 sheet, with cut
/// lines. The guest's name is not printed: the card carries only the sealed code.
pub fn fob_cards(codes: &[String]) -> Result<Pdf, PrintError> {
    if codes.is_empty() {
        return Err(PrintError::Nothing("no guest codes were given".into()));
    }
    let mut c = Canvas::new("Tresen – Gast-Codes")?;
    let (pw, ph) = Paper::A4.size_mm();
    let (w, h) = (85.6, 54.0);
    let (x0, y0) = ((pw - 2.0 * w) / 2.0, (ph - 5.0 * h) / 2.0);
    for chunk in codes.chunks(10) {
        for (i, code) in chunk.iter().enumerate() {
            let x = x0 + (i % 2) as f32 * w;
            let y = ph - y0 - (i / 2 + 1) as f32 * h;
            for (a, b, cc, d) in [
                (x, y, x + w, y),
                (x, y + h, x + w, y + h),
                (x, y, x, y + h),
                (x + w, y, x + w, y + h),
            ] {
                c.line(a, b, cc, d, 0.3, true);
            }
            let qr = FOB_QR_MM;
            c.qr(code, x + 2.0, y + 2.0, qr)?;
            let tx = x + qr + 4.0;
            let tw = w - qr - 6.0;
            let cx = tx + tw / 2.0;
            let yy = c.block("Tresen", cx, y + h - 10.0, tw, Fit(14.0, 8.0, 1));
            let yy = c.block("Gast-Code", cx, yy - 1.0, tw, Fit(9.0, 6.0, 1));
            c.block("guest code", cx, yy, tw, Fit(7.0, 5.0, 1));
            c.block(
                "An der Theke vorzeigen · show at the counter",
                cx,
                y + 12.0,
                tw,
                Fit(6.0, 4.0, 3),
            );
        }
        c.finish_page((pw, ph));
    }
    Ok(c.finish())
}

/// One A4 page for the operator's safe: the passphrase-protected key file as QR codes and
/// as text, the fingerprint, the date and how to restore. It never holds the key in clear.
pub fn recovery_sheet(
    venue: &str,
    fingerprint: &str,
    date: &str,
    key_file: &str,
) -> Result<Pdf, PrintError> {
    if !key_file.starts_with("-----BEGIN AGE ENCRYPTED FILE-----") {
        return Err(PrintError::Nothing(
            "this is not an armoured, passphrase-protected key file".into(),
        ));
    }
    let mut c = Canvas::new("Tresen – Schlüssel-Notfallblatt")?;
    let (pw, ph) = Paper::A4.size_mm();
    let cx = pw / 2.0;
    let mut y = c.block(
        "Tresen – Notfallblatt für den Betriebsschlüssel",
        cx,
        ph - 18.0,
        pw - 30.0,
        Fit(16.0, 10.0, 2),
    );
    y = c.block(
        &format!("{venue} · Schlüssel {fingerprint} · erstellt am {date}"),
        cx,
        y - 1.0,
        pw - 30.0,
        Fit(10.0, 7.0, 2),
    );
    let parts = key_parts(key_file);
    let qr = SHEET_QR_MM;
    let gap = 8.0;
    let top = y - 4.0;
    let cols = parts.len().min(3);
    for (i, part) in parts.iter().enumerate() {
        let col = i % 3;
        let row = i / 3;
        let x = cx - (cols as f32 * qr + (cols - 1) as f32 * gap) / 2.0 + col as f32 * (qr + gap);
        let qy = top - (row + 1) as f32 * (qr + 6.0);
        c.qr_with(part, x, qy, qr, qrcode::EcLevel::Q)?;
        c.centered(
            Face::Sans,
            &format!("Teil {} von {}", i + 1, parts.len()),
            x + qr / 2.0,
            qy - 1.5,
            8.0,
        );
    }
    let rows = parts.len().div_ceil(3) as f32;
    let mut y = top - rows * (qr + 6.0) - 8.0;
    y = c.paragraph(
        "Wiederherstellen: Das Blatt scannen oder fotografieren, in Tresen unter Betreiber → Schlüssel → „Schlüssel vom Notfallblatt wiederherstellen“ die Bilder wählen. Die Datei ist mit Ihrer Passphrase geschützt; ohne sie ist sie nutzlos. Für die Betreuung: „tresen key restore --from-image BILD --out schluessel.age“, notfalls den Text unten abtippen und mit „age -d“ öffnen.",
        15.0, y, pw - 30.0, 8.0,
    );
    y -= 3.0;
    for line in key_file.lines() {
        c.text(Face::Mono, line, 15.0, y, 7.5);
        y -= 3.3;
    }
    c.finish_page((pw, ph));
    Ok(c.finish())
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RestoreError {
    #[error("no key-file QR code was found in the image(s); scan the sheet flat, in good light, filling the frame")]
    NoCodes,
    #[error("part(s) {} of {total} are missing; scan them again (a closer photo of that part helps)", .missing.iter().map(|p| p.to_string()).collect::<Vec<_>>().join(", "))]
    Missing { missing: Vec<usize>, total: usize },
    #[error("the parts come from different recovery sheets; scan one sheet at a time")]
    Mixed,
    #[error("the image could not be read: {0}")]
    Image(String),
    #[error("the restored text is not a key file")]
    NotAKeyFile,
}

/// Reads the recovery sheet's QR codes from images (scans or photos) and rebuilds the key
/// file text. Parts may be spread over several images.
pub fn restore_key_file(images: &[image::DynamicImage]) -> Result<String, RestoreError> {
    let mut parts: std::collections::BTreeMap<usize, String> = Default::default();
    let mut total = None;
    for img in images {
        let complete = |parts: &std::collections::BTreeMap<usize, String>, total: Option<usize>| {
            total.is_some_and(|n| parts.len() == n)
        };
        if complete(&parts, total) {
            break;
        }
        for content in decode_image(img, &mut |found: &[String]| {
            let mut seen = std::collections::BTreeSet::new();
            let mut n = None;
            for c in found {
                if let Some((i, t)) = part_number(c) {
                    seen.insert(i);
                    n = Some(t);
                }
            }
            n.is_some_and(|n| (1..=n).all(|i| seen.contains(&i) || parts.contains_key(&i)))
        }) {
            let Some((head, body)) = content.split_once('\n') else {
                continue;
            };
            let Some(pos) = head.strip_prefix(PART_HEADER).map(str::trim) else {
                continue;
            };
            let Some((i, n)) = pos.split_once('/') else {
                continue;
            };
            let (Ok(i), Ok(n)) = (i.parse::<usize>(), n.parse::<usize>()) else {
                continue;
            };
            if i == 0 || i > n || n > 64 {
                continue;
            }
            if *total.get_or_insert(n) != n {
                return Err(RestoreError::Mixed);
            }
            parts.insert(i, body.to_string());
        }
    }
    let total = total.ok_or(RestoreError::NoCodes)?;
    let missing: Vec<usize> = (1..=total).filter(|i| !parts.contains_key(i)).collect();
    if !missing.is_empty() {
        return Err(RestoreError::Missing { missing, total });
    }
    let text: String = parts.into_values().collect();
    if !text.starts_with("-----BEGIN AGE ENCRYPTED FILE-----")
        || !text
            .trim_end()
            .ends_with("-----END AGE ENCRYPTED FILE-----")
    {
        return Err(RestoreError::NotAKeyFile);
    }
    Ok(text)
}

/// Every QR code found in a photo or scan, until `enough` says the codes found so far
/// complete the set. Photos are uneven: besides the whole image, overlapping tiles are
/// searched (fewer codes per search), each also with its light evened out and at half
/// size (which smooths noise and blur).
fn decode_image(
    img: &image::DynamicImage,
    enough: &mut dyn FnMut(&[String]) -> bool,
) -> Vec<String> {
    let gray = img.to_luma8();
    let (w, h) = gray.dimensions();
    let mut regions = vec![(0, 0, w, h)];
    for (nx, ny) in [(2u32, 2u32), (2, 3), (3, 3)] {
        let (tw, th) = (w * 2 / (nx + 1), h * 2 / (ny + 1));
        for iy in 0..ny {
            for ix in 0..nx {
                let x = (w - tw) * ix / (nx - 1).max(1);
                let y = (h - th) * iy / (ny - 1).max(1);
                regions.push((x, y, tw, th));
            }
        }
    }
    let mut found: Vec<String> = Vec::new();
    for (x, y, rw, rh) in regions {
        let tile = image::imageops::crop_imm(&gray, x, y, rw, rh).to_image();
        let small =
            image::imageops::resize(&tile, rw / 2, rh / 2, image::imageops::FilterType::Triangle);
        for candidate in [tile.clone(), flatten(&tile), small] {
            let mut prepared = rqrr::PreparedImage::prepare(candidate);
            for grid in prepared.detect_grids() {
                if let Ok((_, content)) = grid.decode() {
                    if !found.contains(&content) {
                        found.push(content);
                    }
                }
            }
            if enough(&found) {
                return found;
            }
        }
    }
    found
}

/// Evens out uneven light: each pixel is divided by the local brightness (a heavily
/// blurred copy, computed at 1/8 size), so paper is white everywhere.
fn flatten(img: &image::GrayImage) -> image::GrayImage {
    let (w, h) = img.dimensions();
    let small = image::imageops::resize(
        img,
        (w / 8).max(1),
        (h / 8).max(1),
        image::imageops::FilterType::Triangle,
    );
    let light = image::imageops::blur(&small, 6.0);
    let light = image::imageops::resize(&light, w, h, image::imageops::FilterType::Triangle);
    image::GrayImage::from_fn(w, h, |x, y| {
        let l = f32::from(light.get_pixel(x, y)[0]).max(16.0);
        let v = f32::from(img.get_pixel(x, y)[0]) / l * 230.0;
        image::Luma([v.clamp(0.0, 255.0) as u8])
    })
}

/// Loads a scan or photo, bounded in file size and in the memory its decoding may take
/// (a hostile image cannot exhaust memory).
pub fn load_image(path: &std::path::Path) -> Result<image::DynamicImage, RestoreError> {
    let fail = |e: String| RestoreError::Image(format!("{}: {e}", path.display()));
    let bytes = tresen_protocol::files::read_bounded(path, tresen_protocol::files::limits::IMAGE)
        .map_err(|e| fail(e.to_string()))?;
    let mut reader = image::ImageReader::new(std::io::Cursor::new(bytes))
        .with_guessed_format()
        .map_err(|e| fail(e.to_string()))?;
    let mut limits = image::Limits::default();
    limits.max_image_width = Some(16_384);
    limits.max_image_height = Some(16_384);
    limits.max_alloc = Some(1024 * 1024 * 1024);
    reader.limits(limits);
    reader.decode().map_err(|e| fail(e.to_string()))
}
