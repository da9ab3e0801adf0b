//! The venue's answer to a data request: the matching records, sealed with HPKE to the
//! requesting office's encryption key in chunks (so neither side holds everything in
//! memory), and signed with the venue's signing key. The office reads an answer in one
//! pass over one open file: it hashes, opens and checks as it reads and accepts nothing
//! before the signature at the end checks out. Version 2 carries each record's id and
//! location, names of any length, and flags check-ins whose seals did not open; version 1
//! is still read. See docs/protocol.md, "Answer".

use std::io::{Read, Write};

use hpke::{
    aead::ChaCha20Poly1305, kdf::HkdfSha256, kem::X25519HkdfSha256, Deserializable, Kem, OpModeR,
    OpModeS, Serializable,
};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::checkin_record::{Method, RECORD_ID_LEN};
use crate::crypto::{self, SigningKey};
use crate::guest_code::CONTACT_BLOB_LEN;
use crate::keyfile::{b64, VenuePublicKeys};
use crate::office::OfficeKeys;

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

/// Writes bytes and hashes them, for the signature at the end.
struct Hashing<W> {
    inner: W,
    hash: Sha256,
}

impl<W: Write> Hashing<W> {
    fn put(&mut self, b: &[u8]) -> std::io::Result<()> {
        self.hash.update(b);
        self.inner.write_all(b)
    }
}

/// Who the answer is for and who makes it.
pub struct AnswerTo<'a> {
    pub request_id: [u8; 16],
    pub office_id: &'a str,
    pub office_key: &'a [u8; 32],
    pub venue: &'a VenuePublicKeys,
    /// Entries that will be pushed.
    pub records: u64,
    pub now: i64,
}

pub struct AnswerWriter<'k, W: Write> {
    out: Hashing<W>,
    ctx: Sender,
    request_id: [u8; 16],
    index: u32,
    pending: Vec<u8>,
    pending_records: u16,
    sign: &'k SigningKey,
    written: u64,
    expected: u64,
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

impl<'k, W: Write> AnswerWriter<'k, W> {
    pub fn new(inner: W, to: &AnswerTo<'_>, sign: &'k SigningKey) -> Result<Self, AnswerError> {
        let pk = <X25519HkdfSha256 as Kem>::PublicKey::from_bytes(to.office_key)
            .map_err(|_| AnswerError::Corrupt("the office's key is malformed".into()))?;
        let (enc, ctx) = hpke::setup_sender::<ChaCha20Poly1305, HkdfSha256, X25519HkdfSha256, _>(
            &OpModeS::Base,
            &pk,
            &Version::V2.info(&to.request_id),
            &mut rand::rng(),
        )
        .map_err(|_| AnswerError::Corrupt("encryption failed".into()))?;
        let header = AnswerHeader {
            request_id: crate::trust::hex(&to.request_id),
            office_id: to.office_id.to_string(),
            venue_seal_key: b64(&to.venue.seal),
            venue_sign_key: b64(&to.venue.sign),
            enc: b64(&enc.to_bytes()),
            records: to.records,
            created_at: to.now,
        };
        let header =
            serde_json::to_vec(&header).map_err(|e| AnswerError::Corrupt(e.to_string()))?;
        let mut out = Hashing {
            inner,
            hash: Sha256::new(),
        };
        out.put(MAGIC)?;
        out.put(&(header.len() as u32).to_be_bytes())?;
        out.put(&header)?;
        Ok(Self {
            out,
            ctx,
            request_id: to.request_id,
            index: 0,
            pending: Vec::new(),
            pending_records: 0,
            sign,
            written: 0,
            expected: to.records,
        })
    }

    fn seal_pending(&mut self, last: bool) -> Result<(), AnswerError> {
        let mut pt = Vec::with_capacity(2 + self.pending.len());
        pt.extend_from_slice(&self.pending_records.to_be_bytes());
        pt.append(&mut self.pending);
        let ct = self
            .ctx
            .seal(&pt, &chunk_aad(&self.request_id, self.index, last))
            .map_err(|_| AnswerError::Corrupt("encryption failed".into()))?;
        self.out.put(&(ct.len() as u32).to_be_bytes())?;
        self.out.put(&ct)?;
        self.index += 1;
        self.pending_records = 0;
        Ok(())
    }

    pub fn push(&mut self, e: &AnswerEntry) -> Result<(), AnswerError> {
        if usize::from(self.pending_records) == RECORDS_PER_CHUNK {
            self.seal_pending(false)?;
        }
        encode_entry(e, &mut self.pending)?;
        self.pending_records += 1;
        self.written += 1;
        Ok(())
    }

