//! The venue's answer to a data request: the matching records, sealed with HPKE to the
//! requesting office's encryption key in chunks (so neither side holds everything in
//! memory), and signed with the venue's signing key. The office reads an answer in one
//! pass over one open file: it hashes, opens and checks as it reads and accepts nothing
//! before the signature at the end checks out. Version 2 carries each record's id and
//! location, names of any length, and flags check-ins whose seals did not open; version 1
//! is still read. See docs/protocol.md, "Answer".

use hpke::{aead::ChaCha20Poly1305, kdf::HkdfSha256, kem::X25519HkdfSha256};
use serde::{Deserialize, Serialize};

use crate::checkin_record::{Method, RECORD_ID_LEN};
use crate::crypto;
use crate::guest_code::CONTACT_BLOB_LEN;

mod reader;
mod writer;

pub use reader::AnswerReader;
pub use writer::{AnswerTo, AnswerWriter};

pub const MAGIC_V1: &[u8; 16] = b"TRESEN-ANSWER-1\n";
pub const MAGIC: &[u8; 16] = b"TRESEN-ANSWER-2\n";
pub const RECORDS_PER_CHUNK: usize = 256;
const MAX_HEADER: u32 = 16 * 1024;
const MAX_CHUNK: u32 = 4 * 1024 * 1024;

/// The format version of a file: its signing context, HPKE info prefix and record layout.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Version {
    V1,
    V2,
}

impl Version {
    fn signing_context(self) -> &'static [u8] {
        match self {
            Version::V1 => b"tresen/answer/v1\0",
            Version::V2 => b"tresen/answer/v2\0",
        }
    }

    fn info(self, request_id: &[u8; 16]) -> Vec<u8> {
        let mut i = match self {
            Version::V1 => b"tresen/answer/v1".to_vec(),
            Version::V2 => b"tresen/answer/v2".to_vec(),
        };
        i.extend_from_slice(request_id);
        i
    }
}

#[derive(Debug, thiserror::Error)]
pub enum AnswerError {
    #[error("this is not a Tresen answer file")]
    NotAnAnswer,
    #[error(
        "the answer's signature does not match: it was altered in transit or not made by the venue"
    )]
    BadSignature,
    #[error("the answer comes from another venue (fingerprint {got}) than the one the request named ({want})")]
    OtherVenue { want: String, got: String },
    #[error("the answer belongs to another request")]
    OtherRequest,
    #[error("the answer was sealed to another office; only the requesting office can open it")]
    NotForThisOffice,
    #[error("the answer is cut short or damaged")]
    Truncated,
    #[error("the answer is damaged: {0}")]
    Corrupt(String),
    #[error("could not read or write the answer: {0}")]
    Io(#[from] std::io::Error),
}

/// One check-in as the office receives it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AnswerRecord {
    /// The check-in's id (version 2; `None` in version 1 answers).
    pub record_id: Option<[u8; RECORD_ID_LEN]>,
    /// The location's name (empty in version 1 answers).
    pub location: String,
    pub area: String,
    pub table: Option<u16>,
    pub checked_in_at: i64,
    pub checked_out_at: Option<i64>,
    pub method: Method,
    /// The guest's contact data, still sealed to the authority's contact key.
    pub contact_blob: Vec<u8>,
}

/// Why the venue could not open a check-in it had to answer with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Damage {
    /// A seal did not open: the row was altered (area, time, seal) or damaged.
    SealDoesNotOpen = 1,
    /// The seals opened but their content is malformed.
    Malformed = 2,
    /// A record of the old format (bound only to its id) dated after the venue started
    /// writing the new one: it can only have been made or moved by hand.
    Unbound = 3,
}

impl Damage {
    fn from_byte(b: u8) -> Option<Damage> {
        match b {
            1 => Some(Damage::SealDoesNotOpen),
            2 => Some(Damage::Malformed),
            3 => Some(Damage::Unbound),
            _ => None,
        }
    }

