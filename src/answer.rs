//! The venue's answer to a data request: the matching records, sealed with HPKE to the
//! requesting office's encryption key in chunks (so neither side holds everything in
//! memory), and signed with the venue's signing key. See docs/protocol.md, "Answer".

use std::io::{Read, Write};

use hpke::{
    aead::ChaCha20Poly1305, kdf::HkdfSha256, kem::X25519HkdfSha256, Deserializable, Kem, OpModeR,
    OpModeS, Serializable,
};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::checkin_record::Method;
use crate::crypto::{self, SigningKey};
use crate::guest_code::CONTACT_BLOB_LEN;
use crate::keyfile::{b64, VenuePublicKeys};
use crate::office::OfficeKeys;

pub const MAGIC: &[u8; 16] = b"TRESEN-ANSWER-1\n";
pub const SIGNING_CONTEXT: &[u8] = b"tresen/answer/v1\0";
pub const RECORDS_PER_CHUNK: usize = 256;
const MAX_HEADER: u32 = 16 * 1024;
const MAX_CHUNK: u32 = 4 * 1024 * 1024;

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
    pub area: String,
    pub table: Option<u16>,
    pub checked_in_at: i64,
    pub checked_out_at: Option<i64>,
    pub method: Method,
    /// The guest's contact data, still sealed to the authority's contact key.
    pub contact_blob: Vec<u8>,
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
    pub records: u64,
    pub created_at: i64,
}

type Sender = hpke::aead::AeadCtxS<ChaCha20Poly1305, HkdfSha256, X25519HkdfSha256>;
type Receiver = hpke::aead::AeadCtxR<ChaCha20Poly1305, HkdfSha256, X25519HkdfSha256>;

fn info(request_id: &[u8; 16]) -> Vec<u8> {
    let mut i = b"tresen/answer/v1".to_vec();
    i.extend_from_slice(request_id);
    i
}

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

fn encode_record(r: &AnswerRecord, out: &mut Vec<u8>) {
    let area = r.area.as_bytes();
    let area = &area[..area.len().min(255)];
    out.push(area.len() as u8);
    out.extend_from_slice(area);
    out.extend_from_slice(&r.table.unwrap_or(0).to_be_bytes());
    out.extend_from_slice(&r.checked_in_at.to_be_bytes());
    out.extend_from_slice(&r.checked_out_at.unwrap_or(-1).to_be_bytes());
    out.push(r.method as u8);
    out.extend_from_slice(&r.contact_blob);
}

impl<'k, W: Write> AnswerWriter<'k, W> {
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        inner: W,
        request_id: [u8; 16],
        office_id: &str,
        office_key: &[u8; 32],
        venue: &VenuePublicKeys,
        sign: &'k SigningKey,
        records: u64,
        now: i64,
    ) -> Result<Self, AnswerError> {
        let pk = <X25519HkdfSha256 as Kem>::PublicKey::from_bytes(office_key)
            .map_err(|_| AnswerError::Corrupt("the office's key is malformed".into()))?;
        let (enc, ctx) = hpke::setup_sender::<ChaCha20Poly1305, HkdfSha256, X25519HkdfSha256, _>(
            &OpModeS::Base,
            &pk,
            &info(&request_id),
            &mut rand::rng(),
        )
        .map_err(|_| AnswerError::Corrupt("encryption failed".into()))?;
        let header = AnswerHeader {
            request_id: crate::trust::hex(&request_id),
            office_id: office_id.to_string(),
            venue_seal_key: b64(&venue.seal),
            venue_sign_key: b64(&venue.sign),
            enc: b64(&enc.to_bytes()),
            records,
            created_at: now,
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
            request_id,
            index: 0,
            pending: Vec::new(),
            pending_records: 0,
            sign,
            written: 0,
            expected: records,
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

    pub fn push(&mut self, r: &AnswerRecord) -> Result<(), AnswerError> {
        if usize::from(self.pending_records) == RECORDS_PER_CHUNK {
            self.seal_pending(false)?;
        }
        encode_record(r, &mut self.pending);
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
        let sig = self.sign.sign(SIGNING_CONTEXT, &digest);
        self.out.inner.write_all(&sig)?;
        self.out.inner.flush()?;
        Ok(self.out.inner)
    }
}

fn read_u32(r: &mut impl Read) -> Result<u32, AnswerError> {
    let mut b = [0u8; 4];
    r.read_exact(&mut b).map_err(|_| AnswerError::Truncated)?;
    Ok(u32::from_be_bytes(b))
}

fn read_header(r: &mut impl Read) -> Result<(Vec<u8>, AnswerHeader), AnswerError> {
    let mut magic = [0u8; 16];
    r.read_exact(&mut magic)
        .map_err(|_| AnswerError::NotAnAnswer)?;
    if &magic != MAGIC {
        return Err(AnswerError::NotAnAnswer);
    }
    let len = read_u32(r)?;
    if len > MAX_HEADER {
        return Err(AnswerError::NotAnAnswer);
    }
    let mut h = vec![0u8; len as usize];
    r.read_exact(&mut h).map_err(|_| AnswerError::Truncated)?;
    let header: AnswerHeader =
        serde_json::from_slice(&h).map_err(|e| AnswerError::Corrupt(e.to_string()))?;
    Ok((h, header))
}

fn key32(s: &str) -> Result<[u8; 32], AnswerError> {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD
        .decode(s)
        .ok()
        .and_then(|v| v.try_into().ok())
        .ok_or_else(|| AnswerError::Corrupt("a key in the header is malformed".into()))
}

/// Hashes everything read through it.
struct HashRead<R> {
    inner: R,
    hash: Sha256,
}

impl<R: Read> Read for HashRead<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.hash.update(&buf[..n]);
        Ok(n)
    }
}

