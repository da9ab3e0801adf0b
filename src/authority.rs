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
    #[error("the office id must be 1 to 40 letters, digits, '-' or '_'")]
    BadOfficeId,
    #[error("the office name is not valid: {0}")]
    BadOfficeName(String),
    #[error("a cryptographic operation failed: {0}")]
    Crypto(#[from] crate::crypto::CryptoError),
    #[error("this authority has no certified office '{0}'")]
    UnknownOffice(String),
    #[error("the authority's current trust file {} cannot be read: {why}", .path.display())]
    CurrentTrust { path: PathBuf, why: String },
}

pub const OFFICES_DIR: &str = "offices";
/// Certificates of withdrawn offices, kept for the record; never listed in a trust file.
pub const WITHDRAWN_DIR: &str = "offices-withdrawn";

/// Certifies a new health office: makes its keys (the key file encrypted with the
/// office's passphrase), its certificate, and the contact key sealed to it, in
/// `office_dir`; keeps a copy of the certificate for the next trust file.
#[allow(clippy::too_many_arguments)]
pub fn add_office(
    authority_dir: &Path,
    keys: &AuthorityKeys,
    office_dir: &Path,
    office_id: &str,
    name: &str,
    office_pass: &Passphrase,
    valid_days: u32,
    now: i64,
) -> Result<crate::office::Certificate, AuthorityError> {
    use crate::office::{self, CertBody, Certificate, OfficeKeys};
    if office_id.is_empty()
        || office_id.len() > 40
        || !office_id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    {
        return Err(AuthorityError::BadOfficeId);
    }
    let name = name.trim();
    if name.is_empty() || name.chars().any(char::is_control) || name.chars().count() > 120 {
        return Err(AuthorityError::BadOfficeName(
            "1 to 120 characters, no control characters".into(),
        ));
    }
    keyfile::check_strength(office_pass, &[name, office_id])?;
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |source| AuthorityError::Io { path, source }
    };
    let certs = authority_dir.join(OFFICES_DIR);
    std::fs::create_dir_all(&certs).map_err(io(&certs))?;
    std::fs::create_dir_all(office_dir).map_err(io(office_dir))?;
    if office_dir.join(office::OFFICE_KEY_FILE).exists() {
        return Err(AuthorityError::Exists(office_dir.to_path_buf()));
    }
    let ok = OfficeKeys::generate(office_id);
    let body = CertBody {
        office_id: office_id.into(),
        name: name.into(),
        signing_key: keyfile::b64(&ok.signing.public_key()),
        encryption_key: keyfile::b64(&ok.encryption.public_key()),
        issued_at: now,
        expires_at: now + i64::from(valid_days) * 86_400,
    };
    let cert = Certificate::sign(&keys.root, &body);
    let sealed = office::seal_contact_key(&keys.contact, office_id, &ok.encryption.public_key())?;
    keyfile::write_new_file(
        &office_dir.join(office::OFFICE_KEY_FILE),
        ok.encrypt(office_pass)?.as_bytes(),
    )?;
    keyfile::write_new_file(
        &office_dir.join(office::CERT_FILE),
        to_json(&cert).as_bytes(),
    )?;
    keyfile::write_new_file(
        &office_dir.join(office::CONTACT_KEYS_FILE),
        to_json(&vec![sealed]).as_bytes(),
    )?;
    let copy = certs.join(format!("{office_id}.json"));
    let _ = std::fs::remove_file(&copy);
    keyfile::write_new_file(&copy, to_json(&cert).as_bytes())?;
    Ok(cert)
}

/// The certificates of all offices this authority has certified.
pub fn office_certificates(authority_dir: &Path) -> Vec<crate::office::Certificate> {
    let mut out = Vec::new();
    let Ok(entries) = std::fs::read_dir(authority_dir.join(OFFICES_DIR)) else {
        return out;
    };
    let mut paths: Vec<_> = entries.filter_map(Result::ok).map(|e| e.path()).collect();
    paths.sort();
    for p in paths {
        if let Ok(bytes) = crate::files::read_bounded(&p, crate::files::limits::SMALL_JSON) {
            if let Ok(c) = serde_json::from_slice(&bytes) {
                out.push(c);
            }
        }
    }
    out
}

/// Withdraws an office (leaked key, office closed): its certificate leaves the list of
/// certified offices, so the next trust file no longer names it and venues that import
/// it refuse the office's requests. Returns the new trust file (next serial), which is
/// also the authority's current one.
pub fn withdraw_office(
    authority_dir: &Path,
    keys: &AuthorityKeys,
    office_id: &str,
    now: i64,
) -> Result<(u64, String), AuthorityError> {
    let listed = authority_dir
        .join(OFFICES_DIR)
        .join(format!("{office_id}.json"));
    let valid_id = !office_id.is_empty()
        && office_id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if !valid_id || !listed.is_file() {
        return Err(AuthorityError::UnknownOffice(office_id.to_string()));
    }
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |source| AuthorityError::Io { path, source }
    };
    let gone = authority_dir.join(WITHDRAWN_DIR);
    std::fs::create_dir_all(&gone).map_err(io(&gone))?;
    let kept = gone.join(format!("{office_id}-{now}.json"));
    std::fs::rename(&listed, &kept).map_err(io(&listed))?;
    next_trust_file(authority_dir, keys, now)
}

/// Signs the next trust file (serial + 1) with the offices certified now and makes it the
/// authority's current one.
pub fn next_trust_file(
    authority_dir: &Path,
    keys: &AuthorityKeys,
    now: i64,
) -> Result<(u64, String), AuthorityError> {
    let cur = authority_dir.join(TRUST_FILE);
    let current = crate::files::read_bounded(&cur, 1024 * 1024)
        .map_err(|e| e.to_string())
        .and_then(|b| String::from_utf8(b).map_err(|e| e.to_string()))
        .and_then(|t| trust::verify(&t, None).map_err(|e| e.to_string()))
        .map_err(|why| AuthorityError::CurrentTrust {
            path: cur.clone(),
            why,
        })?;
    let serial = current.body.serial + 1;
    let text = keys.trust_file_with(serial, now, office_certificates(authority_dir))?;
    let tmp = authority_dir.join(".trust.json.new");
    let _ = std::fs::remove_file(&tmp);
    keyfile::write_new_file(&tmp, text.as_bytes())?;
    std::fs::rename(&tmp, &cur).map_err(|source| AuthorityError::Io {
        path: cur.clone(),
        source,
    })?;
    Ok((serial, text))
}

fn to_json<T: serde::Serialize>(v: &T) -> String {
    // Plain structs of strings and numbers always serialise.
    serde_json::to_string_pretty(v).unwrap_or_default()
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

    /// Signs a trust file with the given serial, listing no offices.
    pub fn trust_file(&self, serial: u64, issued_at: i64) -> Result<String, AuthorityError> {
        self.trust_file_with(serial, issued_at, Vec::new())
    }

    /// Signs a trust file with the given serial and office certificates.
    pub fn trust_file_with(
        &self,
        serial: u64,
        issued_at: i64,
        offices: Vec<crate::office::Certificate>,
    ) -> Result<String, AuthorityError> {
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
            offices,
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
