//! Reading an answer (section 11) in one pass over one open file: hashed, opened and
//! checked as it is read; nothing counts before the signature at the end checks out.

use std::io::Read;

use hpke::kem::X25519HkdfSha256;
use hpke::{Deserializable, Kem, OpModeR};
use sha2::{Digest, Sha256};

use super::*;
use crate::encoding;
use crate::fingerprint::normalize;
use crate::office_keys::OfficeKeys;
use crate::venue_keys::VenuePublicKeys;

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
    encoding::key32(s)
        .ok_or_else(|| AnswerError::Corrupt("a key in the header is malformed".into()))
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
        if normalize(&venue.fingerprint_text()) != normalize(venue_fingerprint) {
            return Err(AnswerError::OtherVenue {
                want: venue_fingerprint.to_string(),
                got: venue.fingerprint_text(),
            });
        }
        if header.request_id != crate::encoding::hex(request_id) {
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
