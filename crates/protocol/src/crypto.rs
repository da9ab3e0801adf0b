//! Thin wrappers around the standard primitives the protocol uses: HPKE (RFC 9180,
//! X25519-HKDF-SHA256 / HKDF-SHA256 / ChaCha20-Poly1305), Ed25519 and SHA-256.

use ed25519_dalek::Signer;
use hpke::{
    aead::ChaCha20Poly1305, kdf::HkdfSha256, kem::X25519HkdfSha256, Deserializable, Kem, OpModeR,
    OpModeS, Serializable,
};
use rand::RngCore;
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

/// Length of an HPKE encapsulated key (X25519).
pub const ENC_LEN: usize = 32;
/// Length of the AEAD tag appended to every HPKE ciphertext.
pub const TAG_LEN: usize = 16;
/// Extra bytes a sealed message has over its plaintext.
pub const SEAL_OVERHEAD: usize = ENC_LEN + TAG_LEN;

#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum CryptoError {
    #[error("the sealed data could not be opened with this key (wrong key or altered data)")]
    OpenFailed,
    #[error("the sealed data is too short or malformed")]
    Malformed,
    #[error("a public key is malformed")]
    BadPublicKey,
    #[error("encryption failed")]
    SealFailed,
    #[error("the signature does not match")]
    BadSignature,
}

pub fn random_bytes<const N: usize>() -> [u8; N] {
    let mut out = [0u8; N];
    rand::rng().fill_bytes(&mut out);
    out
}

pub fn sha256(parts: &[&[u8]]) -> [u8; 32] {
    let mut h = Sha256::new();
    for p in parts {
        h.update(p);
    }
    h.finalize().into()
}

/// The private half of an HPKE key pair; zeroized when dropped.
pub struct SealSecretKey {
    inner: <X25519HkdfSha256 as Kem>::PrivateKey,
}

impl SealSecretKey {
    /// Makes a fresh random key pair.
    pub fn generate() -> (Self, [u8; 32]) {
        let ikm = Zeroizing::new(random_bytes::<32>());
        let (sk, pk) = X25519HkdfSha256::derive_keypair(ikm.as_ref());
        (Self { inner: sk }, public_bytes(&pk))
    }

    pub fn from_bytes(bytes: &[u8]) -> Result<Self, CryptoError> {
        let inner = <X25519HkdfSha256 as Kem>::PrivateKey::from_bytes(bytes)
            .map_err(|_| CryptoError::Malformed)?;
        Ok(Self { inner })
    }

    pub fn to_bytes(&self) -> Zeroizing<[u8; 32]> {
        let mut out = Zeroizing::new([0u8; 32]);
        out.copy_from_slice(&self.inner.to_bytes());
        out
    }

    pub fn public_key(&self) -> [u8; 32] {
        public_bytes(&X25519HkdfSha256::sk_to_pk(&self.inner))
    }

    /// Opens `enc || ciphertext` made by [`seal`].
    pub fn open(
        &self,
        info: &[u8],
        aad: &[u8],
        sealed: &[u8],
    ) -> Result<Zeroizing<Vec<u8>>, CryptoError> {
        if sealed.len() < SEAL_OVERHEAD {
            return Err(CryptoError::Malformed);
        }
        let (enc, ct) = sealed.split_at(ENC_LEN);
        let enc = <X25519HkdfSha256 as Kem>::EncappedKey::from_bytes(enc)
            .map_err(|_| CryptoError::Malformed)?;
        hpke::single_shot_open::<ChaCha20Poly1305, HkdfSha256, X25519HkdfSha256>(
            &OpModeR::Base,
            &self.inner,
            &enc,
            info,
            ct,
            aad,
        )
        .map(Zeroizing::new)
        .map_err(|_| CryptoError::OpenFailed)
    }
}

fn public_bytes(pk: &<X25519HkdfSha256 as Kem>::PublicKey) -> [u8; 32] {
    let mut out = [0u8; 32];
    out.copy_from_slice(&pk.to_bytes());
    out
}

