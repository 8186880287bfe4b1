//! Plans, checkout, verification, payments and invoices (`/api/v1/billing/...`), and the
//! Razorpay webhook.

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::json;

use app::billing::CheckoutResult;

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

/// `POST /webhooks/razorpay`: the raw body is what the signature covers.
pub async fn webhook(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<serde_json::Value>, ApiError> {
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    let signature = header("x-razorpay-signature").unwrap_or_default();
    let delivery = state.app.razorpay_webhook(&body, signature).await?;
    Ok(Json(json!({"status": format!("{delivery:?}").to_lowercase()})))
}
