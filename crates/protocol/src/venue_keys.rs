//! The venue's key pair: the private keys inside its key file (X25519 to open check-ins,
//! Ed25519 to sign answers) and the public keys the counter keeps. See docs/protocol.md,
//! sections 6 and 7.

use std::path::Path;

use zeroize::Zeroizing;

use crate::crypto::{CryptoError, SealSecretKey, SigningKey};
use crate::encoding::b64;
use crate::fingerprint::fingerprint_text;
use crate::key_file::{
    decrypt_text, encrypt_text, field, field_bytes, parse_fields, read_bytes, write_new_file,
    KeyFileError, Passphrase,
};

const VENUE_HEADER: &str = "tresen-venue-key v1";

/// The venue's private keys: X25519 (opening check-ins) and Ed25519 (signing answers).
pub struct VenueSecretKeys {
    pub seal: SealSecretKey,
    pub sign: SigningKey,
}

/// The venue's public keys, which the kiosk keeps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VenuePublicKeys {
    pub seal: [u8; 32],
    pub sign: [u8; 32],
}

impl VenuePublicKeys {
    /// SHA-256 over both public keys; see docs/protocol.md, "Fingerprints".
    pub fn fingerprint(&self) -> [u8; 32] {
        crate::crypto::sha256(&[b"tresen/venue-key/v1", &self.seal, &self.sign])
    }

    /// The fingerprint as shown to people: 20 base-32 characters in groups of four.
    pub fn fingerprint_text(&self) -> String {
        fingerprint_text(&self.fingerprint())
    }
}

impl VenueSecretKeys {
    pub fn generate() -> Self {
        let (seal, _) = SealSecretKey::generate();
        Self {
            seal,
            sign: SigningKey::generate(),
        }
    }

    pub fn public(&self) -> VenuePublicKeys {
        VenuePublicKeys {
            seal: self.seal.public_key(),
            sign: self.sign.public_key(),
        }
    }

    fn to_text(&self, created: &str) -> Zeroizing<String> {
        Zeroizing::new(format!(
            "{VENUE_HEADER}\n# Tresen venue private key. Keep it secret; never share it.\nfingerprint: {}\ncreated: {created}\nx25519-secret: {}\ned25519-secret: {}\n",
            self.public().fingerprint_text(),
            b64(&self.seal.to_bytes()[..]),
            b64(&self.sign.to_bytes()[..]),
        ))
    }

    /// Parses the plaintext inside a venue key file (after decryption).
    pub fn from_text(text: &str) -> Result<Self, KeyFileError> {
        let f = parse_fields(text, VENUE_HEADER)?;
        let bad = |e: CryptoError| KeyFileError::Corrupt(e.to_string());
        let keys = Self {
            seal: SealSecretKey::from_bytes(&field_bytes(&f, "x25519-secret")?).map_err(bad)?,
            sign: SigningKey::from_bytes(&field_bytes(&f, "ed25519-secret")?).map_err(bad)?,
        };
        if field(&f, "fingerprint")? != keys.public().fingerprint_text() {
            return Err(KeyFileError::Corrupt(
                "the fingerprint does not match the keys".into(),
            ));
        }
        Ok(keys)
    }

    /// The armoured, passphrase-encrypted key file content.
    pub fn encrypt(&self, pass: &Passphrase, created: &str) -> Result<String, KeyFileError> {
        encrypt_text(pass, &self.to_text(created))
    }

    pub fn decrypt(pass: &Passphrase, data: &[u8]) -> Result<Self, KeyFileError> {
        Self::from_text(&decrypt_text(pass, data)?)
    }

    /// Writes a new key file and reads it back to prove it opens.
    pub fn write_key_file(
        &self,
        path: &Path,
        pass: &Passphrase,
        created: &str,
    ) -> Result<(), KeyFileError> {
        let data = self.encrypt(pass, created)?;
        write_new_file(path, data.as_bytes())?;
        let back = Self::read_key_file(path, pass)?;
        if back.public() != self.public() {
            return Err(KeyFileError::CopyMismatch(path.to_path_buf()));
        }
        Ok(())
    }

    pub fn read_key_file(path: &Path, pass: &Passphrase) -> Result<Self, KeyFileError> {
        Self::decrypt(pass, &read_bytes(path)?)
    }
}
