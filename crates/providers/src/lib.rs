//! Clients of the outside services SoraiPixel talks to. Each speaks the real protocol and
//! has a clearly labelled dev-mode stand-in used when no credentials are configured
//! (for Razorpay and the image/vision models, the fake servers in the `fakes` crate).

pub mod ai;
pub mod mail;
pub mod razorpay;
pub mod shopify;
pub mod sms;
pub mod webhook;

/// A reply body, refused once it grows past `cap` bytes: a misbehaving server must not
/// fill our memory. The error is the transport's (without the URL) or "too large".
pub(crate) async fn read_capped(mut response: reqwest::Response, cap: usize) -> Result<Vec<u8>, String> {
    if response.content_length().is_some_and(|n| n > cap as u64) {
        return Err("reply too large".into());
    }
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(|e| e.without_url().to_string())? {
        if body.len() + chunk.len() > cap {
            return Err("reply too large".into());
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}
