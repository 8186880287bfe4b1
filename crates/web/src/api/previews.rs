//! Watermarked previews for visitors who are not signed in. The trial token (from
//! `POST /api/v1/previews/token`) names the device: in the `X-Trial-Token` header, the
//! `trial_token` form field, or `?trial=` on the image URL (for `<img>` tags).

use axum::Json;
use axum::extract::{Multipart, Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Value, json};

use app::AppError;
use db::cloud::Preview;

use crate::AppState;
use crate::error::ApiError;
use crate::extract::ClientInfo;
use crate::multipart::{Form, Part};

pub async fn token(State(state): State<AppState>, ClientInfo(client): ClientInfo) -> Result<Json<Value>, ApiError> {
    Ok(Json(json!({ "token": state.app.trial_token(&client).await? })))
}

fn view(p: &Preview, token: &str) -> Value {
    let image = (p.status == "succeeded").then(|| {
        let q = form_urlencoded::Serializer::new(String::new()).append_pair("trial", token).finish();
        format!("/api/v1/previews/{}/image?{q}", p.id)
    });
    json!({
        "id": p.id, "status": p.status, "theme": p.theme, "jewellery": p.jewellery,
        "fidelity": p.fidelity, "error": p.error, "image_url": image, "expires_at": p.expires_at,
    })
}

/// Multipart: `file`, `theme`, `jewellery`, and the trial token (header or `trial_token`).
pub async fn create(
    State(state): State<AppState>,
    ClientInfo(client): ClientInfo,
    headers: HeaderMap,
    form: Multipart,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let mut token = headers.get("x-trial-token").and_then(|v| v.to_str().ok()).map(str::to_owned);
    let (mut theme, mut jewellery, mut photo) = (String::new(), String::new(), None);
    let mut form = Form::new(form, &state, &["file"]);
    while let Some(part) = form.next().await? {
        match part {
            Part::File(file) => photo = Some(file),
            Part::Text { name, value } => match name.as_str() {
                "theme" => theme = value,
                "jewellery" => jewellery = value,
                "trial_token" if token.is_none() => token = Some(value),
                _ => {}
            },
        }
    }
    let photo = photo.filter(|p| !p.bytes.is_empty()).ok_or_else(|| {
        ApiError::new(StatusCode::BAD_REQUEST, "invalid_multipart", "Send the photo in a field named \"file\".")
    })?;
    let token = token.ok_or(AppError::InvalidToken)?;
    let p = state.app.create_preview(&token, &theme, &jewellery, photo.bytes, &client).await?;
    Ok((StatusCode::ACCEPTED, Json(view(&p, &token))))
}

#[derive(Deserialize)]
pub struct Trial {
    trial: Option<String>,
}

fn trial(headers: &HeaderMap, q: Trial) -> Result<String, ApiError> {
    let header = headers.get("x-trial-token").and_then(|v| v.to_str().ok()).map(str::to_owned);
    Ok(header.or(q.trial).ok_or(AppError::InvalidToken)?)
}

pub async fn show(
    State(state): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
    Query(q): Query<Trial>,
) -> Result<Json<Value>, ApiError> {
    let token = trial(&headers, q)?;
    Ok(Json(view(&state.app.preview(&token, &id).await?, &token)))
}

pub async fn image(
    State(state): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
    Query(q): Query<Trial>,
) -> Result<Response, ApiError> {
    let bytes = state.app.preview_image(&trial(&headers, q)?, &id).await?;
    Ok(([(header::CONTENT_TYPE, "image/jpeg"), (header::CACHE_CONTROL, "private, no-store")], bytes).into_response())
}
