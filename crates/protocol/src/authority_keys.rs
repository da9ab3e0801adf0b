//! The health authority's keys, as kept in its key file: the root signing key that
//! certifies trust files and offices, and the contact key pair that guest codes are sealed
//! to. See docs/protocol.md, section 7.

use std::path::Path;

use crate::crypto::{SealSecretKey, SigningKey};
use crate::encoding::{b64, hex};
use crate::guest_code::ContactKey;
use crate::key_file::{self, KeyFileError, Passphrase};
use crate::trust::{self, ContactKeyEntry, TrustBody, TrustError};

const HEADER: &str = "tresen-authority-key v1";

pub struct AuthorityKeys {
    pub name: String,
    pub root: SigningKey,
    pub contact: SealSecretKey,
}

impl AuthorityKeys {
    pub fn generate(name: &str) -> Self {
        Self {
            name: name.to_string(),
            root: SigningKey::generate(),
            contact: SealSecretKey::generate().0,
        }
    }

    pub fn contact_key(&self) -> ContactKey {
        ContactKey::new(self.contact.public_key())
    }

    /// The key file's plaintext (encrypted with [`key_file::encrypt_text`]).
    pub fn to_text(&self) -> zeroize::Zeroizing<String> {
        zeroize::Zeroizing::new(format!(
            "{HEADER}\nname: {}\nroot-ed25519-secret: {}\ncontact-x25519-secret: {}\n",
            self.name.replace('\n', " "),
            b64(&self.root.to_bytes()[..]),
            b64(&self.contact.to_bytes()[..]),
        ))
    }

    pub fn open(path: &Path, pass: &Passphrase) -> Result<Self, KeyFileError> {
        let text = key_file::decrypt_text(pass, &key_file::read_bytes(path)?)?;
        let f = key_file::parse_fields(&text, HEADER)?;
        let corrupt = |e: crate::crypto::CryptoError| KeyFileError::Corrupt(e.to_string());
        Ok(Self {
            name: key_file::field(&f, "name")?.to_string(),
            root: SigningKey::from_bytes(&key_file::field_bytes(&f, "root-ed25519-secret")?)
                .map_err(corrupt)?,
            contact: SealSecretKey::from_bytes(&key_file::field_bytes(
                &f,
                "contact-x25519-secret",
            )?)
            .map_err(corrupt)?,
        })
    }

    /// Signs a trust file with the given serial, listing no offices.
    pub fn trust_file(&self, serial: u64, issued_at: i64) -> Result<String, TrustError> {
        self.trust_file_with(serial, issued_at, Vec::new())
    }

    /// Signs a trust file with the given serial and office certificates.
    pub fn trust_file_with(
        &self,
        serial: u64,
        issued_at: i64,
        offices: Vec<crate::certificate::Certificate>,
    ) -> Result<String, TrustError> {
        let ck = self.contact_key();
        let body = TrustBody {
            authority: self.name.clone(),
            root_key: b64(&self.root.public_key()),
            serial,
            issued_at,
            contact_key: ContactKeyEntry {
                key_id: hex(&ck.key_id),
                public_key: b64(&ck.public_key),
            },
            offices,
        };
        trust::sign(&self.root, &body)
    }
}
