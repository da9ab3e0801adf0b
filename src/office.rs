//! Health offices: their keys, the certificate the authority root signs for each office,
//! and the authority's contact private key sealed to an office. See docs/protocol.md,
//! "Office certificate".

use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use crate::crypto::{self, CryptoError, SealSecretKey, SigningKey};
use crate::keyfile::{self, b64, KeyFileError, Passphrase};

pub const CERT_CONTEXT: &[u8] = b"tresen/office-cert/v1\0";
pub const CONTACT_TRANSFER_INFO: &[u8] = b"tresen/contact-key-transfer/v1";
const HEADER: &str = "tresen-office-key v1";

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CertError {
    #[error("the office certificate is malformed: {0}")]
    Malformed(String),
    #[error("the office is not certified by the health authority this venue trusts (forged certificate or another authority)")]
    NotCertified,
    #[error("the office certificate expired on {0}")]
    Expired(String),
    #[error("the office certificate is not valid before {0}")]
    NotYetValid(String),
}

/// What the root certifies about an office.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CertBody {
    pub office_id: String,
    pub name: String,
    /// Ed25519 public key that signs the office's requests, base64.
    pub signing_key: String,
    /// X25519 public key that answers are sealed to, base64.
    pub encryption_key: String,
    pub issued_at: i64,
    pub expires_at: i64,
}

/// A certificate: the body (base64 of its JSON bytes) and the root's signature.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Certificate {
    pub body: String,
    pub signature: String,
}

/// A certificate whose signature was checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedOffice {
    pub body: CertBody,
    pub signing_key: [u8; 32],
    pub encryption_key: [u8; 32],
}

fn b64d(s: &str) -> Result<Vec<u8>, CertError> {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD
        .decode(s)
        .map_err(|_| CertError::Malformed("not base64".into()))
}

fn key32(s: &str) -> Result<[u8; 32], CertError> {
    b64d(s)?
        .try_into()
        .map_err(|_| CertError::Malformed("a key has the wrong length".into()))
}

impl Certificate {
    pub fn sign(root: &SigningKey, body: &CertBody) -> Certificate {
        let bytes = serde_json::to_vec(body).unwrap_or_default();
        Certificate {
            signature: b64(&root.sign(CERT_CONTEXT, &bytes)),
            body: b64(&bytes),
        }
    }

