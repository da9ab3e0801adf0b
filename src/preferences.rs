//! The app's own preferences for this PC: language, sounds, kiosk mode and the scanners to
//! read. Kept as a small JSON file in the data folder, replaced atomically.

use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::keyboard_layout::Layout;
use crate::scanner::framing::Terminator;
use crate::scanner::serial::{SerialConfig, SerialScanner};
use crate::scanner::usb::{Protocol, UsbConfig, UsbScanner};
use crate::scanner::ScanSource;

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
    Invalid(String),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Language {
    #[default]
    De,
    En,
}

/// One scanner to read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum ScannerSetting {
    Serial {
        path: String,
        baud: u32,
        /// `cr`, `lf`, `crlf` or `pause`.
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
    /// Checks the setting and makes the scanner source for it.
    pub fn source(&self) -> Result<Box<dyn ScanSource>, PreferencesError> {
        match self {
            ScannerSetting::Serial {
                path,
                baud,
                terminator,
            } => {
                if path.trim().is_empty() {
                    return Err(PreferencesError::Invalid(
                        "the serial port path is empty".into(),
                    ));
                }
                if !(1200..=921_600).contains(baud) {
                    return Err(PreferencesError::Invalid(format!(
                        "{baud} baud is not a serial speed scanners use"
                    )));
                }
                let mut cfg = SerialConfig::new(path.trim(), *baud);
                cfg.framing.terminator = Terminator::parse(terminator).ok_or_else(|| {
                    PreferencesError::Invalid(format!("unknown line end '{terminator}'"))
                })?;
                Ok(Box::new(SerialScanner::new(cfg)))
            }
            ScannerSetting::Usb {
                vendor_id,
                product_id,
                layout,
            } => {
                let layout = Layout::parse(layout).ok_or_else(|| {
                    PreferencesError::Invalid(format!("unknown keyboard layout '{layout}'"))
                })?;
                Ok(Box::new(UsbScanner::new(UsbConfig {
                    vendor_id: *vendor_id,
                    product_id: *product_id,
                    layout,
                    protocol: Protocol::Auto,
                })))
            }
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Preferences {
    pub language: Language,
    /// A short tone for every scan (high: accepted, low: refused).
    pub sound: bool,
    /// Full screen, no window decorations; closing needs the operator PIN.
    pub kiosk_mode: bool,
    pub scanners: Vec<ScannerSetting>,
}

impl Default for Preferences {
    fn default() -> Self {
        Self {
            language: Language::De,
            sound: true,
            kiosk_mode: false,
            scanners: Vec::new(),
        }
    }
}

impl Preferences {
    /// Loads the preferences; a missing file gives the defaults.
    pub fn load(data_dir: &Path) -> Result<Preferences, PreferencesError> {
        let path = data_dir.join(FILE);
        match crate::files::read_bounded(&path, crate::files::limits::SMALL_JSON) {
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
        for s in &self.scanners {
            s.source()?;
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
            scanners: vec![ScannerSetting::Serial {
                path: "/dev/ttyACM0".into(),
                baud: 115_200,
                terminator: "crlf".into(),
            }],
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
