//! A thermal receipt printer's port: a USB printer-class device (`/dev/usb/lp0`), written
//! like a file, or a serial port (`/dev/ttyUSB0@9600`). It takes ready ESC/POS bytes.

use std::io::Write;
use std::time::Duration;

use super::PrinterError;
use crate::setting::{BAUD_RANGE, DEFAULT_BAUD};

/// How long a printer may hold back the slip (paper out, cover open) before it counts as
/// stopped.
const WRITE_TIMEOUT: Duration = Duration::from_secs(5);

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReceiptPort {
    /// The kernel's USB printer class driver (`usblp`).
    UsbPrinter {
        path: String,
    },
    Serial {
        path: String,
        baud: u32,
    },
}

impl ReceiptPort {
    /// `PATH` or `PATH@BAUD`: a path under `/dev/usb/` is a USB printer, anything else a
    /// serial port (9600 baud when no speed is given).
    pub fn parse(spec: &str) -> Result<ReceiptPort, PrinterError> {
        let spec = spec.trim();
        let (path, baud) = match spec.rsplit_once('@') {
            Some((p, b)) => {
                let baud = b
                    .trim()
                    .parse::<u32>()
                    .ok()
                    .filter(|b| BAUD_RANGE.contains(b))
                    .ok_or_else(|| {
                        PrinterError::ReceiptSetting(format!(
                            "{b} baud is not a serial speed (1200 to 921600)"
                        ))
                    })?;
                (p.trim(), Some(baud))
            }
            None => (spec, None),
        };
        if path.is_empty() || !path.starts_with('/') {
            return Err(PrinterError::ReceiptSetting(format!(
                "'{spec}' is not a device path such as /dev/usb/lp0 or /dev/ttyUSB0@9600"
            )));
        }
        if path.starts_with("/dev/usb/") {
            if baud.is_some() {
                return Err(PrinterError::ReceiptSetting(
                    "a USB printer has no baud rate".into(),
                ));
            }
            return Ok(ReceiptPort::UsbPrinter { path: path.into() });
        }
        Ok(ReceiptPort::Serial {
            path: path.into(),
            baud: baud.unwrap_or(DEFAULT_BAUD),
        })
    }

    pub fn path(&self) -> &str {
        match self {
            ReceiptPort::UsbPrinter { path } | ReceiptPort::Serial { path, .. } => path,
        }
    }

    /// Sends the bytes and waits until the port took them all.
    pub fn send(&self, bytes: &[u8]) -> Result<(), PrinterError> {
        let open_err = |reason: String| PrinterError::ReceiptOpen {
            path: self.path().into(),
            reason,
        };
        let write_err = |e: std::io::Error| PrinterError::ReceiptWrite {
            path: self.path().into(),
            reason: e.to_string(),
        };
        match self {
            ReceiptPort::UsbPrinter { path } => {
                let mut f = std::fs::OpenOptions::new()
                    .write(true)
                    .open(path)
                    .map_err(|e| open_err(access_hint(&e)))?;
                f.write_all(bytes).map_err(write_err)?;
                f.flush().map_err(write_err)
            }
            ReceiptPort::Serial { path, baud } => {
                let mut port = serialport::new(path.as_str(), *baud)
                    .timeout(WRITE_TIMEOUT)
                    .open()
                    .map_err(|e| open_err(access_hint(&e.into())))?;
                port.write_all(bytes).map_err(write_err)?;
                port.flush().map_err(write_err)
            }
        }
    }
}

fn access_hint(e: &std::io::Error) -> String {
    match e.kind() {
        std::io::ErrorKind::PermissionDenied => format!(
            "{e}; the user needs access to printer ports (group lp) or serial ports (group dialout)"
        ),
        std::io::ErrorKind::NotFound => format!("{e}; is the printer plugged in?"),
        _ => e.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ports_are_told_apart_by_their_path() -> Result<(), PrinterError> {
        assert_eq!(
            ReceiptPort::parse("/dev/usb/lp0")?,
            ReceiptPort::UsbPrinter {
                path: "/dev/usb/lp0".into()
            }
        );
        assert_eq!(
            ReceiptPort::parse(" /dev/ttyUSB0@19200 ")?,
            ReceiptPort::Serial {
                path: "/dev/ttyUSB0".into(),
                baud: 19200
            }
        );
        assert_eq!(
            ReceiptPort::parse("/dev/ttyS0")?,
            ReceiptPort::Serial {
                path: "/dev/ttyS0".into(),
                baud: 9600
            }
        );
        for bad in [
            "",
            "lp0",
            "/dev/ttyS0@fast",
            "/dev/ttyS0@5",
            "/dev/usb/lp0@9600",
        ] {
            assert!(ReceiptPort::parse(bad).is_err(), "{bad}");
        }
        Ok(())
    }

    #[test]
    fn a_missing_printer_is_named() {
        let e = ReceiptPort::parse("/dev/usb/lp97").and_then(|p| p.send(b"x"));
        assert!(matches!(e, Err(PrinterError::ReceiptOpen { .. })), "{e:?}");
    }
}
