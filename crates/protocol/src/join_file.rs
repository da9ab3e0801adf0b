//! The join file (protocol §15): what a new counter needs to join a venue whose counters
//! share a server database, sealed with a one-time passphrase (age, scrypt) that the
//! operator's screen shows next to it. It carries the connection and the counter's own
//! database login, the venue's public key fingerprint (pinned: a database that offers
//! another key is refused), the trust file, and the secret behind the daily pseudonyms,
//! so that a check-out at any counter matches a check-in at any other.

use serde::{Deserialize, Serialize};
use zeroize::{Zeroize, Zeroizing};

use crate::crypto;
use crate::encoding::{b64, b64d};
use crate::key_file::{self, KeyFileError, Passphrase};
use crate::textcode::encode_base32;

pub const FORMAT: &str = "tresen-join";
pub const VERSION: u32 = 1;
/// A join file is small; anything larger was not made by Tresen.
pub const MAX_BYTES: u64 = 64 * 1024;

#[derive(Debug, thiserror::Error)]
pub enum JoinFileError {
    #[error(transparent)]
    Sealed(#[from] KeyFileError),
    #[error("this is not a Tresen join file, or it is damaged ({0})")]
    Malformed(String),
    #[error("this join file was made by a newer version of Tresen (version {0}); please update")]
    TooNew(u32),
}

/// Where the venue's database is and how this counter logs in.
#[derive(Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct ServerLogin {
    pub host: String,
    pub port: u16,
    pub dbname: String,
    pub user: String,
    pub password: String,
    /// The certificate authority the server's TLS certificate must chain to (PEM).
    pub ca_pem: String,
}

impl std::fmt::Debug for ServerLogin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServerLogin")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("dbname", &self.dbname)
            .field("user", &self.user)
            .finish_non_exhaustive()
    }
}

impl Drop for ServerLogin {
    fn drop(&mut self) {
        self.password.zeroize();
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct JoinFile {
    pub format: String,
    pub version: u32,
    pub venue: String,
    /// The venue key's fingerprint as text (`VenuePublicKeys::fingerprint_text`).
    pub fingerprint: String,
    pub server: ServerLogin,
    pub trust: String,
    /// The pseudonym secret, base64.
    pub pseudonym_secret: String,
    pub created_at: i64,
}

impl JoinFile {
    pub fn new(
        venue: &str,
        fingerprint: &str,
        server: ServerLogin,
        trust: &str,
        secret: &[u8; 32],
        created_at: i64,
    ) -> Self {
        JoinFile {
            format: FORMAT.into(),
            version: VERSION,
            venue: venue.into(),
            fingerprint: fingerprint.into(),
            server,
            trust: trust.into(),
            pseudonym_secret: b64(secret),
            created_at,
        }
    }

    pub fn secret(&self) -> Result<Zeroizing<[u8; 32]>, JoinFileError> {
        let bytes = Zeroizing::new(
            b64d(&self.pseudonym_secret)
                .ok_or_else(|| JoinFileError::Malformed("pseudonym secret".into()))?,
        );
        let arr: [u8; 32] = bytes[..]
            .try_into()
            .map_err(|_| JoinFileError::Malformed("pseudonym secret length".into()))?;
        Ok(Zeroizing::new(arr))
    }

    /// The sealed file's text (armoured age).
    pub fn seal(&self, pass: &Passphrase) -> Result<String, JoinFileError> {
        let json = Zeroizing::new(
            serde_json::to_string(self).map_err(|e| JoinFileError::Malformed(e.to_string()))?,
        );
        Ok(key_file::encrypt_text(pass, &json)?)
    }

    pub fn open(sealed: &[u8], pass: &Passphrase) -> Result<JoinFile, JoinFileError> {
        if sealed.len() as u64 > MAX_BYTES {
            return Err(JoinFileError::Malformed("too large".into()));
        }
        let json = key_file::decrypt_text(pass, sealed)?;
        Self::from_plaintext(&json)
    }

    /// Reads the decrypted JSON of a join file (§15).
    pub fn from_plaintext(json: &str) -> Result<JoinFile, JoinFileError> {
        let probe: serde_json::Value =
            serde_json::from_str(json).map_err(|e| JoinFileError::Malformed(e.to_string()))?;
        if probe.get("format").and_then(|f| f.as_str()) != Some(FORMAT) {
            return Err(JoinFileError::Malformed("not a join file".into()));
        }
        let version = probe
            .get("version")
            .and_then(|v| v.as_u64())
            .ok_or_else(|| JoinFileError::Malformed("no version".into()))?;
        if version > u64::from(VERSION) {
            return Err(JoinFileError::TooNew(
                u32::try_from(version).unwrap_or(u32::MAX),
            ));
        }
        let file: JoinFile =
            serde_json::from_str(json).map_err(|e| JoinFileError::Malformed(e.to_string()))?;
        file.secret()?;
        Ok(file)
    }
}

/// A one-time passphrase for a join file: 20 base32 characters (100 bits) in groups of
/// four, easy to read off a screen and type.
pub fn one_time_passphrase() -> String {
    let text = encode_base32(&crypto::random_bytes::<13>());
    text.as_bytes()
        .chunks(4)
        .take(5)
        .map(|c| String::from_utf8_lossy(c).into_owned())
        .collect::<Vec<_>>()
        .join("-")
}

/// A typed one-time passphrase as the file was sealed with it: upper case, groups joined
/// with '-', whatever the operator typed between them.
pub fn normalize_passphrase(typed: &str) -> String {
    let clean: String = typed
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .map(|c| c.to_ascii_uppercase())
        .collect();
    clean
        .as_bytes()
        .chunks(4)
        .map(|c| String::from_utf8_lossy(c).into_owned())
        .collect::<Vec<_>>()
        .join("-")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn login() -> ServerLogin {
        ServerLogin {
            host: "db.example".into(),
            port: 5432,
            dbname: "tresen".into(),
            user: "tresen_c_abc".into(),
            password: "pw".into(),
            ca_pem: "-----BEGIN CERTIFICATE-----\n".into(),
        }
    }

    #[test]
    fn a_sealed_join_file_opens_only_with_its_passphrase() {
        let pass = one_time_passphrase();
        assert_eq!(pass.len(), 24);
        let f = JoinFile::new("Café", "ABCD", login(), "trust", &[7; 32], 1);
        let sealed = f.seal(&Passphrase::new(pass.clone())).unwrap();
        let typed = pass.to_lowercase().replace('-', " ");
        let back = JoinFile::open(
            sealed.as_bytes(),
            &Passphrase::new(normalize_passphrase(&typed)),
        )
        .unwrap();
        assert_eq!(back, f);
        assert_eq!(*back.secret().unwrap(), [7; 32]);
        assert!(matches!(
            JoinFile::open(sealed.as_bytes(), &Passphrase::new("AAAA-AAAA")),
            Err(JoinFileError::Sealed(KeyFileError::WrongPassphrase))
        ));
    }

    #[test]
    fn another_sealed_text_is_not_a_join_file() {
        let pass = Passphrase::new("AAAA-BBBB");
        let sealed = key_file::encrypt_text(&pass, "{\"format\":\"tresen-key\"}").unwrap();
        assert!(matches!(
            JoinFile::open(sealed.as_bytes(), &pass),
            Err(JoinFileError::Malformed(_))
        ));
        let newer =
            key_file::encrypt_text(&pass, "{\"format\":\"tresen-join\",\"version\":9}").unwrap();
        assert!(matches!(
            JoinFile::open(newer.as_bytes(), &pass),
            Err(JoinFileError::TooNew(9))
        ));
    }
}
