//! Writing an answer (section 11): entries sealed chunk by chunk to the office, the whole
//! file hashed as it is written and signed at the end.

use std::io::Write;

use hpke::kem::X25519HkdfSha256;
use hpke::{Deserializable, Kem, OpModeS, Serializable};
use sha2::{Digest, Sha256};

use super::*;
use crate::crypto::SigningKey;
use crate::encoding::b64;
use crate::venue_keys::VenuePublicKeys;

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
            request_id: crate::encoding::hex(&to.request_id),
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
