//! Guest codes: what a guest carries on a key fob, a card or a phone. The contact data is
//! sealed to the health authority's contact key; the kiosk can check the code's integrity
//! and which key it was made for, but cannot read it. See docs/protocol.md, "Guest code".

use crate::contact::{ContactData, ContactError, PLAINTEXT_LEN};
use crate::contact_pack;
use crate::crypto::{self, CryptoError, SealSecretKey, SEAL_OVERHEAD};
use crate::textcode::{self, CodeTextError, Kind};

/// The version of the codes made now; version 1 codes are still read.
pub const VERSION: u8 = 2;
pub const KEY_ID_LEN: usize = 4;
pub const CODE_ID_LEN: usize = 12;
/// Version 1: the sealed contact data, HPKE `enc || ciphertext` of the padded plaintext.
pub const SEALED_LEN: usize = PLAINTEXT_LEN + SEAL_OVERHEAD;
/// Version 1: key id plus sealed contact data, the part a check-in keeps for the office.
pub const CONTACT_BLOB_LEN: usize = KEY_ID_LEN + SEALED_LEN;
const BODY_LEN: usize = KEY_ID_LEN + CODE_ID_LEN + SEALED_LEN;
pub const HPKE_INFO: &[u8] = b"tresen/guest-contact/v1";
pub const HPKE_INFO_V2: &[u8] = b"tresen/guest-contact/v2";
/// Version 2: the contact blob's lengths (`0x02 || key_id || sealed`), one per size class.
pub const CONTACT_BLOB_V2_LENS: [usize; 2] = [
    1 + KEY_ID_LEN + contact_pack::SMALL_LEN + SEAL_OVERHEAD,
    1 + KEY_ID_LEN + contact_pack::LARGE_LEN + SEAL_OVERHEAD,
];

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
    /// 1 (`TRG1`) or 2 (`TRG2`).
    pub version: u8,
    pub key_id: [u8; KEY_ID_LEN],
    /// What the daily pseudonym is made of: random in version 1, derived from the HPKE
    /// encapsulated key (itself random and unique per code) in version 2.
    pub code_id: [u8; CODE_ID_LEN],
    /// HPKE `enc || ciphertext`.
    pub sealed: Vec<u8>,
}

/// A version 2 code's id: SHA-256("tresen/guest-code-id/v2" || enc)[0..12].
fn derived_code_id(sealed: &[u8]) -> [u8; CODE_ID_LEN] {
    let enc = sealed.get(..32).unwrap_or(sealed);
    let h = crypto::sha256(&[b"tresen/guest-code-id/v2", enc]);
    let mut id = [0u8; CODE_ID_LEN];
    id.copy_from_slice(&h[..CODE_ID_LEN]);
    id
}

impl GuestCode {
    /// Validates the contact data and seals it, compactly, into a new code (`TRG2`).
    pub fn create(contact: &ContactData, key: &ContactKey) -> Result<GuestCode, GuestCodeError> {
        let clean = contact.validated()?;
        let packed = contact_pack::pack(&clean)?;
        let sealed = crypto::seal(&key.public_key, HPKE_INFO_V2, &aad(2, &key.key_id), &packed)
            .map_err(GuestCodeError::Seal)?;
        Ok(GuestCode {
            version: 2,
            key_id: key.key_id,
            code_id: derived_code_id(&sealed),
            sealed,
        })
    }

    /// A code of version 1 (`TRG1`, fixed size, random id), as codes were made before
    /// version 2; kept for tests of the readers, which still take them.
    pub fn create_v1(contact: &ContactData, key: &ContactKey) -> Result<GuestCode, GuestCodeError> {
        let clean = contact.validated()?;
        let padded = clean.to_padded()?;
        let sealed = crypto::seal(&key.public_key, HPKE_INFO, &aad(1, &key.key_id), &padded)
            .map_err(GuestCodeError::Seal)?;
        Ok(GuestCode {
            version: 1,
            key_id: key.key_id,
            code_id: crypto::random_bytes(),
            sealed,
        })
    }

