//! Guest codes: what a guest carries on a key fob, a card or a phone. The contact data is
//! sealed to the health authority's contact key; the kiosk can check the code's integrity
//! and which key it was made for, but cannot read it. See docs/protocol.md, "Guest code".

use crate::contact::{ContactData, ContactError, PLAINTEXT_LEN};
use crate::crypto::{self, CryptoError, SealSecretKey, SEAL_OVERHEAD};
use crate::textcode::{self, CodeTextError, Kind};

pub const VERSION: u8 = 1;
pub const KEY_ID_LEN: usize = 4;
pub const CODE_ID_LEN: usize = 12;
/// The sealed contact data: HPKE `enc || ciphertext` of the padded plaintext.
pub const SEALED_LEN: usize = PLAINTEXT_LEN + SEAL_OVERHEAD;
/// Key id plus sealed contact data: the part a check-in keeps for the health office.
pub const CONTACT_BLOB_LEN: usize = KEY_ID_LEN + SEALED_LEN;
const BODY_LEN: usize = KEY_ID_LEN + CODE_ID_LEN + SEALED_LEN;
pub const HPKE_INFO: &[u8] = b"tresen/guest-contact/v1";

/// The health authority's current contact public key, as the trust file names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContactKey {
    pub key_id: [u8; KEY_ID_LEN],
    pub public_key: [u8; 32],
}

impl ContactKey {
    pub fn new(public_key: [u8; 32]) -> Self {
        Self {
            key_id: key_id(&public_key),
            public_key,
        }
    }
}

pub fn key_id(public_key: &[u8; 32]) -> [u8; KEY_ID_LEN] {
    let h = crypto::sha256(&[b"tresen/contact-key/v1", public_key]);
    let mut id = [0u8; KEY_ID_LEN];
    id.copy_from_slice(&h[..KEY_ID_LEN]);
    id
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GuestCodeError {
    #[error(transparent)]
    Text(#[from] CodeTextError),
    #[error("this is a table or area code, not a guest code")]
    NotAGuestCode,
    #[error("the guest code is malformed")]
    Malformed,
    #[error(transparent)]
    Contact(#[from] ContactError),
    #[error("the contact data could not be sealed: {0}")]
    Seal(CryptoError),
    #[error("the contact data could not be opened: it was sealed to another key or altered")]
    Open,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GuestCode {
    pub key_id: [u8; KEY_ID_LEN],
    pub code_id: [u8; CODE_ID_LEN],
    /// HPKE `enc || ciphertext`, [`SEALED_LEN`] bytes.
    pub sealed: Vec<u8>,
}

impl GuestCode {
    /// Validates the contact data and seals it into a new code with a fresh random id.
    pub fn create(contact: &ContactData, key: &ContactKey) -> Result<GuestCode, GuestCodeError> {
        let clean = contact.validated()?;
        let padded = clean.to_padded()?;
        let sealed = crypto::seal(&key.public_key, HPKE_INFO, &aad(&key.key_id), &padded)
            .map_err(GuestCodeError::Seal)?;
        Ok(GuestCode {
            key_id: key.key_id,
            code_id: crypto::random_bytes(),
            sealed,
        })
    }

    pub fn to_text(&self) -> String {
        let mut body = Vec::with_capacity(BODY_LEN);
        body.extend_from_slice(&self.key_id);
        body.extend_from_slice(&self.code_id);
        body.extend_from_slice(&self.sealed);
        textcode::frame(Kind::Guest, VERSION, &body)
    }

    pub fn parse(text: &str) -> Result<GuestCode, GuestCodeError> {
        let frame = textcode::unframe(text)?;
        if frame.kind != Kind::Guest {
            return Err(GuestCodeError::NotAGuestCode);
        }
        Self::from_body(&frame.body)
    }

    pub fn from_body(body: &[u8]) -> Result<GuestCode, GuestCodeError> {
        if body.len() != BODY_LEN {
            return Err(GuestCodeError::Malformed);
        }
        let (key_id, rest) = body.split_at(KEY_ID_LEN);
        let (code_id, sealed) = rest.split_at(CODE_ID_LEN);
        let mut k = [0u8; KEY_ID_LEN];
        k.copy_from_slice(key_id);
        let mut c = [0u8; CODE_ID_LEN];
        c.copy_from_slice(code_id);
        Ok(GuestCode {
            key_id: k,
            code_id: c,
            sealed: sealed.to_vec(),
        })
    }

    /// Key id and sealed contact data: what a check-in keeps (no code id).
    pub fn contact_blob(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(CONTACT_BLOB_LEN);
        out.extend_from_slice(&self.key_id);
        out.extend_from_slice(&self.sealed);
        out
    }
}

fn aad(key_id: &[u8; KEY_ID_LEN]) -> Vec<u8> {
    let mut a = b"TRG1".to_vec();
    a.extend_from_slice(key_id);
    a
}

/// Opens a contact blob (key id + sealed data) with the authority's contact private key.
/// The content is returned unvalidated so that the caller can flag invalid data.
pub fn open_contact_blob(
    blob: &[u8],
    contact_secret: &SealSecretKey,
) -> Result<ContactData, GuestCodeError> {
    if blob.len() != CONTACT_BLOB_LEN {
        return Err(GuestCodeError::Malformed);
    }
    let (key_id, sealed) = blob.split_at(KEY_ID_LEN);
    let mut k = [0u8; KEY_ID_LEN];
    k.copy_from_slice(key_id);
    let padded = contact_secret
        .open(HPKE_INFO, &aad(&k), sealed)
        .map_err(|_| GuestCodeError::Open)?;
    Ok(ContactData::from_padded(&padded)?)
}
