//! FAKE image and vision model APIs on one loopback server, each speaking its real
//! protocol: Gemini `generateContent` (API-key and Vertex AI paths), OpenAI
//! `/v1/images/edits` (multipart) and the fal.ai queue (submit, status, result, file).
//! The images are real: the local engine cuts the jewellery out of the reference photo
//! and renders it into a backdrop chosen from the prompt's words (velvet, marble, a model's
//! skin tone, the person photo for try-on), so fidelity checks run on genuine pixels.
//! Tests script what the next calls do (`Act`): a faithful image, a distorted piece, an
//! error status, a refusal.

// Handlers answer errors as ready responses; size does not matter in a test server.
#![allow(clippy::result_large_err)]

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};

use axum::Json;
use axum::extract::{Multipart, Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use base64::Engine;
use serde_json::{Value, json};

use imaging::{Background, Colour, Format, Metal, Recipe, Shadow, Texture};

/// What the fake does on its next image call.
#[derive(Debug, Clone, PartialEq)]
pub enum Act {
    /// A faithful rendering of the reference piece.
    Faithful,
    /// The piece half missing and turned silver: a fidelity check must reject it.
    Distort,
    /// Answer with this HTTP status and the provider's error shape.
    Fail(u16),
    /// Gemini: a safety block; OpenAI: a 400 moderation error.
    Refuse,
    /// A listing whose title and meta description are far too long (the next is fine).
    Verbose,
}

impl Act {
    /// `faithful`, `distort`, `refuse`, `verbose` or `fail:<status>`: how a dev-mode
    /// script names an act (`SORAIPIXEL_DEV_FAKE_AI_SCRIPT`).
    pub fn parse(s: &str) -> Option<Self> {
        match s.trim() {
            "faithful" => Some(Act::Faithful),
            "distort" => Some(Act::Distort),
            "refuse" => Some(Act::Refuse),
            "verbose" => Some(Act::Verbose),
            other => other.strip_prefix("fail:").and_then(|n| n.parse().ok()).map(Act::Fail),
        }
    }
}

/// One call the fake received.
#[derive(Debug, Clone)]
pub struct Call {
    /// `gemini`, `gemini-judge`, `openai`, `fal`.
    pub api: &'static str,
    pub model: String,
    pub prompt: String,
    pub images: usize,
}

#[derive(Default)]
struct Inner {
    script: VecDeque<Act>,
    calls: Vec<Call>,
    judge_score: Option<f64>,
    fal_requests: HashMap<String, (u32, Vec<u8>)>,
}

struct Shared {
    api_key: String,
    inner: Mutex<Inner>,
}

/// A running FAKE of the Gemini, OpenAI and fal.ai APIs.
#[derive(Clone)]
pub struct FakeAi {
    pub base_url: String,
    shared: Arc<Shared>,
}

type Reply = Result<Response, Response>;

impl FakeAi {
    pub async fn start() -> std::io::Result<Self> {
        let key: Vec<u8> = (0..18).map(|_| rand::random::<u8>()).collect();
        let shared = Arc::new(Shared {
            api_key: format!("fake-{}", base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(key)),
            inner: Mutex::default(),
        });
        let router = axum::Router::new()
            .route("/v1beta/models/{call}", post(gemini))
            .route("/v1/projects/{project}/locations/{location}/publishers/google/models/{call}", post(vertex))
            .route("/v1/images/edits", post(openai_edit))
            .route("/_fake/fal/files/{id}", get(fal_file))
            .route("/{owner}/{app}", post(fal_submit))
            .route("/{owner}/{app}/requests/{id}/status", get(fal_status))
            .route("/{owner}/{app}/requests/{id}", get(fal_result))
            .layer(axum::extract::DefaultBodyLimit::max(64 << 20))
            .with_state(shared.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let base_url = format!("http://{}", listener.local_addr()?);
        tokio::spawn(async move {
            if let Err(e) = axum::serve(listener, router).await {
                tracing::error!("FAKE AI server stopped: {e}");
            }
        });
        Ok(Self { base_url, shared })
    }

    /// The key every API expects (Gemini `x-goog-api-key`, OpenAI bearer, fal `Key …`, Vertex bearer).
    pub fn api_key(&self) -> &str {
        &self.shared.api_key
    }

    /// Queues what the next image calls do; after these, every call is faithful.
    pub fn script(&self, acts: impl IntoIterator<Item = Act>) {
        lock(&self.shared).script.extend(acts);
    }

    /// The score the fake judge gives (0..100); by default it scores by the piece count
    /// it can see and a fixed 90.
    pub fn judge_scores(&self, score: f64) {
        lock(&self.shared).judge_score = Some(score);
    }

    pub fn calls(&self) -> Vec<Call> {
        lock(&self.shared).calls.clone()
    }
}

fn lock(shared: &Shared) -> MutexGuard<'_, Inner> {
    shared.inner.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn error(status: u16, message: &str) -> Response {
    let code = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    (code, Json(json!({ "error": { "code": status, "message": message, "status": "FAKE" } }))).into_response()
}

fn authorised(shared: &Shared, headers: &HeaderMap) -> Result<(), Response> {
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).unwrap_or_default();
    let key = &shared.api_key;
    let ok = header("x-goog-api-key") == key
        || header("authorization") == format!("Bearer {key}")
        || header("authorization") == format!("Key {key}");
    if ok { Ok(()) } else { Err(error(401, "API key not valid. Please pass a valid API key.")) }
}

fn next_act(shared: &Shared, call: Call) -> Act {
    let mut inner = lock(shared);
    inner.calls.push(call);
    inner.script.pop_front().unwrap_or(Act::Faithful)
}

fn unbase64(s: &str) -> Result<Vec<u8>, Response> {
    base64::engine::general_purpose::STANDARD.decode(s.trim()).map_err(|_| error(400, "invalid base64 data"))
}

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

async fn vertex(
    State(shared): State<Arc<Shared>>,
    Path((_, _, call)): Path<(String, String, String)>,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> Reply {
    generate_content(shared, call, headers, body).await
}

async fn gemini(
    State(shared): State<Arc<Shared>>,
    Path(call): Path<String>,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> Reply {
    generate_content(shared, call, headers, body).await
}

async fn generate_content(shared: Arc<Shared>, call: String, headers: HeaderMap, body: Value) -> Reply {
    authorised(&shared, &headers)?;
    let Some(model) = call.strip_suffix(":generateContent") else {
        return Err(error(404, "method not found"));
    };
    let parts = body.pointer("/contents/0/parts").and_then(Value::as_array).cloned().unwrap_or_default();
    let prompt: String = parts.iter().filter_map(|p| p.get("text").and_then(Value::as_str)).collect();
    let mut images = Vec::new();
    for p in &parts {
        if let Some(data) = p.pointer("/inlineData/data").or_else(|| p.pointer("/inline_data/data")) {
            images.push(unbase64(data.as_str().unwrap_or_default())?);
        }
    }
    let usage = json!({ "promptTokenCount": 258 * images.len() + prompt.len() / 4, "candidatesTokenCount": 1290 });
    let wants_json =
        body.pointer("/generationConfig/responseMimeType").and_then(Value::as_str) == Some("application/json");
    let wants_listing = wants_json && body.pointer("/generationConfig/responseSchema/properties/title").is_some();
    if wants_listing {
        let act = next_act(
            &shared,
            Call { api: "gemini-listing", model: model.into(), prompt: prompt.clone(), images: images.len() },
        );
        let listing = listing(&prompt, act == Act::Verbose).to_string();
        return Ok(Json(json!({
            "candidates": [{ "content": { "role": "model", "parts": [{ "text": listing }] }, "finishReason": "STOP" }],
            "usageMetadata": usage,
        }))
        .into_response());
    }
    if wants_json {
        let call = Call { api: "gemini-judge", model: model.into(), prompt, images: images.len() };
        lock(&shared).calls.push(call);
        let score = lock(&shared).judge_score.unwrap_or(90.0);
        let verdict = json!({ "same_design": score >= 70.0, "score": score, "differences": [] }).to_string();
        return Ok(Json(json!({
            "candidates": [{ "content": { "role": "model", "parts": [{ "text": verdict }] }, "finishReason": "STOP" }],
            "usageMetadata": usage,
        }))
        .into_response());
    }
    let ratio = body.pointer("/generationConfig/imageConfig/aspectRatio").and_then(Value::as_str).map(str::to_owned);
    let act =
        next_act(&shared, Call { api: "gemini", model: model.into(), prompt: prompt.clone(), images: images.len() });
    match act {
        Act::Fail(status) => return Err(error(status, "The model is overloaded. Please try again later.")),
        Act::Refuse => {
            return Ok(
                Json(json!({ "promptFeedback": { "blockReason": "SAFETY" }, "usageMetadata": usage })).into_response()
            );
        }
        Act::Faithful | Act::Distort | Act::Verbose => {}
    }
    let png = paint(&images, &prompt, ratio.as_deref(), act == Act::Distort).await?;
    Ok(Json(json!({
        "candidates": [{
            "content": { "role": "model", "parts": [
                { "text": "Here is the photograph." },
                { "inlineData": { "mimeType": "image/png", "data": b64(&png) } }
            ]},
            "finishReason": "STOP"
        }],
        "usageMetadata": usage,
        "modelVersion": model,
    }))
    .into_response())
}

async fn openai_edit(State(shared): State<Arc<Shared>>, headers: HeaderMap, mut form: Multipart) -> Reply {
    authorised(&shared, &headers)?;
    let (mut model, mut prompt, mut size, mut images) = (String::new(), String::new(), String::new(), Vec::new());
    while let Ok(Some(field)) = form.next_field().await {
        let name = field.name().unwrap_or_default().to_owned();
        let bytes = field.bytes().await.map_err(|_| error(400, "bad multipart body"))?;
        match name.as_str() {
            "model" => model = String::from_utf8_lossy(&bytes).into_owned(),
            "prompt" => prompt = String::from_utf8_lossy(&bytes).into_owned(),
            "size" => size = String::from_utf8_lossy(&bytes).into_owned(),
            "image[]" | "image" => images.push(bytes.to_vec()),
            _ => {}
        }
    }
    if images.is_empty() || prompt.is_empty() {
        return Err(error(400, "image and prompt are required"));
    }
    let act =
        next_act(&shared, Call { api: "openai", model: model.clone(), prompt: prompt.clone(), images: images.len() });
    match act {
        Act::Fail(status) => return Err(error(status, "The server is overloaded.")),
        Act::Refuse => return Err(error(400, "Your request was rejected by the safety system.")),
        Act::Faithful | Act::Distort | Act::Verbose => {}
    }
    let ratio = match size.as_str() {
        "1024x1536" => Some("2:3"),
        "1536x1024" => Some("3:2"),
        _ => Some("1:1"),
    };
    let png = paint(&images, &prompt, ratio, act == Act::Distort).await?;
    Ok(Json(json!({
        "created": 1_764_000_000,
        "data": [{ "b64_json": b64(&png) }],
        "usage": { "total_tokens": 5000, "input_tokens": 800, "output_tokens": 4200,
                   "input_tokens_details": { "text_tokens": 100, "image_tokens": 700 } },
    }))
    .into_response())
}

async fn fal_submit(
    State(shared): State<Arc<Shared>>,
    Path((owner, app)): Path<(String, String)>,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> Reply {
    authorised(&shared, &headers)?;
    let uri = body.get("image_url").and_then(Value::as_str).unwrap_or_default();
    let Some((_, data)) = uri.split_once(";base64,") else {
        return Err((StatusCode::UNPROCESSABLE_ENTITY, Json(json!({ "detail": "image_url must be a data URI here" })))
            .into_response());
    };
    let bytes = unbase64(data)?;
    let scale = body.get("scale").and_then(Value::as_u64).unwrap_or(2).clamp(1, 4) as u32;
    let model = format!("{owner}/{app}");
    if let Act::Fail(status) =
        next_act(&shared, Call { api: "fal", model: model.clone(), prompt: String::new(), images: 1 })
    {
        return Err((
            StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_GATEWAY),
            Json(json!({ "detail": "fake failure" })),
        )
            .into_response());
    }
    let upscaled = tokio::task::spawn_blocking(move || upscale(&bytes, scale))
        .await
        .map_err(|_| error(500, "fake upscaler crashed"))??;
    let id = format!("{:032x}", rand::random::<u128>());
    lock(&shared).fal_requests.insert(id.clone(), (0, upscaled));
    Ok(Json(json!({
        "request_id": id,
        "status_url": format!("/{model}/requests/{id}/status"),
        "response_url": format!("/{model}/requests/{id}"),
        "queue_position": 0,
    }))
    .into_response())
}

async fn fal_status(
    State(shared): State<Arc<Shared>>,
    Path((_, _, id)): Path<(String, String, String)>,
    headers: HeaderMap,
) -> Reply {
    authorised(&shared, &headers)?;
    let mut inner = lock(&shared);
    let Some((polls, _)) = inner.fal_requests.get_mut(&id) else { return Err(error(404, "request not found")) };
    // In the queue on the first poll, done on the next: clients must poll.
    *polls += 1;
    let status = if *polls > 1 { "COMPLETED" } else { "IN_QUEUE" };
    Ok(Json(json!({ "status": status, "queue_position": 0 })).into_response())
}

async fn fal_result(
    State(shared): State<Arc<Shared>>,
    Path((_, _, id)): Path<(String, String, String)>,
    headers: HeaderMap,
) -> Reply {
    authorised(&shared, &headers)?;
    let inner = lock(&shared);
    let Some((polls, _)) = inner.fal_requests.get(&id) else { return Err(error(404, "request not found")) };
    if *polls < 2 {
        return Err(
            (StatusCode::BAD_REQUEST, Json(json!({ "detail": "Request is still in progress" }))).into_response()
        );
    }
    Ok(Json(json!({
        "image": { "url": format!("http://{}/_fake/fal/files/{id}", headers.get("host").and_then(|h| h.to_str().ok()).unwrap_or("127.0.0.1")), "content_type": "image/png" }
    }))
    .into_response())
}

async fn fal_file(State(shared): State<Arc<Shared>>, Path(id): Path<String>) -> Reply {
    let inner = lock(&shared);
    let (_, bytes) = inner.fal_requests.get(&id).ok_or_else(|| error(404, "file not found"))?;
    Ok(([("content-type", "image/png")], bytes.clone()).into_response())
}

/// A listing written from the prompt's facts (type, metal, brand, notes), the way a text
/// model answers the listing schema; `verbose` ignores the length rules.
fn listing(prompt: &str, verbose: bool) -> Value {
    let line = |key: &str| {
        prompt
            .lines()
            .find_map(|l| l.strip_prefix(key))
            .map(|v| v.trim().trim_end_matches('.').to_owned())
            .unwrap_or_default()
    };
    let (kind, metal, brand, notes) =
        (line("Type:"), line("Metal colour seen:"), line("Brand:"), line("Seller's notes:"));
    let collection = line("Collection: one of ").split(',').next().unwrap_or_default().trim().to_owned();
    let mut title = format!("{brand} {metal} {kind}, handcrafted with a polished finish");
    if verbose {
        title =
            format!("{title} and a timeless look for weddings, festivals, parties and every single day of the year");
    }
    let meta = if verbose {
        "A long meta description. ".repeat(12)
    } else {
        format!(
            "Discover the {metal} {kind} by {brand}: a polished, handcrafted piece with a timeless silhouette, made to be worn every day and on special occasions."
        )
    };
    json!({
        "title": title,
        "paragraphs": [format!("This {metal} {kind} from {brand} is polished by hand."), notes],
        "bullets": [format!("Metal: {metal}"), "Care: wipe with a soft cloth"],
        "meta_description": meta,
        "alt_text": format!("{metal} {kind} on a plain background"),
        "attributes": { "material": metal, "stone": "", "closure": "", "collection": collection, "occasion": "" },
        "tags": [kind, metal],
    })
}

/// The backdrop a prompt's words ask for.
fn backdrop(prompt: &str) -> Background {
    let p = prompt.to_ascii_lowercase();
    let colours: [(&str, [u8; 3]); 12] = [
        ("black", [22, 22, 24]),
        ("burgundy", [90, 20, 36]),
        ("emerald", [18, 69, 47]),
        ("navy", [22, 33, 63]),
        ("teal", [19, 95, 101]),
        ("terracotta", [191, 100, 67]),
        ("marigold", [245, 176, 66]),
        ("rose", [245, 205, 212]),
        ("sage", [163, 177, 138]),
        ("beige", [230, 213, 184]),
        ("grey", [160, 162, 165]),
        ("wood", [148, 99, 64]),
    ];
    let colour = colours.iter().find(|(w, _)| p.contains(w)).map(|(_, c)| Colour(*c));
    let texture = |t, c| Background::Texture { texture: t, colour: colour.unwrap_or(Colour(c)) };
    if p.contains("fashion catalogue") {
        // A model shot: a warm skin-and-studio gradient stands in for the person.
        return Background::Gradient { from: Colour([224, 186, 160]), to: Colour([120, 84, 66]), angle_deg: 90.0 };
    }
    if p.contains("velvet") {
        texture(Texture::Velvet, [40, 24, 48])
    } else if p.contains("marble") {
        texture(Texture::Marble, [239, 236, 230])
    } else if p.contains("linen") || p.contains("silk") {
        texture(Texture::Linen, [236, 228, 214])
    } else if let Some(c) = colour {
        Background::Gradient { from: c, to: Colour(c.0.map(|v| (f32::from(v) * 0.7) as u8)), angle_deg: 90.0 }
    } else {
        Background::White
    }
}

/// The metal a recolour prompt names, if any.
fn metal(prompt: &str) -> Option<Metal> {
    let p = prompt.to_ascii_lowercase();
    let after = p.split_once("change only its metal to")?.1;
    [
        ("rose gold", Metal::RoseGold),
        ("white gold", Metal::WhiteGold),
        ("antique", Metal::AntiqueGold),
        ("yellow gold", Metal::YellowGold),
        ("silver", Metal::Silver),
        ("platinum", Metal::Platinum),
        ("copper", Metal::Copper),
        ("gunmetal", Metal::Gunmetal),
    ]
    .into_iter()
    .find(|(w, _)| after.contains(w))
    .map(|(_, m)| m)
}

async fn paint(images: &[Vec<u8>], prompt: &str, ratio: Option<&str>, distort: bool) -> Result<Vec<u8>, Response> {
    let (images, prompt, ratio) = (images.to_vec(), prompt.to_owned(), ratio.map(str::to_owned));
    tokio::task::spawn_blocking(move || render(&images, &prompt, ratio.as_deref(), distort))
        .await
        .map_err(|_| error(500, "fake renderer crashed"))?
}

fn render(images: &[Vec<u8>], prompt: &str, ratio: Option<&str>, distort: bool) -> Result<Vec<u8>, Response> {
    let bad = |e: imaging::ImagingError| error(400, &format!("Unable to process input image: {e}"));
    let limits = imaging::Limits::default();
    let first = images.first().ok_or_else(|| error(400, "a reference image is required"))?;
    let decoded = imaging::decode(first, &limits).map_err(bad)?.within_pixels(4_000_000).map_err(bad)?;
    let mut m = imaging::cutout(&decoded, &imaging::MatteParams::default()).map_err(bad)?;
    if distort {
        // Cut away the right half of the piece: outline and piece count no longer match.
        if let Some(b) = imaging::frame::subject_bbox(&m.alpha, 24) {
            let mid = b.x0 + b.width() / 2;
            for (x, _, a) in m.alpha.enumerate_pixels_mut() {
                if x >= mid {
                    a.0[0] = 0;
                }
            }
        }
    }
    let aspect = ratio.and_then(|r| r.parse().ok());
    let recipe = Recipe {
        background: Some(backdrop(prompt)),
        shadow: Some(Shadow::drop()),
        aspect_ratio: aspect,
        recolour: if distort { Some(Metal::Silver) } else { metal(prompt) },
        closeup: prompt.contains("macro detail close-up"),
        fill: Some(0.6),
        output: Some(imaging::Output { format: Format::Png, quality: 90, long_side: Some(1024) }),
        ..Recipe::default()
    };
    let rendered = imaging::render_matte(&m, &recipe, &mut |_, _| {}).map_err(bad)?;
    match images.get(1) {
        // Try-on: the piece laid over the person photo.
        Some(person) => {
            let person = imaging::decode(person, &limits).map_err(bad)?;
            let piece = imaging::decode(&rendered.bytes, &limits).map_err(bad)?;
            // The piece as this fake rendered it, on a styled backdrop: cut out as it is.
            let params = imaging::MatteParams { refuse_unsuitable: false, learned: false, ..Default::default() };
            let m = imaging::cutout(&piece, &params).map_err(bad)?;
            let (w, h) = person.rgb.dimensions();
            let mut canvas = person.rgb;
            let layer = m.to_rgba();
            let small = imaging::resize::resize_rgba(
                &layer,
                (w / 3).max(1),
                (h / 3).max(1),
                fast_image_resize::FilterType::Lanczos3,
                None,
            )
            .map_err(bad)?;
            imaging::compose::over(&mut canvas, &small, i64::from(w / 3), i64::from(h / 3));
            imaging::encode_rgb(&canvas, Format::Png, 90).map_err(bad)
        }
        None => Ok(rendered.bytes),
    }
}

fn upscale(bytes: &[u8], scale: u32) -> Result<Vec<u8>, Response> {
    let bad = |e: imaging::ImagingError| error(422, &format!("cannot read image: {e}"));
    let decoded = imaging::decode(bytes, &imaging::Limits::default()).map_err(bad)?;
    let (w, h) = decoded.rgb.dimensions();
    let big =
        imaging::resize::resize_rgb(&decoded.rgb, w * scale, h * scale, fast_image_resize::FilterType::Lanczos3, None)
            .map_err(bad)?;
    imaging::encode_rgb(&big, Format::Png, 90).map_err(bad)
}
