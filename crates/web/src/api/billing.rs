//! Plans, checkout, verification, payments and invoices (`/api/v1/billing/...`), admin
//! refunds, and the Razorpay webhook.

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::json;

use app::billing::CheckoutResult;
use db::billing::PaymentFilter;

use crate::AppState;
use crate::cookies;
use crate::error::ApiError;
use crate::extract::{ApiJson, Auth, ClientInfo, currency_of};

/// Prices in the visitor's currency; the currency cookie is set on first sight.
pub async fn plans(
    State(state): State<AppState>,
    ClientInfo(client): ClientInfo,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let (currency, cookie) = currency_of(&headers, &client, &state);
    let plans = state.app.price_list(currency).await?;
    let mut response = Json(json!({"currency": currency.code(), "plans": plans})).into_response();
    if let Some(value) = cookie {
        cookies::set_currency(response.headers_mut(), &state.app.settings, &value);
    }
    Ok(response)
}

/// Only the plan: amount and currency are the server's.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OrderRequest {
    plan_id: String,
}

pub async fn create_order(
    State(state): State<AppState>,
    Auth(p): Auth,
    ClientInfo(client): ClientInfo,
    headers: HeaderMap,
    ApiJson(body): ApiJson<OrderRequest>,
) -> Result<(StatusCode, Json<app::billing::Checkout>), ApiError> {
    let (currency, _) = currency_of(&headers, &client, &state);
    Ok((StatusCode::CREATED, Json(state.app.start_checkout(&p, &body.plan_id, currency).await?)))
}

pub async fn verify(
    State(state): State<AppState>,
    Auth(p): Auth,
    ApiJson(body): ApiJson<CheckoutResult>,
) -> Result<Json<app::billing::Verified>, ApiError> {
    Ok(Json(state.app.verify_checkout(&p, &body).await?))
}

/// Dev mode only: what the simulated Checkout does when the buyer presses Pay.
pub async fn simulated_checkout(
    State(state): State<AppState>,
    Auth(p): Auth,
    ApiJson(body): ApiJson<fakes::razorpay::Pay>,
) -> Result<Json<serde_json::Value>, ApiError> {
    // The amount is the order's: the browser cannot name another, even here.
    let pay = fakes::razorpay::Pay { amount: None, currency: None, ..body };
    Ok(Json(state.app.simulate_checkout(&p, &pay).await?))
}

pub async fn payments(State(state): State<AppState>, Auth(p): Auth) -> Result<Json<serde_json::Value>, ApiError> {
    let payments = state.app.payments(&p).await?;
    let subscriptions = state.app.subscriptions(&p).await?;
    Ok(Json(json!({"payments": payments, "subscriptions": subscriptions})))
}

pub async fn invoice(
    State(state): State<AppState>,
    Auth(p): Auth,
    Path(number): Path<String>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let view = state.app.invoice(&p, &number).await?;
    Ok(Json(json!({
        "invoice": view.invoice, "total": view.total.to_string(), "refunded": view.refunded.to_string(),
        "gst": view.gst, "gst_percent": view.gst_percent, "seller_gstin": view.seller_gstin,
    })))
}

pub async fn cancel_subscription(
    State(state): State<AppState>,
    Auth(p): Auth,
    Path(id): Path<String>,
) -> Result<Json<db::billing::Subscription>, ApiError> {
    Ok(Json(state.app.cancel_subscription(&p, &id).await?))
}

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

pub async fn admin_payments(
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

/// `POST /webhooks/razorpay`: the raw body is what the signature covers.
pub async fn webhook(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<serde_json::Value>, ApiError> {
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    let signature = header("x-razorpay-signature").unwrap_or_default();
    let delivery = state.app.razorpay_webhook(&body, signature, header("x-razorpay-event-id")).await?;
    Ok(Json(json!({"status": format!("{delivery:?}").to_lowercase()})))
}
