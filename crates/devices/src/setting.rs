//! A scanner as a person names it — in the app's preferences, or on the command line as
//! `PATH[@BAUD]` or `VID[:PID]` — checked once and turned into a running source.

use serde::{Deserialize, Serialize};
use tresen_protocol::keyboard_layout::Layout;

use crate::scanner::framing::{FramingConfig, Terminator};
use crate::scanner::serial::{SerialConfig, SerialScanner};
use crate::scanner::usb::{Protocol, UsbConfig, UsbScanner};
use crate::scanner::ScanSource;

/// The speed serial scanners are set to when nothing else is said.
pub const DEFAULT_BAUD: u32 = 9600;
/// The speeds scanners use; anything else is a typing error.
pub const BAUD_RANGE: std::ops::RangeInclusive<u32> = 1200..=921_600;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SettingError {
    #[error("the serial port path is empty")]
    EmptyPath,
    #[error("{0} baud is not a serial speed scanners use (1200 to 921600)")]
    Baud(String),
    #[error("unknown line end '{0}': use cr, lf, crlf, pause or pause:MS")]
    Terminator(String),
    #[error("unknown keyboard layout '{0}': use de or us")]
    Layout(String),
    #[error("'{0}' is not VID or VID:PID in hex, e.g. 0c2e or 0c2e:0b61")]
    UsbId(String),
}

/// One scanner to read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum ScannerSetting {
    Serial {
        path: String,
        baud: u32,
        /// `cr`, `lf`, `crlf`, `pause` or `pause:MS`.
        #[serde(default = "default_terminator")]
        terminator: String,
    },
    Usb {
        vendor_id: u16,
        product_id: Option<u16>,
        /// `de` or `us`: the layout the scanner types in.
        layout: String,
    },
}

fn default_terminator() -> String {
    "cr".into()
}

impl ScannerSetting {
    /// `PATH` or `PATH@BAUD` (9600 when no speed is given).
    pub fn parse_serial(spec: &str, terminator: &str) -> Result<ScannerSetting, SettingError> {
        let (path, baud) = match spec.rsplit_once('@') {
            Some((p, b)) => (
                p,
                b.trim()
                    .parse::<u32>()
                    .map_err(|_| SettingError::Baud(b.into()))?,
            ),
            None => (spec, DEFAULT_BAUD),
        };
        let s = ScannerSetting::Serial {
            path: path.trim().into(),
            baud,
            terminator: terminator.into(),
        };
        s.check()?;
        Ok(s)
    }

    /// `VID` or `VID:PID` in hex.
    pub fn parse_usb(spec: &str, layout: &str) -> Result<ScannerSetting, SettingError> {
        let bad = || SettingError::UsbId(spec.into());
        let hex = |s: &str| u16::from_str_radix(s.trim(), 16).map_err(|_| bad());
        let (vendor_id, product_id) = match spec.split_once(':') {
            Some((v, p)) => (hex(v)?, Some(hex(p)?)),
            None => (hex(spec)?, None),
        };
        let s = ScannerSetting::Usb {
            vendor_id,
            product_id,
            layout: layout.into(),
        };
        s.check()?;
        Ok(s)
    }

    /// Checks every field without opening anything.
    pub fn check(&self) -> Result<(), SettingError> {
        self.serial_config(FramingConfig::default()).map(|_| ())?;
        self.usb_config(Protocol::Auto).map(|_| ())
    }

    /// The serial port's configuration with the given framing (its line end replaced by
    /// the setting's); `None` for a USB scanner.
    pub fn serial_config(
        &self,
        mut framing: FramingConfig,
    ) -> Result<Option<SerialConfig>, SettingError> {
        let ScannerSetting::Serial {
            path,
            baud,
            terminator,
        } = self
        else {
            return Ok(None);
        };
        if path.trim().is_empty() {
            return Err(SettingError::EmptyPath);
        }
        if !BAUD_RANGE.contains(baud) {
            return Err(SettingError::Baud(baud.to_string()));
        }
        framing.terminator = Terminator::parse(terminator)
            .ok_or_else(|| SettingError::Terminator(terminator.clone()))?;
        let mut cfg = SerialConfig::new(path.trim(), *baud);
        cfg.framing = framing;
        Ok(Some(cfg))
    }

    /// The USB scanner's configuration; `None` for a serial scanner.
    pub fn usb_config(&self, protocol: Protocol) -> Result<Option<UsbConfig>, SettingError> {
        let ScannerSetting::Usb {
            vendor_id,
            product_id,
            layout,
        } = self
        else {
            return Ok(None);
        };
        let layout = Layout::parse(layout).ok_or_else(|| SettingError::Layout(layout.clone()))?;
        Ok(Some(UsbConfig {
            vendor_id: *vendor_id,
            product_id: *product_id,
            layout,
            protocol,
        }))
    }

    /// The running source for this scanner, framed as given.
    pub fn source_with(
        &self,
        framing: FramingConfig,
        protocol: Protocol,
    ) -> Result<Box<dyn ScanSource>, SettingError> {
        if let Some(cfg) = self.serial_config(framing)? {
            return Ok(Box::new(SerialScanner::new(cfg)));
        }
        match self.usb_config(protocol)? {
            Some(cfg) => Ok(Box::new(UsbScanner::new(cfg))),
            None => Err(SettingError::EmptyPath),
        }
    }

    /// The running source with the default framing.
    pub fn source(&self) -> Result<Box<dyn ScanSource>, SettingError> {
        self.source_with(FramingConfig::default(), Protocol::Auto)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serial_specs() {
        assert_eq!(
            ScannerSetting::parse_serial("/dev/ttyACM0", "cr"),
            Ok(ScannerSetting::Serial {
                path: "/dev/ttyACM0".into(),
                baud: 9600,
                terminator: "cr".into()
            })
        );
        assert!(matches!(
            ScannerSetting::parse_serial("/dev/ttyUSB0@115200", "crlf"),
            Ok(ScannerSetting::Serial { baud: 115_200, .. })
        ));
        for bad in ["/dev/x@fast", "/dev/x@300", "/dev/x@4000000", "@9600", " "] {
            assert!(
                ScannerSetting::parse_serial(bad, "cr").is_err(),
                "{bad} accepted"
            );
        }
        assert_eq!(
            ScannerSetting::parse_serial("/dev/x", "semicolon"),
            Err(SettingError::Terminator("semicolon".into()))
        );
    }

    #[test]
    fn usb_specs() {
        assert!(matches!(
            ScannerSetting::parse_usb("0c2e:0b61", "de"),
            Ok(ScannerSetting::Usb {
                vendor_id: 0x0c2e,
                product_id: Some(0x0b61),
                ..
            })
        ));
        assert!(matches!(
            ScannerSetting::parse_usb("05e0", "us"),
            Ok(ScannerSetting::Usb {
                product_id: None,
                ..
            })
        ));
        for bad in ["xyz", "0c2e:", "12345", ""] {
            assert!(ScannerSetting::parse_usb(bad, "us").is_err(), "{bad}");
        }
        assert_eq!(
            ScannerSetting::parse_usb("0c2e", "fr"),
            Err(SettingError::Layout("fr".into()))
        );
    }
}
