use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::Serialize;
use serde_json::json;

use app::accounts::ProfilePatch;

use super::MeView;
use crate::AppState;
use crate::error::ApiError;
use crate::extract::{ApiJson, Auth, ClientInfo};

pub async fn me(Auth(p): Auth) -> Json<MeView> {
    Json(MeView::with_balance(p.user, p.tokens))
}

/// The profile as corrected; a new email or phone is `pending` until proven (a link to the
/// address, a code to the number for `POST /api/v1/me/phone/verify`).
pub async fn update(
    State(state): State<AppState>,
    Auth(p): Auth,
    ClientInfo(client): ClientInfo,
    ApiJson(patch): ApiJson<ProfilePatch>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let tokens = p.tokens;
    let update = state.app.update_profile(&p, patch, &client).await?;
    let mut body = serde_json::to_value(MeView::with_balance(update.user, tokens)).unwrap_or_default();
    if let Some(b) = body.as_object_mut() {
        b.insert("pending".into(), json!({"email": update.pending_email, "phone": update.pending_phone}));
    }
    Ok(Json(body))
}

/// Sends a code confirming the account's own number (a new one: `PATCH /api/v1/me`).
pub async fn send_phone_proof(
    State(state): State<AppState>,
    Auth(p): Auth,
    ClientInfo(client): ClientInfo,
) -> Result<(StatusCode, Json<serde_json::Value>), ApiError> {
    state.app.send_phone_proof(&p, &client).await?;
    Ok((StatusCode::ACCEPTED, Json(json!({"sent": true, "expires_in_seconds": app::otp::CODE_TTL_MS / 1000}))))
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PhoneCode {
    phone: String,
    code: String,
}

pub async fn confirm_phone(
    State(state): State<AppState>,
    Auth(p): Auth,
    ClientInfo(client): ClientInfo,
    ApiJson(b): ApiJson<PhoneCode>,
) -> Result<Json<MeView>, ApiError> {
    let tokens = p.tokens;
    let user = state.app.confirm_phone(&p, &b.phone, &b.code, &client).await?;
    Ok(Json(MeView::with_balance(user, tokens)))
}

/// For accounts without a password: a code to their own phone, to confirm a change.
pub async fn confirmation_code(
    State(state): State<AppState>,
    Auth(p): Auth,
    ClientInfo(client): ClientInfo,
) -> Result<StatusCode, ApiError> {
    state.app.send_confirmation_code(&p, &client).await?;
    Ok(StatusCode::ACCEPTED)
}

/// `DELETE /api/v1/me`: the account and everything about it, confirmed by password (or code).
pub async fn delete(
    State(state): State<AppState>,
    Auth(p): Auth,
    ClientInfo(client): ClientInfo,
    ApiJson(confirm): ApiJson<app::erasure::Confirmation>,
) -> Result<axum::response::Response, ApiError> {
    use axum::response::IntoResponse;
    state.app.delete_account(&p, &confirm, &client).await?;
    let mut headers = axum::http::HeaderMap::new();
    crate::cookies::clear_session(&mut headers, &state.app.settings);
    Ok((StatusCode::NO_CONTENT, headers).into_response())
}

pub async fn activity(State(state): State<AppState>, Auth(p): Auth) -> Result<Json<serde_json::Value>, ApiError> {
    Ok(Json(json!({"activity": state.app.activity(&p).await?})))
}

pub async fn consents(State(state): State<AppState>, Auth(p): Auth) -> Result<Json<app::consents::Consents>, ApiError> {
    Ok(Json(state.app.consents(&p).await?))
}

pub async fn update_consents(
    State(state): State<AppState>,
    Auth(p): Auth,
    ClientInfo(client): ClientInfo,
    ApiJson(update): ApiJson<app::consents::ConsentUpdate>,
) -> Result<Json<app::consents::Consents>, ApiError> {
    Ok(Json(state.app.update_consents(&p, &update, "api", &client).await?))
}

/// The policy in force, and (signed in) whether the caller has acknowledged it.
pub async fn policy(crate::extract::MaybeAuth(p): crate::extract::MaybeAuth) -> Json<serde_json::Value> {
    let current = app::consents::current_policy();
    let acknowledged = p.map(|p| p.user.policy_acknowledged.as_deref() == Some(current.version));
    Json(json!({"version": current.version, "effective": current.effective, "significant": current.significant,
                "changes": current.changes, "acknowledged": acknowledged}))
}

pub async fn acknowledge_policy(State(state): State<AppState>, Auth(p): Auth) -> Result<StatusCode, ApiError> {
    state.app.acknowledge_policy(&p).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// An export as the API shows it, with its download link once ready (and until it expires).
fn export_view(e: db::exports::Export) -> serde_json::Value {
    let live = e.status == "ready" && e.expires_at.is_some_and(|t| t > app::now_ms());
    let download = live.then(|| format!("/api/v1/me/exports/{}/download", e.id));
    json!({"id": e.id, "status": e.status, "created_at": e.created_at, "ready_at": e.ready_at,
           "expires_at": e.expires_at, "download": download})
}

pub async fn request_export(
    State(state): State<AppState>,
    Auth(p): Auth,
    ClientInfo(client): ClientInfo,
) -> Result<(StatusCode, Json<serde_json::Value>), ApiError> {
    Ok((StatusCode::ACCEPTED, Json(export_view(state.app.request_export(&p, &client).await?))))
}

pub async fn export(
    State(state): State<AppState>,
    Auth(p): Auth,
    Path(id): Path<String>,
) -> Result<Json<serde_json::Value>, ApiError> {
    Ok(Json(export_view(state.app.export_of(&p, &id).await?)))
}

pub async fn export_download(
    State(state): State<AppState>,
    Auth(p): Auth,
    ClientInfo(client): ClientInfo,
    Path(id): Path<String>,
) -> Result<axum::response::Response, ApiError> {
    let (name, chunks) = state.app.export_zip(&p, &id, &client).await?;
    Ok(super::zip_response(name, chunks))
}

#[derive(Serialize)]
pub struct SessionView {
    id: String,
    current: bool,
    browser: String,
    os: String,
    device_type: String,
    ip_network: String,
    created_at: i64,
    last_seen_at: i64,
}

pub async fn sessions(State(state): State<AppState>, Auth(p): Auth) -> Result<Json<serde_json::Value>, ApiError> {
    let current = p.session.as_ref().map(|s| s.id.clone());
    let list: Vec<SessionView> = state
        .app
        .sessions(&p)
        .await?
        .into_iter()
        .map(|s| SessionView {
            current: current.as_deref() == Some(s.id.as_str()),
            id: s.id,
            browser: s.browser,
            os: s.os,
            device_type: s.device_type,
            ip_network: s.ip_network,
            created_at: s.created_at,
            last_seen_at: s.last_seen_at,
        })
        .collect();
    Ok(Json(json!({"sessions": list})))
}

pub async fn end_session(
    State(state): State<AppState>,
    Auth(p): Auth,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    state.app.end_session(&p, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

pub async fn revoke_others(
    State(state): State<AppState>,
    Auth(p): Auth,
    ClientInfo(client): ClientInfo,
) -> Result<Json<serde_json::Value>, ApiError> {
    let ended = state.app.logout_others(&p, &client).await?;
    Ok(Json(json!({"ended": ended})))
}

pub async fn audit(State(state): State<AppState>, Auth(p): Auth) -> Result<Json<serde_json::Value>, ApiError> {
    let entries = state.app.security_log(&p).await?;
    Ok(Json(json!({"entries": entries})))
}
