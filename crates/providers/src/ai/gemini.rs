//! Google Gemini `generateContent`: reference images as inline parts, an image back as an
//! inline part (image models), or JSON that follows a response schema (vision questions).
//! Reached with an API key (`x-goog-api-key`, generativelanguage.googleapis.com) or through
//! Vertex AI with an OAuth access token (a service account's, refreshed outside this
//! process into a file that is read on every call).

use std::path::PathBuf;
use std::sync::Arc;

use serde::Deserialize;
use serde_json::{Value, json};

use super::{
    AiError, Answer, BoxFuture, Guard, Image, ImageJob, ImageModel, Made, Pricing, Question, Usage, VisionModel,
};

#[derive(Clone)]
pub enum GeminiAuth {
    ApiKey(String),
    /// Vertex AI: `{base}/v1/projects/{project}/locations/{location}/publishers/google/models/…`
    /// with `Authorization: Bearer <token read from token_file>`.
    Vertex {
        project: String,
        location: String,
        token_file: PathBuf,
    },
}

impl std::fmt::Debug for GeminiAuth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            GeminiAuth::ApiKey(_) => f.write_str("ApiKey(***)"),
            GeminiAuth::Vertex { project, location, .. } => write!(f, "Vertex({project}, {location})"),
        }
    }
}

#[derive(Clone)]
pub struct Gemini {
    http: reqwest::Client,
    base_url: String,
    auth: GeminiAuth,
    model: String,
    pricing: Pricing,
    guard: Arc<Guard>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Reply {
    #[serde(default)]
    candidates: Vec<Candidate>,
    #[serde(default)]
    usage_metadata: Option<UsageMetadata>,
    #[serde(default)]
    prompt_feedback: Option<Value>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Candidate {
    #[serde(default)]
    content: Option<Content>,
    #[serde(default)]
    finish_reason: Option<String>,
}

#[derive(Deserialize)]
struct Content {
    #[serde(default)]
    parts: Vec<Part>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Part {
    #[serde(default)]
    text: Option<String>,
    #[serde(default)]
    inline_data: Option<InlineData>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct InlineData {
    mime_type: String,
    data: String,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct UsageMetadata {
    #[serde(default)]
    prompt_token_count: i64,
    #[serde(default)]
    candidates_token_count: i64,
}

impl Gemini {
    pub fn new(
        base_url: &str,
        auth: GeminiAuth,
        model: &str,
        pricing: Pricing,
        guard: Arc<Guard>,
    ) -> Result<Self, AiError> {
        Ok(Self {
            http: super::http_client()?,
            base_url: base_url.trim_end_matches('/').to_owned(),
            auth,
            model: model.to_owned(),
            pricing,
            guard,
        })
    }

    fn url(&self) -> String {
        match &self.auth {
            GeminiAuth::ApiKey(_) => format!("{}/v1beta/models/{}:generateContent", self.base_url, self.model),
            GeminiAuth::Vertex { project, location, .. } => format!(
                "{}/v1/projects/{project}/locations/{location}/publishers/google/models/{}:generateContent",
                self.base_url, self.model
            ),
        }
    }

    async fn call(&self, body: &Value) -> Result<Reply, AiError> {
        let (url, bearer) = match &self.auth {
            GeminiAuth::ApiKey(_) => (self.url(), None),
            GeminiAuth::Vertex { token_file, .. } => {
                let token = tokio::fs::read_to_string(token_file)
                    .await
                    .map_err(|e| AiError::Unavailable(format!("Vertex AI token file: {e}")))?;
                (self.url(), Some(token.trim().to_owned()))
            }
        };
        let build = || {
            let r = self.http.post(&url).json(body);
            match (&self.auth, &bearer) {
                (GeminiAuth::ApiKey(key), _) => r.header("x-goog-api-key", key),
                (_, Some(token)) => r.bearer_auth(token),
                _ => r,
            }
        };
        let (_, bytes) = super::send("gemini", build, false).await?;
        serde_json::from_slice(&bytes).map_err(|e| AiError::Malformed(e.to_string()))
    }

    fn usage(&self, reply: &Reply, images: i64) -> Usage {
        let m = reply.usage_metadata.as_ref();
        self.pricing.priced(Usage {
            input_tokens: m.map_or(0, |m| m.prompt_token_count),
            output_tokens: m.map_or(0, |m| m.candidates_token_count),
            images,
            cost_micros: 0,
        })
    }
}

fn parts(prompt: &str, images: &[Image]) -> Vec<Value> {
    let mut parts = vec![json!({ "text": prompt })];
    parts.extend(
        images.iter().map(|i| json!({ "inlineData": { "mimeType": i.mime, "data": super::base64(&i.bytes) } })),
    );
    parts
}

/// Why a reply holds nothing usable: a blocked prompt or a finish reason other than STOP.
fn refusal(reply: &Reply) -> String {
    if let Some(reason) = reply.prompt_feedback.as_ref().and_then(|f| f.get("blockReason")).and_then(Value::as_str) {
        return format!("prompt blocked ({reason})");
    }
    match reply.candidates.first().and_then(|c| c.finish_reason.clone()) {
        Some(r) => format!("no image (finish reason {r})"),
        None => "no candidates".into(),
    }
}

impl ImageModel for Gemini {
    fn provider(&self) -> &'static str {
        "gemini"
    }

    fn model(&self) -> &str {
        &self.model
    }

    fn make<'a>(&'a self, job: &'a ImageJob) -> BoxFuture<'a, Result<Made, AiError>> {
        Box::pin(self.guard.run(async move {
            let mut config = json!({ "responseModalities": ["TEXT", "IMAGE"] });
            if let Some(ratio) = &job.aspect_ratio {
                config["imageConfig"] = json!({ "aspectRatio": ratio });
            }
            let body = json!({
                "contents": [{ "role": "user", "parts": parts(&job.prompt, &job.images) }],
                "generationConfig": config,
            });
            let reply = self.call(&body).await?;
            let image = reply
                .candidates
                .iter()
                .filter_map(|c| c.content.as_ref())
                .flat_map(|c| &c.parts)
                .find_map(|p| p.inline_data.as_ref())
                .ok_or_else(|| AiError::Refused(refusal(&reply)))?;
            let bytes = super::unbase64(&image.data)?;
            Ok(Made { image: Image { mime: image.mime_type.clone(), bytes }, usage: self.usage(&reply, 1) })
        }))
    }
}

impl VisionModel for Gemini {
    fn provider(&self) -> &'static str {
        "gemini"
    }

    fn model(&self) -> &str {
        &self.model
    }

    fn ask<'a>(&'a self, q: &'a Question) -> BoxFuture<'a, Result<Answer, AiError>> {
        Box::pin(self.guard.run(async move {
            let body = json!({
                "contents": [{ "role": "user", "parts": parts(&q.prompt, &q.images) }],
                "generationConfig": { "responseMimeType": "application/json", "responseSchema": q.schema },
            });
            let reply = self.call(&body).await?;
            let text: String = reply
                .candidates
                .first()
                .and_then(|c| c.content.as_ref())
                .map(|c| c.parts.iter().filter_map(|p| p.text.as_deref()).collect())
                .ok_or_else(|| AiError::Refused(refusal(&reply)))?;
            let json = serde_json::from_str(&text).map_err(|e| AiError::Malformed(format!("not JSON: {e}")))?;
            Ok(Answer { json, usage: self.usage(&reply, 0) })
        }))
    }
}
