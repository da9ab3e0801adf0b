//! The sealed parts of a check-in record. The guest part (method and the guest's still
//! sealed contact blob) and the table part are sealed separately with HPKE to the venue's
//! public key, so a table can be assigned later without the private key. Version 2 binds
//! everything known at check-in (record id, venue key, area, check-in time) into both
//! seals' associated data; version 1 (record id only) is still opened. See
//! docs/protocol.md, "Check-in record".

use zeroize::Zeroizing;

use crate::crypto::{self, CryptoError, SealSecretKey, SEAL_OVERHEAD};
use crate::guest_code::CONTACT_BLOB_LEN;

pub const RECORD_ID_LEN: usize = 16;
pub const GUEST_INFO_V1: &[u8] = b"tresen/checkin-guest/v1";
pub const TABLE_INFO_V1: &[u8] = b"tresen/checkin-table/v1";
pub const GUEST_INFO: &[u8] = b"tresen/checkin-guest/v2";
pub const TABLE_INFO: &[u8] = b"tresen/checkin-table/v2";
/// The record format written now.
pub const VERSION: u8 = 2;
pub const GUEST_PLAINTEXT_LEN: usize = 2 + CONTACT_BLOB_LEN;
pub const GUEST_SEAL_LEN: usize = GUEST_PLAINTEXT_LEN + SEAL_OVERHEAD;
pub const TABLE_SEAL_LEN: usize = 3 + SEAL_OVERHEAD;
/// The smallest contact blob a guest code can carry (key id + an HPKE overhead).
const MIN_CONTACT_BLOB: usize = 4 + SEAL_OVERHEAD;

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

/// What a check-in's seals are bound to: everything the counter knows in clear when the
/// guest checks in. A row whose area or time was changed afterwards no longer opens.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Binding {
    pub record_id: [u8; RECORD_ID_LEN],
    /// The fingerprint of the venue key the seals are made for.
    pub venue_fingerprint: [u8; 32],
    pub area_id: u32,
    pub checked_in_at: i64,
}

impl Binding {
    /// The associated data of both seals (version 2).
    pub fn aad(&self) -> [u8; RECORD_ID_LEN + 32 + 4 + 8] {
        let mut a = [0u8; RECORD_ID_LEN + 32 + 4 + 8];
        a[..16].copy_from_slice(&self.record_id);
        a[16..48].copy_from_slice(&self.venue_fingerprint);
        a[48..52].copy_from_slice(&self.area_id.to_be_bytes());
        a[52..].copy_from_slice(&self.checked_in_at.to_be_bytes());
        a
    }
}

/// The plaintext of the guest part: version, method, contact blob.
pub fn guest_plaintext(
    method: Method,
    contact_blob: &[u8],
) -> Result<Zeroizing<Vec<u8>>, CryptoError> {
    if contact_blob.len() < MIN_CONTACT_BLOB || contact_blob.len() > 1024 {
        return Err(CryptoError::Malformed);
    }
    let mut pt = Zeroizing::new(Vec::with_capacity(2 + contact_blob.len()));
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
    binding: &Binding,
    method: Method,
    contact_blob: &[u8],
) -> Result<Vec<u8>, CryptoError> {
    crypto::seal(
        venue_pk,
        GUEST_INFO,
        &binding.aad(),
        &guest_plaintext(method, contact_blob)?,
    )
}

pub fn seal_table(
    venue_pk: &[u8; 32],
    binding: &Binding,
    table: Option<u16>,
) -> Result<Vec<u8>, CryptoError> {
    crypto::seal(
        venue_pk,
        TABLE_INFO,
        &binding.aad(),
        &table_plaintext(table),
    )
}

/// Re-seals the table part of a stored record in the record's own version.
pub fn reseal_table(
    venue_pk: &[u8; 32],
    version: u8,
    binding: &Binding,
    table: Option<u16>,
) -> Result<Vec<u8>, CryptoError> {
    match version {
        1 => {
            let t = table.unwrap_or(0).to_be_bytes();
            crypto::seal(
                venue_pk,
                TABLE_INFO_V1,
                &binding.record_id,
                &[1, t[0], t[1]],
            )
        }
        2 => seal_table(venue_pk, binding, table),
        _ => Err(CryptoError::Malformed),
    }
}

/// A check-in's sealed parts, opened with the venue's private key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpenedCheckin {
    pub method: Method,
    pub contact_blob: Vec<u8>,
    pub table: Option<u16>,
}

/// Opens a stored check-in of either version. Version 1 seals are bound to the record id
/// only; version 2 seals to the whole binding.
pub fn open(
    venue_sk: &SealSecretKey,
    version: u8,
    binding: &Binding,
    guest_seal: &[u8],
    table_seal: &[u8],
) -> Result<OpenedCheckin, CryptoError> {
    let aad = binding.aad();
    let (gi, ti, aad): (&[u8], &[u8], &[u8]) = match version {
        1 => (GUEST_INFO_V1, TABLE_INFO_V1, &binding.record_id),
        2 => (GUEST_INFO, TABLE_INFO, &aad),
        _ => return Err(CryptoError::Malformed),
    };
    // Any seal that does not open (too short, altered, another key) is `OpenFailed`;
    // `Malformed` is kept for content that opened but is not a check-in.
    let g = venue_sk
        .open(gi, aad, guest_seal)
        .map_err(|_| CryptoError::OpenFailed)?;
    let t = venue_sk
        .open(ti, aad, table_seal)
        .map_err(|_| CryptoError::OpenFailed)?;
    let fixed_blob = version == 1 && g.len() != GUEST_PLAINTEXT_LEN;
    if g.len() < 2 + MIN_CONTACT_BLOB
        || fixed_blob
        || g[0] != version
        || t.len() != 3
        || t[0] != version
    {
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
