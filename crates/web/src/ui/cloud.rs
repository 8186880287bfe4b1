//! Pages of the cloud engine: create with AI (theme gallery, shot picker, model options,
//! try-on, recolour), and the free watermarked preview for visitors.

use askama::Template;
use axum::body::Bytes;
use axum::extract::{Multipart, Path, Query, RawQuery, State};
use axum::http::header;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use serde_json::{Map, Value, json};

use app::creations::CreationRequest;
use app::sessions::Principal;
use db::cloud::Preview;
use db::uploads::Upload;
use prompts::{Library, Theme};

use super::{FormError, Layout, render, to_login};
use crate::AppState;
use crate::error::ApiError;
use crate::extract::{ClientInfo, MaybeAuth};
use crate::multipart::{Form, Part};

/// The tiers a seller can pick, with whether this server offers them.
pub struct TierChoice {
    pub id: &'static str,
    pub name: &'static str,
    pub note: &'static str,
    pub available: bool,
}

fn library() -> Result<&'static Library, ApiError> {
    prompts::library().map_err(|e| app::AppError::Internal(e.to_string()).into())
}

/// Themes grouped as the gallery shows them.
fn gallery(lib: &'static Library) -> Vec<(&'static str, Vec<&'static Theme>)> {
    lib.theme_groups
        .iter()
        .map(|g| (g.name.as_str(), lib.themes.iter().filter(|t| t.group == g.id).collect()))
        .collect()
}

#[derive(Template)]
#[template(path = "studio_ai.html")]
struct AiPage {
    layout: Layout,
    upload: Upload,
    lib: &'static Library,
    groups: Vec<(&'static str, Vec<&'static Theme>)>,
    default_theme: &'static str,
    tiers: Vec<TierChoice>,
    /// Per-output prices for the live quote: `{"image":[8,20,60], …}`.
    prices: String,
    fake: bool,
    idempotency_key: String,
    error: FormError,
}

async fn ai_page(state: &AppState, p: &Principal, upload: &str, err: Option<&ApiError>) -> Response {
    let upload = match state.app.upload_of(p, upload).await {
        Ok(u) => u,
        Err(e) => return ApiError::from(e).into_response(),
    };
    let lib = match library() {
        Ok(l) => l,
        Err(e) => return e.into_response(),
    };
    let engine = state.app.cloud.as_ref();
    let best = engine.map(|e| e.best_tier());
    let offered = |t: app::cloud::Tier| best.is_some_and(|b| t <= b);
    let t = &state.app.settings.tokens;
    let tiers = vec![
        TierChoice {
            id: "standard",
            name: "Standard",
            note: "Fast, great for catalogues · made by Google Gemini",
            available: offered(app::cloud::Tier::Standard),
        },
        TierChoice {
            id: "pro",
            name: "Pro",
            note: "Finer detail and lighting · made by Google Gemini",
            available: offered(app::cloud::Tier::Pro),
        },
        TierChoice {
            id: "ultra",
            name: "Ultra",
            note: "Our most faithful model · made by OpenAI",
            available: offered(app::cloud::Tier::Ultra),
        },
    ];
    let prices =
        json!({"image": t.generated_image, "recolour": t.recolour, "model": t.model_pose, "pack": lib.pack().len()})
            .to_string();
    let page = AiPage {
        layout: Layout::new(state, Some(p), "Create with AI"),
        upload,
        lib,
        groups: gallery(lib),
        default_theme: "marble_white",
        tiers,
        prices,
        fake: engine.is_some_and(|e| e.fake),
        idempotency_key: db::new_id(),
        error: err.map(FormError::from).unwrap_or_default(),
    };
    render(page, err)
}

#[derive(Deserialize)]
pub struct UploadQuery {
    upload: Option<String>,
}

pub async fn page(State(state): State<AppState>, MaybeAuth(p): MaybeAuth, Query(q): Query<UploadQuery>) -> Response {
    let Some(p) = p else { return to_login() };
    let Some(upload) = q.upload else { return Redirect::to("/studio").into_response() };
    ai_page(&state, &p, &upload, None).await
}

/// The form's fields as the API's creation request: repeated `shots` and `poses` become
/// lists, the model's look an object, ticks booleans.
fn request_from_form(body: &[u8]) -> (Value, Option<String>) {
    let mut req = Map::new();
    let (mut shots, mut poses, mut look, mut key) = (Vec::new(), Vec::new(), Map::new(), None);
    req.insert("engine".into(), json!("cloud"));
    for (k, v) in form_urlencoded::parse(body) {
        let v = v.into_owned();
        match k.as_ref() {
            "shots" => shots.push(json!(v)),
            "poses" => poses.push(json!(v)),
            "gender" | "age_group" | "nationality" | "skin_tone" | "background" | "outfit" => {
                look.insert(k.into_owned(), json!(v));
            }
            "hybrid" | "brand_strip" | "person_consent" => {
                req.insert(k.into_owned(), json!(v == "on"));
            }
            "idempotency_key" => key = Some(v),
            "upload" => {
                req.insert("upload_id".into(), json!(v));
            }
            // A callback is for programs: its secret is shown in the API's answer only.
            "csrf_token" | "callback_url" => {}
            _ if v.is_empty() => {}
            _ => {
                req.insert(k.into_owned(), json!(v));
            }
        }
    }
    req.insert("shots".into(), json!(shots));
    req.insert("poses".into(), json!(poses));
    if !look.is_empty() {
        req.insert("look".into(), Value::Object(look));
    }
    (Value::Object(req), key)
}

