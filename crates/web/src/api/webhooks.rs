//! `/api/v1/webhooks`: a seller's endpoints, their deliveries, a test event, send again.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde_json::{Value, json};

use app::webhooks::EndpointRequest;

use crate::AppState;
use crate::error::ApiError;
use crate::extract::{ApiJson, Auth, ClientInfo};

/// The signing secret appears in this response only.
pub async fn create(
    State(state): State<AppState>,
    Auth(p): Auth,
    ClientInfo(client): ClientInfo,
    ApiJson(req): ApiJson<EndpointRequest>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let (endpoint, secret) = state.app.create_webhook(&p, &req, &client).await?;
    let mut body = json!(endpoint);
    body["secret"] = json!(secret);
    Ok((StatusCode::CREATED, Json(body)))
}

pub async fn list(State(state): State<AppState>, Auth(p): Auth) -> Result<Json<Value>, ApiError> {
    Ok(Json(json!({"webhooks": state.app.webhooks(&p).await?})))
}

pub async fn delete(
    State(state): State<AppState>,
    Auth(p): Auth,
    ClientInfo(client): ClientInfo,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    state.app.delete_webhook(&p, &id, &client).await?;
    Ok(StatusCode::NO_CONTENT)
}

pub async fn deliveries(
    State(state): State<AppState>,
    Auth(p): Auth,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    Ok(Json(json!({"deliveries": state.app.webhook_deliveries(&p, &id).await?})))
}

pub async fn test(
    State(state): State<AppState>,
    Auth(p): Auth,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    state.app.test_webhook(&p, &id).await?;
    Ok(StatusCode::ACCEPTED)
}

pub async fn resend(
    State(state): State<AppState>,
    Auth(p): Auth,
    Path((id, delivery)): Path<(String, String)>,
) -> Result<StatusCode, ApiError> {
    state.app.resend_webhook(&p, &id, &delivery).await?;
    Ok(StatusCode::ACCEPTED)
}
