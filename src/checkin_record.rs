//! The sealed parts of a check-in record. The guest part (method and the guest's still
//! sealed contact blob) and the table part are sealed separately with HPKE to the venue's
//! public key, bound to the record id, so a table can be assigned later without the
//! private key. See docs/protocol.md, "Check-in record".

use zeroize::Zeroizing;

use crate::crypto::{self, CryptoError, SealSecretKey, SEAL_OVERHEAD};
use crate::guest_code::CONTACT_BLOB_LEN;

pub const RECORD_ID_LEN: usize = 16;
pub const GUEST_INFO: &[u8] = b"tresen/checkin-guest/v1";
pub const TABLE_INFO: &[u8] = b"tresen/checkin-table/v1";
const VERSION: u8 = 1;
pub const GUEST_PLAINTEXT_LEN: usize = 2 + CONTACT_BLOB_LEN;
pub const GUEST_SEAL_LEN: usize = GUEST_PLAINTEXT_LEN + SEAL_OVERHEAD;
pub const TABLE_SEAL_LEN: usize = 3 + SEAL_OVERHEAD;

/// How a guest was registered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Method {
    /// A printed key fob or card.
    Fob = 1,
    /// A code shown by an app.
    AppCode = 2,
    /// Typed in at the counter.
    CounterForm = 3,
}

impl Method {
    pub fn from_byte(b: u8) -> Option<Method> {
        match b {
            1 => Some(Method::Fob),
            2 => Some(Method::AppCode),
            3 => Some(Method::CounterForm),
            _ => None,
        }
    }

    pub fn parse(s: &str) -> Option<Method> {
        match s {
            "fob" => Some(Method::Fob),
            "app" | "app-code" => Some(Method::AppCode),
            "counter" | "counter-form" => Some(Method::CounterForm),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Method::Fob => "fob",
            Method::AppCode => "app-code",
            Method::CounterForm => "counter-form",
        }
    }
}

/// The plaintext of the guest part: version, method, contact blob.
pub fn guest_plaintext(
    method: Method,
    contact_blob: &[u8],
) -> Result<Zeroizing<Vec<u8>>, CryptoError> {
    if contact_blob.len() != CONTACT_BLOB_LEN {
        return Err(CryptoError::Malformed);
    }
    let mut pt = Zeroizing::new(Vec::with_capacity(GUEST_PLAINTEXT_LEN));
    pt.push(VERSION);
    pt.push(method as u8);
    pt.extend_from_slice(contact_blob);
    Ok(pt)
}

/// The plaintext of the table part: version, table number (0: none).
pub fn table_plaintext(table: Option<u16>) -> [u8; 3] {
    let t = table.unwrap_or(0).to_be_bytes();
    [VERSION, t[0], t[1]]
}

pub fn seal_guest(
    venue_pk: &[u8; 32],
    record_id: &[u8; RECORD_ID_LEN],
    method: Method,
    contact_blob: &[u8],
) -> Result<Vec<u8>, CryptoError> {
    crypto::seal(
        venue_pk,
        GUEST_INFO,
        record_id,
        &guest_plaintext(method, contact_blob)?,
    )
}

pub fn seal_table(
    venue_pk: &[u8; 32],
    record_id: &[u8; RECORD_ID_LEN],
    table: Option<u16>,
) -> Result<Vec<u8>, CryptoError> {
    crypto::seal(venue_pk, TABLE_INFO, record_id, &table_plaintext(table))
}

/// A check-in's sealed parts, opened with the venue's private key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpenedCheckin {
    pub method: Method,
    pub contact_blob: Vec<u8>,
    pub table: Option<u16>,
}

pub fn open(
    venue_sk: &SealSecretKey,
    record_id: &[u8],
    guest_seal: &[u8],
    table_seal: &[u8],
) -> Result<OpenedCheckin, CryptoError> {
    let g = venue_sk.open(GUEST_INFO, record_id, guest_seal)?;
    let t = venue_sk.open(TABLE_INFO, record_id, table_seal)?;
    if g.len() != GUEST_PLAINTEXT_LEN || g[0] != VERSION || t.len() != 3 || t[0] != VERSION {
        return Err(CryptoError::Malformed);
    }
    let method = Method::from_byte(g[1]).ok_or(CryptoError::Malformed)?;
    let table = u16::from_be_bytes([t[1], t[2]]);
    Ok(OpenedCheckin {
        method,
        contact_blob: g[2..].to_vec(),
        table: (table != 0).then_some(table),
    })
}
