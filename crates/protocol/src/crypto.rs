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

/// HPKE senders whose key encapsulation (the costly X25519 work) was done ahead of time, so
/// that sealing on the scan path is only the AEAD: in idle moments ([`Self::prepare`]), or,
/// when a batch leaves none, by a thread of their own ([`Self::prepare_in_background`]),
/// which works only once the prepared ones run out. Each prepared sender is used for
/// exactly one message; the result is the same as [`seal`].
#[derive(Default)]
pub struct PreparedSeals {
    ready: Vec<PreparedSender>,
    worker: Option<SealWorker>,
}

struct SealWorker {
    recipient: [u8; 32],
    /// Sets of senders, one for each info; the thread ends when this is dropped.
    sets: std::sync::mpsc::Receiver<Vec<PreparedSender>>,
    wake: std::sync::mpsc::SyncSender<()>,
    depth: usize,
    /// Sets taken since the thread was last woken.
    taken: usize,
}

impl SealWorker {
    /// Counts a set taken from the thread (`took`; else there was none) and says whether
    /// to wake it. It makes more beside the scans (a batch has no idle moment): in one go
    /// once half of its sets are taken, or at once when none is left, not beside every
    /// scan. Its X25519 work slows the disk syncs of whatever runs beside it; measured on
    /// two cores, waking it on every scan made the scans' syncs the slow ones.
    fn wake_due(&mut self, took: bool) -> bool {
        self.taken = if took { self.taken + 1 } else { self.depth };
        let due = self.taken >= self.depth.div_ceil(2);
        if due {
            self.taken = 0;
        }
        due
    }
}

struct PreparedSender {
    recipient: [u8; 32],
    info: &'static [u8],
    enc: [u8; ENC_LEN],
    ctx: SenderContext,
}

fn public_key(recipient: &[u8; 32]) -> Result<<X25519HkdfSha256 as Kem>::PublicKey, CryptoError> {
    <X25519HkdfSha256 as Kem>::PublicKey::from_bytes(recipient)
        .map_err(|_| CryptoError::BadPublicKey)
}

fn prepare_sender(
    pk: &<X25519HkdfSha256 as Kem>::PublicKey,
    recipient: &[u8; 32],
    info: &'static [u8],
) -> Result<PreparedSender, CryptoError> {
    let (enc, ctx) = hpke::setup_sender::<ChaCha20Poly1305, HkdfSha256, X25519HkdfSha256, _>(
        &OpModeS::Base,
        pk,
        info,
        &mut rand::rng(),
    )
    .map_err(|_| CryptoError::SealFailed)?;
    let mut e = [0u8; ENC_LEN];
    e.copy_from_slice(&enc.to_bytes());
    Ok(PreparedSender {
        recipient: *recipient,
        info,
        enc: e,
        ctx,
    })
}

