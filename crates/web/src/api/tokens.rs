use axum::Json;
use axum::extract::{Query, State};
use serde_json::json;

use crate::AppState;
use crate::error::ApiError;
use crate::extract::{Auth, ClientInfo};

pub async fn balance(State(state): State<AppState>, Auth(p): Auth) -> Result<Json<serde_json::Value>, ApiError> {
    Ok(Json(json!(state.app.balance(&p).await?)))
}

pub async fn ledger(
    State(state): State<AppState>,
    Auth(p): Auth,
    Query(page): Query<super::Page>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let entries = state.app.ledger(&p, page.before, page.limit.unwrap_or(50)).await?;
    let next = entries.last().map(|e| e.created_at);
    Ok(Json(json!({"entries": entries, "next_before": next})))
}

pub async fn daily_reward(
    State(state): State<AppState>,
    Auth(p): Auth,
    ClientInfo(client): ClientInfo,
) -> Result<Json<serde_json::Value>, ApiError> {
    Ok(Json(json!(state.app.claim_daily_reward(&p, &client).await?)))
}
