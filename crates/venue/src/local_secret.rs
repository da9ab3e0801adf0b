//! The kiosk's local secret: the key of the daily pseudonyms that link a guest's check-in
//! and check-out. It lives in the OS keychain (Secret Service on Linux); a file is used
//! only when the operator explicitly chooses it.

use std::path::{Path, PathBuf};

use chrono::NaiveDate;
use zeroize::Zeroizing;

pub const SECRET_FILE: &str = "local-secret";
const SERVICE: &str = "tresen";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SecretStore {
    Keyring,
    File,
}

impl SecretStore {
    pub fn as_str(self) -> &'static str {
        match self {
            SecretStore::Keyring => "keyring",
            SecretStore::File => "file",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "keyring" => Some(SecretStore::Keyring),
            "file" => Some(SecretStore::File),
            _ => None,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum SecretError {
    #[error("no OS keychain is available ({0}). Tresen keeps its local secret there. If this PC has no keychain, choose the file-based secret explicitly (`tresen venue init --secret-store file`, or for a venue already set up `tresen secret reset --store file`); it is less protected: anyone who copies the data folder can link a guest's visits within one day")]
    KeyringUnavailable(String),
    #[error("the kiosk's local secret is missing from the OS keychain; it was deleted or this data folder comes from another PC or user. Check-ins already recorded are safe; run `tresen secret reset` to create a new one")]
    Missing,
    #[error("the local secret file {} is readable by other users; run `chmod 600` on it", .0.display())]
    FileTooOpen(PathBuf),
    #[error("the local secret file {} is damaged", .0.display())]
    FileCorrupt(PathBuf),
    #[error("could not access the local secret file {}: {source}", .path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
}

pub struct LocalSecret(Zeroizing<[u8; 32]>);

impl LocalSecret {
    /// Creates a new secret in the chosen store, replacing any earlier one.
    pub fn create(
        store: SecretStore,
        data_dir: &Path,
        install_id: &str,
    ) -> Result<Self, SecretError> {
        let secret = Zeroizing::new(tresen_protocol::crypto::random_bytes::<32>());
        Self::keep(store, data_dir, install_id, &secret)
    }

    /// Keeps a given secret (from a join file: every counter of a venue on a server shares
    /// one, so that a check-out at any counter matches a check-in at any other).
    pub fn keep(
        store: SecretStore,
        data_dir: &Path,
        install_id: &str,
        secret: &[u8; 32],
    ) -> Result<Self, SecretError> {
        match store {
            SecretStore::Keyring => {
                let entry = entry(install_id)?;
                entry
                    .set_secret(&secret[..])
                    .map_err(|e| SecretError::KeyringUnavailable(e.to_string()))?;
            }
            SecretStore::File => write_file(&data_dir.join(SECRET_FILE), &secret[..])?,
        }
        // Read it back: a keychain that silently drops entries must be caught now.
        Self::load(store, data_dir, install_id)
    }

    pub fn load(
        store: SecretStore,
        data_dir: &Path,
        install_id: &str,
    ) -> Result<Self, SecretError> {
        let bytes = match store {
            SecretStore::Keyring => match entry(install_id)?.get_secret() {
                Ok(b) => Zeroizing::new(b),
                Err(keyring::Error::NoEntry) => return Err(SecretError::Missing),
                Err(e) => return Err(SecretError::KeyringUnavailable(e.to_string())),
            },
            SecretStore::File => read_file(&data_dir.join(SECRET_FILE))?,
        };
        let arr: [u8; 32] = bytes[..].try_into().map_err(|_| match store {
            SecretStore::Keyring => SecretError::Missing,
            SecretStore::File => SecretError::FileCorrupt(data_dir.join(SECRET_FILE)),
        })?;
        Ok(Self(Zeroizing::new(arr)))
    }

    /// Whether the OS keychain takes, returns and deletes a secret: asked before the setup
    /// asks anything else, so a PC without one is told up front.
    pub fn keyring_works() -> Result<(), SecretError> {
        let probe = format!(
            "probe-{}",
            tresen_protocol::encoding::hex(&tresen_protocol::crypto::random_bytes::<8>())
        );
        let e = entry(&probe)?;
        let unavailable = |e: keyring::Error| SecretError::KeyringUnavailable(e.to_string());
        e.set_secret(b"tresen keychain probe")
            .map_err(unavailable)?;
        let back = e.get_secret().map_err(unavailable);
        e.delete_credential().map_err(unavailable)?;
        match back? {
            b if b == b"tresen keychain probe" => Ok(()),
            _ => Err(SecretError::KeyringUnavailable(
                "the keychain returned another secret".into(),
            )),
        }
    }

    /// The secret itself, for the join file of a new counter.
    pub(crate) fn bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// A secret from known bytes (test vectors).
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(Zeroizing::new(bytes))
    }

    /// Removes the secret from its store (when the data folder is deleted).
    pub fn delete(
        store: SecretStore,
        data_dir: &Path,
        install_id: &str,
    ) -> Result<(), SecretError> {
        match store {
            SecretStore::Keyring => match entry(install_id)?.delete_credential() {
                Ok(()) | Err(keyring::Error::NoEntry) => Ok(()),
                Err(e) => Err(SecretError::KeyringUnavailable(e.to_string())),
            },
            SecretStore::File => {
                let p = data_dir.join(SECRET_FILE);
                match std::fs::remove_file(&p) {
                    Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                        Err(SecretError::Io { path: p, source: e })
                    }
                    _ => Ok(()),
                }
            }
        }
    }

    /// The daily pseudonym of a guest code: HMAC-SHA256(secret, context || code id ||
    /// business day), truncated to 16 bytes.
    pub fn pseudonym(&self, code_id: &[u8], business_day: NaiveDate) -> [u8; 16] {
        tresen_protocol::pseudonym::pseudonym(&self.0, code_id, business_day)
    }
}

fn entry(install_id: &str) -> Result<keyring::Entry, SecretError> {
    keyring::Entry::new(SERVICE, &format!("local-secret-{install_id}"))
        .map_err(|e| SecretError::KeyringUnavailable(e.to_string()))
}

fn write_file(path: &Path, secret: &[u8]) -> Result<(), SecretError> {
    use std::io::Write;
    #[cfg(unix)]
    use std::os::unix::fs::OpenOptionsExt;
    let io = |source| SecretError::Io {
        path: path.to_path_buf(),
        source,
    };
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create(true).truncate(true);
    #[cfg(unix)]
    opts.mode(0o600);
    let mut f = opts.open(path).map_err(io)?;
    f.write_all(tresen_protocol::encoding::b64(secret).as_bytes())
        .map_err(io)?;
    f.sync_all().map_err(io)
}

fn read_file(path: &Path) -> Result<Zeroizing<Vec<u8>>, SecretError> {
    use base64::Engine;
    let io = |source| SecretError::Io {
        path: path.to_path_buf(),
        source,
    };
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(path).map_err(io)?.permissions().mode();
        if mode & 0o077 != 0 {
            return Err(SecretError::FileTooOpen(path.to_path_buf()));
        }
    }
    let text = Zeroizing::new(tresen_protocol::files::read_text_bounded(path, 4096).map_err(io)?);
    base64::engine::general_purpose::STANDARD
        .decode(text.trim())
        .map(Zeroizing::new)
        .map_err(|_| SecretError::FileCorrupt(path.to_path_buf()))
}
