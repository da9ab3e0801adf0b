//! Print-ready PDFs: area posters (A4, A3), table cards (A6 tents four to an A4 page, or
//! 3 × 8 label sheets), guest fob cards (85.6 × 54 mm) and the key recovery sheet. QR
//! codes are drawn as vector modules with their quiet zone; text uses the DejaVu Sans
//! font shipped in `assets/fonts` (embedded as a subset), and long names shrink or wrap
//! instead of running off the page.

use printpdf::{
    Color, CurTransMat, Line, LinePoint, Mm, Op, PaintMode, ParsedFont, PdfDocument, PdfFontHandle,
    PdfPage, PdfSaveOptions, Point, Pt, Rect, Rgb, TextItem,
};

const SANS: &[u8] = include_bytes!("../../../assets/fonts/DejaVuSans.ttf");
const MONO: &[u8] = include_bytes!("../../../assets/fonts/DejaVuSansMono.ttf");
/// QR codes keep this many modules of white around them (ISO/IEC 18004).
pub const QUIET_ZONE: usize = 4;

#[derive(Debug, thiserror::Error)]
pub enum PrintError {
    #[error("the text cannot be encoded as a QR code: {0}")]
    Qr(String),
    #[error("the embedded font could not be read")]
    Font,
    #[error("nothing to print: {0}")]
    Nothing(String),
    #[error("the receipt slip could not be made: {0}")]
    Slip(String),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Paper {
    A4,
    A3,
}

impl Paper {
    pub fn size_mm(self) -> (f32, f32) {
        match self {
            Paper::A4 => (210.0, 297.0),
            Paper::A3 => (297.0, 420.0),
        }
    }
}

/// A finished document.
pub struct Pdf {
    pub bytes: Vec<u8>,
    pub pages: usize,
    /// Width and height of its pages in millimetres: the paper it must be printed on.
    pub page_mm: (f32, f32),
}

#[derive(Clone, Copy)]
pub enum Face {
    Sans,
    Mono,
}

/// Widths of the two fonts, for fitting text.
struct Metrics {
    sans: ttf_parser::Face<'static>,
    mono: ttf_parser::Face<'static>,
}

impl Metrics {
    fn new() -> Result<Self, PrintError> {
        Ok(Self {
            sans: ttf_parser::Face::parse(SANS, 0).map_err(|_| PrintError::Font)?,
            mono: ttf_parser::Face::parse(MONO, 0).map_err(|_| PrintError::Font)?,
        })
    }

    /// Width of `text` at `size_pt`, in mm.
    fn width_mm(&self, face: Face, text: &str, size_pt: f32) -> f32 {
        let f = match face {
            Face::Sans => &self.sans,
            Face::Mono => &self.mono,
        };
        let upem = f32::from(f.units_per_em());
        let units: f32 = text
            .chars()
            .map(|c| {
                f.glyph_index(c)
                    .and_then(|g| f.glyph_hor_advance(g))
                    .map(f32::from)
                    .unwrap_or(upem * 0.6)
            })
            .sum();
        units / upem * size_pt * 25.4 / 72.0
    }
}

/// How text may be fitted: start size, smallest size (points), at most this many lines.
#[derive(Debug, Clone, Copy)]
pub struct Fit(pub f32, pub f32, pub usize);

/// Builds the pages of one document.
pub struct Canvas {
    doc: PdfDocument,
    sans: printpdf::FontId,
    mono: printpdf::FontId,
    metrics: Metrics,
    pages: Vec<PdfPage>,
    ops: Vec<Op>,
    page_mm: (f32, f32),
}

fn pt(mm: f32) -> Pt {
    Mm(mm).into()
}

fn point(x: f32, y: f32) -> Point {
    Point { x: pt(x), y: pt(y) }
}

fn grey(v: f32) -> Color {
    Color::Rgb(Rgb::new(v, v, v, None))
}

impl Canvas {
    pub fn new(title: &str) -> Result<Self, PrintError> {
        let mut doc = PdfDocument::new(title);
        let mut warnings = Vec::new();
        let sans = ParsedFont::from_bytes(SANS, 0, &mut warnings).ok_or(PrintError::Font)?;
        let mono = ParsedFont::from_bytes(MONO, 0, &mut warnings).ok_or(PrintError::Font)?;
        let sans = doc.add_font(&sans);
        let mono = doc.add_font(&mono);
        Ok(Self {
            doc,
            sans,
            mono,
            metrics: Metrics::new()?,
            pages: Vec::new(),
            ops: Vec::new(),
            page_mm: Paper::A4.size_mm(),
        })
    }

