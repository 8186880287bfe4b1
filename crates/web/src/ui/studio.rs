//! The studio: upload photos, choose what to make with the cost shown, follow progress,
//! see and download the results with their marketplace checks.

use askama::Template;
use axum::body::Bytes;
use axum::extract::{Multipart, Path, Query, RawQuery, State};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use serde_json::Value;

use app::creations::{CreationRequest, FormChoices, Options};
use app::sessions::Principal;
use db::creations::{Creation, Output};
use db::uploads::Upload;

use super::{FormError, Layout, render, to_login};
use crate::AppState;
use crate::error::ApiError;
use crate::extract::{ClientInfo, MaybeAuth};
use crate::multipart::{Form, Part};

/// Marketplace presets offered in the form, with their labels.
const PRESETS: &[(&str, &str)] = &[
    ("amazon", "Amazon (main image)"),
    ("etsy", "Etsy"),
    ("shopify", "Shopify"),
    ("instagram_square", "Instagram square"),
    ("instagram_portrait", "Instagram portrait"),
    ("flipkart", "Flipkart"),
    ("myntra", "Myntra"),
    ("ajio", "Ajio"),
    ("meesho", "Meesho"),
    ("ebay", "eBay"),
    ("google_shopping", "Google Shopping"),
    ("whatsapp", "WhatsApp catalogue"),
];

const BACKGROUNDS: &[(&str, &str)] = &[
    ("white", "Pure white"),
    ("#eeeae4", "Warm ivory"),
    ("#f1e4e4", "Dusty rose"),
    ("#e3e9e1", "Sage"),
    ("#1f2433", "Deep navy"),
    ("marble", "White marble"),
    ("linen", "Natural linen"),
    ("velvet", "Velvet"),
    ("transparent", "Transparent (PNG, no background)"),
    ("custom", "Your own colour…"),
];

const ASPECTS: &[(&str, &str)] = &[
    ("", "As the marketplace asks"),
    ("1:1", "Square 1:1"),
    ("4:5", "Portrait 4:5"),
    ("3:4", "Portrait 3:4"),
    ("9:16", "Story 9:16"),
    ("16:9", "Wide 16:9"),
];

const METALS: &[(&str, &str)] = &[
    ("", "Keep the metal as photographed"),
    ("yellow_gold", "Yellow gold"),
    ("rose_gold", "Rose gold"),
    ("white_gold", "White gold"),
    ("silver", "Silver"),
    ("platinum", "Platinum"),
    ("antique_gold", "Antique gold"),
];

/// Creations shown per page of "My creations".
const CREATIONS_PER_PAGE: i64 = 12;

#[derive(Template)]
#[template(path = "studio.html")]
struct Studio {
    layout: Layout,
    uploads: Vec<Upload>,
    creations: Vec<Creation>,
    /// `?before=` of the next page of creations, when there is one.
    older: Option<i64>,
    notice: Option<&'static str>,
    error: FormError,
}

#[derive(Deserialize, Default)]
pub struct StudioQuery {
    before: Option<i64>,
    /// What was just deleted (`photo` or `images`), to say so.
    deleted: Option<String>,
}

/// What the studio says after a deletion.
fn deleted_notice(what: Option<&str>) -> Option<&'static str> {
    match what? {
        "photo" => Some("The photo was deleted from our storage."),
        "images" => Some("The images were deleted from our storage."),
        _ => None,
    }
}

async fn studio_page(state: &AppState, p: &Principal, q: &StudioQuery, err: Option<&ApiError>) -> Response {
    let (uploads, creations) =
        match (state.app.uploads(p, None, 48).await, state.app.creations(p, q.before, CREATIONS_PER_PAGE + 1).await) {
            (Ok(u), Ok(c)) => (u, c),
            (Err(e), _) | (_, Err(e)) => return ApiError::from(e).into_response(),
        };
    let (creations, older) = page_of(creations, CREATIONS_PER_PAGE, |c| c.created_at);
    render(
        Studio {
            layout: Layout::new(state, Some(p), "Studio"),
            uploads,
            creations,
            older,
            notice: deleted_notice(q.deleted.as_deref()),
            error: err.map(FormError::from).unwrap_or_default(),
        },
        err,
    )
}

/// The first `size` items, and the cursor of the next page when there were more.
fn page_of<T>(mut items: Vec<T>, size: i64, cursor: impl Fn(&T) -> i64) -> (Vec<T>, Option<i64>) {
    let size = usize::try_from(size).unwrap_or(usize::MAX);
    if items.len() <= size {
        return (items, None);
    }
    items.truncate(size);
    let next = items.last().map(cursor);
    (items, next)
}

