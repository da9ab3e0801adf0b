//! A health office's data request: signed by the office, carrying its certificate, naming
//! the venue by key fingerprint, the areas, the time window, the case and the reason.
//! See docs/protocol.md, "Data request".

use serde::{Deserialize, Serialize};

use crate::certificate::{CertError, Certificate, VerifiedOffice};
use crate::crypto::{self, SigningKey};
use crate::encoding::b64;
use crate::time::format_time;

pub const FORMAT: &str = "tresen-request";
pub const VERSION: u32 = 1;
pub const SIGNING_CONTEXT: &[u8] = b"tresen/request/v1\0";
pub const MAX_BYTES: usize = 64 * 1024;
pub const MAX_AREAS: usize = 200;
pub const MAX_CASE_CHARS: usize = 100;
pub const MAX_REASON_CHARS: usize = 1000;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RequestError {
    #[error("the request file is larger than 64 KiB; it is not a Tresen request")]
    TooLarge,
    #[error("this is not a Tresen data request: {0}")]
    Malformed(String),
    #[error(
        "the request has version {0}, which this version of Tresen cannot read; please update"
    )]
    UnsupportedVersion(u32),
    #[error("refused: {0}")]
    Certificate(#[from] CertError),
    #[error("refused: the request's signature does not match: it was forged or altered after the office signed it")]
    BadSignature,
    #[error(
        "refused: the request is addressed to another venue (fingerprint {0}), not to this one"
    )]
    OtherVenue(String),
    #[error("refused: the request expired on {}; ask the office for a new one", format_time(*.0))]
    Expired(i64),
    #[error("refused: the request was issued in the future ({}); check this PC's clock", format_time(*.0))]
    IssuedInFuture(i64),
    #[error("refused: this request was already {status} on {}; a request is answered only once", .at.map(format_time).unwrap_or_default())]
    Replayed { status: String, at: Option<i64> },
    #[error("refused: the time window ends in the future ({})", format_time(*.0))]
    WindowInFuture(i64),
    #[error("refused: the time window starts before the retention period ({}); that data has been deleted", format_time(*.0))]
    WindowBeforeRetention(i64),
    #[error("refused: the time window is empty or reversed")]
    EmptyWindow,
    #[error("refused: the request names an area this venue does not have: {0}")]
    UnknownArea(String),
    #[error("refused: the request has no case reference or no reason")]
    MissingCase,
    #[error("refused: {0}")]
    Invalid(String),
    #[error("refused: the office '{0}' is not listed in this venue's trust file of the health authority: it was withdrawn, or the venue has not imported the trust file that lists it yet")]
    OfficeNotListed(String),
}

impl RequestError {
    /// A stable name for the refusal, for the window to word and for the audit log.
    pub fn code(&self) -> &'static str {
        match self {
            RequestError::TooLarge => "request-too-large",
            RequestError::Malformed(_) => "request-malformed",
            RequestError::UnsupportedVersion(_) => "request-newer-version",
            RequestError::Certificate(CertError::NotCertified) => "request-not-certified",
            RequestError::Certificate(CertError::Expired(_)) => "request-certificate-expired",
            RequestError::Certificate(CertError::NotYetValid(_)) => {
                "request-certificate-not-yet-valid"
            }
            RequestError::Certificate(CertError::Malformed(_)) => "request-malformed",
            RequestError::BadSignature => "request-forged",
            RequestError::OtherVenue(_) => "request-other-venue",
            RequestError::Expired(_) => "request-expired",
            RequestError::IssuedInFuture(_) => "request-issued-in-future",
            RequestError::Replayed { .. } => "request-replayed",
            RequestError::WindowInFuture(_) => "request-window-in-future",
            RequestError::WindowBeforeRetention(_) => "request-window-before-retention",
            RequestError::EmptyWindow => "request-empty-window",
            RequestError::UnknownArea(_) => "request-unknown-area",
            RequestError::MissingCase => "request-missing-case",
            RequestError::Invalid(_) => "request-invalid",
            RequestError::OfficeNotListed(_) => "request-office-not-listed",
        }
    }
}

/// What the office asks for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RequestBody {
    /// 16 random bytes, hex: a request is answered once.
    pub request_id: String,
    pub office: Certificate,
    /// The venue's fingerprint as printed on its posters (`XXXX-XXXX-…`).
    pub venue: String,
    /// Area names; empty means all areas.
    pub areas: Vec<String>,
    pub from: i64,
    pub until: i64,
    pub case_reference: String,
    pub reason: String,
    pub issued_at: i64,
    pub expires_at: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Envelope {
    format: String,
    version: u32,
    body: String,
    #[serde(default)]
    signature: String,
}

/// A request whose certificate chain and signature were checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedRequest {
    pub body: RequestBody,
    pub office: VerifiedOffice,
    pub request_id: [u8; 16],
}

/// Makes and signs a request (the office's side).
/// Whether one entry of a request's area list names an area: by its name, by
/// `LOCATION/AREA`, or by `LOCATION/*` (every area of one location, for a venue with
/// several branches); case-insensitive, spaces around the parts ignored.
pub fn entry_names_area(entry: &str, location: &str, area: &str) -> bool {
    let w = entry.trim().to_lowercase();
    let (location, area) = (location.trim().to_lowercase(), area.trim().to_lowercase());
    match w.split_once('/') {
        Some((l, a)) => l.trim() == location && (a.trim() == area || a.trim() == "*"),
        None => w == area,
    }
}

