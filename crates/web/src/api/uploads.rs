use axum::Json;
use axum::extract::{Multipart, Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::json;

use db::uploads::Upload;

use crate::AppState;
use crate::error::ApiError;
use crate::extract::{Auth, ClientInfo};
use crate::multipart::{Form, Part};

/// `multipart/form-data` with a `file` field, read chunk by chunk and cut off at the limit.
pub async fn create(
    State(state): State<AppState>,
    Auth(p): Auth,
    ClientInfo(client): ClientInfo,
    form: Multipart,
) -> Result<(StatusCode, Json<Upload>), ApiError> {
    let mut form = Form::new(form, &state, &["file"]);
    while let Some(part) = form.next().await? {
        let Part::File(file) = part else { continue };
        if file.bytes.is_empty() {
            return Err(bad("The file is empty."));
        }
        let upload = state.app.upload(&p, &file.file_name, file.bytes, &client).await?;
        return Ok((StatusCode::CREATED, Json(upload)));
    }
    Err(bad("Send the photo in a multipart field named \"file\"."))
}

fn bad(message: &str) -> ApiError {
    ApiError::new(StatusCode::BAD_REQUEST, "invalid_multipart", message)
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