pub async fn studio(State(state): State<AppState>, MaybeAuth(p): MaybeAuth, Query(q): Query<StudioQuery>) -> Response {
    let Some(p) = p else { return to_login() };
    studio_page(&state, &p, &q, None).await
}

/// Deletes a photo the seller confirmed on the studio page; the studio then says so.
pub async fn delete_upload(
    State(state): State<AppState>,
    MaybeAuth(p): MaybeAuth,
    ClientInfo(client): ClientInfo,
    Path(id): Path<String>,
) -> Response {
    let Some(p) = p else { return to_login() };
    back_to_studio(state.app.delete_upload(&p, &id, &client).await, "photo")
}

/// Deletes every image of a finished batch, confirmed on its page; back to the studio.
pub async fn delete_batch(
    State(state): State<AppState>,
    MaybeAuth(p): MaybeAuth,
    ClientInfo(client): ClientInfo,
    Path(id): Path<String>,
) -> Response {
    let Some(p) = p else { return to_login() };
    back_to_studio(state.app.delete_batch(&p, &id, &client).await, "images")
}

/// Deletes a finished creation's images, confirmed on its page; back to the studio.
pub async fn delete_creation(
    State(state): State<AppState>,
    MaybeAuth(p): MaybeAuth,
    ClientInfo(client): ClientInfo,
    Path(id): Path<String>,
) -> Response {
    let Some(p) = p else { return to_login() };
    back_to_studio(state.app.delete_creation(&p, &id, &client).await, "images")
}

/// After a deletion the seller confirmed: the studio, which says what went. Already gone
/// (a second tap on the button) is gone too.
fn back_to_studio<T>(deleted: Result<T, app::AppError>, what: &str) -> Response {
    match deleted {
        Ok(_) | Err(app::AppError::NotFound) => Redirect::to(&format!("/studio?deleted={what}")).into_response(),
        Err(e) => ApiError::from(e).into_response(),
    }
}

/// Several photos at once from one form; stops at the first refused file and says which.
/// The photos stored so far stay, and the choice page opens for all of them.
pub async fn upload(
    State(state): State<AppState>,
    MaybeAuth(p): MaybeAuth,
    ClientInfo(client): ClientInfo,
    form: Multipart,
) -> Response {
    let Some(p) = p else { return to_login() };
    let mut stored = Vec::new();
    let mut form = Form::new(form, &state, &["file"]);
    let refused = loop {
        let file = match form.next().await {
            Ok(Some(Part::File(f))) if !f.bytes.is_empty() => f,
            Ok(Some(_)) => continue,
            Ok(None) => break None,
            Err(e) => break Some(e),
        };
        let name = file.file_name;
        match state.app.upload(&p, &name, file.bytes, &client).await {
            Ok(u) => stored.push(u.id),
            Err(e) => {
                let e = ApiError::from(e);
                break Some(ApiError { message: format!("{name}: {}", e.message), ..e });
            }
        }
    };
    if let Some(e) = refused {
        return studio_page(&state, &p, &StudioQuery::default(), Some(&e)).await;
    }
    if stored.is_empty() {
        let e = ApiError::new(axum::http::StatusCode::BAD_REQUEST, "no_file", "Choose at least one photo.");
        return studio_page(&state, &p, &StudioQuery::default(), Some(&e)).await;
    }
    Redirect::to(&new_path(&stored)).into_response()
}

fn new_path(uploads: &[String]) -> String {
    let mut q = form_urlencoded::Serializer::new(String::new());
    uploads.iter().for_each(|u| {
        q.append_pair("upload", u);
    });
    format!("/studio/new?{}", q.finish())
}

#[derive(Template)]
#[template(path = "studio_new.html")]
struct NewCreation {
    layout: Layout,
    uploads: Vec<Upload>,
    presets: &'static [(&'static str, &'static str)],
    backgrounds: &'static [(&'static str, &'static str)],
    aspects: &'static [(&'static str, &'static str)],
    metals: &'static [(&'static str, &'static str)],
    cost: i64,
    /// A fresh key per form: submitting it twice (a double tap, a resend) makes one batch.
    idempotency_key: String,
    /// The creation whose hand fixes the new images keep ("Make again" after a fix).
    fixes_from: Option<String>,
    error: FormError,
}

