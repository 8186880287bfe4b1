//! Clients of the outside services SoraiPixel talks to. Each speaks the real protocol and
//! has a clearly labelled dev-mode stand-in used when no credentials are configured
//! (for Razorpay and the image/vision models, the fake servers in the `fakes` crate).

pub mod ai;
pub mod mail;
pub mod razorpay;
pub mod shopify;
pub mod sms;
pub mod webhook;

/// Sends `request` to `provider`, counted and timed for the operators' metrics.
pub(crate) async fn send(
    provider: &'static str,
    request: reqwest::RequestBuilder,
) -> reqwest::Result<reqwest::Response> {
    let started = std::time::Instant::now();
    let result = request.send().await;
    let outcome = match &result {
        Ok(r) if r.status().is_success() => "ok",
        Ok(r) if r.status().is_client_error() => "refused",
        Ok(_) => "server_error",
        Err(e) if e.is_timeout() => "timeout",
        Err(_) => "unreachable",
    };
    record_call(provider, outcome, started);
    result
}

/// One call to an outside service: `soraipixel_provider_calls_total{provider, result}` and
/// `soraipixel_provider_call_seconds{provider}`.
pub(crate) fn record_call(provider: &'static str, result: &'static str, started: std::time::Instant) {
    metrics::counter!("soraipixel_provider_calls_total", "provider" => provider, "result" => result).increment(1);
    metrics::histogram!("soraipixel_provider_call_seconds", "provider" => provider)
        .record(started.elapsed().as_secs_f64());
}

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
