//! The sealed-object format: XChaCha20-Poly1305 in the STREAM construction (64 KiB chunks,
//! each authenticated, the last one marked, so truncation and reordering are detected).
//!
//! ```text
//! "SPX1" | chunk size (u32 LE) | 19-byte random nonce prefix | chunk₀ … chunkₙ (ciphertext + 16-byte tag)
//! ```
//! Every chunk's associated data is the header plus the object's path: a blob copied to
//! another path, or under another user's key, does not open.

use chacha20poly1305::XChaCha20Poly1305;
use chacha20poly1305::aead::stream::{DecryptorBE32, EncryptorBE32};
use chacha20poly1305::aead::{KeyInit, Payload};
use rand::RngCore;

use crate::keys::DataKey;

const MAGIC: &[u8; 4] = b"SPX1";
const CHUNK: usize = 64 * 1024;
const PREFIX: usize = 19;
const HEADER: usize = 4 + 4 + PREFIX;
const TAG: usize = 16;

#[derive(Debug)]
pub struct SealError;

fn aad(header: &[u8], path: &str) -> Vec<u8> {
    [header, path.as_bytes()].concat()
}

pub fn seal(key: &DataKey, path: &str, plain: &[u8]) -> Result<Vec<u8>, SealError> {
    let mut prefix = [0u8; PREFIX];
    rand::rng().fill_bytes(&mut prefix);
    let mut out = Vec::with_capacity(HEADER + plain.len() + (plain.len() / CHUNK + 1) * TAG);
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&u32::try_from(CHUNK).map_err(|_| SealError)?.to_le_bytes());
    out.extend_from_slice(&prefix);
    let aad = aad(&out[..HEADER], path);
    let cipher = XChaCha20Poly1305::new(key.bytes().into());
    let mut stream = EncryptorBE32::from_aead(cipher, (&prefix).into());
    let mut chunks = plain.chunks(CHUNK).peekable();
    if chunks.peek().is_none() {
        let last = stream.encrypt_last(Payload { msg: &[], aad: &aad }).map_err(|_| SealError)?;
        out.extend_from_slice(&last);
        return Ok(out);
    }
    while let Some(chunk) = chunks.next() {
        if chunks.peek().is_some() {
            out.extend_from_slice(&stream.encrypt_next(Payload { msg: chunk, aad: &aad }).map_err(|_| SealError)?);
        } else {
            out.extend_from_slice(&stream.encrypt_last(Payload { msg: chunk, aad: &aad }).map_err(|_| SealError)?);
            break;
        }
    }
    Ok(out)
}

pub fn open(key: &DataKey, path: &str, sealed: &[u8]) -> Result<Vec<u8>, SealError> {
    if sealed.len() < HEADER + TAG || &sealed[..4] != MAGIC {
        return Err(SealError);
    }
    let chunk = u32::from_le_bytes([sealed[4], sealed[5], sealed[6], sealed[7]]) as usize;
    if chunk == 0 || chunk > 16 * 1024 * 1024 {
        return Err(SealError);
    }
    let prefix: [u8; PREFIX] = sealed[8..HEADER].try_into().map_err(|_| SealError)?;
    let aad = aad(&sealed[..HEADER], path);
    let cipher = XChaCha20Poly1305::new(key.bytes().into());
    let mut stream = DecryptorBE32::from_aead(cipher, (&prefix).into());
    let body = &sealed[HEADER..];
    let mut out = Vec::with_capacity(body.len());
    let mut chunks = body.chunks(chunk + TAG).peekable();
    while let Some(c) = chunks.next() {
        if chunks.peek().is_some() {
            out.extend_from_slice(&stream.decrypt_next(Payload { msg: c, aad: &aad }).map_err(|_| SealError)?);
        } else {
            out.extend_from_slice(&stream.decrypt_last(Payload { msg: c, aad: &aad }).map_err(|_| SealError)?);
            return Ok(out);
        }
    }
    Err(SealError)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_every_size_and_detects_tampering() {
        let key = DataKey::generate();
        for len in [0, 1, CHUNK - 1, CHUNK, CHUNK + 1, 3 * CHUNK + 7] {
            let plain: Vec<u8> = (0..len).map(|i| (i % 251) as u8).collect();
            let sealed = seal(&key, "u/1/a.jpg", &plain).unwrap();
            assert_eq!(open(&key, "u/1/a.jpg", &sealed).unwrap(), plain, "len {len}");
            assert!(open(&key, "u/2/a.jpg", &sealed).is_err(), "bound to its path");
            assert!(open(&DataKey::generate(), "u/1/a.jpg", &sealed).is_err(), "bound to its key");
            if len > 0 {
                let mut flipped = sealed.clone();
                let last = flipped.len() - 1;
                flipped[last] ^= 1;
                assert!(open(&key, "u/1/a.jpg", &flipped).is_err(), "tamper");
            }
        }
        let big: Vec<u8> = vec![7; 3 * CHUNK];
        let sealed = seal(&key, "p", &big).unwrap();
        assert!(open(&key, "p", &sealed[..sealed.len() - (CHUNK + TAG)]).is_err(), "truncation is detected");
    }
}