/// The thread's work: whenever woken, fill `sets` up to its bound, then wait again.
fn prepare_sets(
    pk: <X25519HkdfSha256 as Kem>::PublicKey,
    recipient: [u8; 32],
    infos: &'static [&'static [u8]],
    sets: std::sync::mpsc::SyncSender<Vec<PreparedSender>>,
    wake: std::sync::mpsc::Receiver<()>,
) {
    use std::sync::mpsc::TrySendError;
    let mut spare = None;
    while wake.recv().is_ok() {
        loop {
            let set = match spare.take() {
                Some(set) => set,
                None => match infos
                    .iter()
                    .map(|info| prepare_sender(&pk, &recipient, info))
                    .collect::<Result<Vec<_>, _>>()
                {
                    Ok(set) => set,
                    // Then each message is sealed from scratch: slower, still correct.
                    Err(_) => return,
                },
            };
            match sets.try_send(set) {
                Ok(()) => {}
                Err(TrySendError::Full(set)) => {
                    spare = Some(set);
                    break;
                }
                Err(TrySendError::Disconnected(_)) => return,
            }
        }
    }
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
        // What the thread prepared is taken first.
        if let Some(worker) = &self.worker {
            if let Ok(set) = worker.sets.try_recv() {
                self.ready.extend(set);
                return self.prepare(recipient, info, target);
            }
        }
        let pk = public_key(recipient)?;
        for _ in have..target {
            self.ready.push(prepare_sender(&pk, recipient, info)?);
        }
        Ok(())
    }

    /// Lets a thread prepare up to `depth` sets of senders (one for each of `infos`) for
    /// `recipient` whenever the prepared ones run out. Does nothing if it already does;
    /// drops what was prepared for another recipient.
    pub fn prepare_in_background(
        &mut self,
        recipient: &[u8; 32],
        infos: &'static [&'static [u8]],
        depth: usize,
    ) -> Result<(), CryptoError> {
        if self.worker.as_ref().map(|w| &w.recipient) == Some(recipient) {
            return Ok(());
        }
        self.ready.retain(|p| &p.recipient == recipient);
        self.worker = None;
        let pk = public_key(recipient)?;
        let (sets_tx, sets) = std::sync::mpsc::sync_channel(depth);
        let (wake, wake_rx) = std::sync::mpsc::sync_channel(1);
        let key = *recipient;
        let spawned = std::thread::Builder::new()
            .name("tresen-seals".into())
            .spawn(move || prepare_sets(pk, key, infos, sets_tx, wake_rx));
        // Without the thread, what idle moments do not prepare is sealed from scratch.
        if spawned.is_ok() {
            self.worker = Some(SealWorker {
                recipient: *recipient,
                sets,
                wake,
                depth,
                taken: 0,
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
        let matching = |p: &PreparedSender| &p.recipient == recipient && p.info == info;
        let mut pos = self.ready.iter().position(matching);
        if let (None, Some(worker)) = (pos, &mut self.worker) {
            let took = match worker.sets.try_recv() {
                Ok(set) => {
                    self.ready.extend(set);
                    pos = self.ready.iter().position(matching);
                    true
                }
                Err(_) => false,
            };
            if worker.wake_due(took) {
                let _ = worker.wake.try_send(());
            }
        }
        let Some(pos) = pos else {
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

    /// Drops all prepared senders and stops preparing (after a key change).
    pub fn clear(&mut self) {
        self.ready.clear();
        self.worker = None;
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
    fn the_background_thread_prepares_only_once_the_prepared_ones_run_out() {
        const INFOS: &[&[u8]] = &[b"info", b"other"];
        let (sk, pk) = SealSecretKey::generate();
        let mut p = PreparedSeals::default();
        p.prepare(&pk, b"info", 1).unwrap();
        p.prepare_in_background(&pk, INFOS, 2).unwrap();
        let wait = std::time::Duration::from_millis(300);
        assert!(
            p.worker.as_ref().unwrap().sets.recv_timeout(wait).is_err(),
            "not woken: nothing prepared beside a scan"
        );
        let a = p.seal(&pk, b"info", b"aad", b"one").unwrap();
        assert!(p.worker.as_ref().unwrap().sets.try_recv().is_err());
        // Ran out: sealed from scratch, and the thread starts.
        let b = p.seal(&pk, b"info", b"aad", b"two").unwrap();
        let worker = p.worker.as_ref().unwrap();
        let set = worker.sets.recv_timeout(std::time::Duration::from_secs(10));
        let set = set.unwrap();
        let prepared_enc = set.iter().find(|s| s.info == b"info").unwrap().enc;
        p.ready.extend(set);
        let c = p.seal(&pk, b"info", b"aad", b"three").unwrap();
        assert_eq!(c[..ENC_LEN], prepared_enc, "the thread's sender was used");
        for (sealed, text) in [(&a, &b"one"[..]), (&b, b"two"), (&c, b"three")] {
            assert_eq!(&sk.open(b"info", b"aad", sealed).unwrap()[..], text);
        }
        // A new key: nothing prepared for the old one is used.
        let (sk2, pk2) = SealSecretKey::generate();
        p.prepare_in_background(&pk2, INFOS, 2).unwrap();
        assert!(p.ready.iter().all(|s| s.recipient == pk2));
        let d = p.seal(&pk2, b"other", b"aad", b"four").unwrap();
        assert_eq!(&sk2.open(b"other", b"aad", &d).unwrap()[..], b"four");
    }

    #[test]
    fn the_background_thread_is_woken_once_half_its_sets_are_taken_or_none_is_left() {
        let (_, pk) = SealSecretKey::generate();
        let mut p = PreparedSeals::default();
        p.prepare_in_background(&pk, &[b"info"], 64).unwrap();
        let worker = p.worker.as_mut().unwrap();
        for round in 0..2 {
            for taken in 1..32 {
                assert!(!worker.wake_due(true), "round {round}: {taken} taken");
            }
            assert!(worker.wake_due(true), "round {round}: 32 taken");
        }
        assert!(!worker.wake_due(true));
        assert!(worker.wake_due(false), "none left");
        assert!(!worker.wake_due(true), "counted anew");
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