    pub fn finish_page(&mut self, paper: (f32, f32)) {
        let ops = std::mem::take(&mut self.ops);
        self.pages.push(PdfPage::new(Mm(paper.0), Mm(paper.1), ops));
        self.page_mm = paper;
    }

    pub fn finish(mut self) -> Pdf {
        let pages = self.pages.len();
        let mut warnings = Vec::new();
        let bytes = self
            .doc
            .with_pages(std::mem::take(&mut self.pages))
            .save(&PdfSaveOptions::default(), &mut warnings);
        Pdf {
            bytes,
            pages,
            page_mm: self.page_mm,
        }
    }

    pub fn width_mm(&self, face: Face, text: &str, size_pt: f32) -> f32 {
        self.metrics.width_mm(face, text, size_pt)
    }

    /// Text with its baseline at (x, y) mm.
    pub fn text(&mut self, face: Face, text: &str, x: f32, y: f32, size_pt: f32) {
        let font = match face {
            Face::Sans => self.sans.clone(),
            Face::Mono => self.mono.clone(),
        };
        self.ops.extend([
            Op::SetFillColor { col: grey(0.0) },
            Op::StartTextSection,
            Op::SetFont {
                font: PdfFontHandle::External(font),
                size: Pt(size_pt),
            },
            Op::SetTextCursor { pos: point(x, y) },
            Op::ShowText {
                items: vec![TextItem::Text(text.to_string())],
            },
            Op::EndTextSection,
        ]);
    }

    pub fn centered(&mut self, face: Face, text: &str, cx: f32, y: f32, size_pt: f32) {
        let w = self.width_mm(face, text, size_pt);
        self.text(face, text, cx - w / 2.0, y, size_pt);
    }

    /// Fits text into `max_width` mm on at most `max_lines` lines, from `size` down to
    /// `min_size` points; returns the lines and the size used.
    pub fn fit(
        &self,
        text: &str,
        max_width: f32,
        size: f32,
        min_size: f32,
        max_lines: usize,
    ) -> (Vec<String>, f32) {
        let mut s = size;
        loop {
            let lines = self.wrap(text, max_width, s);
            if lines.len() <= max_lines || s <= min_size {
                return (lines, s);
            }
            s = (s * 0.9).max(min_size);
        }
    }

    fn wrap(&self, text: &str, max_width: f32, size: f32) -> Vec<String> {
        let mut lines: Vec<String> = Vec::new();
        let mut cur = String::new();
        for word in text.split_whitespace() {
            let candidate = if cur.is_empty() {
                word.to_string()
            } else {
                format!("{cur} {word}")
            };
            if self.width_mm(Face::Sans, &candidate, size) <= max_width {
                cur = candidate;
                continue;
            }
            if !cur.is_empty() {
                lines.push(std::mem::take(&mut cur));
            }
            // A word longer than the line is broken between characters.
            let mut piece = String::new();
            for ch in word.chars() {
                piece.push(ch);
                if self.width_mm(Face::Sans, &piece, size) > max_width && piece.chars().count() > 1
                {
                    piece.pop();
                    lines.push(std::mem::take(&mut piece));
                    piece.push(ch);
                }
            }
            cur = piece;
        }
        if !cur.is_empty() {
            lines.push(cur);
        }
        lines
    }

    /// Fitted, centred text block whose first baseline is at `top` mm; returns the y
    /// below the block.
    pub fn block(&mut self, text: &str, cx: f32, top: f32, max_width: f32, fit: Fit) -> f32 {
        let Fit(size, min_size, max_lines) = fit;
        let (lines, s) = self.fit(text, max_width, size, min_size, max_lines);
        let lh = s * 1.25 * 25.4 / 72.0;
        let mut y = top;
        for l in &lines {
            self.centered(Face::Sans, l, cx, y, s);
            y -= lh;
        }
        y
    }

    /// Left-aligned paragraphs, wrapped to `width` mm; returns the y below.
    pub fn paragraph(&mut self, text: &str, x: f32, top: f32, width: f32, size: f32) -> f32 {
        let lh = size * 1.3 * 25.4 / 72.0;
        let mut y = top;
        for l in self.wrap(text, width, size) {
            self.text(Face::Sans, &l, x, y, size);
            y -= lh;
        }
        y
    }

