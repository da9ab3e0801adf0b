//! A thermal receipt printer's port: a USB printer-class device (`/dev/usb/lp0`), written
//! like a file, or a serial port (`/dev/ttyUSB0@9600`). It takes ready ESC/POS bytes.

use std::io::Write;
use std::os::unix::fs::{FileTypeExt, OpenOptionsExt};
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
        // Only device files: a slip must never be written into the venue's files.
        let in_dev = path.starts_with("/dev/")
            && !std::path::Path::new(path)
                .components()
                .any(|c| matches!(c, std::path::Component::ParentDir));
        if !in_dev {
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
        // Also where a link in /dev points elsewhere: a character device, or nothing.
        match std::fs::metadata(self.path()) {
            Ok(m) if m.file_type().is_char_device() => {}
            Ok(_) => return Err(open_err("this is not a device".into())),
            Err(e) => return Err(open_err(access_hint(&e))),
        }
        match self {
            ReceiptPort::UsbPrinter { path } => {
                let mut f = std::fs::OpenOptions::new()
                    .write(true)
                    .custom_flags(libc::O_NONBLOCK | libc::O_NOCTTY)
                    .open(path)
                    .map_err(|e| open_err(access_hint(&e)))?;
                write_within(&mut f, bytes, WRITE_TIMEOUT).map_err(write_err)
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

/// Writes everything before the deadline; a printer without paper holds writes back, and
/// the counter must not wait for it forever.
fn write_within(f: &mut std::fs::File, mut bytes: &[u8], limit: Duration) -> std::io::Result<()> {
    let deadline = std::time::Instant::now() + limit;
    while !bytes.is_empty() {
        match f.write(bytes) {
            Ok(0) => return Err(std::io::ErrorKind::WriteZero.into()),
            Ok(n) => bytes = &bytes[n..],
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                if std::time::Instant::now() > deadline {
                    return Err(std::io::Error::new(
                        std::io::ErrorKind::TimedOut,
                        "the printer took nothing for 5 s (out of paper, cover open?)",
                    ));
                }
                std::thread::sleep(Duration::from_millis(20));
            }
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
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
    fn only_a_device_takes_a_slip() -> Result<(), Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        let file = dir.path().join("venue.sqlite3");
        std::fs::write(&file, b"SQLite format 3")?;
        // A link under /dev cannot be made here; a port naming a plain file is the same
        // case. Opened as a USB printer, the file would take the slip without this check.
        let port = ReceiptPort::UsbPrinter {
            path: file.display().to_string(),
        };
        assert!(matches!(
            port.send(b"x"),
            Err(PrinterError::ReceiptOpen { .. })
        ));
        assert_eq!(std::fs::read(&file)?, b"SQLite format 3");
        Ok(())
    }

    #[test]
    fn a_missing_printer_is_named() {
        let e = ReceiptPort::parse("/dev/usb/lp97").and_then(|p| p.send(b"x"));
        assert!(matches!(e, Err(PrinterError::ReceiptOpen { .. })), "{e:?}");
    }
}
