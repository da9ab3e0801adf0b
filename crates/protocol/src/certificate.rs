//! The certificate the health authority's root signs for each health office. See
//! docs/protocol.md, section 9.

use serde::{Deserialize, Serialize};

use crate::crypto::{self, SigningKey};
use crate::encoding::b64;
use crate::time::format_time;

pub const CERT_CONTEXT: &[u8] = b"tresen/office-cert/v1\0";

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CertError {
    #[error("the office certificate is malformed: {0}")]
    Malformed(String),
    #[error("the office is not certified by the health authority this venue trusts (forged certificate or another authority)")]
    NotCertified,
    #[error("the office certificate expired on {}", format_time(*.0))]
    Expired(i64),
    #[error("the office certificate is not valid before {}", format_time(*.0))]
    NotYetValid(i64),
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
    crate::encoding::b64d(s).ok_or_else(|| CertError::Malformed("not base64".into()))
}

fn key32(s: &str) -> Result<[u8; 32], CertError> {
    crate::encoding::key32(s)
        .ok_or_else(|| CertError::Malformed("a key is not 32 bytes of base64".into()))
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
            return Err(CertError::NotYetValid(body.issued_at));
        }
        if now >= body.expires_at {
            return Err(CertError::Expired(body.expires_at));
        }
        Ok(VerifiedOffice {
            signing_key: key32(&body.signing_key)?,
            encryption_key: key32(&body.encryption_key)?,
            body,
        })
    }
}
