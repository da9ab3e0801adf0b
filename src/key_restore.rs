//! Restoring a lost key file from scans or photos of the recovery sheet, for the app and
//! the `tresen` tool alike: the rebuilt file is saved new and, with the passphrase, loaded
//! once and counted as a verified copy. Rebuilding (reading photos, decoding QR codes)
//! needs no venue, so a front end does it without holding the venue; only the short check
//! does.

use std::path::{Path, PathBuf};

use tresen_documents::documents::{load_image, restore_key_file};
use tresen_protocol::files::write_new_file;
use tresen_protocol::key_file::{KeyFileError, Passphrase};
use tresen_venue::Venue;

use crate::Error;

/// What a restore achieved.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Restored {
    pub path: String,
    /// The passphrase opened it and it holds the venue's current key.
    pub verified: bool,
    /// It holds an earlier key of this venue (replaced since): kept, as only it opens the
    /// check-ins sealed to that key, but it is no backup of the current key.
    pub earlier_key: bool,
}

/// A key file rebuilt from the sheet and saved, not yet checked.
pub struct Rebuilt {
    path: PathBuf,
    bytes: Vec<u8>,
}

/// Rebuilds the key file from the images into `out` (never over an existing file).
pub fn rebuild(images: &[&Path], out: &Path) -> Result<Rebuilt, Error> {
    let imgs = images
        .iter()
        .map(|p| load_image(p))
        .collect::<Result<Vec<_>, _>>()?;
    let text = restore_key_file(&imgs)?;
    if let Some(dir) = out.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|source| {
            Error::from(KeyFileError::Write {
                path: dir.to_path_buf(),
                source,
            })
        })?;
    }
    write_new_file(out, text.as_bytes())?;
    Ok(Rebuilt {
        path: out.to_path_buf(),
        bytes: text.into_bytes(),
    })
}

/// With the passphrase, checks the rebuilt file at once and counts it as a verified copy.
/// A file that does not open or holds a foreign key is removed again, so no wrong key
/// file is left for later; one with an earlier key of this venue is kept and reported.
/// Any other failure (a busy database, a full disk) keeps the file: it may well be right.
pub fn check(
    venue: &mut Venue,
    rebuilt: Rebuilt,
    passphrase: Option<&Passphrase>,
    now: i64,
) -> Result<Restored, Error> {
    let (verified, earlier_key) = match passphrase {
        None => (false, false),
        Some(pass) => match venue.verify_key_bytes(&rebuilt.path, &rebuilt.bytes, pass, now) {
            Ok(_) => (true, false),
            Err(tresen_venue::Error::RetiredKey(_)) => (false, true),
            Err(e) => {
                let wrong = matches!(
                    e,
                    tresen_venue::Error::KeyMismatch { .. }
                        | tresen_venue::Error::KeyFile(
                            KeyFileError::WrongPassphrase
                                | KeyFileError::NotAKeyFile
                                | KeyFileError::Corrupt(_)
                        )
                );
                if wrong {
                    let _ = std::fs::remove_file(&rebuilt.path);
                }
                return Err(e.into());
            }
        },
    };
    Ok(Restored {
        path: rebuilt.path.display().to_string(),
        verified,
        earlier_key,
    })
}

/// [`rebuild`], then [`check`].
pub fn restore_key(
    venue: &mut Venue,
    images: &[&Path],
    out: &Path,
    passphrase: Option<&Passphrase>,
    now: i64,
) -> Result<Restored, Error> {
    let rebuilt = rebuild(images, out)?;
    check(venue, rebuilt, passphrase, now)
}
