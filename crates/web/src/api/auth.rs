use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::json;

use app::accounts::Signup;
use app::sessions::Started;

use super::MeView;
use crate::AppState;
use crate::cookies;
use crate::error::ApiError;
use crate::extract::{ApiJson, Auth, ClientInfo};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SignupBody {
    email: String,
    password: String,
    name: String,
    phone: Option<String>,
    company: Option<String>,
    #[serde(default)]
    marketing_opt_in: bool,
    /// The code of the invitation link the person came through.
    #[serde(default)]
    referral_code: Option<String>,
}

/// Sets the session cookie and answers with the account.
fn signed_in(state: &AppState, status: StatusCode, started: Started, extra: Option<serde_json::Value>) -> Response {
    let mut headers = HeaderMap::new();
    cookies::set_session(&mut headers, &state.app.settings, &started.token);
    let mut body = json!({"user": MeView::with_balance(started.user, started.tokens), "csrf_token": state.app.csrf_token(&started.session)});
    if let (Some(serde_json::Value::Object(extra)), Some(b)) = (extra, body.as_object_mut()) {
        b.extend(extra);
    }
    (status, headers, Json(body)).into_response()
}

pub async fn signup(
    State(state): State<AppState>,
    ClientInfo(client): ClientInfo,
    ApiJson(b): ApiJson<SignupBody>,
) -> Result<Response, ApiError> {
    let started = state
        .app
        .signup(
            Signup {
                email: b.email,
                password: b.password,
                name: b.name,
                phone: b.phone,
                company: b.company,
                marketing_opt_in: b.marketing_opt_in,
                referral_code: b.referral_code,
            },
            &client,
        )
        .await?;
    Ok(signed_in(&state, StatusCode::CREATED, started, None))
}

#[derive(Deserialize)]
pub struct LoginBody {
    email: String,
    password: String,
}

pub async fn login(
    State(state): State<AppState>,
    ClientInfo(client): ClientInfo,
    ApiJson(b): ApiJson<LoginBody>,
) -> Result<Response, ApiError> {
    let started = state.app.login(&b.email, &b.password, &client).await?;
    Ok(signed_in(&state, StatusCode::OK, started, None))
}

pub async fn logout(State(state): State<AppState>, Auth(p): Auth) -> Result<Response, ApiError> {
    state.app.logout(&p).await?;
    let mut headers = HeaderMap::new();
    cookies::clear_session(&mut headers, &state.app.settings);
    Ok((StatusCode::NO_CONTENT, headers).into_response())
}

#[derive(Deserialize)]
pub struct PhoneBody {
    phone: String,
}

pub async fn otp_send(
    State(state): State<AppState>,
    ClientInfo(client): ClientInfo,
    ApiJson(b): ApiJson<PhoneBody>,
) -> Result<Response, ApiError> {
    state.app.send_code(&b.phone, &client).await?;
    Ok((StatusCode::ACCEPTED, Json(json!({"sent": true, "expires_in_seconds": app::otp::CODE_TTL_MS / 1000})))
        .into_response())
}

#[derive(Deserialize)]
pub struct CodeBody {
    phone: String,
    code: String,
    /// For a new account: the code of the invitation link the person came through.
    #[serde(default)]
    referral_code: Option<String>,
}

pub async fn otp_verify(
    State(state): State<AppState>,
    ClientInfo(client): ClientInfo,
    ApiJson(b): ApiJson<CodeBody>,
) -> Result<Response, ApiError> {
    let (started, created) = state.app.verify_code(&b.phone, &b.code, b.referral_code.as_deref(), &client).await?;
    let status = if created { StatusCode::CREATED } else { StatusCode::OK };
    Ok(signed_in(&state, status, started, Some(json!({"created": created}))))
}

#[derive(Deserialize)]
pub struct TokenBody {
    token: String,
}

pub async fn verify_email(
    State(state): State<AppState>,
    ClientInfo(client): ClientInfo,
    ApiJson(b): ApiJson<TokenBody>,
) -> Result<Json<MeView>, ApiError> {
    Ok(Json(state.app.verify_email(&b.token, &client).await?.into()))
}

pub async fn resend_verification(State(state): State<AppState>, Auth(p): Auth) -> Result<StatusCode, ApiError> {
    state.app.resend_verification(&p).await?;
    Ok(StatusCode::ACCEPTED)
}

#[derive(Deserialize)]
pub struct EmailBody {
    email: String,
}

pub async fn forgot_password(
    State(state): State<AppState>,
    ClientInfo(client): ClientInfo,
    ApiJson(b): ApiJson<EmailBody>,
) -> Result<StatusCode, ApiError> {
    state.app.forgot_password(&b.email, &client).await?;
    Ok(StatusCode::ACCEPTED)
}

#[derive(Deserialize)]
pub struct ResetBody {
    token: String,
    password: String,
}

pub async fn reset_password(
    State(state): State<AppState>,
    ClientInfo(client): ClientInfo,
    ApiJson(b): ApiJson<ResetBody>,
) -> Result<StatusCode, ApiError> {
    state.app.reset_password(&b.token, &b.password, &client).await?;
    Ok(StatusCode::NO_CONTENT)
}
