//! One error type for the engine, with stable machine-readable codes.

use thiserror::Error;

/// Everything the engine can refuse or fail at. `code()` is part of the public
/// contract (`{"error":{"code":…}}`): never rename a code, only add new ones.
#[derive(Debug, Error)]
pub enum ImagingError {
    #[error("unsupported image format{}", detail(.0))]
    UnsupportedFormat(String),
    #[error("the image data is corrupt: {0}")]
    CorruptImage(String),
    #[error("the image data is truncated")]
    TruncatedImage,
    #[error("the file is {bytes} bytes; the limit is {limit}")]
    ImageTooLarge { bytes: u64, limit: u64 },
    #[error("the image has {width}×{height} pixels; the limit is {limit} pixels")]
    TooManyPixels { width: u64, height: u64, limit: u64 },
    #[error("no subject was found on the background")]
    NoSubjectFound,
    #[error("This photo cannot be cut out cleanly. {}", .0.advice())]
    UnsuitableBackground(crate::matte::suitability::Problem),
    #[error("invalid recipe: {0}")]
    InvalidRecipe(String),
    #[error("invalid correction: {0}")]
    InvalidHints(String),
    #[error("encoding failed: {0}")]
    EncodeFailed(String),
    #[error("the image is empty (zero width or height)")]
    EmptyImage,
}

fn detail(s: &str) -> String {
    if s.is_empty() { String::new() } else { format!(": {s}") }
}

impl ImagingError {
    pub const UNSUITABLE_BACKGROUND: &'static str = "unsuitable_background";

    /// Stable snake_case code for API clients and logs.
    pub fn code(&self) -> &'static str {
        match self {
            Self::UnsupportedFormat(_) => "unsupported_format",
            Self::CorruptImage(_) => "corrupt_image",
            Self::TruncatedImage => "truncated_image",
            Self::ImageTooLarge { .. } => "image_too_large",
            Self::TooManyPixels { .. } => "too_many_pixels",
            Self::NoSubjectFound => "no_subject_found",
            Self::UnsuitableBackground(_) => Self::UNSUITABLE_BACKGROUND,
            Self::InvalidRecipe(_) => "invalid_recipe",
            Self::InvalidHints(_) => "invalid_hints",
            Self::EncodeFailed(_) => "encode_failed",
            Self::EmptyImage => "empty_image",
        }
    }

    pub(crate) fn invalid(msg: impl Into<String>) -> Self {
        Self::InvalidRecipe(msg.into())
    }
}

/// Map the `image` crate's errors to our codes. Truncation shows up as an I/O
/// "unexpected end of file" deep inside the decoders, so look for it.
impl From<image::ImageError> for ImagingError {
    fn from(e: image::ImageError) -> Self {
        use image::ImageError as E;
        match e {
            E::Unsupported(u) => Self::UnsupportedFormat(u.to_string()),
            E::Limits(l) => Self::CorruptImage(format!("decoder limit: {l}")),
            E::IoError(io) if io.kind() == std::io::ErrorKind::UnexpectedEof => Self::TruncatedImage,
            E::Encoding(enc) => Self::EncodeFailed(enc.to_string()),
            other => {
                let msg = other.to_string();
                let lower = msg.to_ascii_lowercase();
                if lower.contains("end of file")
                    || lower.contains("eof")
                    || lower.contains("truncat")
                    || lower.contains("not enough data")
                    || lower.contains("no more bytes")
                {
                    Self::TruncatedImage
                } else {
                    Self::CorruptImage(msg)
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_stable_snake_case() {
        let all = [
            ImagingError::UnsupportedFormat(String::new()),
            ImagingError::CorruptImage("x".into()),
            ImagingError::TruncatedImage,
            ImagingError::ImageTooLarge { bytes: 2, limit: 1 },
            ImagingError::TooManyPixels { width: 2, height: 2, limit: 1 },
            ImagingError::NoSubjectFound,
            ImagingError::InvalidRecipe("x".into()),
            ImagingError::EncodeFailed("x".into()),
            ImagingError::EmptyImage,
        ];
        let codes: Vec<_> = all.iter().map(|e| e.code()).collect();
        assert_eq!(
            codes,
            [
                "unsupported_format",
                "corrupt_image",
                "truncated_image",
                "image_too_large",
                "too_many_pixels",
                "no_subject_found",
                "invalid_recipe",
                "encode_failed",
                "empty_image"
            ]
        );
        for e in &all {
            assert!(!e.to_string().is_empty());
        }
    }
}
