//! The health authority's folder (the `health-office` tool's side): its key file and
//! current trust file, the offices it certifies or withdraws, and opening guest codes.

use std::path::{Path, PathBuf};

use tresen_protocol::authority_keys::AuthorityKeys;
use tresen_protocol::contact::ContactData;
use tresen_protocol::encoding::{b64, hex};
use tresen_protocol::guest_code::{self, GuestCode, GuestCodeError};
use tresen_protocol::key_file::{self, KeyFileError, Passphrase};
use tresen_protocol::trust::{self, TrustError};

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
    Crypto(#[from] tresen_protocol::crypto::CryptoError),
    #[error("this authority has no certified office '{0}'")]
    UnknownOffice(String),
    #[error("the authority's current trust file {} cannot be read: {why}", .path.display())]
    CurrentTrust { path: PathBuf, why: String },
}

pub const OFFICES_DIR: &str = "offices";
/// Certificates of withdrawn offices, kept for the record; never listed in a trust file.
pub const WITHDRAWN_DIR: &str = "offices-withdrawn";

/// A health office to certify.
#[derive(Clone, Copy)]
pub struct NewOffice<'a> {
    /// The office's own folder, for its key file, certificate and sealed contact key.
    pub dir: &'a Path,
    /// Letters, digits, `-` and `_`, at most 40.
    pub id: &'a str,
    pub name: &'a str,
    /// The new office key file's passphrase.
    pub passphrase: &'a Passphrase,
    pub valid_days: u32,
}

/// Certifies a new health office: makes its keys (the key file encrypted with the
/// office's passphrase), its certificate, and the contact key sealed to it, in
/// `office_dir`; keeps a copy of the certificate for the next trust file.
pub fn add_office(
    authority_dir: &Path,
    keys: &AuthorityKeys,
    office: &NewOffice<'_>,
    now: i64,
) -> Result<tresen_protocol::certificate::Certificate, AuthorityError> {
    let NewOffice {
        dir: office_dir,
        id: office_id,
        name,
        passphrase: office_pass,
        valid_days,
    } = *office;
    use tresen_protocol::certificate::{CertBody, Certificate};
    use tresen_protocol::office_keys::{self, OfficeKeys};
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
    key_file::check_strength(office_pass, &[name, office_id])?;
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |source| AuthorityError::Io { path, source }
    };
    let certs = authority_dir.join(OFFICES_DIR);
    std::fs::create_dir_all(&certs).map_err(io(&certs))?;
    std::fs::create_dir_all(office_dir).map_err(io(office_dir))?;
    if office_dir.join(office_keys::OFFICE_KEY_FILE).exists() {
        return Err(AuthorityError::Exists(office_dir.to_path_buf()));
    }
    let ok = OfficeKeys::generate(office_id);
    let body = CertBody {
        office_id: office_id.into(),
        name: name.into(),
        signing_key: b64(&ok.signing.public_key()),
        encryption_key: b64(&ok.encryption.public_key()),
        issued_at: now,
        expires_at: now + i64::from(valid_days) * 86_400,
    };
    let cert = Certificate::sign(&keys.root, &body);
    let sealed =
        office_keys::seal_contact_key(&keys.contact, office_id, &ok.encryption.public_key())?;
    key_file::write_new_file(
        &office_dir.join(office_keys::OFFICE_KEY_FILE),
        ok.encrypt(office_pass)?.as_bytes(),
    )?;
    key_file::write_new_file(
        &office_dir.join(office_keys::CERT_FILE),
        to_json(&cert).as_bytes(),
    )?;
    key_file::write_new_file(
        &office_dir.join(office_keys::CONTACT_KEYS_FILE),
        to_json(&vec![sealed]).as_bytes(),
    )?;
    let copy = certs.join(format!("{office_id}.json"));
    let _ = std::fs::remove_file(&copy);
    key_file::write_new_file(&copy, to_json(&cert).as_bytes())?;
    Ok(cert)
}

/// The certificates of all offices this authority has certified.
pub fn office_certificates(authority_dir: &Path) -> Vec<tresen_protocol::certificate::Certificate> {
    let mut out = Vec::new();
    let Ok(entries) = std::fs::read_dir(authority_dir.join(OFFICES_DIR)) else {
        return out;
    };
    let mut paths: Vec<_> = entries.filter_map(Result::ok).map(|e| e.path()).collect();
    paths.sort();
    for p in paths {
        if let Ok(bytes) =
            tresen_protocol::files::read_bounded(&p, tresen_protocol::files::limits::SMALL_JSON)
        {
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
    let current = tresen_protocol::files::read_bounded(&cur, 1024 * 1024)
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
    key_file::write_new_file(&tmp, text.as_bytes())?;
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

/// Opens a guest code's contact data (checks that it was made for this authority).
pub fn open_guest_code(
    keys: &AuthorityKeys,
    code: &GuestCode,
) -> Result<ContactData, AuthorityError> {
    if code.key_id != keys.contact_key().key_id {
        return Err(AuthorityError::OtherContactKey(hex(&code.key_id)));
    }
    Ok(guest_code::open_contact_blob(
        &code.contact_blob(),
        &keys.contact,
    )?)
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
    key_file::check_strength(pass, &[name])?;
    let keys = AuthorityKeys::generate(name);
    let armored = key_file::encrypt_text(pass, &keys.to_text())?;
    key_file::write_new_file(&key_path, armored.as_bytes())?;
    key_file::write_new_file(&dir.join(TRUST_FILE), keys.trust_file(1, now)?.as_bytes())?;
    Ok(keys)
}
