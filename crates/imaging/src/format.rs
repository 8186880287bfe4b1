//! Image container formats and magic-byte sniffing.

use serde::{Deserialize, Serialize};

/// A container format the engine reads (all four) or writes (all but HEIC).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Format {
    Jpeg,
    Png,
    Webp,
    Heic,
}

impl Format {
    pub fn extension(self) -> &'static str {
        match self {
            Format::Jpeg => "jpg",
            Format::Png => "png",
            Format::Webp => "webp",
            Format::Heic => "heic",
        }
    }

    pub fn mime(self) -> &'static str {
        match self {
            Format::Jpeg => "image/jpeg",
            Format::Png => "image/png",
            Format::Webp => "image/webp",
            Format::Heic => "image/heic",
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Format::Jpeg => "jpeg",
            Format::Png => "png",
            Format::Webp => "webp",
            Format::Heic => "heic",
        }
    }
}

impl std::str::FromStr for Format {
    type Err = crate::ImagingError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "jpeg" | "jpg" => Ok(Format::Jpeg),
            "png" => Ok(Format::Png),
            "webp" => Ok(Format::Webp),
            "heic" | "heif" => Ok(Format::Heic),
            other => Err(crate::ImagingError::UnsupportedFormat(other.to_string())),
        }
    }
}

/// HEIF brands that carry HEVC-coded still images (AVIF's `avif`/`avis` are not ours).
const HEIF_BRANDS: [&[u8; 4]; 8] = [b"heic", b"heix", b"hevc", b"hevx", b"heim", b"heis", b"mif1", b"msf1"];

/// Identify the container from its first bytes; never trusts file names.
pub fn sniff(bytes: &[u8]) -> Option<Format> {
    if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
        return Some(Format::Jpeg);
    }
    if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
        return Some(Format::Png);
    }
    if bytes.len() >= 12 && bytes.starts_with(b"RIFF") && bytes.get(8..12) == Some(b"WEBP") {
        return Some(Format::Webp);
    }
    if bytes.get(4..8) == Some(b"ftyp") {
        // Major brand at 8..12, compatible brands after the minor version.
        let box_len = bytes
            .get(0..4)
            .map(|b| u32::from_be_bytes([b[0], b[1], b[2], b[3]]) as usize)
            .unwrap_or(0)
            .min(bytes.len())
            .min(64);
        let major = bytes.get(8..12);
        let compatible = bytes.get(16..box_len.max(16)).unwrap_or(&[]);
        let is_heif = |b: &[u8]| HEIF_BRANDS.iter().any(|h| b == h.as_slice());
        if major.is_some_and(is_heif) || compatible.chunks_exact(4).any(is_heif) {
            return Some(Format::Heic);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sniffs_magic_bytes() {
        assert_eq!(sniff(&[0xFF, 0xD8, 0xFF, 0xE0, 0, 0]), Some(Format::Jpeg));
        assert_eq!(sniff(b"\x89PNG\r\n\x1a\n rest"), Some(Format::Png));
        assert_eq!(sniff(b"RIFF\x10\0\0\0WEBPVP8 "), Some(Format::Webp));
        assert_eq!(sniff(b"\0\0\0\x18ftypheic\0\0\0\0mif1heic"), Some(Format::Heic));
        assert_eq!(sniff(b"\0\0\0\x18ftypavif\0\0\0\0avifmiaf"), None);
        assert_eq!(sniff(b"GIF89a"), None);
        assert_eq!(sniff(b""), None);
        assert_eq!(sniff(b"RIFF\0\0\0\0WAVE"), None);
    }

    #[test]
    fn parses_names() {
        assert_eq!("JPG".parse::<Format>().ok(), Some(Format::Jpeg));
        assert!("gif".parse::<Format>().is_err());
    }
}