/// `POST /studio/ai/create`: any of the AI forms (and regenerate / HD from a result).
pub async fn create(
    State(state): State<AppState>,
    MaybeAuth(p): MaybeAuth,
    ClientInfo(client): ClientInfo,
    body: Bytes,
) -> Response {
    let Some(p) = p else { return to_login() };
    let (fields, key) = request_from_form(&body);
    let upload = fields.get("upload_id").and_then(Value::as_str).map(str::to_owned);
    let made = match serde_json::from_value::<CreationRequest>(fields) {
        Ok(mut req) => {
            req.idempotency_key = key;
            state.app.create_creation(&p, req, &client).await.map(|(c, _)| c).map_err(ApiError::from)
        }
        Err(e) => Err(ApiError::new(axum::http::StatusCode::UNPROCESSABLE_ENTITY, "invalid_option", e.to_string())),
    };
    match (made, upload) {
        (Ok(c), _) => Redirect::to(&format!("/creations/{}", c.id)).into_response(),
        (Err(e), Some(u)) => ai_page(&state, &p, &u, Some(&e)).await,
        (Err(e), None) => e.into_response(),
    }
}

/// `POST /studio/ai/try-on` (multipart): the person's photo and the choices. The photo is
/// stored like any upload, used by one job, then deleted.
pub async fn try_on(
    State(state): State<AppState>,
    MaybeAuth(p): MaybeAuth,
    ClientInfo(client): ClientInfo,
    form: Multipart,
) -> Response {
    let Some(p) = p else { return to_login() };
    let (mut fields, mut person) = (Vec::<(String, String)>::new(), None);
    let mut reader = Form::new(form, &state, &["person"]);
    let read = loop {
        match reader.next().await {
            Ok(Some(Part::File(file))) => person = Some(file).filter(|f| !f.bytes.is_empty()),
            Ok(Some(Part::Text { name, value })) => fields.push((name, value)),
            Ok(None) => break None,
            Err(e) => break Some(e),
        }
    };
    let upload = fields.iter().find(|(k, _)| k == "upload").map(|(_, v)| v.clone()).unwrap_or_default();
    let fail = |e: ApiError| {
        let (state, p, upload) = (&state, &p, upload.clone());
        async move { ai_page(state, p, &upload, Some(&e)).await }
    };
    if let Some(e) = read {
        return fail(e).await;
    }
    let consent = fields.iter().any(|(k, v)| k == "person_consent" && v == "on");
    if !consent {
        let e = app::AppError::from(domain::Invalid::new(
            "consent_required",
            "person_consent",
            "Confirm that you have the person's consent to use their photo.",
        ));
        return fail(e.into()).await;
    }
    let Some(file) = person else {
        let e = domain::Invalid::new("invalid_option", "person", "Add a photo of the person.");
        return fail(app::AppError::from(e).into()).await;
    };
    let person = match state.app.upload(&p, &file.file_name, file.bytes, &client).await {
        Ok(u) => u,
        Err(e) => return fail(e.into()).await,
    };
    let body = {
        let mut body = form_urlencoded::Serializer::new(String::new());
        for (k, v) in &fields {
            body.append_pair(k, v);
        }
        body.append_pair("operation", "try_on").append_pair("person_upload_id", &person.id).finish()
    };
    let (fields, key) = request_from_form(body.as_bytes());
    let made = match serde_json::from_value::<CreationRequest>(fields) {
        Ok(mut req) => {
            req.idempotency_key = key;
            state.app.create_creation(&p, req, &client).await.map(|(c, _)| c).map_err(ApiError::from)
        }
        Err(e) => Err(ApiError::new(axum::http::StatusCode::UNPROCESSABLE_ENTITY, "invalid_option", e.to_string())),
    };
    match made {
        Ok(c) => {
            // A repeated submit answers with the first try-on, which uses the first photo.
            if !c.recipes.contains(&person.id) {
                let _ = state.app.delete_upload(&p, &person.id, &client).await;
            }
            Redirect::to(&format!("/creations/{}", c.id)).into_response()
        }
        Err(e) => {
            // Not used: the person's photo goes at once.
            let _ = state.app.delete_upload(&p, &person.id, &client).await;
            fail(e).await
        }
    }
}

