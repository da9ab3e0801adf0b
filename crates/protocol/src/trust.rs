//! The health authority's trust file: its root signing key and current contact key,
//! signed by the root. The kiosk takes the root on first import (optionally checked
//! against a fingerprint the authority publishes) and afterwards accepts only newer
//! files signed by the same root. See docs/protocol.md, "Trust file".

use serde::{Deserialize, Serialize};

use crate::crypto::{self, SigningKey};
use crate::encoding::hex;
use crate::guest_code::ContactKey;

pub const FORMAT: &str = "tresen-trust";
pub const VERSION: u32 = 1;
pub const SIGNING_CONTEXT: &[u8] = b"tresen/trust/v1\0";
const MAX_BYTES: usize = 1024 * 1024;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TrustError {
    #[error("the trust file is too large")]
    TooLarge,
    #[error("this is not a Tresen trust file: {0}")]
    Malformed(String),
    #[error("the trust file has version {0}, which this version of Tresen cannot read")]
    UnsupportedVersion(u32),
    #[error("the trust file is not signed")]
    Unsigned,
    #[error("the trust file's signature is wrong: it was altered or not signed by its root key")]
    BadSignature,
    #[error("the trust file is signed by a different root key ({got}) than the one this venue trusts ({want})")]
    RootMismatch { want: String, got: String },
    #[error("the trust file is not newer than the one in use (serial {got}, in use {have})")]
    NotNewer { have: u64, got: u64 },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct Envelope {
    format: String,
    version: u32,
    body: String,
    #[serde(default)]
    signature: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrustBody {
    pub authority: String,
    /// Ed25519 root public key, base64.
    pub root_key: String,
    pub serial: u64,
    /// Unix seconds.
    pub issued_at: i64,
    pub contact_key: ContactKeyEntry,
    /// The certificates of the health offices the root has certified.
    #[serde(default)]
    pub offices: Vec<crate::certificate::Certificate>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ContactKeyEntry {
    /// Hex of the 4-byte key id.
    pub key_id: String,
    /// X25519 public key, base64.
    pub public_key: String,
}

/// A verified trust file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrustList {
    pub body: TrustBody,
    pub root_key: [u8; 32],
    pub contact_key: ContactKey,
    /// The file as imported, kept verbatim so it can be re-verified.
    pub raw: String,
}

impl TrustList {
    pub fn root_fingerprint(&self) -> String {
        root_fingerprint(&self.root_key)
    }
}

pub fn root_fingerprint(root_key: &[u8; 32]) -> String {
    crate::fingerprint::fingerprint_text(&crypto::sha256(&[b"tresen/root-key/v1", root_key]))
}

fn b64d(s: &str, what: &str) -> Result<Vec<u8>, TrustError> {
    crate::encoding::b64d(s).ok_or_else(|| TrustError::Malformed(format!("{what} is not base64")))
}

fn key32(s: &str, what: &str) -> Result<[u8; 32], TrustError> {
    b64d(s, what)?
        .try_into()
        .map_err(|_| TrustError::Malformed(format!("{what} has the wrong length")))
}

/// Verifies a trust file. `current` is the root key and serial in use, if any.
pub fn verify(text: &str, current: Option<(&[u8; 32], u64)>) -> Result<TrustList, TrustError> {
    if text.len() > MAX_BYTES {
        return Err(TrustError::TooLarge);
    }
    let env: Envelope =
        serde_json::from_str(text).map_err(|e| TrustError::Malformed(e.to_string()))?;
    if env.format != FORMAT {
        return Err(TrustError::Malformed(format!("format is '{}'", env.format)));
    }
    if env.version != VERSION {
        return Err(TrustError::UnsupportedVersion(env.version));
    }
    if env.signature.is_empty() {
        return Err(TrustError::Unsigned);
    }
    let body_bytes = b64d(&env.body, "the body")?;
    let body: TrustBody = serde_json::from_slice(&body_bytes)
        .map_err(|e| TrustError::Malformed(format!("body: {e}")))?;
    let root_key = key32(&body.root_key, "the root key")?;
    let sig = b64d(&env.signature, "the signature")?;
    crypto::verify(&root_key, SIGNING_CONTEXT, &body_bytes, &sig)
        .map_err(|_| TrustError::BadSignature)?;
    if let Some((want_root, have_serial)) = current {
        if &root_key != want_root {
            return Err(TrustError::RootMismatch {
                want: root_fingerprint(want_root),
                got: root_fingerprint(&root_key),
            });
        }
        if body.serial <= have_serial {
            return Err(TrustError::NotNewer {
                have: have_serial,
                got: body.serial,
            });
        }
    }
    let contact_pk = key32(&body.contact_key.public_key, "the contact key")?;
    let contact_key = ContactKey::new(contact_pk);
    if hex(&contact_key.key_id) != body.contact_key.key_id {
        return Err(TrustError::Malformed(
            "the contact key id does not match the key".into(),
        ));
    }
    Ok(TrustList {
        body,
        root_key,
        contact_key,
        raw: text.to_string(),
    })
}

/// Makes and signs a trust file (the authority's side).
pub fn sign(root: &SigningKey, body: &TrustBody) -> Result<String, TrustError> {
    let body_bytes = serde_json::to_vec(body).map_err(|e| TrustError::Malformed(e.to_string()))?;
    let sig = root.sign(SIGNING_CONTEXT, &body_bytes);
    let env = Envelope {
        format: FORMAT.into(),
        version: VERSION,
        body: crate::encoding::b64(&body_bytes),
        signature: crate::encoding::b64(&sig),
    };
    serde_json::to_string_pretty(&env).map_err(|e| TrustError::Malformed(e.to_string()))
}
