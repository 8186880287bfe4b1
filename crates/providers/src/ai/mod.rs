//! Image and text/vision models behind two traits, with clients of the real APIs:
//! Google Gemini (`generateContent`, API key or Vertex AI), OpenAI image edits, and the
//! fal.ai queue (upscaling). Every call goes through a [`Guard`] (timeout, per-provider
//! concurrency limit, circuit breaker) and reports its [`Usage`] so the caller can record
//! the cost. Fakes of all three protocols live in the `fakes` crate.

mod fal;
mod gemini;
mod guard;
mod openai;

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use serde::{Deserialize, Serialize};

pub use fal::Fal;
pub use gemini::{Gemini, GeminiAuth};
pub use guard::{Guard, GuardSettings};
pub use openai::OpenAi;

pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// An encoded image (PNG, JPEG or WebP) with its media type.
#[derive(Clone)]
pub struct Image {
    pub mime: String,
    pub bytes: Vec<u8>,
}

impl std::fmt::Debug for Image {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Image({}, {} bytes)", self.mime, self.bytes.len())
    }
}

/// Make one image from a prompt and reference images (the first is the jewellery).
#[derive(Debug, Clone)]
pub struct ImageJob {
    pub prompt: String,
    pub images: Vec<Image>,
    /// `"4:5"` and the like, when the model takes one.
    pub aspect_ratio: Option<String>,
}

/// Ask about images and get JSON that follows `schema` (an OpenAPI-style object schema).
#[derive(Debug, Clone)]
pub struct Question {
    pub prompt: String,
    pub images: Vec<Image>,
    pub schema: serde_json::Value,
}

/// What one call used, as the provider reported it, and what it cost us.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Usage {
    pub input_tokens: i64,
    pub output_tokens: i64,
    pub images: i64,
    /// US dollars × 1 000 000, from the configured [`Pricing`].
    pub cost_micros: i64,
}

#[derive(Debug, Clone)]
pub struct Made {
    pub image: Image,
    pub usage: Usage,
}

#[derive(Debug, Clone)]
pub struct Answer {
    pub json: serde_json::Value,
    pub usage: Usage,
}

/// What a model costs us, in US dollars × 1 000 000.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Pricing {
    #[serde(default)]
    pub per_image_micros: i64,
    #[serde(default)]
    pub per_million_input_micros: i64,
    #[serde(default)]
    pub per_million_output_micros: i64,
}