    /// Checks the root's signature and the validity period.
    pub fn verify(&self, root_key: &[u8; 32], now: i64) -> Result<VerifiedOffice, CertError> {
        let bytes = b64d(&self.body)?;
        let sig = b64d(&self.signature)?;
        crypto::verify(root_key, CERT_CONTEXT, &bytes, &sig)
            .map_err(|_| CertError::NotCertified)?;
        let body: CertBody =
            serde_json::from_slice(&bytes).map_err(|e| CertError::Malformed(e.to_string()))?;
        if now < body.issued_at {
            return Err(CertError::NotYetValid(crate::kiosk::format_time(
                body.issued_at,
            )));
        }
        if now >= body.expires_at {
            return Err(CertError::Expired(crate::kiosk::format_time(
                body.expires_at,
            )));
        }
        Ok(VerifiedOffice {
            signing_key: key32(&body.signing_key)?,
            encryption_key: key32(&body.encryption_key)?,
            body,
        })
    }
}

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
        keyfile::encrypt_text(pass, &text)
    }

    pub fn decrypt(pass: &Passphrase, data: &[u8]) -> Result<Self, KeyFileError> {
        let text = keyfile::decrypt_text(pass, data)?;
        let f = keyfile::parse_fields(&text, HEADER)?;
        let bad = |e: CryptoError| KeyFileError::Corrupt(e.to_string());
        Ok(Self {
            office_id: keyfile::field(&f, "office-id")?.to_string(),
            signing: SigningKey::from_bytes(&keyfile::field_bytes(&f, "signing-ed25519-secret")?)
                .map_err(bad)?,
            encryption: SealSecretKey::from_bytes(&keyfile::field_bytes(
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
        key_id: crate::trust::hex(&crate::guest_code::key_id(&pk)),
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

pub const OFFICE_KEY_FILE: &str = "office-key.age";
pub const CERT_FILE: &str = "certificate.json";
pub const CONTACT_KEYS_FILE: &str = "contact-keys.json";

#[derive(Debug, thiserror::Error)]
pub enum DeskError {
    #[error(transparent)]
    KeyFile(#[from] KeyFileError),
    #[error(transparent)]
    Cert(#[from] CertError),
    #[error(transparent)]
    Request(#[from] crate::request::RequestError),
    #[error(transparent)]
    Answer(#[from] crate::answer::AnswerError),
    #[error("the office folder is incomplete or damaged: {0}")]
    Folder(String),
    #[error("this request was not made by this office")]
    NotOurRequest,
    #[error("could not write {}: {source}", .path.display())]
    Write {
        path: std::path::PathBuf,
        source: std::io::Error,
    },
    #[error("{0}")]
    Invalid(String),
}

/// An office's working folder, opened with its passphrase.
pub struct OfficeDesk {
    pub keys: OfficeKeys,
    pub certificate: Certificate,
    pub body: CertBody,
    contact_keys: Vec<([u8; crate::guest_code::KEY_ID_LEN], SealSecretKey)>,
}

fn read_json<T: serde::de::DeserializeOwned>(path: &std::path::Path) -> Result<T, DeskError> {
    let bytes = crate::files::read_bounded(path, crate::files::limits::SMALL_JSON)
        .map_err(|e| DeskError::Folder(format!("{}: {e}", path.display())))?;
    serde_json::from_slice(&bytes)
        .map_err(|e| DeskError::Folder(format!("{}: {e}", path.display())))
}

impl OfficeDesk {
    pub fn open(dir: &std::path::Path, pass: &Passphrase) -> Result<Self, DeskError> {
        let keys = OfficeKeys::decrypt(pass, &keyfile::read_bytes(&dir.join(OFFICE_KEY_FILE))?)?;
        let certificate: Certificate = read_json(&dir.join(CERT_FILE))?;
        let body: CertBody = {
            use base64::Engine;
            let b = base64::engine::general_purpose::STANDARD
                .decode(&certificate.body)
                .map_err(|_| DeskError::Folder("the certificate is damaged".into()))?;
            serde_json::from_slice(&b).map_err(|e| DeskError::Folder(e.to_string()))?
        };
        if body.signing_key != b64(&keys.signing.public_key()) {
            return Err(DeskError::Folder(
                "the certificate does not belong to this office key".into(),
            ));
        }
        let sealed: Vec<SealedContactKey> = read_json(&dir.join(CONTACT_KEYS_FILE))?;
        let mut contact_keys = Vec::new();
        for s in &sealed {
            let sk = open_contact_key(s, &keys).map_err(|_| {
                DeskError::Folder("a contact key does not open with this office's key".into())
            })?;
            contact_keys.push((crate::guest_code::key_id(&sk.public_key()), sk));
        }
        Ok(Self {
            keys,
            certificate,
            body,
            contact_keys,
        })
    }

    /// Makes a signed request for a venue.
    #[allow(clippy::too_many_arguments)]
    pub fn make_request(
        &self,
        venue_fingerprint: &str,
        areas: &[String],
        from: i64,
        until: i64,
        case_reference: &str,
        reason: &str,
        valid_secs: i64,
        now: i64,
    ) -> Result<String, DeskError> {
        if until <= from {
            return Err(DeskError::Invalid(
                "the window must end after it starts".into(),
            ));
        }
        if case_reference.trim().is_empty() || reason.trim().is_empty() {
            return Err(DeskError::Invalid(
                "a request needs a case reference and a reason".into(),
            ));
        }
        let body = crate::request::RequestBody {
            request_id: crate::trust::hex(&crypto::random_bytes::<16>()),
            office: self.certificate.clone(),
            venue: venue_fingerprint.trim().to_string(),
            areas: areas.to_vec(),
            from,
            until,
            case_reference: case_reference.trim().to_string(),
            reason: reason.trim().to_string(),
            issued_at: now,
            expires_at: now + valid_secs,
        };
        Ok(crate::request::sign(&self.keys.signing, &body))
    }

    /// Opens an answer to one of this office's requests and writes the contact list. The
    /// answer file is opened once and read in one pass; the lists are written to private
    /// files (0600, never over an existing file or through a link) that appear under their
    /// names only after the venue's signature over the whole answer checked out.
    pub fn open_answer(
        &self,
        request_text: &[u8],
        answer: &std::path::Path,
        csv_out: &std::path::Path,
        json_out: &std::path::Path,
    ) -> Result<OpenReport, DeskError> {
        let body = crate::request::parse_own(request_text, &self.keys.signing.public_key())
            .map_err(|_| DeskError::NotOurRequest)?;
        let id = crate::request::parse_id(&body.request_id)?;
        for p in [csv_out, json_out] {
            if p.symlink_metadata().is_ok() {
                return Err(DeskError::Invalid(format!(
                    "{} exists already; choose another file name",
                    p.display()
                )));
            }
        }
        let io = |p: &std::path::Path, e: std::io::Error| DeskError::Write {
            path: p.to_path_buf(),
            source: e,
        };
        let f = std::fs::File::open(answer).map_err(|e| io(answer, e))?;
        let mut reader = crate::answer::AnswerReader::open(
            std::io::BufReader::new(f),
            &self.keys,
            &id,
            &body.venue,
        )?;
        let mut report = OpenReport::default();
        crate::files::write_new_with(csv_out, |csv_file| {
            crate::files::write_new_with(json_out, |json_file| {
                let mut csv =
                    crate::export::CsvExport::new(std::io::BufWriter::new(&mut *csv_file))
                        .map_err(|e| io(csv_out, e.into()))?;
                let mut json =
                    crate::export::JsonExport::new(std::io::BufWriter::new(&mut *json_file))
                        .map_err(|e| io(json_out, e))?;
                while let Some(entry) = reader.next_entry()? {
                    let row = self.row(&body, entry, &mut report);
                    csv.push(&row).map_err(|e| io(csv_out, e.into()))?;
                    json.push(&row).map_err(|e| io(json_out, e))?;
                }
                // The signature over the whole file decides before anything is published.
                reader.finish()?;
                csv.finish().map_err(|e| io(csv_out, e.into()))?;
                json.finish().map_err(|e| io(json_out, e))?;
                Ok::<(), DeskError>(())
            })?;
            Ok::<(), DeskError>(())
        })?;
        Ok(report)
    }

    /// One line of the contact list. A record outside the requested areas or window is
    /// listed without opening its contact data.
    fn row(
        &self,
        request: &crate::request::RequestBody,
        entry: crate::answer::AnswerEntry,
        report: &mut OpenReport,
    ) -> crate::export::ContactRow {
        use crate::answer::AnswerEntry;
        use crate::export::{ContactRow, RowPlace};
        report.records += 1;
        let (place, contact, problem) = match entry {
            AnswerEntry::Damaged(d) => {
                report.damaged += 1;
                let place = RowPlace {
                    record: Some(d.record_id),
                    location: d.location,
                    area: d.area,
                    table: None,
                    checked_in_at: d.checked_in_at,
                    checked_out_at: d.checked_out_at,
                    method: "",
                };
                (place, None, Some(d.damage.describe().to_string()))
            }
            AnswerEntry::Record(r) => {
                let place = RowPlace {
                    record: r.record_id,
                    location: r.location,
                    area: r.area,
                    table: r.table,
                    checked_in_at: r.checked_in_at,
                    checked_out_at: r.checked_out_at,
                    method: r.method.as_str(),
                };
                if !in_scope(request, &place) {
                    report.out_of_scope += 1;
                    let why = "outside the requested areas or time window: the contact data was not opened";
                    (place, None, Some(why.to_string()))
                } else {
                    let (contact, problem) = self.open_contact(&r.contact_blob);
                    (place, contact, problem)
                }
            }
        };
        let row = ContactRow::new(contact, problem, place);
        if !row.valid {
            report.flagged += 1;
        }
        row
    }

    fn open_contact(&self, blob: &[u8]) -> (Option<crate::contact::ContactData>, Option<String>) {
        let key = blob
            .get(..crate::guest_code::KEY_ID_LEN)
            .and_then(|id| self.contact_keys.iter().find(|(k, _)| &k[..] == id));
        match key {
            Some((_, sk)) => match crate::guest_code::open_contact_blob(blob, sk) {
                Ok(c) => (Some(c), None),
                Err(e) => (None, Some(format!("contact data could not be opened: {e}"))),
            },
            None => (
                None,
                Some("sealed to a contact key this office does not hold".to_string()),
            ),
        }
    }
}

/// Whether a record lies inside what the request asked for: one of its areas (by name or
/// `LOCATION/AREA`, case-insensitive; version 1 answers name only the area) and its window.
fn in_scope(request: &crate::request::RequestBody, p: &crate::export::RowPlace) -> bool {
    let area = p.area.trim().to_lowercase();
    let full = format!("{}/{}", p.location.trim(), p.area.trim()).to_lowercase();
    let area_ok = request.areas.is_empty()
        || request.areas.iter().any(|w| {
            let w = w.trim().to_lowercase();
            w == area
                || (!p.location.is_empty() && w == full)
                || (p.location.is_empty()
                    && w.split_once('/').is_some_and(|(_, a)| a.trim() == area))
        });
    let time_ok =
        p.checked_in_at < request.until && p.checked_out_at.unwrap_or(i64::MAX) > request.from;
    area_ok && time_ok
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct OpenReport {
    pub records: u64,
    /// Rows kept but flagged as invalid (all kinds below included).
    pub flagged: u64,
    /// Check-ins the venue could not open (altered or damaged rows).
    pub damaged: u64,
    /// Records outside the requested areas or window (contact data not opened).
    pub out_of_scope: u64,
}
