//! Admin endpoints: people, payments and refunds, newsletters, analytics. The use cases
//! check the admin role; these only translate HTTP.

use axum::Json;
use axum::extract::{MatchedPath, Path, Query, State};
use axum::http::StatusCode;
use serde::Deserialize;
use serde_json::json;

use app::people::StaffAction;
use db::billing::PaymentFilter;

use crate::AppState;
use crate::error::ApiError;
use crate::extract::{ApiJson, Auth, ClientInfo};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RefundRequest {
    /// Minor units; all that is left when absent.
    #[serde(default)]
    amount: Option<i64>,
    reason: String,
}

pub async fn refund(
    State(state): State<AppState>,
    Auth(p): Auth,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<RefundRequest>,
) -> Result<Json<db::billing::RefundOutcome>, ApiError> {
    Ok(Json(state.app.refund_payment(&p, &id, body.amount, &body.reason).await?))
}

pub async fn payments(
    State(state): State<AppState>,
    Auth(p): Auth,
    Query(filter): Query<PaymentFilter>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let rows = state.app.admin_payments(&p, &filter).await?;
    let payments: Vec<_> =
        rows.into_iter().map(|(payment, email)| json!({"payment": payment, "email": email})).collect();
    Ok(Json(json!({"payments": payments})))
}

#[derive(Deserialize)]
pub struct Days {
    #[serde(default)]
    days: Option<i64>,
}

/// Admin: daily aggregates, small groups suppressed.
pub async fn analytics(
    State(state): State<AppState>,
    Auth(p): Auth,
    Query(q): Query<Days>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let figures = state.app.analytics(&p, q.days.unwrap_or(30)).await?;
    Ok(Json(json!({"min_group": state.app.settings.privacy.analytics_min_group, "figures": figures})))
}

/// `GET /api/v1/admin/ai-usage?days=30`: model calls and their cost by provider and outcome.
pub async fn ai_usage(
    State(state): State<AppState>,
    Auth(p): Auth,
    Query(q): Query<Days>,
) -> Result<Json<serde_json::Value>, ApiError> {
    Ok(Json(json!({"calls": state.app.ai_usage(&p, q.days.unwrap_or(30)).await?})))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Newsletter {
    subject: String,
    body: String,
}

/// Admin: news by email to everyone opted in to marketing (each with its unsubscribe link).
pub async fn newsletter(
    State(state): State<AppState>,
    Auth(p): Auth,
    ApiJson(n): ApiJson<Newsletter>,
) -> Result<(StatusCode, Json<serde_json::Value>), ApiError> {
    let queued = state.app.send_newsletter(&p, &n.subject, &n.body).await?;
    Ok((StatusCode::ACCEPTED, Json(json!({"queued": queued}))))
}

#[derive(Deserialize)]
pub struct Search {
    #[serde(default)]
    q: String,
}

/// `GET /api/v1/admin/users?q=`: accounts by id, or by a piece of email, phone, name or company.
pub async fn users(
    State(state): State<AppState>,
    Auth(p): Auth,
    Query(search): Query<Search>,
) -> Result<Json<serde_json::Value>, ApiError> {
    Ok(Json(json!({"users": state.app.find_people(&p, &search.q).await?})))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Reason {
    reason: String,
}

/// `POST /api/v1/admin/users/{id}/suspend` and `…/reactivate`, `{reason}`.
pub async fn suspension(
    State(state): State<AppState>,
    Auth(p): Auth,
    ClientInfo(client): ClientInfo,
    route: MatchedPath,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<Reason>,
) -> Result<Json<app::people::Person>, ApiError> {
    let action = match route.as_str().rsplit('/').next() {
        Some("suspend") => StaffAction::Suspend,
        Some("reactivate") => StaffAction::Reactivate,
        _ => return Err(ApiError::new(StatusCode::NOT_FOUND, "not_found", "Not found.")),
    };
    Ok(Json(state.app.act_on_person(&p, &id, action, &body.reason, &client).await?))
}
