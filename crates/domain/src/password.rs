//! Password rules and Argon2id hashing. Hashing is CPU-heavy: callers run it on a
//! blocking thread.

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use rand::RngCore;

use crate::{Email, Invalid};

pub const MAX_LENGTH: usize = 128;

/// The most common passwords from public breach corpora, lower-cased; a password equal to
/// one of these, or made of one plus digits/symbols, is refused.
const COMMON: &[&str] = &[
    "password",
    "123456",
    "12345678",
    "123456789",
    "1234567890",
    "qwerty",
    "qwertyuiop",
    "abc123",
    "111111",
    "iloveyou",
    "admin",
    "welcome",
    "monkey",
    "dragon",
    "letmein",
    "football",
    "baseball",
    "sunshine",
    "princess",
    "shadow",
    "superman",
    "michael",
    "master",
    "trustno1",
    "passw0rd",
    "password1",
    "qwerty123",
    "1q2w3e4r",
    "zaq12wsx",
    "asdfghjkl",
    "asdfgh",
    "zxcvbnm",
    "starwars",
    "whatever",
    "freedom",
    "hello",
    "charlie",
    "donald",
    "loveme",
    "computer",
    "internet",
    "india",
    "jewellery",
    "jewelry",
    "diamond",
    "golden",
    "soraipixel",
    "changeme",
    "secret",
    "default",
    "987654321",
    "0987654321",
    "google",
    "facebook",
    "samsung",
    "pakistan",
    "krishna",
    "ganesh",
];

/// Checks a new password: length, breached-pattern list, repetition, and the owner's email.
pub fn check(password: &str, min_length: usize, email: Option<&Email>) -> Result<(), Invalid> {
    let bad = |code, msg: &str| Err(Invalid::new(code, "password", msg));
    let chars = password.chars().count();
    if chars < min_length {
        return bad("password_too_short", &format!("Use at least {min_length} characters."));
    }
    if chars > MAX_LENGTH {
        return bad("password_too_long", &format!("Use at most {MAX_LENGTH} characters."));
    }
    let lower = password.to_lowercase();
    let core: String = lower.chars().filter(|c| c.is_alphabetic()).collect();
    let first = lower.chars().next();
    if lower.chars().all(|c| Some(c) == first) || is_sequence(&lower) {
        return bad("password_too_weak", "That password is too easy to guess.");
    }
    if COMMON.iter().any(|c| lower == *c || (!core.is_empty() && core == *c) || lower.starts_with(&format!("{c}{c}"))) {
        return bad("password_breached", "That password appears in lists of leaked passwords. Choose another.");
    }
    if let Some(email) = email {
        let local = email.local_part();
        if local.len() >= 4 && lower.contains(local) {
            return bad("password_too_weak", "Don't use your email address in your password.");
        }
    }
    Ok(())
}

/// Runs of consecutive characters such as "abcdefghij" or "9876543210".
fn is_sequence(s: &str) -> bool {
    let bytes = s.as_bytes();
    bytes.len() > 2
        && (bytes.windows(2).all(|w| w[1] == w[0].wrapping_add(1))
            || bytes.windows(2).all(|w| w[0] == w[1].wrapping_add(1)))
}

#[derive(Debug, thiserror::Error)]
#[error("password hashing failed: {0}")]
pub struct HashError(String);

/// Argon2id with the crate's defaults (19 MiB, 2 passes), a PHC string with its own salt.
pub fn hash(password: &str) -> Result<String, HashError> {
    let mut raw = [0u8; 16];
    rand::rng().fill_bytes(&mut raw);
    let salt = SaltString::encode_b64(&raw).map_err(|e| HashError(e.to_string()))?;
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| HashError(e.to_string()))
}

/// True when `password` matches `phc`. A malformed stored hash never matches.
pub fn verify(password: &str, phc: &str) -> bool {
    PasswordHash::new(phc)
        .map(|parsed| Argon2::default().verify_password(password.as_bytes(), &parsed).is_ok())
        .unwrap_or(false)
}

/// A valid hash of a random password, verified against when the account does not exist so
/// that unknown emails take as long to answer as wrong passwords.
pub fn decoy_hash() -> &'static str {
    static DECOY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DECOY.get_or_init(|| hash(&crate::secrets::new_token()).unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules() {
        let email = Email::parse("meera@example.com").unwrap();
        assert_eq!(check("short", 10, None).unwrap_err().code, "password_too_short");
        assert_eq!(check(&"x".repeat(129), 10, None).unwrap_err().code, "password_too_long");
        assert_eq!(check("aaaaaaaaaaaa", 10, None).unwrap_err().code, "password_too_weak");
        assert_eq!(check("abcdefghijk", 10, None).unwrap_err().code, "password_too_weak");
        assert_eq!(check("Password123!", 10, None).unwrap_err().code, "password_breached");
        assert_eq!(check("1234567890", 10, None).unwrap_err().code, "password_breached");
        assert_eq!(check("9876543210", 10, None).unwrap_err().code, "password_too_weak");
        assert_eq!(check("meera-rings-2026", 10, Some(&email)).unwrap_err().code, "password_too_weak");
        assert!(check("kundan necklace sparkle", 10, Some(&email)).is_ok());
    }

    #[test]
    fn hash_and_verify() {
        let phc = hash("kundan necklace sparkle").unwrap();
        assert!(phc.starts_with("$argon2id$"));
        assert!(verify("kundan necklace sparkle", &phc));
        assert!(!verify("kundan necklace sparkl", &phc));
        assert!(!verify("anything", "not-a-hash"));
        assert!(!verify("anything", decoy_hash()));
    }
}
