//! A health office's private keys (its key file), and the authority's contact private key
//! sealed to one office. See docs/protocol.md, sections 7 and 9.

use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use crate::crypto::{self, CryptoError, SealSecretKey, SigningKey};
use crate::encoding::b64;
use crate::key_file::{self, KeyFileError, Passphrase};

pub const CONTACT_TRANSFER_INFO: &[u8] = b"tresen/contact-key-transfer/v1";
const HEADER: &str = "tresen-office-key v1";
pub const OFFICE_KEY_FILE: &str = "office-key.age";
pub const CERT_FILE: &str = "certificate.json";
pub const CONTACT_KEYS_FILE: &str = "contact-keys.json";

/// An office's private keys.
pub struct OfficeKeys {
    pub office_id: String,
    pub signing: SigningKey,
    pub encryption: SealSecretKey,
}

impl OfficeKeys {
    pub fn generate(office_id: &str) -> Self {
        Self {
            office_id: office_id.to_string(),
            signing: SigningKey::generate(),
            encryption: SealSecretKey::generate().0,
        }
    }

    pub fn encrypt(&self, pass: &Passphrase) -> Result<String, KeyFileError> {
        let text = Zeroizing::new(format!(
            "{HEADER}\noffice-id: {}\nsigning-ed25519-secret: {}\nencryption-x25519-secret: {}\n",
            self.office_id,
            b64(&self.signing.to_bytes()[..]),
            b64(&self.encryption.to_bytes()[..]),
        ));
        key_file::encrypt_text(pass, &text)
    }

    pub fn decrypt(pass: &Passphrase, data: &[u8]) -> Result<Self, KeyFileError> {
        let text = key_file::decrypt_text(pass, data)?;
        let f = key_file::parse_fields(&text, HEADER)?;
        let bad = |e: CryptoError| KeyFileError::Corrupt(e.to_string());
        Ok(Self {
            office_id: key_file::field(&f, "office-id")?.to_string(),
            signing: SigningKey::from_bytes(&key_file::field_bytes(&f, "signing-ed25519-secret")?)
                .map_err(bad)?,
            encryption: SealSecretKey::from_bytes(&key_file::field_bytes(
                &f,
                "encryption-x25519-secret",
            )?)
            .map_err(bad)?,
        })
    }
}

/// The authority's contact private key, sealed to one office.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SealedContactKey {
    /// Hex of the contact key id.
    pub key_id: String,
    pub sealed: String,
}

pub fn seal_contact_key(
    contact: &SealSecretKey,
    office_id: &str,
    office_encryption_key: &[u8; 32],
) -> Result<SealedContactKey, CryptoError> {
    let pk = contact.public_key();
    let sealed = crypto::seal(
        office_encryption_key,
        CONTACT_TRANSFER_INFO,
        office_id.as_bytes(),
        &contact.to_bytes()[..],
    )?;
    Ok(SealedContactKey {
        key_id: crate::encoding::hex(&crate::guest_code::key_id(&pk)),
        sealed: b64(&sealed),
    })
}

pub fn open_contact_key(
    sealed: &SealedContactKey,
    office: &OfficeKeys,
) -> Result<SealSecretKey, CryptoError> {
    use base64::Engine;
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(&sealed.sealed)
        .map_err(|_| CryptoError::Malformed)?;
    let sk = office
        .encryption
        .open(CONTACT_TRANSFER_INFO, office.office_id.as_bytes(), &bytes)?;
    SealSecretKey::from_bytes(&sk)
}
