//! A guest code as a scanner's camera sees it on a key fob: printed 30 mm wide at a card
//! printer's 300 dpi, then seen at an angle, at the camera's resolution, out of focus and
//! with sensor noise; read back with `rqrr`. Shared by `tests/guest_codes.rs` and
//! `benches/guest_code.rs`.
#![allow(dead_code)]

use image::{GrayImage, Luma};
use rand::{Rng, SeedableRng};

/// The printed fob's QR code, with its quiet zone.
pub const FOB_MM: f64 = 30.0;
pub const PRINT_DPI: f64 = 300.0;

/// How hard the camera's view is.
#[derive(Debug, Clone, Copy)]
pub struct View {
    pub name: &'static str,
    /// Pixels the camera has across the 30 mm.
    pub pixels: u32,
    /// Gaussian blur (sigma, in camera pixels).
    pub blur: f32,
    /// Sensor noise (uniform, ± grey levels).
    pub noise: i16,
    /// How far a corner moves with the tilt, as a share of the width.
    pub tilt: f64,
}

pub const VIEWS: [View; 3] = [
    View {
        name: "close",
        pixels: 340,
        blur: 0.6,
        noise: 6,
        tilt: 0.0,
    },
    View {
        name: "arm's length",
        pixels: 280,
        blur: 0.7,
        noise: 6,
        tilt: 0.005,
    },
    View {
        name: "far",
        pixels: 230,
        blur: 0.7,
        noise: 6,
        tilt: 0.0,
    },
];

/// The code as printed: black modules on white, 30 mm at 300 dpi, quiet zone included.
pub fn printed(text: &str) -> GrayImage {
    let qr = tresen_documents::pdf::qr_code(text, qrcode::EcLevel::M).expect("fits a QR code");
    let n = qr.width() as u32;
    let modules = n + 8;
    let px = (FOB_MM / 25.4 * PRINT_DPI).round() as u32;
    let colors = qr.to_colors();
    GrayImage::from_fn(px, px, |x, y| {
        let mx = (f64::from(x) * f64::from(modules) / f64::from(px)) as i64 - 4;
        let my = (f64::from(y) * f64::from(modules) / f64::from(px)) as i64 - 4;
        let dark = mx >= 0
            && my >= 0
            && (mx as u32) < n
            && (my as u32) < n
            && colors[(my as u32 * n + mx as u32) as usize] == qrcode::Color::Dark;
        Luma([if dark { 20 } else { 235 }])
    })
}

/// Solves the homography that maps the four `from` corners to `to`.
fn homography(from: [(f64, f64); 4], to: [(f64, f64); 4]) -> [f64; 8] {
    let mut m = [[0f64; 9]; 8];
    for (i, ((x, y), (u, v))) in from.iter().zip(to.iter()).enumerate() {
        m[2 * i] = [*x, *y, 1.0, 0.0, 0.0, 0.0, -u * x, -u * y, *u];
        m[2 * i + 1] = [0.0, 0.0, 0.0, *x, *y, 1.0, -v * x, -v * y, *v];
    }
    for c in 0..8 {
        let p = (c..8)
            .max_by(|a, b| m[*a][c].abs().total_cmp(&m[*b][c].abs()))
            .unwrap_or(c);
        m.swap(c, p);
        let pivot = m[c];
        for (r, row) in m.iter_mut().enumerate() {
            if r != c && pivot[c] != 0.0 {
                let f = row[c] / pivot[c];
                for (x, p) in row.iter_mut().zip(pivot.iter()).skip(c) {
                    *x -= f * p;
                }
            }
        }
    }
    let mut h = [0f64; 8];
    for (i, row) in m.iter().enumerate() {
        h[i] = row[8] / row[i];
    }
    h
}

/// What the camera sees of the printed code, the same for the same `seed`.
pub fn seen(print: &GrayImage, view: &View, seed: u64) -> GrayImage {
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let out = view.pixels + view.pixels / 4;
    let margin = f64::from(view.pixels / 8);
    let s = f64::from(view.pixels);
    let t = view.tilt * s;
    let mut jitter = || rng.random_range(-t..=t);
    // Where the fob's corners land in the camera image.
    let to = [
        (margin + jitter(), margin + jitter()),
        (margin + s + jitter(), margin + jitter()),
        (margin + s + jitter(), margin + s + jitter()),
        (margin + jitter(), margin + s + jitter()),
    ];
    let w = f64::from(print.width());
    let from = [(0.0, 0.0), (w, 0.0), (w, w), (0.0, w)];
    // Camera pixel -> print pixel.
    let h = homography(to, from);
    let mut img = GrayImage::from_fn(out, out, |x, y| {
        // Each camera pixel averages the print under it (2 × 2 samples).
        let mut sum = 0u32;
        for (dx, dy) in [(0.25, 0.25), (0.75, 0.25), (0.25, 0.75), (0.75, 0.75)] {
            let (u, v) = (f64::from(x) + dx, f64::from(y) + dy);
            let d = h[6] * u + h[7] * v + 1.0;
            let px = (h[0] * u + h[1] * v + h[2]) / d;
            let py = (h[3] * u + h[4] * v + h[5]) / d;
            sum += if px >= 0.0 && py >= 0.0 && px < w && py < w {
                u32::from(print.get_pixel(px as u32, py as u32)[0])
            } else {
                200
            };
        }
        Luma([(sum / 4) as u8])
    });
    img = image::imageops::blur(&img, view.blur);
    for p in img.pixels_mut() {
        let n = rng.random_range(-view.noise..=view.noise);
        p[0] = (i16::from(p[0]) + n).clamp(0, 255) as u8;
    }
    img
}

/// The text `rqrr` reads from the image, if any.
pub fn read(img: &GrayImage) -> Option<String> {
    let mut prepared = rqrr::PreparedImage::prepare(img.clone());
    prepared
        .detect_grids()
        .into_iter()
        .find_map(|g| g.decode().ok().map(|(_, text)| text))
}

/// The share of `texts` read back in the view (each seen once, at its own angle).
pub fn read_rate(texts: &[String], view: &View) -> f64 {
    let read = texts
        .iter()
        .enumerate()
        .filter(|(i, t)| read(&seen(&printed(t), view, *i as u64)).as_deref() == Some(t.as_str()))
        .count();
    read as f64 / texts.len() as f64
}
