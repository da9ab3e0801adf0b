//! The health authority's keys (the `health-office` tool's side): the root signing key
//! that certifies trust files and the contact key pair that guest codes are sealed to.

use std::path::{Path, PathBuf};

use crate::contact::ContactData;
use crate::crypto::{SealSecretKey, SigningKey};
use crate::guest_code::{self, ContactKey, GuestCode, GuestCodeError};
use crate::keyfile::{self, KeyFileError, Passphrase};
use crate::trust::{self, ContactKeyEntry, TrustBody, TrustError};

const HEADER: &str = "tresen-authority-key v1";
pub const KEY_FILE: &str = "authority-key.age";
pub const TRUST_FILE: &str = "trust.json";

#[derive(Debug, thiserror::Error)]
pub enum AuthorityError {
    #[error(transparent)]
    KeyFile(#[from] KeyFileError),
    #[error(transparent)]
    Trust(#[from] TrustError),
    #[error(transparent)]
    GuestCode(#[from] GuestCodeError),
    #[error("the guest code was made for another contact key (key id {0}); this authority cannot open it")]
    OtherContactKey(String),
    #[error("{} already holds an authority; choose an empty folder", .0.display())]
    Exists(PathBuf),
    #[error("could not create {}: {source}", .path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
}

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

    fn to_text(&self) -> zeroize::Zeroizing<String> {
        zeroize::Zeroizing::new(format!(
            "{HEADER}\nname: {}\nroot-ed25519-secret: {}\ncontact-x25519-secret: {}\n",
            self.name.replace('\n', " "),
            keyfile::b64(&self.root.to_bytes()[..]),
            keyfile::b64(&self.contact.to_bytes()[..]),
        ))
    }

    pub fn open(path: &Path, pass: &Passphrase) -> Result<Self, AuthorityError> {
        let text = keyfile::decrypt_text(pass, &keyfile::read_bytes(path)?)?;
        let f = keyfile::parse_fields(&text, HEADER)?;
        let corrupt = |e: crate::crypto::CryptoError| KeyFileError::Corrupt(e.to_string());
        Ok(Self {
            name: keyfile::field(&f, "name")?.to_string(),
            root: SigningKey::from_bytes(&keyfile::field_bytes(&f, "root-ed25519-secret")?)
                .map_err(corrupt)?,
            contact: SealSecretKey::from_bytes(&keyfile::field_bytes(&f, "contact-x25519-secret")?)
                .map_err(corrupt)?,
        })
    }

    /// Signs a trust file with the given serial.
    pub fn trust_file(&self, serial: u64, issued_at: i64) -> Result<String, AuthorityError> {
        let ck = self.contact_key();
        let body = TrustBody {
            authority: self.name.clone(),
            root_key: keyfile::b64(&self.root.public_key()),
            serial,
            issued_at,
            contact_key: ContactKeyEntry {
                key_id: trust::hex(&ck.key_id),
                public_key: keyfile::b64(&ck.public_key),
            },
            offices: Vec::new(),
        };
        Ok(trust::sign(&self.root, &body)?)
    }

    /// Opens a guest code's contact data (checks that it was made for this authority).
    pub fn open_guest_code(&self, code: &GuestCode) -> Result<ContactData, AuthorityError> {
        if code.key_id != self.contact_key().key_id {
            return Err(AuthorityError::OtherContactKey(trust::hex(&code.key_id)));
        }
        Ok(guest_code::open_contact_blob(
            &code.contact_blob(),
            &self.contact,
        )?)
    }
}

/// Creates an authority in `dir`: the encrypted key file and a first trust file.
pub fn init(
    dir: &Path,
    name: &str,
    pass: &Passphrase,
    now: i64,
) -> Result<AuthorityKeys, AuthorityError> {
    std::fs::create_dir_all(dir).map_err(|source| AuthorityError::Io {
        path: dir.to_path_buf(),
        source,
    })?;
    let key_path = dir.join(KEY_FILE);
    if key_path.exists() {
        return Err(AuthorityError::Exists(dir.to_path_buf()));
    }
    keyfile::check_strength(pass, &[name])?;
    let keys = AuthorityKeys::generate(name);
    let armored = keyfile::encrypt_text(pass, &keys.to_text())?;
    keyfile::write_new_file(&key_path, armored.as_bytes())?;
    keyfile::write_new_file(&dir.join(TRUST_FILE), keys.trust_file(1, now)?.as_bytes())?;
    Ok(keys)
}