/// Checks the signature over the whole file (first pass) and that the answer comes from
/// the venue the request named and belongs to that request.
pub fn verify(
    file: impl Read,
    venue_fingerprint: &str,
    request_id: &[u8; 16],
) -> Result<AnswerHeader, AnswerError> {
    let mut r = HashRead {
        inner: file,
        hash: Sha256::new(),
    };
    let (_, header) = read_header(&mut r)?;
    loop {
        let len = read_u32(&mut r)?;
        if len == 0 {
            break;
        }
        if len > MAX_CHUNK {
            return Err(AnswerError::Corrupt("a chunk is too large".into()));
        }
        let copied = std::io::copy(&mut (&mut r).take(u64::from(len)), &mut std::io::sink())?;
        if copied != u64::from(len) {
            return Err(AnswerError::Truncated);
        }
    }
    let digest = r.hash.finalize();
    let mut file = r.inner;
    let mut sig = [0u8; 64];
    file.read_exact(&mut sig)
        .map_err(|_| AnswerError::Truncated)?;
    let mut extra = [0u8; 1];
    if file.read(&mut extra)? != 0 {
        return Err(AnswerError::Corrupt("data after the signature".into()));
    }
    let venue = VenuePublicKeys {
        seal: key32(&header.venue_seal_key)?,
        sign: key32(&header.venue_sign_key)?,
    };
    crypto::verify(&venue.sign, SIGNING_CONTEXT, &digest, &sig)
        .map_err(|_| AnswerError::BadSignature)?;
    let norm = |s: &str| {
        s.chars()
            .filter(|c| c.is_ascii_alphanumeric())
            .collect::<String>()
            .to_ascii_uppercase()
    };
    if norm(&venue.fingerprint_text()) != norm(venue_fingerprint) {
        return Err(AnswerError::OtherVenue {
            want: venue_fingerprint.to_string(),
            got: venue.fingerprint_text(),
        });
    }
    if header.request_id != crate::trust::hex(request_id) {
        return Err(AnswerError::OtherRequest);
    }
    Ok(header)
}

/// Reads the records of a verified answer (second pass), one chunk in memory at a time.
pub struct AnswerReader<R: Read> {
    file: R,
    ctx: Receiver,
    request_id: [u8; 16],
    index: u32,
    records: std::vec::IntoIter<AnswerRecord>,
    done: bool,
    seen: u64,
    pub header: AnswerHeader,
}