    /// Seals the last chunk and signs everything; returns the inner writer.
    pub fn finish(mut self) -> Result<W, AnswerError> {
        if self.written != self.expected {
            return Err(AnswerError::Corrupt(format!(
                "{} records were announced but {} written",
                self.expected, self.written
            )));
        }
        self.seal_pending(true)?;
        self.out.put(&0u32.to_be_bytes())?;
        let digest = self.out.hash.clone().finalize();
        let sig = self.sign.sign(Version::V2.signing_context(), &digest);
        self.out.inner.write_all(&sig)?;
        self.out.inner.flush()?;
        Ok(self.out.inner)
    }
}

/// Hashes everything read through it.
struct HashRead<R> {
    inner: R,
    hash: Sha256,
}

impl<R: Read> HashRead<R> {
    fn exact(&mut self, buf: &mut [u8]) -> Result<(), AnswerError> {
        self.inner
            .read_exact(buf)
            .map_err(|_| AnswerError::Truncated)?;
        self.hash.update(&*buf);
        Ok(())
    }

    fn u32(&mut self) -> Result<u32, AnswerError> {
        let mut b = [0u8; 4];
        self.exact(&mut b)?;
        Ok(u32::from_be_bytes(b))
    }
}

fn key32(s: &str) -> Result<[u8; 32], AnswerError> {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD
        .decode(s)
        .ok()
        .and_then(|v| v.try_into().ok())
        .ok_or_else(|| AnswerError::Corrupt("a key in the header is malformed".into()))
}

fn norm_fp(s: &str) -> String {
    s.chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .collect::<String>()
        .to_ascii_uppercase()
}

/// Reads an answer in one pass over one open file. Entries come out as the chunks open;
/// the signature and the record count are only checked by [`AnswerReader::finish`], so a
/// caller keeps what it read private until `finish` succeeds.
pub struct AnswerReader<R: Read> {
    file: HashRead<R>,
    version: Version,
    ctx: Receiver,
    request_id: [u8; 16],
    venue: VenuePublicKeys,
    index: u32,
    entries: std::vec::IntoIter<AnswerEntry>,
    last_seen: bool,
    seen: u64,
    pub header: AnswerHeader,
}

impl<R: Read> AnswerReader<R> {
    /// Reads the header and checks that the answer is for this request, from the venue
    /// the request named, and sealed to this office.
    pub fn open(
        file: R,
        office: &OfficeKeys,
        request_id: &[u8; 16],
        venue_fingerprint: &str,
    ) -> Result<Self, AnswerError> {
        let mut file = HashRead {
            inner: file,
            hash: Sha256::new(),
        };
        let mut magic = [0u8; 16];
        file.exact(&mut magic)
            .map_err(|_| AnswerError::NotAnAnswer)?;
        let version = match &magic {
            m if m == MAGIC => Version::V2,
            m if m == MAGIC_V1 => Version::V1,
            _ => return Err(AnswerError::NotAnAnswer),
        };
        let len = file.u32()?;
        if len > MAX_HEADER {
            return Err(AnswerError::NotAnAnswer);
        }
        let mut h = vec![0u8; len as usize];
        file.exact(&mut h)?;
        let header: AnswerHeader =
            serde_json::from_slice(&h).map_err(|e| AnswerError::Corrupt(e.to_string()))?;
        let venue = VenuePublicKeys {
            seal: key32(&header.venue_seal_key)?,
            sign: key32(&header.venue_sign_key)?,
        };
        if norm_fp(&venue.fingerprint_text()) != norm_fp(venue_fingerprint) {
            return Err(AnswerError::OtherVenue {
                want: venue_fingerprint.to_string(),
                got: venue.fingerprint_text(),
            });
        }
        if header.request_id != crate::trust::hex(request_id) {
            return Err(AnswerError::OtherRequest);
        }
        let enc = <X25519HkdfSha256 as Kem>::EncappedKey::from_bytes(&key32(&header.enc)?)
            .map_err(|_| AnswerError::Corrupt("the encapsulated key is malformed".into()))?;
        let ctx = hpke::setup_receiver::<ChaCha20Poly1305, HkdfSha256, X25519HkdfSha256>(
            &OpModeR::Base,
            &office_secret(office),
            &enc,
            &version.info(request_id),
        )
        .map_err(|_| AnswerError::NotForThisOffice)?;
        Ok(Self {
            file,
            version,
            ctx,
            request_id: *request_id,
            venue,
            index: 0,
            entries: Vec::new().into_iter(),
            last_seen: false,
            seen: 0,
            header,
        })
    }

