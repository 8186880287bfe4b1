use axum::Json;
use axum::extract::{Multipart, Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::json;

use app::AppError;
use db::uploads::Upload;

use crate::AppState;
use crate::error::ApiError;
use crate::extract::{Auth, ClientInfo};

/// `multipart/form-data` with a `file` field, read chunk by chunk and cut off at the limit.
pub async fn create(
    State(state): State<AppState>,
    Auth(p): Auth,
    ClientInfo(client): ClientInfo,
    mut form: Multipart,
) -> Result<(StatusCode, Json<Upload>), ApiError> {
    let limit = state.app.settings.uploads.max_bytes;
    let bad = |msg: &str| ApiError::new(StatusCode::BAD_REQUEST, "invalid_multipart", msg);
    while let Some(mut field) = form.next_field().await.map_err(|e| multipart_error(&e, limit))? {
        if field.name() != Some("file") {
            continue;
        }
        let filename = field.file_name().unwrap_or("photo").to_owned();
        let _slot = state.app.upload_slot().await?;
        let mut bytes = Vec::new();
        while let Some(chunk) = field.chunk().await.map_err(|e| multipart_error(&e, limit))? {
            if (bytes.len() + chunk.len()) as u64 > limit {
                return Err(AppError::TooLarge { limit_mb: limit / (1024 * 1024) }.into());
            }
            bytes.extend_from_slice(&chunk);
        }
        if bytes.is_empty() {
            return Err(bad("The file is empty."));
        }
        let upload = state.app.upload(&p, &filename, bytes, &client).await?;
        return Ok((StatusCode::CREATED, Json(upload)));
    }
    Err(bad("Send the photo in a multipart field named \"file\"."))
}

fn multipart_error(e: &axum::extract::multipart::MultipartError, limit: u64) -> ApiError {
    if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
        AppError::TooLarge { limit_mb: limit / (1024 * 1024) }.into()
    } else {
        ApiError::new(StatusCode::BAD_REQUEST, "invalid_multipart", e.body_text())
    }
}

pub async fn list(
    State(state): State<AppState>,
    Auth(p): Auth,
    Query(page): Query<super::Page>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let uploads = state.app.uploads(&p, page.before, page.limit.unwrap_or(50)).await?;
    let next = uploads.last().map(|u| u.created_at);
    Ok(Json(json!({"uploads": uploads, "next_before": next})))
}

pub async fn show(
    State(state): State<AppState>,
    Auth(p): Auth,
    Path(id): Path<String>,
) -> Result<Json<Upload>, ApiError> {
    Ok(Json(state.app.upload_of(&p, &id).await?))
}

pub async fn original(state: State<AppState>, auth: Auth, id: Path<String>) -> Result<Response, ApiError> {
    image(state, auth, id, false).await
}

pub async fn thumbnail(state: State<AppState>, auth: Auth, id: Path<String>) -> Result<Response, ApiError> {
    image(state, auth, id, true).await
}

async fn image(
    State(state): State<AppState>,
    Auth(p): Auth,
    Path(id): Path<String>,
    thumbnail: bool,
) -> Result<Response, ApiError> {
    let (upload, bytes) = state.app.upload_bytes(&p, &id, thumbnail).await?;
    let mime = if thumbnail { "image/jpeg" } else { app::uploads::mime_of(&upload.format) };
    Ok(super::image_response(bytes, mime, None))
}

pub async fn delete(
    State(state): State<AppState>,
    Auth(p): Auth,
    ClientInfo(client): ClientInfo,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    state.app.delete_upload(&p, &id, &client).await?;
    Ok(StatusCode::NO_CONTENT)
}
