//! The app's own preferences for this PC: language, sounds, kiosk mode and the scanners to
//! read. Kept as a small JSON file in the data folder, replaced atomically.

use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use tresen_protocol::files::{limits, read_bounded};

pub use tresen_devices::setting::ScannerSetting;
use tresen_devices::setting::SettingError;

pub const FILE: &str = "app-preferences.json";

#[derive(Debug, thiserror::Error)]
pub enum PreferencesError {
    #[error("the app preferences {} are damaged ({reason}); the defaults are used until they are saved again", .path.display())]
    Damaged { path: PathBuf, reason: String },
    #[error("could not save the app preferences to {}: {source} (is the disk full?)", .path.display())]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("scanner setting not valid: {0}")]
    Invalid(#[from] SettingError),
    #[error("{0}")]
    Receipt(tresen_devices::printer::PrinterError),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Language {
    #[default]
    De,
    En,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Preferences {
    pub language: Language,
    /// A short tone for every scan (high: accepted, low: refused).
    pub sound: bool,
    /// Full screen, no window decorations; closing needs the operator PIN.
    pub kiosk_mode: bool,
    /// The app starts in kiosk mode when the user logs in (see `autostart`).
    pub start_at_login: bool,
    pub scanners: Vec<ScannerSetting>,
    /// The printer each kind of document goes to (CUPS names).
    pub document_printers: std::collections::BTreeMap<crate::printing::DocumentKind, String>,
    /// The counter's receipt printer for guests' slips.
    pub receipt_printer: Option<crate::printing::ReceiptPrinter>,
}

impl Default for Preferences {
    fn default() -> Self {
        Self {
            language: Language::De,
            sound: true,
            kiosk_mode: false,
            start_at_login: false,
            scanners: Vec::new(),
            document_printers: Default::default(),
            receipt_printer: None,
        }
    }
}

impl Preferences {
    /// Loads the preferences; a missing file gives the defaults.
    pub fn load(data_dir: &Path) -> Result<Preferences, PreferencesError> {
        let path = data_dir.join(FILE);
        match read_bounded(&path, limits::SMALL_JSON) {
            Ok(bytes) => serde_json::from_slice(&bytes).map_err(|e| PreferencesError::Damaged {
                path,
                reason: e.to_string(),
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Preferences::default()),
            Err(e) => Err(PreferencesError::Damaged {
                path,
                reason: e.to_string(),
            }),
        }
    }

    /// Saves through a temporary file and a rename, so a crash or a full disk leaves the
    /// old preferences in place.
    pub fn save(&self, data_dir: &Path) -> Result<(), PreferencesError> {
        if let Some(r) = &self.receipt_printer {
            tresen_devices::printer::receipt::ReceiptPort::parse(&r.device)
                .map_err(PreferencesError::Receipt)?;
        }
        for s in &self.scanners {
            s.check()?;
        }
        let path = data_dir.join(FILE);
        let tmp = data_dir.join(format!("{FILE}.tmp"));
        let err = |source| PreferencesError::Write {
            path: path.clone(),
            source,
        };
        let json = serde_json::to_vec_pretty(self).map_err(|e| err(std::io::Error::other(e)))?;
        let result = (|| {
            std::fs::create_dir_all(data_dir)?;
            let mut f = std::fs::File::create(&tmp)?;
            f.write_all(&json)?;
            f.sync_all()?;
            std::fs::rename(&tmp, &path)
        })();
        if let Err(e) = result {
            let _ = std::fs::remove_file(&tmp);
            return Err(err(e));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_damage() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            Preferences::load(dir.path()).ok(),
            Some(Preferences::default())
        );
        let p = Preferences {
            language: Language::En,
            sound: false,
            kiosk_mode: true,
            start_at_login: true,
            scanners: vec![ScannerSetting::Serial {
                path: "/dev/ttyACM0".into(),
                baud: 115_200,
                terminator: "crlf".into(),
            }],
            document_printers: [(crate::printing::DocumentKind::Posters, "buero".to_string())]
                .into(),
            receipt_printer: Some(crate::printing::ReceiptPrinter {
                device: "/dev/usb/lp0".into(),
                width: crate::printing::SlipWidth::Mm80,
                qr: crate::printing::SlipQr::Raster,
            }),
        };
        p.save(dir.path()).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(Preferences::load(dir.path()).ok(), Some(p.clone()));
        std::fs::write(dir.path().join(FILE), b"{not json").unwrap_or_else(|e| panic!("{e}"));
        assert!(matches!(
            Preferences::load(dir.path()),
            Err(PreferencesError::Damaged { .. })
        ));
        let bad = Preferences {
            scanners: vec![ScannerSetting::Usb {
                vendor_id: 1,
                product_id: None,
                layout: "fr".into(),
            }],
            ..p
        };
        assert!(bad.save(dir.path()).is_err());
    }
}
