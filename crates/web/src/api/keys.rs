use axum::Json;
use axum::extract::{Path, State};
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