    pub fn describe(self) -> &'static str {
        match self {
            Damage::SealDoesNotOpen => {
                "the venue could not open this check-in: its stored area, time or seal was altered or damaged"
            }
            Damage::Malformed => "the venue opened this check-in but its content is malformed",
            Damage::Unbound => {
                "a check-in in the old format dated after the venue switched to the new one: it was made or moved by hand, not by the counter"
            }
        }
    }
}

/// A check-in the venue had to answer with but could not open; listed, not dropped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DamagedRecord {
    pub record_id: [u8; RECORD_ID_LEN],
    pub location: String,
    pub area: String,
    pub checked_in_at: i64,
    pub checked_out_at: Option<i64>,
    pub damage: Damage,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AnswerEntry {
    Record(AnswerRecord),
    Damaged(DamagedRecord),
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AnswerHeader {
    pub request_id: String,
    pub office_id: String,
    pub venue_seal_key: String,
    pub venue_sign_key: String,
    /// HPKE encapsulated key, base64.
    pub enc: String,
    /// Entries in the file (records and flagged check-ins).
    pub records: u64,
    pub created_at: i64,
}

type Sender = hpke::aead::AeadCtxS<ChaCha20Poly1305, HkdfSha256, X25519HkdfSha256>;
type Receiver = hpke::aead::AeadCtxR<ChaCha20Poly1305, HkdfSha256, X25519HkdfSha256>;

fn chunk_aad(request_id: &[u8; 16], index: u32, last: bool) -> Vec<u8> {
    let mut a = request_id.to_vec();
    a.extend_from_slice(&index.to_be_bytes());
    a.push(u8::from(last));
    a
}

const ENTRY_RECORD: u8 = 1;
const ENTRY_DAMAGED: u8 = 2;

fn put_str16(out: &mut Vec<u8>, s: &str) -> Result<(), AnswerError> {
    let len = u16::try_from(s.len())
        .map_err(|_| AnswerError::Corrupt("a name is longer than 65535 bytes".into()))?;
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(s.as_bytes());
    Ok(())
}

fn encode_entry(e: &AnswerEntry, out: &mut Vec<u8>) -> Result<(), AnswerError> {
    match e {
        AnswerEntry::Record(r) => {
            let id = r
                .record_id
                .ok_or_else(|| AnswerError::Corrupt("a record has no id".into()))?;
            let blob = u16::try_from(r.contact_blob.len())
                .map_err(|_| AnswerError::Corrupt("a contact blob is too large".into()))?;
            out.push(ENTRY_RECORD);
            out.extend_from_slice(&id);
            put_str16(out, &r.location)?;
            put_str16(out, &r.area)?;
            out.extend_from_slice(&r.table.unwrap_or(0).to_be_bytes());
            out.extend_from_slice(&r.checked_in_at.to_be_bytes());
            out.extend_from_slice(&r.checked_out_at.unwrap_or(-1).to_be_bytes());
            out.push(r.method as u8);
            out.extend_from_slice(&blob.to_be_bytes());
            out.extend_from_slice(&r.contact_blob);
        }
        AnswerEntry::Damaged(d) => {
            out.push(ENTRY_DAMAGED);
            out.extend_from_slice(&d.record_id);
            put_str16(out, &d.location)?;
            put_str16(out, &d.area)?;
            out.extend_from_slice(&d.checked_in_at.to_be_bytes());
            out.extend_from_slice(&d.checked_out_at.unwrap_or(-1).to_be_bytes());
            out.push(d.damage as u8);
        }
    }
    Ok(())
}

/// A cursor over a chunk's plaintext that fails with "malformed" at the end.
struct Cursor<'a> {
    pt: &'a [u8],
    pos: usize,
}