    pub fn line(&mut self, x1: f32, y1: f32, x2: f32, y2: f32, width_pt: f32, dashed: bool) {
        if dashed {
            self.ops.push(Op::SetLineDashPattern {
                dash: printpdf::LineDashPattern::new(0.0, &[3.0, 3.0]),
            });
        }
        self.ops.extend([
            Op::SetOutlineColor { col: grey(0.3) },
            Op::SetOutlineThickness { pt: Pt(width_pt) },
            Op::DrawLine {
                line: Line {
                    points: vec![
                        LinePoint {
                            p: point(x1, y1),
                            bezier: false,
                        },
                        LinePoint {
                            p: point(x2, y2),
                            bezier: false,
                        },
                    ],
                    is_closed: false,
                },
            },
        ]);
        if dashed {
            self.ops.push(Op::SetLineDashPattern {
                dash: printpdf::LineDashPattern::new(0.0, &[]),
            });
        }
    }

    fn rect(&mut self, x: f32, y: f32, w: f32, h: f32) {
        self.ops.push(Op::DrawRectangle {
            rectangle: Rect {
                x: pt(x),
                y: pt(y),
                width: pt(w),
                height: pt(h),
                mode: Some(PaintMode::Fill),
                winding_order: None,
            },
        });
    }

    /// A QR code (error correction M) whose outer size, quiet zone included, is `size`
    /// mm, with its lower left corner at (x, y). Returns the module size in mm.
    pub fn qr(&mut self, payload: &str, x: f32, y: f32, size: f32) -> Result<f32, PrintError> {
        self.qr_with(payload, x, y, size, qrcode::EcLevel::M)
    }

    /// As [`Canvas::qr`], with the error correction level given.
    pub fn qr_with(
        &mut self,
        payload: &str,
        x: f32,
        y: f32,
        size: f32,
        ec: qrcode::EcLevel,
    ) -> Result<f32, PrintError> {
        let code = qr_code(payload, ec)?;
        let n = code.width();
        let module = size / (n + 2 * QUIET_ZONE) as f32;
        let colors = code.to_colors();
        self.ops.push(Op::SetFillColor { col: grey(0.0) });
        for row in 0..n {
            let mut col = 0;
            while col < n {
                if colors[row * n + col] == qrcode::Color::Dark {
                    // One rectangle per horizontal run keeps the file small.
                    let start = col;
                    while col < n && colors[row * n + col] == qrcode::Color::Dark {
                        col += 1;
                    }
                    let rx = x + (QUIET_ZONE + start) as f32 * module;
                    let ry = y + size - (QUIET_ZONE + row + 1) as f32 * module;
                    // A hair of overlap so that adjacent runs render without seams.
                    self.rect(rx, ry - 0.01, (col - start) as f32 * module, module + 0.02);
                } else {
                    col += 1;
                }
            }
        }
        Ok(module)
    }

    /// Rotates what is drawn next by 180° about (cx, cy), until [`Canvas::restore`].
    pub fn rotate_180(&mut self, cx: f32, cy: f32) {
        self.ops.push(Op::SaveGraphicsState);
        self.ops.push(Op::SetTransformationMatrix {
            matrix: CurTransMat::Raw([-1.0, 0.0, 0.0, -1.0, 2.0 * pt(cx).0, 2.0 * pt(cy).0]),
        });
    }

    pub fn restore(&mut self) {
        self.ops.push(Op::RestoreGraphicsState);
    }
}

/// The QR code of a payload, in the smallest version. A payload of QR alphanumeric
/// characters alone (every Tresen code) is written as one alphanumeric segment: the
/// general segmenter sometimes splits off digit runs at a cost, and a guest code would
/// then need one version more than it should.
pub fn qr_code(payload: &str, ec: qrcode::EcLevel) -> Result<qrcode::QrCode, PrintError> {
    const ALNUM: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:";
    if payload.bytes().all(|b| ALNUM.contains(&b)) {
        for v in 1..=40 {
            let mut bits = qrcode::bits::Bits::new(qrcode::Version::Normal(v));
            if bits.push_alphanumeric_data(payload.as_bytes()).is_ok()
                && bits.push_terminator(ec).is_ok()
            {
                if let Ok(code) = qrcode::QrCode::with_bits(bits, ec) {
                    return Ok(code);
                }
            }
        }
    }
    qrcode::QrCode::with_error_correction_level(payload.as_bytes(), ec)
        .map_err(|e| PrintError::Qr(e.to_string()))
}
