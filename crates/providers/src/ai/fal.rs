//! fal.ai queue API (used for HD upscaling): submit to `{base}/{model}`, poll
//! `{base}/{model}/requests/{id}/status` until COMPLETED, read the result at
//! `{base}/{model}/requests/{id}`, then download the image it names. `Authorization: Key …`.
//! Status and result URLs are built from the configured base; the image URL the result
//! names is fetched only over https (or from the configured host), and like every reply it
//! is read up to a size cap.

use std::sync::Arc;
use std::time::Duration;

use serde::Deserialize;
use serde_json::json;

use super::{AiError, BoxFuture, Guard, Image, ImageJob, ImageModel, Made, Pricing, Usage};

#[derive(Clone)]
pub struct Fal {
    http: reqwest::Client,
    base_url: String,
    api_key: String,
    model: String,
    scale: u32,
    pricing: Pricing,
    guard: Arc<Guard>,
}

#[derive(Deserialize)]
struct Submitted {
    request_id: String,
}

#[derive(Deserialize)]
struct Status {
    status: String,
}

#[derive(Deserialize)]
struct Output {
    image: OutputImage,
}

#[derive(Deserialize)]
struct OutputImage {
    url: String,
    #[serde(default)]
    content_type: Option<String>,
}

impl Fal {
    pub fn new(
        base_url: &str,
        api_key: &str,
        model: &str,
        scale: u32,
        pricing: Pricing,
        guard: Arc<Guard>,
    ) -> Result<Self, AiError> {
        Ok(Self {
            http: super::http_client()?,
            base_url: base_url.trim_end_matches('/').to_owned(),
            api_key: api_key.to_owned(),
            model: model.trim_matches('/').to_owned(),
            scale,
            pricing,
            guard,
        })
    }

    fn auth(&self, r: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
        r.header("Authorization", format!("Key {}", self.api_key))
    }

    async fn get<T: serde::de::DeserializeOwned>(&self, url: &str) -> Result<T, AiError> {
        let (_, bytes) = super::send("fal", || self.auth(self.http.get(url)), true).await?;
        serde_json::from_slice(&bytes).map_err(|e| AiError::Malformed(e.to_string()))
    }

    fn may_fetch(&self, url: &str) -> bool {
        url.starts_with("https://") || url.starts_with(&format!("{}/", self.base_url))
    }
}

impl ImageModel for Fal {
    fn provider(&self) -> &'static str {
        "fal"
    }

    fn model(&self) -> &str {
        &self.model
    }

    fn make<'a>(&'a self, job: &'a ImageJob) -> BoxFuture<'a, Result<Made, AiError>> {
        Box::pin(self.guard.run(async move {
            let source = job.images.first().ok_or_else(|| AiError::Malformed("no image to upscale".into()))?;
            let data_uri = format!("data:{};base64,{}", source.mime, super::base64(&source.bytes));
            let body = json!({ "image_url": data_uri, "scale": self.scale });
            let submit = format!("{}/{}", self.base_url, self.model);
            let (_, bytes) = super::send("fal", || self.auth(self.http.post(&submit).json(&body)), false).await?;
            let Submitted { request_id } =
                serde_json::from_slice(&bytes).map_err(|e| AiError::Malformed(e.to_string()))?;
            if request_id.is_empty() || !request_id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-') {
                return Err(AiError::Malformed("bad request id".into()));
            }
            let request = format!("{submit}/requests/{request_id}");
            let mut wait = Duration::from_millis(200);
            loop {
                let s: Status = self.get(&format!("{request}/status")).await?;
                match s.status.as_str() {
                    "COMPLETED" => break,
                    "IN_QUEUE" | "IN_PROGRESS" => {}
                    other => return Err(AiError::Refused(format!("request ended {other}"))),
                }
                tokio::time::sleep(wait).await;
                wait = (wait * 2).min(Duration::from_secs(3));
            }
            let out: Output = self.get(&request).await?;
            if !self.may_fetch(&out.image.url) {
                return Err(AiError::Malformed("image URL is not https".into()));
            }
            let (_, bytes) = super::send("fal", || self.http.get(&out.image.url), true).await?;
            let mime = out.image.content_type.unwrap_or_else(|| crate::ai::sniff_mime(&bytes).into());
            let usage = self.pricing.priced(Usage { images: 1, ..Usage::default() });
            Ok(Made { image: Image { mime, bytes }, usage })
        }))
    }
}
