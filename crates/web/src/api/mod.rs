//! The JSON API under `/api/v1` (contract: shared/design/api.md).

use axum::routing::{delete, get, post, put};
use serde::Serialize;

use db::users::User;

use crate::AppState;

mod account;
mod admin;
mod auth;
mod billing;
mod creations;
mod keys;
mod listings;
mod previews;
mod removebg;
mod tokens;
mod uploads;
mod webhooks;

pub use removebg::remove_bg_errors;

pub fn routes(max_upload_bytes: u64) -> axum::Router<AppState> {
    // Multipart framing adds a little to the file itself.
    let upload_limit = usize::try_from(max_upload_bytes).unwrap_or(usize::MAX).saturating_add(64 * 1024);
    axum::Router::new()
        .route("/openapi.json", get(openapi))
        .route(
            "/api/v1/uploads",
            get(uploads::list).post(uploads::create).layer(axum::extract::DefaultBodyLimit::max(upload_limit)),
        )
        .route("/api/v1/uploads/{id}", get(uploads::show).delete(uploads::delete))
        .route("/api/v1/quotes", post(creations::quote))
        .route("/api/v1/creations", get(creations::list).post(creations::create))
        .route("/api/v1/creations/{id}", get(creations::show).delete(creations::delete))
        .route("/api/v1/creations/{id}/events", get(creations::events))
        .route("/api/v1/creations/{id}/cancel", post(creations::cancel))
        .route("/api/v1/creations/{id}/corrections", post(creations::correct))
        .route("/api/v1/creations/{id}/corrections/preview", post(creations::correction_preview))
        .route("/api/v1/creations/{id}/zip", get(creations::zip))
        .route("/api/v1/batches", post(creations::create_batch))
        .route("/api/v1/batches/{id}", get(creations::show_batch))
        .route("/api/v1/batches/{id}/zip", get(creations::batch_zip))
        .route("/api/v1/outputs/{id}", get(creations::output))
        .route("/api/v1/outputs/{id}/before", get(creations::before))
        .route("/api/v1/outputs/{id}/feedback", put(creations::feedback))
        .route("/api/v1/outputs/{id}/remake", post(creations::remake))
        .route("/api/v1/uploads/{id}/original", get(uploads::original))
        .route("/api/v1/uploads/{id}/thumbnail", get(uploads::thumbnail))
        .route("/api/v1/auth/signup", post(auth::signup))
        .route("/api/v1/auth/login", post(auth::login))
        .route("/api/v1/auth/logout", post(auth::logout))
        .route("/api/v1/auth/otp/send", post(auth::otp_send))
        .route("/api/v1/auth/otp/verify", post(auth::otp_verify))
        .route("/api/v1/auth/verify-email", post(auth::verify_email))
        .route("/api/v1/auth/verify-email/resend", post(auth::resend_verification))
        .route("/api/v1/auth/password/forgot", post(auth::forgot_password))
        .route("/api/v1/auth/password/reset", post(auth::reset_password))
        .route("/api/v1/me", get(account::me).patch(account::update).delete(account::delete))
        .route("/api/v1/me/phone", post(account::send_phone_proof))
        .route("/api/v1/me/phone/verify", post(account::confirm_phone))
        .route("/api/v1/me/confirmation-code", post(account::confirmation_code))
        .route("/api/v1/me/sessions", get(account::sessions))
        .route("/api/v1/me/sessions/{id}", delete(account::end_session))
        .route("/api/v1/me/sessions/revoke-others", post(account::revoke_others))
        .route("/api/v1/me/audit", get(account::audit))
        .route("/api/v1/me/activity", get(account::activity))
        .route("/api/v1/me/export", post(account::request_export))
        .route("/api/v1/me/consents", get(account::consents).put(account::update_consents))
        .route("/api/v1/policy", get(account::policy))
        .route("/api/v1/policy/acknowledge", post(account::acknowledge_policy))
        .route("/api/v1/me/exports/{id}", get(account::export))
        .route("/api/v1/me/exports/{id}/download", get(account::export_download))
        .route("/api/v1/tokens", get(tokens::balance))
        .route("/api/v1/referrals", get(tokens::referrals))
        .route("/api/v1/tokens/ledger", get(tokens::ledger))
        .route("/api/v1/tokens/daily-reward", post(tokens::daily_reward))
        .route("/api/v1/tokens/alert", get(tokens::alert).put(tokens::set_alert))
        .route("/api/v1/billing/plans", get(billing::plans))
        .route("/api/v1/billing/orders", post(billing::create_order))
        .route("/api/v1/billing/verify", post(billing::verify))
        .route("/api/v1/billing/simulated-checkout", post(billing::simulated_checkout))
        .route("/api/v1/billing/payments", get(billing::payments))
        .route("/api/v1/billing/invoices/{number}", get(billing::invoice))
        .route("/api/v1/billing/subscriptions/{id}/cancel", post(billing::cancel_subscription))
        .route("/api/v1/admin/users", get(admin::users))
        .route("/api/v1/admin/users/{id}/suspend", post(admin::suspension))
        .route("/api/v1/admin/users/{id}/reactivate", post(admin::suspension))
        .route("/api/v1/admin/payments", get(admin::payments))
        .route("/api/v1/admin/payments/{id}/refunds", post(admin::refund))
        .route("/api/v1/admin/newsletter", post(admin::newsletter))
        .route("/api/v1/admin/analytics", get(admin::analytics))
        .route("/webhooks/razorpay", post(billing::webhook))
        .route("/api/v1/previews", post(previews::create).layer(axum::extract::DefaultBodyLimit::max(upload_limit)))
        .route("/api/v1/previews/token", post(previews::token))
        .route("/api/v1/previews/{id}", get(previews::show))
        .route("/api/v1/previews/{id}/image", get(previews::image))
        .route("/api/v1/admin/ai-usage", get(admin::ai_usage))
        .route("/api/v1/brand-profile", get(listings::brand).put(listings::save_brand))
        .route("/api/v1/listings/batches", get(listings::batches).post(listings::create_batch))
        .route("/api/v1/listings/batches/{id}", get(listings::batch))
        .route("/api/v1/listings/batches/{id}/export", get(listings::export))
        .route("/api/v1/listings/batches/{id}/shopify", post(listings::push))
        .route("/api/v1/listings/{id}", axum::routing::patch(listings::edit))
        .route("/api/v1/listings/{id}/regenerate", post(listings::regenerate))
        .route("/api/v1/shopify", get(listings::shop).put(listings::connect).delete(listings::disconnect))
        .route("/api/v1/api-keys", get(keys::list).post(keys::create))
        .route("/api/v1/api-keys/{id}", delete(keys::delete))
        .route("/api/v1/usage", get(keys::usage))
        .route(
            "/api/v1/removebg",
            post(removebg::remove_background).layer(axum::extract::DefaultBodyLimit::max(upload_limit)),
        )
        .route("/api/v1/webhooks", get(webhooks::list).post(webhooks::create))
        .route("/api/v1/webhooks/{id}", delete(webhooks::delete))
        .route("/api/v1/webhooks/{id}/deliveries", get(webhooks::deliveries))
        .route("/api/v1/webhooks/{id}/deliveries/{delivery_id}/resend", post(webhooks::resend))
        .route("/api/v1/webhooks/{id}/test", post(webhooks::test))
}