/// `?upload=a&upload=b…`: the photos to make images from (repeated keys, read by hand);
/// `fixes_from=` a fixed creation of the same photo whose strokes come along.
pub async fn new_creation(State(state): State<AppState>, MaybeAuth(p): MaybeAuth, RawQuery(q): RawQuery) -> Response {
    let Some(p) = p else { return to_login() };
    let (mut uploads, mut fixes_from) = (Vec::new(), None);
    for (k, v) in form_urlencoded::parse(q.unwrap_or_default().as_bytes()) {
        match k.as_ref() {
            "upload" => uploads.push(v.into_owned()),
            "fixes_from" => fixes_from = Some(v.into_owned()),
            _ => {}
        }
    }
    new_page(&state, &p, &uploads, fixes_from, None).await
}

async fn new_page(
    state: &AppState,
    p: &Principal,
    upload_ids: &[String],
    fixes_from: Option<String>,
    err: Option<&ApiError>,
) -> Response {
    if upload_ids.is_empty() {
        return Redirect::to("/studio").into_response();
    }
    let mut uploads = Vec::new();
    for id in upload_ids.iter().take(app::creations::MAX_BATCH) {
        match state.app.upload_of(p, id).await {
            Ok(u) => uploads.push(u),
            Err(e) => return ApiError::from(e).into_response(),
        }
    }
    let page = NewCreation {
        layout: Layout::new(state, Some(p), "Choose what to make"),
        uploads,
        presets: PRESETS,
        backgrounds: BACKGROUNDS,
        aspects: ASPECTS,
        metals: METALS,
        cost: state.app.settings.tokens.local_output_cost,
        idempotency_key: db::new_id(),
        fixes_from: match (fixes_from, upload_ids) {
            // Said only when the fixes will be used: the seller's own, of this photo.
            (Some(from), [upload])
                if matches!(state.app.fixes_of(p, &from, Some(upload.as_str())).await, Ok(Some(_))) =>
            {
                Some(from)
            }
            _ => None,
        },
        error: err.map(FormError::from).unwrap_or_default(),
    };
    render(page, err)
}

/// The form repeats `upload` and `presets`, which serde's form reader cannot collect; read
/// it by hand. One photo makes a creation, several make a batch.
pub async fn create(
    State(state): State<AppState>,
    MaybeAuth(p): MaybeAuth,
    ClientInfo(client): ClientInfo,
    body: Bytes,
) -> Response {
    let Some(p) = p else { return to_login() };
    let (mut uploads, mut form, mut key, mut colour) = (Vec::new(), FormChoices::default(), None, String::new());
    let mut fixes_from = None;
    for (k, v) in form_urlencoded::parse(&body) {
        let v = v.into_owned();
        match k.as_ref() {
            "upload" => uploads.push(v),
            "presets" => form.presets.push(v),
            "background" => form.background = v,
            "background_colour" => colour = v,
            "fixes_from" => fixes_from = Some(v),
            "shadow" => form.shadow = v,
            "aspect_ratio" => form.aspect_ratio = v,
            "recolour" => form.recolour = v,
            "reflection" => form.reflection = v == "on",
            "idempotency_key" => key = Some(v),
            _ => {}
        }
    }
    // "Your own colour…" is the picker's `#rrggbb`, checked like any other background.
    if form.background == "custom" {
        form.background = colour;
    }
    let options = match Options::from_form(&form) {
        Ok(o) => o,
        Err(e) => return new_page(&state, &p, &uploads, fixes_from, Some(&e.into())).await,
    };
    let request = CreationRequest {
        callback_url: None,
        upload_id: None,
        upload_ids: uploads.clone(),
        options,
        idempotency_key: key,
        fixes_from: fixes_from.clone(),
    };
    let made = if uploads.len() == 1 {
        state.app.create_creation(&p, request, &client).await.map(|(c, _)| format!("/creations/{}", c.id))
    } else {
        state.app.create_batch(&p, request, &client).await.map(|(id, ..)| format!("/batches/{id}"))
    };
    match made {
        Ok(path) => Redirect::to(&path).into_response(),
        Err(e) => new_page(&state, &p, &uploads, fixes_from, Some(&e.into())).await,
    }
}

/// A stored compliance report, as shown beside an output.
#[derive(Deserialize)]
struct Report {
    passed: bool,
    rules: Vec<ReportRule>,
}

#[derive(Deserialize)]
struct ReportRule {
    description: String,
    passed: bool,
    measured: String,
    expected: String,
}

