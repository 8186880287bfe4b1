//! The studio: upload photos, choose what to make with the cost shown, follow progress,
//! see and download the results with their marketplace checks.

use askama::Template;
use axum::body::Bytes;
use axum::extract::{Multipart, Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use app::creations::CreationRequest;
use app::sessions::Principal;
use db::creations::{Creation, Output};
use db::uploads::Upload;

use super::{FormError, Layout, render, to_login};
use crate::AppState;
use crate::error::ApiError;
use crate::extract::{ClientInfo, MaybeAuth};

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
];

#[derive(Template)]
#[template(path = "studio.html")]
struct Studio {
    layout: Layout,
    uploads: Vec<Upload>,
    creations: Vec<Creation>,
    error: FormError,
}

async fn studio_page(state: &AppState, p: &Principal, err: Option<&ApiError>) -> Response {
    let (uploads, creations) = match (state.app.uploads(p, None, 24).await, state.app.creations(p, None, 12).await) {
        (Ok(u), Ok(c)) => (u, c),
        (Err(e), _) | (_, Err(e)) => return ApiError::from(e).into_response(),
    };
    render(
        Studio {
            layout: Layout::new(state, Some(p), "Studio"),
            uploads,
            creations,
            error: err.map(FormError::from).unwrap_or_default(),
        },
        err,
    )
}

pub async fn studio(State(state): State<AppState>, MaybeAuth(p): MaybeAuth) -> Response {
    let Some(p) = p else { return to_login() };
    studio_page(&state, &p, None).await
}

/// Several photos at once from one form; stops at the first refused file and says which.
pub async fn upload(
    State(state): State<AppState>,
    MaybeAuth(p): MaybeAuth,
    ClientInfo(client): ClientInfo,
    mut form: Multipart,
) -> Response {
    let Some(p) = p else { return to_login() };
    let limit = state.app.settings.uploads.max_bytes;
    let mut last = None;
    loop {
        let field = match form.next_field().await {
            Ok(Some(f)) => f,
            Ok(None) => break,
            Err(e) => {
                return studio_page(&state, &p, Some(&ApiError::new(e.status(), "invalid_multipart", e.body_text())))
                    .await;
            }
        };
        if field.name() != Some("file") {
            continue;
        }
        let name = field.file_name().unwrap_or("photo").to_owned();
        let bytes = match field.bytes().await {
            Ok(b) if b.is_empty() => continue,
            Ok(b) if b.len() as u64 > limit => {
                let e = ApiError::from(app::AppError::TooLarge { limit_mb: limit / (1024 * 1024) });
                return studio_page(&state, &p, Some(&ApiError { message: format!("{name}: {}", e.message), ..e }))
                    .await;
            }
            Ok(b) => b.to_vec(),
            Err(e) => {
                return studio_page(&state, &p, Some(&ApiError::new(e.status(), "invalid_multipart", e.body_text())))
                    .await;
            }
        };
        match state.app.upload(&p, &name, bytes, &client).await {
            Ok(u) => last = Some(u.id),
            Err(e) => {
                let e = ApiError::from(e);
                return studio_page(&state, &p, Some(&ApiError { message: format!("{name}: {}", e.message), ..e }))
                    .await;
            }
        }
    }
    match last {
        Some(id) => Redirect::to(&format!("/studio/new?upload={id}")).into_response(),
        None => {
            studio_page(
                &state,
                &p,
                Some(&ApiError::new(axum::http::StatusCode::BAD_REQUEST, "no_file", "Choose at least one photo.")),
            )
            .await
        }
    }
}

#[derive(Template)]
#[template(path = "studio_new.html")]
struct NewCreation {
    layout: Layout,
    upload: Upload,
    presets: &'static [(&'static str, &'static str)],
    backgrounds: &'static [(&'static str, &'static str)],
    cost: i64,
    error: FormError,
}

#[derive(Deserialize)]
pub struct NewQuery {
    upload: String,
}

pub async fn new_creation(
    State(state): State<AppState>,
    MaybeAuth(p): MaybeAuth,
    Query(q): Query<NewQuery>,
) -> Response {
    let Some(p) = p else { return to_login() };
    new_page(&state, &p, &q.upload, None).await
}

async fn new_page(state: &AppState, p: &Principal, upload_id: &str, err: Option<&ApiError>) -> Response {
    let upload = match state.app.upload_of(p, upload_id).await {
        Ok(u) => u,
        Err(e) => return ApiError::from(e).into_response(),
    };
    let page = NewCreation {
        layout: Layout::new(state, Some(p), "Choose what to make"),
        upload,
        presets: PRESETS,
        backgrounds: BACKGROUNDS,
        cost: state.app.settings.tokens.local_output_cost,
        error: err.map(FormError::from).unwrap_or_default(),
    };
    render(page, err)
}

/// The form repeats `presets`, which serde's form reader cannot collect; read it by hand.
pub async fn create(
    State(state): State<AppState>,
    MaybeAuth(p): MaybeAuth,
    ClientInfo(client): ClientInfo,
    body: Bytes,
) -> Response {
    let Some(p) = p else { return to_login() };
    let (mut upload, mut presets, mut background, mut shadow) =
        (String::new(), Vec::new(), String::new(), String::new());
    for (k, v) in form_urlencoded::parse(&body) {
        match k.as_ref() {
            "upload" => upload = v.into_owned(),
            "presets" => presets.push(v.into_owned()),
            "background" => background = v.into_owned(),
            "shadow" => shadow = v.into_owned(),
            _ => {}
        }
    }
    let result = match CreationRequest::from_form(&upload, &presets, &background, &shadow) {
        Ok(req) => state.app.create_creation(&p, req, &client).await,
        Err(e) => Err(e),
    };
    match result {
        Ok(c) => Redirect::to(&format!("/creations/{}", c.id)).into_response(),
        Err(e) => new_page(&state, &p, &upload, Some(&e.into())).await,
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

#[derive(Template)]
#[template(path = "creation.html")]
struct CreationPage {
    layout: Layout,
    creation: Creation,
    outputs: Vec<(Output, Option<Report>)>,
    finished: bool,
}

pub async fn creation(State(state): State<AppState>, MaybeAuth(p): MaybeAuth, Path(id): Path<String>) -> Response {
    let Some(p) = p else { return to_login() };
    let (creation, outputs) = match state.app.creation_with_outputs(&p, &id).await {
        Ok(x) => x,
        Err(e) => return ApiError::from(e).into_response(),
    };
    let outputs = outputs
        .into_iter()
        .map(|o| {
            let report = o.compliance.as_deref().and_then(|c| serde_json::from_str(c).ok());
            (o, report)
        })
        .collect();
    let finished = matches!(creation.status.as_str(), "succeeded" | "failed" | "canceled");
    render(CreationPage { layout: Layout::new(&state, Some(&p), "Your images"), creation, outputs, finished }, None)
}