/// Seals `plaintext` to `recipient` with HPKE base mode; returns `enc || ciphertext`,
/// exactly `plaintext.len() + SEAL_OVERHEAD` bytes long.
pub fn seal(
    recipient: &[u8; 32],
    info: &[u8],
    aad: &[u8],
    plaintext: &[u8],
) -> Result<Vec<u8>, CryptoError> {
    let pk = <X25519HkdfSha256 as Kem>::PublicKey::from_bytes(recipient)
        .map_err(|_| CryptoError::BadPublicKey)?;
    let (enc, ct) = hpke::single_shot_seal::<ChaCha20Poly1305, HkdfSha256, X25519HkdfSha256, _>(
        &OpModeS::Base,
        &pk,
        info,
        plaintext,
        aad,
        &mut rand::rng(),
    )
    .map_err(|_| CryptoError::SealFailed)?;
    let mut out = Vec::with_capacity(ENC_LEN + ct.len());
    out.extend_from_slice(&enc.to_bytes());
    out.extend_from_slice(&ct);
    Ok(out)
}

type SenderContext = hpke::aead::AeadCtxS<ChaCha20Poly1305, HkdfSha256, X25519HkdfSha256>;

/// HPKE senders whose key encapsulation (the costly X25519 work) was done ahead of time,
/// in idle moments, so that sealing on the scan path is only the AEAD. Each prepared
/// sender is used for exactly one message; the result is the same as [`seal`].
#[derive(Default)]
pub struct PreparedSeals {
    ready: Vec<PreparedSender>,
}

struct PreparedSender {
    recipient: [u8; 32],
    info: &'static [u8],
    enc: [u8; ENC_LEN],
    ctx: SenderContext,
}

impl PreparedSeals {
    /// Prepares senders until `target` are ready for this recipient and info.
    pub fn prepare(
        &mut self,
        recipient: &[u8; 32],
        info: &'static [u8],
        target: usize,
    ) -> Result<(), CryptoError> {
        let have = self
            .ready
            .iter()
            .filter(|p| &p.recipient == recipient && p.info == info)
            .count();
        if have >= target {
            return Ok(());
        }
        let pk = <X25519HkdfSha256 as Kem>::PublicKey::from_bytes(recipient)
            .map_err(|_| CryptoError::BadPublicKey)?;
        for _ in have..target {
            let (enc, ctx) =
                hpke::setup_sender::<ChaCha20Poly1305, HkdfSha256, X25519HkdfSha256, _>(
                    &OpModeS::Base,
                    &pk,
                    info,
                    &mut rand::rng(),
                )
                .map_err(|_| CryptoError::SealFailed)?;
            let mut e = [0u8; ENC_LEN];
            e.copy_from_slice(&enc.to_bytes());
            self.ready.push(PreparedSender {
                recipient: *recipient,
                info,
                enc: e,
                ctx,
            });
        }
        Ok(())
    }

    /// Seals with a prepared sender if one is ready, else from scratch.
    pub fn seal(
        &mut self,
        recipient: &[u8; 32],
        info: &'static [u8],
        aad: &[u8],
        plaintext: &[u8],
    ) -> Result<Vec<u8>, CryptoError> {
        let Some(pos) = self
            .ready
            .iter()
            .position(|p| &p.recipient == recipient && p.info == info)
        else {
            return seal(recipient, info, aad, plaintext);
        };
        let mut sender = self.ready.swap_remove(pos);
        let ct = sender
            .ctx
            .seal(plaintext, aad)
            .map_err(|_| CryptoError::SealFailed)?;
        let mut out = Vec::with_capacity(ENC_LEN + ct.len());
        out.extend_from_slice(&sender.enc);
        out.extend_from_slice(&ct);
        Ok(out)
    }

    /// Drops all prepared senders (after a key change).
    pub fn clear(&mut self) {
        self.ready.clear();
    }
}

/// An Ed25519 signing key; zeroized when dropped.
pub struct SigningKey(ed25519_dalek::SigningKey);

