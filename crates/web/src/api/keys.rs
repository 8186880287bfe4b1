use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use serde_json::json;

use crate::AppState;
use crate::error::ApiError;
use crate::extract::{ApiJson, Auth, ClientInfo};

/// The secret appears in this response only.
pub async fn create(
    State(state): State<AppState>,
    Auth(p): Auth,
    ClientInfo(client): ClientInfo,
    ApiJson(b): ApiJson<app::sessions::KeyRequest>,
) -> Result<(StatusCode, Json<serde_json::Value>), ApiError> {
    let (key, secret) = state.app.create_api_key(&p, &b, &client).await?;
    Ok((
        StatusCode::CREATED,
        Json(json!({"id": key.id, "name": key.name, "prefix": key.prefix, "key": secret,
                    "scopes": domain::Scopes::from_stored(&key.scopes).names(), "expires_at": key.expires_at,
                    "per_minute": key.per_minute, "images_per_day": key.images_per_day,
                    "created_at": key.created_at})),
    ))
}

pub async fn list(State(state): State<AppState>, Auth(p): Auth) -> Result<Json<serde_json::Value>, ApiError> {
    Ok(Json(json!({"api_keys": state.app.api_keys(&p).await?})))
}

pub async fn delete(
    State(state): State<AppState>,
    Auth(p): Auth,
    ClientInfo(client): ClientInfo,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    state.app.delete_api_key(&p, &id, &client).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(serde::Deserialize)]
pub struct UsageQuery {
    from: Option<String>,
    to: Option<String>,
    /// `csv` for a spreadsheet; JSON otherwise.
    format: Option<String>,
}

/// `GET /api/v1/usage?from=&to=`: calls, images and tokens per key per UTC day.
pub async fn usage(
    State(state): State<AppState>,
    Auth(p): Auth,
    Query(q): Query<UsageQuery>,
) -> Result<axum::response::Response, ApiError> {
    use axum::response::IntoResponse;
    let rows = state.app.api_usage(&p, q.from.as_deref(), q.to.as_deref()).await?;
    if q.format.as_deref() == Some("csv") {
        let csv = app::usage::usage_csv(&rows)?;
        let headers = [
            (axum::http::header::CONTENT_TYPE, "text/csv; charset=utf-8"),
            (axum::http::header::CONTENT_DISPOSITION, "attachment; filename=\"soraipixel-api-usage.csv\""),
        ];
        return Ok((headers, csv).into_response());
    }
    Ok(Json(json!({"usage": rows})).into_response())
}