/// The contract of this API, written by hand next to the routes (a test calls every
/// operation it lists).
pub const OPENAPI: &str = include_str!("../../api/openapi.json");

async fn openapi() -> impl axum::response::IntoResponse {
    ([(axum::http::header::CONTENT_TYPE, "application/json")], OPENAPI)
}

/// `?before=…&limit=…` paging for lists, newest first.
#[derive(serde::Deserialize)]
pub struct Page {
    /// Items created before this time (ms), from the previous page's `next_before`.
    pub before: Option<i64>,
    pub limit: Option<i64>,
}

/// Image bytes for their owner: never cached (a shared computer keeps nothing after sign
/// out), and a file name when downloaded.
pub fn image_response(bytes: Vec<u8>, mime: &'static str, download_name: Option<String>) -> axum::response::Response {
    use axum::http::{HeaderValue, header};
    use axum::response::IntoResponse;
    let mut response = bytes.into_response();
    let h = response.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(mime));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("private, no-store"));
    if let Some(v) = download_name.and_then(|n| HeaderValue::from_str(&format!("attachment; filename=\"{n}\"")).ok()) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    response
}

/// A streamed ZIP download.
pub fn zip_response(name: String, chunks: app::archive::Chunks) -> axum::response::Response {
    use axum::http::{HeaderValue, header};
    let stream = futures_util::stream::unfold(chunks, |mut rx| async move { rx.recv().await.map(|c| (c, rx)) });
    let mut response = axum::response::Response::new(axum::body::Body::from_stream(stream));
    let h = response.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/zip"));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("private, no-store"));
    if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"{name}\"")) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    response
}

/// The account as its owner sees it.
#[derive(Serialize)]
pub struct MeView {
    pub id: String,
    pub email: Option<String>,
    pub email_verified: bool,
    pub phone: Option<String>,
    pub phone_verified: bool,
    pub name: String,
    pub company: Option<String>,
    pub address: Option<String>,
    pub website: Option<String>,
    pub category: Option<String>,
    pub gstin: Option<String>,
    pub role: String,
    pub marketing_opt_in: bool,
    pub model_training_opt_in: bool,
    pub created_at: i64,
    /// Spendable tokens; absent where the answer is about the profile alone.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub token_balance: Option<i64>,
}

impl MeView {
    pub fn with_balance(user: User, tokens: db::ledger::Balance) -> Self {
        Self { token_balance: Some(tokens.balance), ..user.into() }
    }
}

impl From<User> for MeView {
    fn from(u: User) -> Self {
        Self {
            email_verified: u.email_verified_at.is_some(),
            phone_verified: u.phone_verified_at.is_some(),
            id: u.id,
            email: u.email,
            phone: u.phone,
            name: u.name,
            company: u.company,
            address: u.address,
            website: u.website,
            category: u.category,
            gstin: u.gstin,
            role: u.role,
            marketing_opt_in: u.marketing_opt_in,
            model_training_opt_in: u.model_training_opt_in,
            created_at: u.created_at,
            token_balance: None,
        }
    }
}