impl<R: Read> AnswerReader<R> {
    pub fn open(
        mut file: R,
        office: &OfficeKeys,
        request_id: &[u8; 16],
    ) -> Result<Self, AnswerError> {
        let (_, header) = read_header(&mut file)?;
        let enc = <X25519HkdfSha256 as Kem>::EncappedKey::from_bytes(&key32(&header.enc)?)
            .map_err(|_| AnswerError::Corrupt("the encapsulated key is malformed".into()))?;
        let ctx = hpke::setup_receiver::<ChaCha20Poly1305, HkdfSha256, X25519HkdfSha256>(
            &OpModeR::Base,
            &office_secret(office),
            &enc,
            &info(request_id),
        )
        .map_err(|_| AnswerError::NotForThisOffice)?;
        Ok(Self {
            file,
            ctx,
            request_id: *request_id,
            index: 0,
            records: Vec::new().into_iter(),
            done: false,
            seen: 0,
            header,
        })
    }

    fn next_chunk(&mut self) -> Result<bool, AnswerError> {
        let len = read_u32(&mut self.file)?;
        if len == 0 {
            return Err(AnswerError::Truncated);
        }
        if len > MAX_CHUNK {
            return Err(AnswerError::Corrupt("a chunk is too large".into()));
        }
        let mut ct = vec![0u8; len as usize];
        self.file
            .read_exact(&mut ct)
            .map_err(|_| AnswerError::Truncated)?;
        // Try as a middle chunk, then as the last one: the flag is bound into the AAD.
        let (pt, last) = match self
            .ctx
            .open(&ct, &chunk_aad(&self.request_id, self.index, false))
        {
            Ok(pt) => (pt, false),
            Err(_) => {
                let pt = self
                    .ctx
                    .open(&ct, &chunk_aad(&self.request_id, self.index, true))
                    .map_err(|_| {
                        if self.index == 0 {
                            AnswerError::NotForThisOffice
                        } else {
                            AnswerError::Corrupt("a chunk does not open".into())
                        }
                    })?;
                (pt, true)
            }
        };
        self.index += 1;
        self.records = decode_chunk(&pt)?.into_iter();
        Ok(last)
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

fn decode_chunk(pt: &[u8]) -> Result<Vec<AnswerRecord>, AnswerError> {
    let bad = || AnswerError::Corrupt("a record is malformed".into());
    let count = u16::from_be_bytes([*pt.first().ok_or_else(bad)?, *pt.get(1).ok_or_else(bad)?]);
    let mut pos = 2;
    let mut out = Vec::with_capacity(usize::from(count));
    for _ in 0..count {
        let alen = usize::from(*pt.get(pos).ok_or_else(bad)?);
        pos += 1;
        let area = String::from_utf8(pt.get(pos..pos + alen).ok_or_else(bad)?.to_vec())
            .map_err(|_| bad())?;
        pos += alen;
        let fixed = pt
            .get(pos..pos + 2 + 8 + 8 + 1 + CONTACT_BLOB_LEN)
            .ok_or_else(bad)?;
        let table = u16::from_be_bytes([fixed[0], fixed[1]]);
        let mut i8b = [0u8; 8];
        i8b.copy_from_slice(&fixed[2..10]);
        let checked_in_at = i64::from_be_bytes(i8b);
        i8b.copy_from_slice(&fixed[10..18]);
        let out_at = i64::from_be_bytes(i8b);
        let method = Method::from_byte(fixed[18]).ok_or_else(bad)?;
        out.push(AnswerRecord {
            area,
            table: (table != 0).then_some(table),
            checked_in_at,
            checked_out_at: (out_at >= 0).then_some(out_at),
            method,
            contact_blob: fixed[19..].to_vec(),
        });
        pos += fixed.len();
    }
    if pos != pt.len() {
        return Err(bad());
    }
    Ok(out)
}

impl<R: Read> Iterator for AnswerReader<R> {
    type Item = Result<AnswerRecord, AnswerError>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if let Some(r) = self.records.next() {
                self.seen += 1;
                return Some(Ok(r));
            }
            if self.done {
                if self.seen != self.header.records {
                    self.seen = self.header.records;
                    return Some(Err(AnswerError::Truncated));
                }
                return None;
            }
            match self.next_chunk() {
                Ok(last) => self.done = last,
                Err(e) => {
                    self.done = true;
                    self.seen = self.header.records;
                    return Some(Err(e));
                }
            }
        }
    }
}