    pub fn version(&self) -> Version {
        self.version
    }

    /// The next entry, or `None` after the last chunk.
    pub fn next_entry(&mut self) -> Result<Option<AnswerEntry>, AnswerError> {
        loop {
            if let Some(e) = self.entries.next() {
                self.seen += 1;
                if self.seen > self.header.records {
                    return Err(AnswerError::Corrupt(
                        "the answer holds more records than it announces".into(),
                    ));
                }
                return Ok(Some(e));
            }
            if self.last_seen {
                return Ok(None);
            }
            self.next_chunk()?;
        }
    }

    fn next_chunk(&mut self) -> Result<(), AnswerError> {
        let len = self.file.u32()?;
        if len == 0 {
            return Err(AnswerError::Truncated);
        }
        if len > MAX_CHUNK {
            return Err(AnswerError::Corrupt("a chunk is too large".into()));
        }
        let mut ct = vec![0u8; len as usize];
        self.file.exact(&mut ct)?;
        // Try as a middle chunk, then as the last one: the flag is bound into the AAD.
        let (pt, last) = match self
            .ctx
            .open(&ct, &chunk_aad(&self.request_id, self.index, false))
        {
            Ok(pt) => (pt, false),
            Err(_) => {
                match self
                    .ctx
                    .open(&ct, &chunk_aad(&self.request_id, self.index, true))
                {
                    Ok(pt) => (pt, true),
                    // An altered file and a file for another office look the same here;
                    // the signature over the whole file tells them apart.
                    Err(_) => {
                        self.drain_and_verify()?;
                        return Err(if self.index == 0 {
                            AnswerError::NotForThisOffice
                        } else {
                            AnswerError::Corrupt("a chunk does not open".into())
                        });
                    }
                }
            }
        };
        self.index += 1;
        self.last_seen = last;
        self.entries = decode_chunk(self.version, &pt)?.into_iter();
        Ok(())
    }

    /// Reads the remaining chunks without opening them and checks the signature.
    fn drain_and_verify(&mut self) -> Result<(), AnswerError> {
        loop {
            let len = self.file.u32()?;
            if len == 0 {
                break;
            }
            if len > MAX_CHUNK {
                return Err(AnswerError::Corrupt("a chunk is too large".into()));
            }
            let mut skip = vec![0u8; len as usize];
            self.file.exact(&mut skip)?;
        }
        let digest = self.file.hash.clone().finalize();
        let mut sig = [0u8; 64];
        self.file
            .inner
            .read_exact(&mut sig)
            .map_err(|_| AnswerError::Truncated)?;
        crypto::verify(
            &self.venue.sign,
            self.version.signing_context(),
            &digest,
            &sig,
        )
        .map_err(|_| AnswerError::BadSignature)
    }

    /// Reads to the end (after the last entry) and checks the record count, the end
    /// marker and the venue's signature over everything read.
    pub fn finish(mut self) -> Result<AnswerHeader, AnswerError> {
        if self.next_entry()?.is_some() {
            return Err(AnswerError::Corrupt(
                "finish() was called before the last record".into(),
            ));
        }
        if self.seen != self.header.records {
            return Err(AnswerError::Truncated);
        }
        if self.file.u32()? != 0 {
            return Err(AnswerError::Corrupt("data after the last chunk".into()));
        }
        let digest = self.file.hash.finalize();
        let mut file = self.file.inner;
        let mut sig = [0u8; 64];
        file.read_exact(&mut sig)
            .map_err(|_| AnswerError::Truncated)?;
        let mut extra = [0u8; 1];
        if file.read(&mut extra)? != 0 {
            return Err(AnswerError::Corrupt("data after the signature".into()));
        }
        crypto::verify(
            &self.venue.sign,
            self.version.signing_context(),
            &digest,
            &sig,
        )
        .map_err(|_| AnswerError::BadSignature)?;
        Ok(self.header)
    }
}

/// The office's X25519 private key as the HPKE crate's type.
fn office_secret(office: &OfficeKeys) -> <X25519HkdfSha256 as Kem>::PrivateKey {
    let bytes = office.encryption.to_bytes();
    match <X25519HkdfSha256 as Kem>::PrivateKey::from_bytes(&bytes[..]) {
        Ok(k) => k,
        Err(_) => unreachable!("a 32-byte X25519 key always parses"),
    }
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
