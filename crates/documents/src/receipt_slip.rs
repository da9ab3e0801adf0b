//! The guest's slip from a thermal receipt printer (ESC/POS): the guest code as a QR code
//! and the short text of the fob card, then a cut. Made as bytes; the device floor sends
//! them.

use std::cell::RefCell;
use std::rc::Rc;

use escpos::driver::Driver;
use escpos::printer::Printer;
use escpos::utils::{
    BitImageOption, BitImageSize, JustifyMode, Protocol, QRCodeCorrectionLevel, QRCodeModel,
    QRCodeOption,
};
use serde::{Deserialize, Serialize};

use crate::pdf::{qr_code, PrintError};

/// The paper roll: 58 mm rolls print 384 dots a line, 80 mm rolls 576 (at 203 dpi).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
pub enum SlipWidth {
    #[default]
    #[serde(rename = "58")]
    Mm58,
    #[serde(rename = "80")]
    Mm80,
}

impl SlipWidth {
    pub fn dots(self) -> u32 {
        match self {
            SlipWidth::Mm58 => 384,
            SlipWidth::Mm80 => 576,
        }
    }

    pub fn parse(s: &str) -> Option<SlipWidth> {
        match s.trim().trim_end_matches("mm").trim() {
            "58" => Some(SlipWidth::Mm58),
            "80" => Some(SlipWidth::Mm80),
            _ => None,
        }
    }
}

/// How the QR code reaches the paper: the printer's own QR command, or a raster image for
/// printers without one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum SlipQr {
    #[default]
    Native,
    Raster,
}

impl SlipQr {
    pub fn parse(s: &str) -> Option<SlipQr> {
        match s.trim() {
            "native" => Some(SlipQr::Native),
            "raster" => Some(SlipQr::Raster),
            _ => None,
        }
    }
}

/// The QR code's error correction on a slip: the fob card's level, so the code fits the
/// same version.
const SLIP_EC: qrcode::EcLevel = qrcode::EcLevel::M;
/// Quiet zone around the code, in modules.
const QUIET_MODULES: u32 = 4;

/// Collects what the printer crate writes, instead of a device.
#[derive(Clone, Default)]
struct Bytes(Rc<RefCell<Vec<u8>>>);

impl Driver for Bytes {
    fn name(&self) -> String {
        "slip bytes".into()
    }
    fn write(&self, data: &[u8]) -> escpos::errors::Result<()> {
        self.0.borrow_mut().extend_from_slice(data);
        Ok(())
    }
    fn read(&self, _buf: &mut [u8]) -> escpos::errors::Result<usize> {
        Ok(0)
    }
    fn flush(&self) -> escpos::errors::Result<()> {
        Ok(())
    }
}

fn escpos_err(e: escpos::errors::PrinterError) -> PrintError {
    PrintError::Slip(e.to_string())
}

/// The dots per module that make the code as large as the roll allows (3 to 8; the
/// printer's QR command takes 1 to 16).
fn module_dots(code: &str, width: SlipWidth) -> Result<u32, PrintError> {
    let modules = qr_code(code, SLIP_EC)?.width() as u32 + 2 * QUIET_MODULES;
    let dots = (width.dots() / modules).clamp(3, 8);
    Ok(dots)
}

/// The slip's bytes: initialise, centred title, the code, the fob card's text, feed and
/// cut.
pub fn guest_slip(code: &str, width: SlipWidth, qr: SlipQr) -> Result<Vec<u8>, PrintError> {
    if code.is_empty() {
        return Err(PrintError::Nothing("no guest code was given".into()));
    }
    let dots = module_dots(code, width)?;
    let out = Bytes::default();
    let mut p = Printer::new(out.clone(), Protocol::default(), None);
    p.init()
        .and_then(|p| p.justify(JustifyMode::CENTER))
        .and_then(|p| p.bold(true))
        .and_then(|p| p.size(2, 2))
        .and_then(|p| p.writeln("Tresen"))
        .and_then(|p| p.size(1, 1))
        .and_then(|p| p.writeln("Gast-Code / guest code"))
        .and_then(|p| p.bold(false))
        .map_err(escpos_err)?;
    match qr {
        SlipQr::Native => {
            let option =
                QRCodeOption::new(QRCodeModel::Model2, dots as u8, QRCodeCorrectionLevel::M);
            p.qrcode_option(code, option).map_err(escpos_err)?;
        }
        SlipQr::Raster => {
            let png = qr_png(code, dots)?;
            let option =
                BitImageOption::new(None, None, BitImageSize::Normal).map_err(escpos_err)?;
            p.bit_image_from_bytes_option(&png, option)
                .map_err(escpos_err)?;
        }
    }
    p.writeln("An der Theke vorzeigen")
        .and_then(|p| p.writeln("show at the counter"))
        .and_then(|p| p.feeds(3))
        .and_then(|p| p.print_cut())
        .map_err(escpos_err)?;
    drop(p);
    let bytes = out.0.take();
    Ok(bytes)
}

/// The code as a PNG with whole dots per module and a white quiet zone, so the printer
/// prints it without scaling.
fn qr_png(code: &str, dots: u32) -> Result<Vec<u8>, PrintError> {
    let qr = qr_code(code, SLIP_EC)?;
    let n = qr.width() as u32;
    let side = (n + 2 * QUIET_MODULES) * dots;
    // A multiple of 8 dots wide, as the raster command packs 8 dots a byte.
    let side = side.div_ceil(8) * 8;
    let colors = qr.to_colors();
    let img = image::GrayImage::from_fn(side, side, |x, y| {
        let (mx, my) = (x / dots, y / dots);
        let dark = mx >= QUIET_MODULES
            && my >= QUIET_MODULES
            && mx - QUIET_MODULES < n
            && my - QUIET_MODULES < n
            && colors[((my - QUIET_MODULES) * n + (mx - QUIET_MODULES)) as usize]
                == qrcode::Color::Dark;
        image::Luma([if dark { 0 } else { 255 }])
    });
    let mut png = Vec::new();
    img.write_to(&mut std::io::Cursor::new(&mut png), image::ImageFormat::Png)
        .map_err(|e| PrintError::Slip(e.to_string()))?;
    Ok(png)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_slip_starts_with_init_and_ends_with_a_cut() -> Result<(), PrintError> {
        let b = guest_slip("TRG2 test", SlipWidth::Mm58, SlipQr::Native)?;
        assert_eq!(&b[..2], &[0x1b, b'@']);
        assert!(b.windows(4).any(|w| w == [0x1d, b'V', b'A', 0]));
        assert!(matches!(
            guest_slip("", SlipWidth::Mm58, SlipQr::Native),
            Err(PrintError::Nothing(_))
        ));
        Ok(())
    }

    #[test]
    fn wider_rolls_print_larger_modules() -> Result<(), PrintError> {
        let code = "x".repeat(259);
        assert!(module_dots(&code, SlipWidth::Mm80)? > module_dots(&code, SlipWidth::Mm58)?);
        assert!(module_dots(&code, SlipWidth::Mm58)? * 61 <= 384);
        Ok(())
    }
}
