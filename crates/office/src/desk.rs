//! A health office's desk: its folder opened with its passphrase, requests it signs, and
//! answers it opens into a contact list. See docs/protocol.md, sections 10 and 11.

use serde::Serialize;
use tresen_protocol::certificate::{CertBody, CertError, Certificate};
use tresen_protocol::crypto;
use tresen_protocol::crypto::SealSecretKey;
use tresen_protocol::encoding::b64;
use tresen_protocol::key_file::{self, KeyFileError, Passphrase};
use tresen_protocol::office_keys::{
    open_contact_key, OfficeKeys, SealedContactKey, CERT_FILE, CONTACT_KEYS_FILE, OFFICE_KEY_FILE,
};

#[derive(Debug, thiserror::Error)]
pub enum DeskError {
    #[error(transparent)]
    KeyFile(#[from] KeyFileError),
    #[error(transparent)]
    Cert(#[from] CertError),
    #[error(transparent)]
    Request(#[from] tresen_protocol::request::RequestError),
    #[error(transparent)]
    Answer(#[from] tresen_protocol::answer::AnswerError),
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
/// What an office asks a venue for.
#[derive(Debug, Clone, Copy)]
pub struct RequestSpec<'a> {
    /// The venue's key fingerprint (on its posters and in its app).
    pub venue: &'a str,
    /// The areas asked for; none: all areas.
    pub areas: &'a [String],
    pub from: i64,
    pub until: i64,
    pub case_reference: &'a str,
    pub reason: &'a str,
    /// How long the venue may answer.
    pub valid_secs: i64,
}

pub struct OfficeDesk {
    pub keys: OfficeKeys,
    pub certificate: Certificate,
    pub body: CertBody,
    contact_keys: Vec<([u8; tresen_protocol::guest_code::KEY_ID_LEN], SealSecretKey)>,
}

fn read_json<T: serde::de::DeserializeOwned>(path: &std::path::Path) -> Result<T, DeskError> {
    let bytes =
        tresen_protocol::files::read_bounded(path, tresen_protocol::files::limits::SMALL_JSON)
            .map_err(|e| DeskError::Folder(format!("{}: {e}", path.display())))?;
    serde_json::from_slice(&bytes)
        .map_err(|e| DeskError::Folder(format!("{}: {e}", path.display())))
}

impl OfficeDesk {
    pub fn open(dir: &std::path::Path, pass: &Passphrase) -> Result<Self, DeskError> {
        let keys = OfficeKeys::decrypt(pass, &key_file::read_bytes(&dir.join(OFFICE_KEY_FILE))?)?;
        let certificate: Certificate = read_json(&dir.join(CERT_FILE))?;
        let body: CertBody = {
            let b = tresen_protocol::encoding::b64d(&certificate.body)
                .ok_or_else(|| DeskError::Folder("the certificate is damaged".into()))?;
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
            contact_keys.push((tresen_protocol::guest_code::key_id(&sk.public_key()), sk));
        }
        Ok(Self {
            keys,
            certificate,
            body,
            contact_keys,
        })
    }

    /// Makes a signed request for a venue.
    pub fn make_request(&self, spec: &RequestSpec<'_>, now: i64) -> Result<String, DeskError> {
        let RequestSpec {
            venue: venue_fingerprint,
            areas,
            from,
            until,
            case_reference,
            reason,
            valid_secs,
        } = *spec;
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
        let body = tresen_protocol::request::RequestBody {
            request_id: tresen_protocol::encoding::hex(&crypto::random_bytes::<16>()),
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
        Ok(tresen_protocol::request::sign(&self.keys.signing, &body))
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
        let body =
            tresen_protocol::request::parse_own(request_text, &self.keys.signing.public_key())
                .map_err(|_| DeskError::NotOurRequest)?;
        let id = tresen_protocol::request::parse_id(&body.request_id)?;
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
        let mut reader = tresen_protocol::answer::AnswerReader::open(
            std::io::BufReader::new(f),
            &self.keys,
            &id,
            &body.venue,
        )?;
        let mut report = OpenReport::default();
        tresen_protocol::files::write_new_with(csv_out, |csv_file| {
            tresen_protocol::files::write_new_with(json_out, |json_file| {
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
        request: &tresen_protocol::request::RequestBody,
        entry: tresen_protocol::answer::AnswerEntry,
        report: &mut OpenReport,
    ) -> crate::export::ContactRow {
        use crate::export::{ContactRow, RowPlace};
        use tresen_protocol::answer::AnswerEntry;
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

    fn open_contact(
        &self,
        blob: &[u8],
    ) -> (
        Option<tresen_protocol::contact::ContactData>,
        Option<String>,
    ) {
        let key = tresen_protocol::guest_code::blob_key_id(blob)
            .and_then(|(_, id)| self.contact_keys.iter().find(|(k, _)| k[..] == id[..]));
        match key {
            Some((_, sk)) => match tresen_protocol::guest_code::open_contact_blob(blob, sk) {
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

/// Whether a record lies inside what the request asked for: one of its areas (by name,
/// `LOCATION/AREA` or `LOCATION/*`, case-insensitive; version 1 answers name only the
/// area, so there an entry's area part decides) and its window.
fn in_scope(request: &tresen_protocol::request::RequestBody, p: &crate::export::RowPlace) -> bool {
    let area = p.area.trim().to_lowercase();
    let area_ok = if p.location.is_empty() {
        request.areas.is_empty()
            || request.areas.iter().any(|w| {
                let w = w.trim().to_lowercase();
                w == area || w.split_once('/').is_some_and(|(_, a)| a.trim() == area)
            })
    } else {
        tresen_protocol::request::names_area(&request.areas, &p.location, &p.area)
    };
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