/// A generated image's fidelity check, as stored.
#[derive(Deserialize)]
struct Fidelity {
    score: Option<f32>,
    judge: Option<f32>,
    #[serde(default)]
    attempts: u32,
    hybrid: Option<Value>,
}

/// What the detection pre-pass saw in the photo.
#[derive(Deserialize)]
struct Detection {
    pieces: u32,
    arrangement: String,
    cropped: bool,
}

/// One finished image on a page: the output, its checks, and its WhatsApp share link.
struct Made {
    output: Output,
    /// What the image is, in words: "Amazon", "Angle 3/4", "Pose: Seated".
    title: String,
    report: Option<Report>,
    fidelity: Option<Fidelity>,
    whatsapp: String,
    /// The cutout under the image was doubtful: the seller should check its edges.
    doubtful: bool,
    /// The seller's verdict on it, if any.
    feedback: Option<app::feedback::FeedbackView>,
}

fn made(state: &AppState, outputs: Vec<Output>) -> Vec<Made> {
    outputs
        .into_iter()
        .map(|output| {
            let report = output.compliance.as_deref().and_then(|c| serde_json::from_str(c).ok());
            let fidelity = output.fidelity.as_deref().and_then(|c| serde_json::from_str(c).ok());
            let text = format!("{} {}", "Have a look:", state.app.share_url(&output));
            let whatsapp = format!(
                "https://wa.me/?{}",
                form_urlencoded::Serializer::new(String::new()).append_pair("text", &text).finish()
            );
            let doubtful = output.confidence.is_some_and(|c| c < f64::from(imaging::LOW_CONFIDENCE));
            Made {
                title: app::creations::title_of(&output.label),
                output,
                report,
                fidelity,
                whatsapp,
                doubtful,
                feedback: None,
            }
        })
        .collect()
}

fn has_ended(c: &Creation) -> bool {
    !matches!(c.status.as_str(), "queued" | "running")
}

#[derive(Template)]
#[template(path = "creation.html")]
struct CreationPage {
    layout: Layout,
    creation: Creation,
    detection: Option<Detection>,
    outputs: Vec<Made>,
    finished: bool,
    /// HD upscale is on offer (fal.ai configured).
    upscale: bool,
    /// The brush can fix this creation's cutout.
    fixable: bool,
    /// What can be wrong with an image: (code, words).
    categories: [(&'static str, &'static str); 8],
    /// A fresh key for "Try again": a double tap asks once.
    again_key: String,
}

/// A verdict from the result card (`categories` repeats, so the form is read by hand);
/// back to the card.
pub async fn feedback(
    State(state): State<AppState>,
    MaybeAuth(p): MaybeAuth,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    let Some(p) = p else { return to_login() };
    let mut req = app::feedback::FeedbackRequest { rating: String::new(), categories: Vec::new(), text: String::new() };
    for (k, v) in form_urlencoded::parse(&body) {
        match k.as_ref() {
            "rating" => req.rating = v.into_owned(),
            "categories" => req.categories.push(v.into_owned()),
            "text" => req.text = v.into_owned(),
            _ => {}
        }
    }
    match state.app.set_feedback(&p, &id, &req).await {
        Ok(f) => Redirect::to(&format!("/creations/{}#output-{id}", f.creation_id)).into_response(),
        Err(e) => ApiError::from(e).into_response(),
    }
}

pub async fn creation(State(state): State<AppState>, MaybeAuth(p): MaybeAuth, Path(id): Path<String>) -> Response {
    let Some(p) = p else { return to_login() };
    let (creation, outputs) = match state.app.creation_with_outputs(&p, &id).await {
        Ok(x) => x,
        Err(e) => return ApiError::from(e).into_response(),
    };
    let finished = has_ended(&creation);
    let mut outputs = made(&state, outputs);
    let mut verdicts = match state.app.feedback_on(&p, &creation).await {
        Ok(v) => v,
        Err(e) => return ApiError::from(e).into_response(),
    };
    for m in &mut outputs {
        m.feedback = verdicts.iter().position(|f| f.output_id == m.output.id).map(|i| verdicts.swap_remove(i));
    }
    let detection = creation.detection.as_deref().and_then(|d| serde_json::from_str(d).ok());
    let layout = Layout::new(&state, Some(&p), "Your images");
    let upscale = state.app.cloud.as_ref().is_some_and(|e| e.upscaler().is_some());
    let fixable = app::corrections::can_fix(&creation);
    let categories = domain::feedback::Category::ALL.map(|c| (c.as_str(), c.label()));
    let again_key = db::new_id();
    render(
        CreationPage { layout, creation, detection, outputs, finished, upscale, fixable, categories, again_key },
        None,
    )
}

