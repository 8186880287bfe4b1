//! Random tokens, their stored digests, and keyed MACs. Tokens are shown once to their
//! owner; only the SHA-256 digest is stored, so a database leak reveals no usable token.

use base64::Engine;
use hmac::{Hmac, Mac};
use rand::RngCore;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// 256 bits of randomness, URL-safe.
pub fn new_token() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// Digest stored in place of a token.
pub fn token_digest(token: &str) -> String {
    digest(token.as_bytes())
}

/// SHA-256 of `bytes`, in hex.
pub fn digest(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// A six-digit one-time code, uniformly distributed.
pub fn otp_code() -> String {
    // Rejection sampling keeps every code equally likely.
    loop {
        let n = rand::rng().next_u32();
        if n < u32::MAX - (u32::MAX % 1_000_000) {
            return format!("{:06}", n % 1_000_000);
        }
    }
}

/// HMAC-SHA256 of `parts` joined by `|`, hex encoded.
pub fn mac(key: &[u8], parts: &[&str]) -> String {
    hex::encode(mac_bytes(key, parts.join("|").as_bytes()))
}

/// Raw HMAC-SHA256 of `message`.
#[expect(clippy::expect_used, reason = "HMAC accepts keys of any length")]
pub fn mac_bytes(key: &[u8], message: &[u8]) -> [u8; 32] {
    let mut m = <Hmac<Sha256> as Mac>::new_from_slice(key).expect("any key length");
    m.update(message);
    m.finalize().into_bytes().into()
}

/// Constant-time equality for secrets of any length.
pub fn equal(a: &str, b: &str) -> bool {
    a.len() == b.len() && bool::from(a.as_bytes().ct_eq(b.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_unique_and_digests_stable() {
        let (a, b) = (new_token(), new_token());
        assert_ne!(a, b);
        assert_eq!(a.len(), 43);
        assert_eq!(token_digest(&a), token_digest(&a));
        assert_ne!(token_digest(&a), token_digest(&b));
    }

    #[test]
    fn otp_codes_are_six_digits() {
        for _ in 0..200 {
            let c = otp_code();
            assert_eq!(c.len(), 6);
            assert!(c.chars().all(|d| d.is_ascii_digit()));
        }
    }

    #[test]
    fn mac_depends_on_key_and_message() {
        assert_eq!(mac(b"k", &["a", "b"]), mac(b"k", &["a", "b"]));
        assert_ne!(mac(b"k", &["a", "b"]), mac(b"k2", &["a", "b"]));
        assert_ne!(mac(b"k", &["a", "b"]), mac(b"k", &["a", "c"]));
        assert!(equal("abc", "abc") && !equal("abc", "abd") && !equal("abc", "ab"));
    }
}