/// `GET /themes/{id}`: a gallery tile.
pub async fn theme_tile(State(state): State<AppState>, Path(id): Path<String>) -> Response {
    let id = id.trim_end_matches(".jpg");
    match state.app.theme_tile(id).await {
        Ok(bytes) => ([(header::CONTENT_TYPE, "image/jpeg"), (header::CACHE_CONTROL, "public, max-age=86400")], bytes)
            .into_response(),
        Err(e) => ApiError::from(e).into_response(),
    }
}

#[derive(Template)]
#[template(path = "try.html")]
struct TryPage {
    layout: Layout,
    groups: Vec<(&'static str, Vec<&'static Theme>)>,
    default_theme: &'static str,
    lib: &'static Library,
    available: bool,
    error: FormError,
}

async fn try_page(state: &AppState, p: Option<&Principal>, err: Option<&ApiError>) -> Response {
    let lib = match library() {
        Ok(l) => l,
        Err(e) => return e.into_response(),
    };
    let page = TryPage {
        layout: Layout::new(state, p, "Try it free").public(
            state,
            "/try",
            "Try SoraiPixel free on one of your own jewellery photos: a styled preview in a minute, no account needed.",
        ),
        groups: gallery(lib),
        default_theme: "velvet_black",
        lib,
        available: state.app.cloud.is_some(),
        error: err.map(FormError::from).unwrap_or_default(),
    };
    render(page, err)
}

pub async fn try_free(State(state): State<AppState>, MaybeAuth(p): MaybeAuth) -> Response {
    try_page(&state, p.as_ref(), None).await
}

/// `POST /try` (multipart): `file`, `theme`, `jewellery`, `trial_token`.
pub async fn try_submit(
    State(state): State<AppState>,
    MaybeAuth(p): MaybeAuth,
    ClientInfo(client): ClientInfo,
    form: Multipart,
) -> Response {
    let (mut fields, mut photo) = (std::collections::HashMap::new(), None);
    let mut reader = Form::new(form, &state, &["file"]);
    loop {
        match reader.next().await {
            Ok(Some(Part::File(file))) => photo = Some(file).filter(|f| !f.bytes.is_empty()),
            Ok(Some(Part::Text { name, value })) => {
                fields.insert(name, value);
            }
            Ok(None) => break,
            Err(e) => return try_page(&state, p.as_ref(), Some(&e)).await,
        }
    }
    let field = |k: &str| fields.get(k).cloned().unwrap_or_default();
    // A device without a token (first visit, or no script) gets one now; the result page
    // hands it to the browser's storage.
    let token = match field("trial_token") {
        t if !t.is_empty() => t,
        _ => match state.app.trial_token(&client).await {
            Ok(t) => t,
            Err(e) => return try_page(&state, p.as_ref(), Some(&e.into())).await,
        },
    };
    let Some(photo) = photo else {
        let e =
            app::AppError::from(domain::Invalid::new("invalid_option", "file", "Choose a photo of your jewellery."));
        return try_page(&state, p.as_ref(), Some(&e.into())).await;
    };
    match state.app.create_preview(&token, &field("theme"), &field("jewellery"), photo.bytes, &client).await {
        Ok(preview) => {
            let q = form_urlencoded::Serializer::new(String::new()).append_pair("trial", &token).finish();
            Redirect::to(&format!("/try/{}?{q}", preview.id)).into_response()
        }
        Err(app::AppError::AlreadyDone { retry_after_secs }) => {
            let e = ApiError::from(app::AppError::AlreadyDone { retry_after_secs });
            let message = "You have had today's free preview on this device. Sign up to make more.".to_owned();
            try_page(&state, p.as_ref(), Some(&ApiError { message, ..e })).await
        }
        Err(e) => try_page(&state, p.as_ref(), Some(&e.into())).await,
    }
}

#[derive(Template)]
#[template(path = "try_result.html")]
struct TryResult {
    layout: Layout,
    preview: Preview,
    image: String,
    theme: String,
    /// Kept by the page's script in the browser's storage for the next visit.
    token: String,
}

pub async fn try_result(
    State(state): State<AppState>,
    MaybeAuth(p): MaybeAuth,
    Path(id): Path<String>,
    RawQuery(q): RawQuery,
) -> Response {
    let token = form_urlencoded::parse(q.unwrap_or_default().as_bytes())
        .find(|(k, _)| k == "trial")
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default();
    let preview = match state.app.preview(&token, &id).await {
        Ok(p) => p,
        Err(e) => return ApiError::from(e).into_response(),
    };
    let q = form_urlencoded::Serializer::new(String::new()).append_pair("trial", &token).finish();
    let image = format!("/api/v1/previews/{id}/image?{q}");
    let theme =
        library().ok().and_then(|l| l.theme(&preview.theme).ok()).map_or(preview.theme.clone(), |t| t.name.clone());
    let layout = Layout::new(&state, p.as_ref(), "Your preview");
    render(TryResult { layout, preview, image, theme, token }, None)
}