#[derive(Template)]
#[template(path = "fix.html")]
struct FixPage {
    layout: Layout,
    creation: Creation,
    upload: db::uploads::Upload,
    outputs: usize,
    /// The strokes this creation was made with (JSON), to go on from.
    strokes: String,
}

/// The brush over a finished studio creation's photo (painting needs the script).
pub async fn fix(State(state): State<AppState>, MaybeAuth(p): MaybeAuth, Path(id): Path<String>) -> Response {
    let Some(p) = p else { return to_login() };
    let (creation, outputs) = match state.app.creation_with_outputs(&p, &id).await {
        Ok(x) => x,
        Err(e) => return ApiError::from(e).into_response(),
    };
    let upload = match creation.upload_id.as_deref() {
        Some(u) if app::corrections::can_fix(&creation) => state.app.upload_of(&p, u).await,
        _ => return Redirect::to(&format!("/creations/{id}")).into_response(),
    };
    match upload {
        Ok(upload) => {
            let layout = Layout::new(&state, Some(&p), "Fix the cutout");
            let strokes = creation.hints.clone().unwrap_or_else(|| "[]".into());
            render(FixPage { layout, creation, upload, outputs: outputs.len(), strokes }, None)
        }
        Err(e) => ApiError::from(e).into_response(),
    }
}

/// A generated image marked down, made again free (once); on to the remake.
pub async fn remake(
    State(state): State<AppState>,
    MaybeAuth(p): MaybeAuth,
    ClientInfo(client): ClientInfo,
    Path(id): Path<String>,
) -> Response {
    let Some(p) = p else { return to_login() };
    match state.app.free_remake(&p, &id, &client).await {
        Ok(c) => Redirect::to(&format!("/creations/{}", c.id)).into_response(),
        Err(e) => ApiError::from(e).into_response(),
    }
}

/// Stops a creation from its page; back to the page, which then shows what was made.
pub async fn cancel(
    State(state): State<AppState>,
    MaybeAuth(p): MaybeAuth,
    ClientInfo(client): ClientInfo,
    Path(id): Path<String>,
) -> Response {
    let Some(p) = p else { return to_login() };
    match state.app.cancel_creation(&p, &id, &client).await {
        Ok(_) | Err(app::AppError::AlreadyEnded) => Redirect::to(&format!("/creations/{id}")).into_response(),
        Err(e) => ApiError::from(e).into_response(),
    }
}

/// `POST /creations/{id}/again`: AI images that could not be made, asked for again.
pub async fn try_again(
    State(state): State<AppState>,
    MaybeAuth(p): MaybeAuth,
    ClientInfo(client): ClientInfo,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    let Some(p) = p else { return to_login() };
    let fields = super::fields(&body);
    let key = super::field(&fields, "idempotency_key");
    match state.app.try_again(&p, &id, Some(key.as_str()).filter(|k| !k.is_empty()), &client).await {
        Ok(c) => Redirect::to(&format!("/creations/{}", c.id)).into_response(),
        Err(e) => ApiError::from(e).into_response(),
    }
}

#[derive(Template)]
#[template(path = "batch.html")]
struct BatchPage {
    layout: Layout,
    id: String,
    items: Vec<(Creation, Vec<Made>)>,
    finished: bool,
    charged: i64,
    held: i64,
}

pub async fn batch(State(state): State<AppState>, MaybeAuth(p): MaybeAuth, Path(id): Path<String>) -> Response {
    let Some(p) = p else { return to_login() };
    let all = match state.app.batch(&p, &id).await {
        Ok(x) => x,
        Err(e) => return ApiError::from(e).into_response(),
    };
    let finished = all.iter().all(|(c, _)| has_ended(c));
    let charged = all.iter().map(|(c, _)| c.tokens_charged).sum();
    let held = all.iter().filter(|(c, _)| !has_ended(c)).map(|(c, _)| c.tokens_held - c.tokens_charged).sum();
    let items = all.into_iter().map(|(c, o)| (c, made(&state, o))).collect();
    render(BatchPage { layout: Layout::new(&state, Some(&p), "Your batch"), id, items, finished, charged, held }, None)
}