    pub fn to_text(&self) -> String {
        let mut body = Vec::with_capacity(BODY_LEN);
        body.extend_from_slice(&self.key_id);
        if self.version == 1 {
            body.extend_from_slice(&self.code_id);
        }
        body.extend_from_slice(&self.sealed);
        textcode::frame(Kind::Guest, self.version, &body)
    }

    pub fn parse(text: &str) -> Result<GuestCode, GuestCodeError> {
        let frame = textcode::unframe(text)?;
        if frame.kind != Kind::Guest {
            return Err(GuestCodeError::NotAGuestCode);
        }
        Self::from_frame_body(frame.version, &frame.body)
    }

    /// The body of a checked frame of either version.
    pub fn from_frame_body(version: u8, body: &[u8]) -> Result<GuestCode, GuestCodeError> {
        match version {
            1 => Self::from_body(body),
            _ => Self::from_body_v2(body),
        }
    }

    /// A version 1 body.
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
            version: 1,
            key_id: k,
            code_id: c,
            sealed: sealed.to_vec(),
        })
    }

    /// A version 2 body: key id and sealed contact data of one of the two sizes.
    pub fn from_body_v2(body: &[u8]) -> Result<GuestCode, GuestCodeError> {
        if !CONTACT_BLOB_V2_LENS.contains(&(body.len() + 1)) {
            return Err(GuestCodeError::Malformed);
        }
        let (key_id, sealed) = body.split_at(KEY_ID_LEN);
        let mut k = [0u8; KEY_ID_LEN];
        k.copy_from_slice(key_id);
        Ok(GuestCode {
            version: 2,
            key_id: k,
            code_id: derived_code_id(sealed),
            sealed: sealed.to_vec(),
        })
    }

    /// Key id and sealed contact data: what a check-in keeps (no code id). Version 2
    /// blobs start with the version byte; their lengths differ from version 1's.
    pub fn contact_blob(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(1 + KEY_ID_LEN + self.sealed.len());
        if self.version != 1 {
            out.push(self.version);
        }
        out.extend_from_slice(&self.key_id);
        out.extend_from_slice(&self.sealed);
        out
    }
}

/// The version and contact key id of a contact blob, by its length and first byte.
pub fn blob_key_id(blob: &[u8]) -> Option<(u8, [u8; KEY_ID_LEN])> {
    let (version, id) = if blob.len() == CONTACT_BLOB_LEN {
        (1, blob.get(..KEY_ID_LEN)?)
    } else if CONTACT_BLOB_V2_LENS.contains(&blob.len()) && blob.first() == Some(&2) {
        (2, blob.get(1..1 + KEY_ID_LEN)?)
    } else {
        return None;
    };
    let mut k = [0u8; KEY_ID_LEN];
    k.copy_from_slice(id);
    Some((version, k))
}

fn aad(version: u8, key_id: &[u8; KEY_ID_LEN]) -> Vec<u8> {
    let mut a = format!("TRG{version}").into_bytes();
    a.extend_from_slice(key_id);
    a
}

/// Opens a contact blob (key id + sealed data) with the authority's contact private key.
/// The content is returned unvalidated so that the caller can flag invalid data.
pub fn open_contact_blob(
    blob: &[u8],
    contact_secret: &SealSecretKey,
) -> Result<ContactData, GuestCodeError> {
    let (version, k) = blob_key_id(blob).ok_or(GuestCodeError::Malformed)?;
    let (info, sealed) = match version {
        1 => (HPKE_INFO, &blob[KEY_ID_LEN..]),
        _ => (HPKE_INFO_V2, &blob[1 + KEY_ID_LEN..]),
    };
    let plaintext = contact_secret
        .open(info, &aad(version, &k), sealed)
        .map_err(|_| GuestCodeError::Open)?;
    Ok(match version {
        1 => ContactData::from_padded(&plaintext)?,
        _ => contact_pack::unpack(&plaintext)?,
    })
}