impl SigningKey {
    pub fn generate() -> Self {
        let seed = Zeroizing::new(random_bytes::<32>());
        Self(ed25519_dalek::SigningKey::from_bytes(&seed))
    }

    pub fn from_bytes(bytes: &[u8]) -> Result<Self, CryptoError> {
        let seed: [u8; 32] = bytes.try_into().map_err(|_| CryptoError::Malformed)?;
        let seed = Zeroizing::new(seed);
        Ok(Self(ed25519_dalek::SigningKey::from_bytes(&seed)))
    }

    pub fn to_bytes(&self) -> Zeroizing<[u8; 32]> {
        Zeroizing::new(self.0.to_bytes())
    }

    pub fn public_key(&self) -> [u8; 32] {
        self.0.verifying_key().to_bytes()
    }

    /// Signs `context || message`; the context separates the uses of one key.
    pub fn sign(&self, context: &[u8], message: &[u8]) -> [u8; 64] {
        let mut m = Vec::with_capacity(context.len() + message.len());
        m.extend_from_slice(context);
        m.extend_from_slice(message);
        self.0.sign(&m).to_bytes()
    }
}

pub fn verify(
    public_key: &[u8; 32],
    context: &[u8],
    message: &[u8],
    signature: &[u8],
) -> Result<(), CryptoError> {
    let key = ed25519_dalek::VerifyingKey::from_bytes(public_key)
        .map_err(|_| CryptoError::BadPublicKey)?;
    let sig =
        ed25519_dalek::Signature::from_slice(signature).map_err(|_| CryptoError::BadSignature)?;
    let mut m = Vec::with_capacity(context.len() + message.len());
    m.extend_from_slice(context);
    m.extend_from_slice(message);
    key.verify_strict(&m, &sig)
        .map_err(|_| CryptoError::BadSignature)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seal_open_roundtrip_and_tamper() {
        let (sk, pk) = SealSecretKey::generate();
        let sealed = seal(&pk, b"info", b"aad", b"hello").unwrap();
        assert_eq!(sealed.len(), 5 + SEAL_OVERHEAD);
        assert_eq!(&sk.open(b"info", b"aad", &sealed).unwrap()[..], b"hello");
        assert_eq!(
            sk.open(b"info", b"other", &sealed),
            Err(CryptoError::OpenFailed)
        );
        let mut bad = sealed.clone();
        bad[40] ^= 1;
        assert_eq!(sk.open(b"info", b"aad", &bad), Err(CryptoError::OpenFailed));
        let (other, _) = SealSecretKey::generate();
        assert_eq!(
            other.open(b"info", b"aad", &sealed),
            Err(CryptoError::OpenFailed)
        );
        let again = SealSecretKey::from_bytes(&sk.to_bytes()[..]).unwrap();
        assert_eq!(again.public_key(), pk);
    }

    #[test]
    fn prepared_seals_open_like_fresh_ones() {
        let (sk, pk) = SealSecretKey::generate();
        let mut p = PreparedSeals::default();
        p.prepare(&pk, b"info", 2).unwrap();
        let a = p.seal(&pk, b"info", b"aad", b"one").unwrap();
        let b = p.seal(&pk, b"info", b"aad", b"two").unwrap();
        let c = p.seal(&pk, b"info", b"aad", b"three").unwrap();
        assert_ne!(a[..32], b[..32], "each prepared sender is used once");
        assert_eq!(&sk.open(b"info", b"aad", &a).unwrap()[..], b"one");
        assert_eq!(&sk.open(b"info", b"aad", &b).unwrap()[..], b"two");
        assert_eq!(&sk.open(b"info", b"aad", &c).unwrap()[..], b"three");
        assert!(sk.open(b"other", b"aad", &a).is_err());
    }

    #[test]
    fn signatures_bind_context() {
        let k = SigningKey::generate();
        let s = k.sign(b"ctx", b"msg");
        verify(&k.public_key(), b"ctx", b"msg", &s).unwrap();
        assert!(verify(&k.public_key(), b"cty", b"msg", &s).is_err());
        assert!(verify(&k.public_key(), b"ctx", b"msh", &s).is_err());
    }
}