/// Whether a request's area list names an area (an empty list names all).
pub fn names_area(areas: &[String], location: &str, area: &str) -> bool {
    areas.is_empty() || areas.iter().any(|w| entry_names_area(w, location, area))
}

pub fn sign(office_key: &SigningKey, body: &RequestBody) -> String {
    let bytes = serde_json::to_vec(body).unwrap_or_default();
    let env = Envelope {
        format: FORMAT.into(),
        version: VERSION,
        signature: b64(&office_key.sign(SIGNING_CONTEXT, &bytes)),
        body: b64(&bytes),
    };
    serde_json::to_string_pretty(&env).unwrap_or_default()
}

fn clean_text(s: &str, max: usize, what: &str) -> Result<(), RequestError> {
    if s.chars().any(|c| c.is_control() && c != '\n') {
        return Err(RequestError::Invalid(format!(
            "the {what} contains control characters"
        )));
    }
    if s.chars().count() > max {
        return Err(RequestError::Invalid(format!(
            "the {what} is longer than {max} characters"
        )));
    }
    Ok(())
}

pub fn parse_id(hex: &str) -> Result<[u8; 16], RequestError> {
    (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(hex.get(i..i + 2).unwrap_or("zz"), 16))
        .collect::<Result<Vec<u8>, _>>()
        .ok()
        .and_then(|v| v.try_into().ok())
        .ok_or_else(|| RequestError::Malformed("the request id is not 16 bytes of hex".into()))
}

fn envelope_body(text: &[u8]) -> Result<(Envelope, Vec<u8>, RequestBody), RequestError> {
    if text.len() > MAX_BYTES {
        return Err(RequestError::TooLarge);
    }
    let env: Envelope =
        serde_json::from_slice(text).map_err(|e| RequestError::Malformed(e.to_string()))?;
    if env.format != FORMAT {
        return Err(RequestError::Malformed(format!(
            "format is '{}'",
            env.format
        )));
    }
    if env.version != VERSION {
        return Err(RequestError::UnsupportedVersion(env.version));
    }
    let bytes = b64d(&env.body)?;
    let body: RequestBody =
        serde_json::from_slice(&bytes).map_err(|e| RequestError::Malformed(e.to_string()))?;
    Ok((env, bytes, body))
}

fn b64d(s: &str) -> Result<Vec<u8>, RequestError> {
    crate::encoding::b64d(s).ok_or_else(|| RequestError::Malformed("not base64".into()))
}

/// Reads a request the office itself made, checking its own signature.
pub fn parse_own(text: &[u8], signing_key: &[u8; 32]) -> Result<RequestBody, RequestError> {
    let (env, bytes, body) = envelope_body(text)?;
    crypto::verify(signing_key, SIGNING_CONTEXT, &bytes, &b64d(&env.signature)?)
        .map_err(|_| RequestError::BadSignature)?;
    Ok(body)
}

/// Checks the envelope, the office certificate against `root_key`, the signature, and the
/// request's own fields. Venue-specific checks (venue, replay, retention, areas) are the
/// venue's (see `Venue::review_request`).
pub fn verify(text: &[u8], root_key: &[u8; 32], now: i64) -> Result<SignedRequest, RequestError> {
    let signed = authenticate(text, root_key, now)?;
    check_fields(&signed, now)?;
    Ok(signed)
}

/// Checks only who made the request: the envelope, the office certificate against
/// `root_key` and the signature.
pub fn authenticate(
    text: &[u8],
    root_key: &[u8; 32],
    now: i64,
) -> Result<SignedRequest, RequestError> {
    let (env, bytes, body) = envelope_body(text)?;
    let office = body.office.verify(root_key, now)?;
    let sig = b64d(&env.signature)?;
    crypto::verify(&office.signing_key, SIGNING_CONTEXT, &bytes, &sig)
        .map_err(|_| RequestError::BadSignature)?;
    let id = parse_id(&body.request_id)?;
    Ok(SignedRequest {
        body,
        office,
        request_id: id,
    })
}

fn check_fields(signed: &SignedRequest, now: i64) -> Result<(), RequestError> {
    let body = &signed.body;
    if body.case_reference.trim().is_empty() || body.reason.trim().is_empty() {
        return Err(RequestError::MissingCase);
    }
    clean_text(&body.case_reference, MAX_CASE_CHARS, "case reference")?;
    clean_text(&body.reason, MAX_REASON_CHARS, "reason")?;
    if body.areas.len() > MAX_AREAS {
        return Err(RequestError::Invalid(
            "the request names too many areas".into(),
        ));
    }
    for a in &body.areas {
        // `LOCATION/AREA`: two names of at most MAX_NAME_CHARS each.
        clean_text(a, 2 * crate::limits::MAX_NAME_CHARS + 1, "area name")?;
    }
    if now > body.expires_at {
        return Err(RequestError::Expired(body.expires_at));
    }
    if body.issued_at > now + 300 {
        return Err(RequestError::IssuedInFuture(body.issued_at));
    }
    if body.until <= body.from {
        return Err(RequestError::EmptyWindow);
    }
    Ok(())
}
