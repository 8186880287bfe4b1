//! OpenAI image edits (`POST /v1/images/edits`, multipart, `gpt-image` models): the
//! reference images as `image[]` files, the prompt, high input fidelity; the image comes
//! back base64-encoded with token usage.

use std::sync::Arc;

use serde::Deserialize;

use super::{AiError, BoxFuture, Guard, Image, ImageJob, ImageModel, Made, Pricing, Usage};

#[derive(Clone)]
pub struct OpenAi {
    http: reqwest::Client,
    base_url: String,
    api_key: String,
    model: String,
    pricing: Pricing,
    guard: Arc<Guard>,
}

#[derive(Deserialize)]
struct Reply {
    #[serde(default)]
    data: Vec<Datum>,
    #[serde(default)]
    usage: Option<ReplyUsage>,
}

#[derive(Deserialize)]
struct Datum {
    #[serde(default)]
    b64_json: Option<String>,
}

#[derive(Deserialize)]
struct ReplyUsage {
    #[serde(default)]
    input_tokens: i64,
    #[serde(default)]
    output_tokens: i64,
}

impl OpenAi {
    pub fn new(
        base_url: &str,
        api_key: &str,
        model: &str,
        pricing: Pricing,
        guard: Arc<Guard>,
    ) -> Result<Self, AiError> {
        Ok(Self {
            http: super::http_client()?,
            base_url: base_url.trim_end_matches('/').to_owned(),
            api_key: api_key.to_owned(),
            model: model.to_owned(),
            pricing,
            guard,
        })
    }
}

/// `"1024x1536"` and friends: the sizes the edits endpoint takes, nearest to a ratio.
fn size_for(ratio: Option<&str>) -> &'static str {
    let Some((w, h)) = ratio.and_then(|r| r.split_once(':')) else { return "auto" };
    let (w, h): (f32, f32) = (w.parse().unwrap_or(1.0), h.parse().unwrap_or(1.0));
    match w / h {
        r if r < 0.85 => "1024x1536",
        r if r > 1.18 => "1536x1024",
        _ => "1024x1024",
    }
}

fn file_name(i: usize, image: &Image) -> String {
    let ext = match image.mime.as_str() {
        "image/jpeg" => "jpg",
        "image/webp" => "webp",
        _ => "png",
    };
    format!("image-{i}.{ext}")
}

impl ImageModel for OpenAi {
    fn provider(&self) -> &'static str {
        "openai"
    }

    fn model(&self) -> &str {
        &self.model
    }

    fn make<'a>(&'a self, job: &'a ImageJob) -> BoxFuture<'a, Result<Made, AiError>> {
        Box::pin(self.guard.run(async move {
            let url = format!("{}/v1/images/edits", self.base_url);
            let size = size_for(job.aspect_ratio.as_deref());
            // A multipart body cannot be cloned, so each attempt builds its own.
            let build = || {
                let mut form = reqwest::multipart::Form::new()
                    .text("model", self.model.clone())
                    .text("prompt", job.prompt.clone())
                    .text("n", "1")
                    .text("size", size)
                    .text("quality", "high")
                    .text("input_fidelity", "high");
                for (i, image) in job.images.iter().enumerate() {
                    let part = || reqwest::multipart::Part::bytes(image.bytes.clone()).file_name(file_name(i, image));
                    form = form.part("image[]", part().mime_str(&image.mime).unwrap_or_else(|_| part()));
                }
                self.http.post(&url).bearer_auth(&self.api_key).multipart(form)
            };
            let (_, bytes) = super::send("openai", build, false).await?;
            let reply: Reply = serde_json::from_slice(&bytes).map_err(|e| AiError::Malformed(e.to_string()))?;
            let b64 = reply
                .data
                .first()
                .and_then(|d| d.b64_json.as_deref())
                .ok_or_else(|| AiError::Refused("no image in the reply".into()))?;
            let bytes = super::unbase64(b64)?;
            let mime = crate::ai::sniff_mime(&bytes);
            let usage = self.pricing.priced(Usage {
                input_tokens: reply.usage.as_ref().map_or(0, |u| u.input_tokens),
                output_tokens: reply.usage.as_ref().map_or(0, |u| u.output_tokens),
                images: 1,
                cost_micros: 0,
            });
            Ok(Made { image: Image { mime: mime.into(), bytes }, usage })
        }))
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn sizes_follow_the_ratio() {
        assert_eq!(super::size_for(Some("4:5")), "1024x1536");
        assert_eq!(super::size_for(Some("16:9")), "1536x1024");
        assert_eq!(super::size_for(Some("1:1")), "1024x1024");
        assert_eq!(super::size_for(None), "auto");
    }
}
