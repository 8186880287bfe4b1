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

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Alert {
    /// Tokens; `null` turns the alert off.
    threshold: Option<i64>,
}

/// `GET`/`PUT /api/v1/tokens/alert`: mail and `tokens.low` when a spend takes the balance
/// under `threshold`.
pub async fn alert(State(state): State<AppState>, Auth(p): Auth) -> Result<Json<serde_json::Value>, ApiError> {
    Ok(Json(json!({"threshold": state.app.balance_alert(&p).await?})))
}

pub async fn set_alert(
    State(state): State<AppState>,
    Auth(p): Auth,
    crate::extract::ApiJson(a): crate::extract::ApiJson<Alert>,
) -> Result<Json<serde_json::Value>, ApiError> {
    state.app.set_balance_alert(&p, a.threshold).await?;
    Ok(Json(json!({"threshold": a.threshold})))
}

/// `GET /api/v1/referrals`: the account's invitation link and who came through it.
pub async fn referrals(
    State(state): State<AppState>,
    Auth(p): Auth,
) -> Result<Json<app::referrals::Referrals>, ApiError> {
    Ok(Json(state.app.referrals(&p).await?))
}