impl<'a> Cursor<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], AnswerError> {
        let s = self
            .pt
            .get(self.pos..self.pos + n)
            .ok_or_else(|| AnswerError::Corrupt("a record is malformed".into()))?;
        self.pos += n;
        Ok(s)
    }

    fn u8(&mut self) -> Result<u8, AnswerError> {
        Ok(self.take(1)?[0])
    }

    fn u16(&mut self) -> Result<u16, AnswerError> {
        let b = self.take(2)?;
        Ok(u16::from_be_bytes([b[0], b[1]]))
    }

    fn i64(&mut self) -> Result<i64, AnswerError> {
        let mut b = [0u8; 8];
        b.copy_from_slice(self.take(8)?);
        Ok(i64::from_be_bytes(b))
    }

    fn string(&mut self, len: usize) -> Result<String, AnswerError> {
        String::from_utf8(self.take(len)?.to_vec())
            .map_err(|_| AnswerError::Corrupt("a name is not UTF-8".into()))
    }

    fn id(&mut self) -> Result<[u8; RECORD_ID_LEN], AnswerError> {
        let mut id = [0u8; RECORD_ID_LEN];
        id.copy_from_slice(self.take(RECORD_ID_LEN)?);
        Ok(id)
    }
}

fn method(b: u8) -> Result<Method, AnswerError> {
    Method::from_byte(b).ok_or_else(|| AnswerError::Corrupt("a record is malformed".into()))
}

/// Parses the plaintext of one chunk (section 11): the entries it holds.
pub fn decode_chunk(version: Version, pt: &[u8]) -> Result<Vec<AnswerEntry>, AnswerError> {
    let mut c = Cursor { pt, pos: 0 };
    let count = c.u16()?;
    let mut out = Vec::with_capacity(usize::from(count));
    for _ in 0..count {
        out.push(match version {
            Version::V1 => {
                let alen = usize::from(c.u8()?);
                let area = c.string(alen)?;
                let table = c.u16()?;
                let checked_in_at = c.i64()?;
                let out_at = c.i64()?;
                let method = method(c.u8()?)?;
                AnswerEntry::Record(AnswerRecord {
                    record_id: None,
                    location: String::new(),
                    area,
                    table: (table != 0).then_some(table),
                    checked_in_at,
                    checked_out_at: (out_at >= 0).then_some(out_at),
                    method,
                    contact_blob: c.take(CONTACT_BLOB_LEN)?.to_vec(),
                })
            }
            Version::V2 => match c.u8()? {
                ENTRY_RECORD => {
                    let record_id = Some(c.id()?);
                    let llen = usize::from(c.u16()?);
                    let location = c.string(llen)?;
                    let alen = usize::from(c.u16()?);
                    let area = c.string(alen)?;
                    let table = c.u16()?;
                    let checked_in_at = c.i64()?;
                    let out_at = c.i64()?;
                    let method = method(c.u8()?)?;
                    let blen = usize::from(c.u16()?);
                    AnswerEntry::Record(AnswerRecord {
                        record_id,
                        location,
                        area,
                        table: (table != 0).then_some(table),
                        checked_in_at,
                        checked_out_at: (out_at >= 0).then_some(out_at),
                        method,
                        contact_blob: c.take(blen)?.to_vec(),
                    })
                }
                ENTRY_DAMAGED => {
                    let record_id = c.id()?;
                    let llen = usize::from(c.u16()?);
                    let location = c.string(llen)?;
                    let alen = usize::from(c.u16()?);
                    let area = c.string(alen)?;
                    let checked_in_at = c.i64()?;
                    let out_at = c.i64()?;
                    let damage = Damage::from_byte(c.u8()?)
                        .ok_or_else(|| AnswerError::Corrupt("a record is malformed".into()))?;
                    AnswerEntry::Damaged(DamagedRecord {
                        record_id,
                        location,
                        area,
                        checked_in_at,
                        checked_out_at: (out_at >= 0).then_some(out_at),
                        damage,
                    })
                }
                _ => return Err(AnswerError::Corrupt("a record is malformed".into())),
            },
        });
    }
    if c.pos != pt.len() {
        return Err(AnswerError::Corrupt("a record is malformed".into()));
    }
    Ok(out)
}