impl Pricing {
    fn priced(&self, mut u: Usage) -> Usage {
        u.cost_micros = u.images.saturating_mul(self.per_image_micros)
            + u.input_tokens.saturating_mul(self.per_million_input_micros) / 1_000_000
            + u.output_tokens.saturating_mul(self.per_million_output_micros) / 1_000_000;
        u
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AiError {
    /// The circuit is open or the call was not attempted: try another model or later.
    #[error("{0} is unavailable right now")]
    Unavailable(String),
    #[error("network error: {0}")]
    Transport(String),
    #[error("timed out")]
    Timeout,
    #[error("the provider answered {status}: {message}")]
    Api { status: u16, message: String },
    /// The model declined (safety filters) or returned no image.
    #[error("the model declined: {0}")]
    Refused(String),
    #[error("unexpected reply: {0}")]
    Malformed(String),
}

impl AiError {
    /// Stable code, recorded with the call.
    pub fn code(&self) -> &'static str {
        match self {
            AiError::Unavailable(_) => "unavailable",
            AiError::Transport(_) => "transport",
            AiError::Timeout => "timeout",
            AiError::Api { .. } => "api_error",
            AiError::Refused(_) => "refused",
            AiError::Malformed(_) => "malformed",
        }
    }

    /// Whether this says something about the provider's health (opens the circuit);
    /// a refusal or a bad request does not.
    fn is_outage(&self) -> bool {
        match self {
            AiError::Transport(_) | AiError::Timeout | AiError::Malformed(_) => true,
            AiError::Api { status, .. } => *status >= 500 || *status == 429,
            AiError::Unavailable(_) | AiError::Refused(_) => false,
        }
    }
}

/// Generates or edits images.
pub trait ImageModel: Send + Sync {
    /// `gemini`, `openai`, `fal`.
    fn provider(&self) -> &'static str;
    fn model(&self) -> &str;
    fn make<'a>(&'a self, job: &'a ImageJob) -> BoxFuture<'a, Result<Made, AiError>>;
}

/// Answers questions about images with structured JSON.
pub trait VisionModel: Send + Sync {
    fn provider(&self) -> &'static str;
    fn model(&self) -> &str;
    fn ask<'a>(&'a self, question: &'a Question) -> BoxFuture<'a, Result<Answer, AiError>>;
}

pub(crate) fn http_client() -> Result<reqwest::Client, AiError> {
    // The guard bounds a whole call (including polling); this bounds one exchange.
    reqwest::Client::builder()
        .timeout(Duration::from_secs(180))
        .connect_timeout(Duration::from_secs(10))
        .build()
        .map_err(|e| AiError::Transport(e.to_string()))
}

/// A request that costs money is sent again only when it was certainly not processed:
/// the connection never opened, or the provider said so (429 rate limit, 503 overloaded).
/// Reads (`idempotent`) are retried on any transient failure.
pub(crate) async fn send(
    provider: &'static str,
    build: impl Fn() -> reqwest::RequestBuilder,
    idempotent: bool,
) -> Result<(u16, Vec<u8>), AiError> {
    let mut last = AiError::Unavailable("not attempted".into());
    for attempt in 0..3u32 {
        if attempt > 0 {
            tokio::time::sleep(Duration::from_millis(400 * 3u64.pow(attempt - 1))).await;
        }
        match crate::send(provider, build()).await {
            Err(e) => {
                let unsent = e.is_connect();
                last = if e.is_timeout() { AiError::Timeout } else { AiError::Transport(e.without_url().to_string()) };
                if !(unsent || idempotent) {
                    return Err(last);
                }
            }
            Ok(response) => {
                let status = response.status().as_u16();
                let body = crate::read_capped(response, MAX_REPLY).await.map_err(AiError::Transport)?;
                if (200..300).contains(&status) {
                    return Ok((status, body));
                }
                last = AiError::Api { status, message: error_message(&body) };
                let not_processed = status == 429 || status == 503;
                if !(not_processed || (idempotent && status >= 500)) {
                    return Err(last);
                }
            }
        }
    }
    Err(last)
}

/// Replies larger than this are refused (a 4K PNG is about 25 MB; base64 adds a third).
const MAX_REPLY: usize = 64 << 20;

/// The provider's error message (`{"error":{"message"}}` for Google and OpenAI,
/// `{"detail"}` for fal), shortened; never the request.
fn error_message(body: &[u8]) -> String {
    let v: serde_json::Value = serde_json::from_slice(body).unwrap_or_default();
    let text = v
        .pointer("/error/message")
        .or_else(|| v.get("detail"))
        .and_then(|m| m.as_str().map(str::to_owned))
        .unwrap_or_else(|| String::from_utf8_lossy(body).into_owned());
    text.chars().take(300).collect()
}

/// The media type of image bytes by their signature (replies do not always say).
pub(crate) fn sniff_mime(bytes: &[u8]) -> &'static str {
    match bytes {
        [0xFF, 0xD8, ..] => "image/jpeg",
        [b'R', b'I', b'F', b'F', _, _, _, _, b'W', b'E', b'B', b'P', ..] => "image/webp",
        _ => "image/png",
    }
}

pub(crate) fn base64(bytes: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

pub(crate) fn unbase64(text: &str) -> Result<Vec<u8>, AiError> {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.decode(text.trim()).map_err(|e| AiError::Malformed(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn costs_follow_the_pricing() {
        let p = Pricing { per_image_micros: 39_000, per_million_input_micros: 300_000, per_million_output_micros: 0 };
        let u = p.priced(Usage { input_tokens: 2_000_000, output_tokens: 1290, images: 1, cost_micros: 0 });
        assert_eq!(u.cost_micros, 39_000 + 600_000);
    }

    #[test]
    fn only_outages_open_the_circuit() {
        assert!(AiError::Timeout.is_outage());
        assert!(AiError::Api { status: 503, message: String::new() }.is_outage());
        assert!(!AiError::Api { status: 400, message: String::new() }.is_outage());
        assert!(!AiError::Refused("safety".into()).is_outage());
    }

    #[test]
    fn error_messages_come_from_the_body() {
        assert_eq!(error_message(br#"{"error":{"message":"API key not valid","code":400}}"#), "API key not valid");
        assert_eq!(error_message(br#"{"detail":"Unauthorized"}"#), "Unauthorized");
        assert_eq!(error_message(b"oops"), "oops");
    }
}
