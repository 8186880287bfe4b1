//! Data keys and the key-encryption key. One random data key per user seals that user's
//! blobs; it is stored only wrapped by a `KeyWrapper` (the master key here; a cloud KMS can
//! implement the same trait).

use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use rand::RngCore;
use zeroize::Zeroizing;

const WRAP_AAD: &[u8] = b"soraipixel/data-key/v1";

/// A 256-bit data key, wiped from memory when dropped.
#[derive(Clone)]
pub struct DataKey(Zeroizing<[u8; 32]>);

impl DataKey {
    pub fn generate() -> Self {
        let mut k = Zeroizing::new([0u8; 32]);
        rand::rng().fill_bytes(k.as_mut());
        Self(k)
    }

    pub fn bytes(&self) -> &[u8; 32] {
        &self.0
    }
}

impl std::fmt::Debug for DataKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("DataKey(…)")
    }
}

#[derive(Debug, thiserror::Error)]
#[error("data key could not be unwrapped")]
pub struct UnwrapError;

pub trait KeyWrapper: Send + Sync {
    fn wrap(&self, key: &DataKey) -> Vec<u8>;
    fn unwrap_key(&self, wrapped: &[u8]) -> Result<DataKey, UnwrapError>;
}

/// Wraps data keys with XChaCha20-Poly1305 under a local key-encryption key.
pub struct LocalKeyWrapper {
    kek: Zeroizing<[u8; 32]>,
}

impl LocalKeyWrapper {
    pub fn new(kek: [u8; 32]) -> Self {
        Self { kek: Zeroizing::new(kek) }
    }
}

impl KeyWrapper for LocalKeyWrapper {
    fn wrap(&self, key: &DataKey) -> Vec<u8> {
        let mut nonce = [0u8; 24];
        rand::rng().fill_bytes(&mut nonce);
        let cipher = XChaCha20Poly1305::new(self.kek.as_ref().into());
        // Encryption with a valid key and nonce cannot fail for a 32-byte message.
        let sealed =
            cipher.encrypt(XNonce::from_slice(&nonce), Payload { msg: key.bytes(), aad: WRAP_AAD }).unwrap_or_default();
        [nonce.as_slice(), &sealed].concat()
    }

    fn unwrap_key(&self, wrapped: &[u8]) -> Result<DataKey, UnwrapError> {
        if wrapped.len() != 24 + 32 + 16 {
            return Err(UnwrapError);
        }
        let cipher = XChaCha20Poly1305::new(self.kek.as_ref().into());
        let plain = Zeroizing::new(
            cipher
                .decrypt(XNonce::from_slice(&wrapped[..24]), Payload { msg: &wrapped[24..], aad: WRAP_AAD })
                .map_err(|_| UnwrapError)?,
        );
        let mut k = Zeroizing::new([0u8; 32]);
        k.copy_from_slice(&plain);
        Ok(DataKey(k))
    }
}

/// Several key-encryption keys during a rotation: wraps with the first, unwraps with
/// whichever opens the key.
pub struct KeyRing(Vec<Box<dyn KeyWrapper>>);

impl KeyRing {
    pub fn new(current: Box<dyn KeyWrapper>, previous: Vec<Box<dyn KeyWrapper>>) -> Self {
        Self(std::iter::once(current).chain(previous).collect())
    }
}

impl KeyWrapper for KeyRing {
    fn wrap(&self, key: &DataKey) -> Vec<u8> {
        self.0[0].wrap(key)
    }

    fn unwrap_key(&self, wrapped: &[u8]) -> Result<DataKey, UnwrapError> {
        self.0.iter().find_map(|w| w.unwrap_key(wrapped).ok()).ok_or(UnwrapError)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wrap_round_trip_and_wrong_kek() {
        let w = LocalKeyWrapper::new([1; 32]);
        let key = DataKey::generate();
        let wrapped = w.wrap(&key);
        assert_eq!(w.unwrap_key(&wrapped).unwrap().bytes(), key.bytes());
        assert!(LocalKeyWrapper::new([2; 32]).unwrap_key(&wrapped).is_err());
        assert!(w.unwrap_key(&wrapped[1..]).is_err());
        assert_eq!(format!("{key:?}"), "DataKey(…)", "keys never reach logs");
    }

    #[test]
    fn a_ring_wraps_with_the_new_key_and_opens_with_either() {
        let (old, new) = (LocalKeyWrapper::new([1; 32]), LocalKeyWrapper::new([2; 32]));
        let key = DataKey::generate();
        let wrapped_before = old.wrap(&key);
        let ring = KeyRing::new(Box::new(LocalKeyWrapper::new([2; 32])), vec![Box::new(LocalKeyWrapper::new([1; 32]))]);
        assert_eq!(ring.unwrap_key(&wrapped_before).unwrap().bytes(), key.bytes(), "the old key still opens");
        let wrapped_now = ring.wrap(&key);
        assert_eq!(new.unwrap_key(&wrapped_now).unwrap().bytes(), key.bytes(), "wrapped with the new key");
        assert!(old.unwrap_key(&wrapped_now).is_err());
        assert!(ring.unwrap_key(&LocalKeyWrapper::new([3; 32]).wrap(&key)).is_err(), "a third key opens nothing");
    }
}
