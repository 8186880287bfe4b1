//! FAKE Razorpay: the REST endpoints our client uses (orders, payments, capture, refunds,
//! plans, subscriptions, cancel) with basic-auth checks and Razorpay's error shape, and
//! webhooks signed exactly as Razorpay signs them (`X-Razorpay-Signature` = hex
//! HMAC-SHA256 of the raw body with the webhook secret, `X-Razorpay-Event-Id`).
//!
//! What a customer does in Checkout, and what Razorpay does later on its own (renewals,
//! halting), is driven through `/_fake/...` endpoints that exist only here.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};

use axum::Json;
use axum::extract::{ConnectInfo, Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use base64::Engine;
use rand::Rng;
use serde::Deserialize;
use serde_json::{Value, json};

use providers::razorpay::sign;

const MONTH_SECS: i64 = 30 * 86_400;

/// A webhook as Razorpay would deliver it.
#[derive(Debug, Clone)]
pub struct Webhook {
    pub event_id: String,
    pub event: String,
    pub body: String,
    pub signature: String,
}

#[derive(Default)]
struct Ledger {
    orders: HashMap<String, Value>,
    payments: HashMap<String, Value>,
    refunds: Vec<Value>,
    plans: HashMap<String, Value>,
    subscriptions: HashMap<String, Value>,
    invoices: HashMap<String, Value>,
    /// Subscriptions cancelled at the end of their period, not yet ended.
    cancel_at_end: Vec<String>,
    webhooks: Vec<Webhook>,
}

struct Shared {
    key_id: String,
    key_secret: String,
    webhook_secret: String,
    deliver_to: Mutex<Option<String>>,
    ledger: Mutex<Ledger>,
    http: reqwest::Client,
}

/// A running FAKE Razorpay on a loopback port.
#[derive(Clone)]
pub struct FakeRazorpay {
    pub base_url: String,
    shared: Arc<Shared>,
}

/// What Checkout's `handler` hands the page after a successful payment.
#[derive(Debug, Clone, serde::Serialize, Deserialize)]
pub struct CheckoutSuccess {
    pub razorpay_payment_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub razorpay_order_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub razorpay_subscription_id: Option<String>,
    pub razorpay_signature: String,
}

/// A customer paying in Checkout. `amount` other than the order's is how tests play a
/// tampered payment; `fail` plays a declined card.
#[derive(Debug, Clone, Default, serde::Serialize, Deserialize)]
pub struct Pay {
    #[serde(default)]
    pub order_id: Option<String>,
    #[serde(default)]
    pub subscription_id: Option<String>,
    #[serde(default)]
    pub amount: Option<i64>,
    #[serde(default)]
    pub currency: Option<String>,
    #[serde(default)]
    pub fail: bool,
}

fn new_id(prefix: &str) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    let mut rng = rand::rng();
    let tail: String = (0..14).map(|_| char::from(ALPHABET[rng.random_range(0..ALPHABET.len())])).collect();
    format!("{prefix}_{tail}")
}

fn now_secs() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

fn error(status: StatusCode, description: &str) -> Response {
    (
        status,
        Json(json!({"error": {"code": "BAD_REQUEST_ERROR", "description": description, "source": "NA", "step": "NA"}})),
    )
        .into_response()
}

impl FakeRazorpay {
    /// Starts on `127.0.0.1:0` with fresh random keys. Webhooks are recorded, and also
    /// posted to `deliver_to` once set.
    pub async fn start() -> std::io::Result<Self> {
        let secret = |n: usize| {
            let bytes: Vec<u8> = (0..n).map(|_| rand::random::<u8>()).collect();
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
        };
        let shared = Arc::new(Shared {
            key_id: format!("rzp_test_fake{}", &secret(6)),
            key_secret: secret(18),
            webhook_secret: secret(18),
            deliver_to: Mutex::new(None),
            ledger: Mutex::default(),
            http: reqwest::Client::new(),
        });
        let router = axum::Router::new()
            .route("/v1/orders", post(create_order))
            .route("/v1/orders/{id}", get(fetch_order))
            .route("/v1/payments/{id}", get(fetch_payment))
            .route("/v1/payments/{id}/capture", post(capture))
            .route("/v1/payments/{id}/refund", post(refund))
            .route("/v1/payments/{id}/refunds", get(list_refunds))
            .route("/v1/invoices/{id}", get(fetch_invoice))
            .route("/v1/plans", post(create_plan))
            .route("/v1/subscriptions", post(create_subscription))
            .route("/v1/subscriptions/{id}", get(fetch_subscription))
            .route("/v1/subscriptions/{id}/cancel", post(cancel_subscription))
            .merge(
                axum::Router::new()
                    .route("/_fake/checkout", post(checkout_route))
                    .route("/_fake/subscriptions/{id}/renew", post(renew_route))
                    .route("/_fake/subscriptions/{id}/halt", post(halt_route))
                    .route_layer(axum::middleware::from_fn_with_state(shared.clone(), control_guard)),
            )
            .with_state(shared.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        tokio::spawn(async move {
            let service = router.into_make_service_with_connect_info::<SocketAddr>();
            if let Err(e) = axum::serve(listener, service).await {
                tracing::error!(error = %e, "FAKE Razorpay stopped");
            }
        });
        Ok(Self { base_url: format!("http://{addr}"), shared })
    }

    pub fn key_id(&self) -> &str {
        &self.shared.key_id
    }

    pub fn key_secret(&self) -> &str {
        &self.shared.key_secret
    }

    pub fn webhook_secret(&self) -> &str {
        &self.shared.webhook_secret
    }

    /// Post every future webhook to this URL (our `/webhooks/razorpay`), as Razorpay would.
    pub fn deliver_to(&self, url: &str) {
        if let Ok(mut d) = self.shared.deliver_to.lock() {
            *d = Some(url.to_owned());
        }
    }

    /// Every webhook sent so far, oldest first.
    pub fn webhooks(&self) -> Vec<Webhook> {
        lock(&self.shared).webhooks.clone()
    }

    pub fn checkout(&self, pay: &Pay) -> Result<CheckoutSuccess, String> {
        checkout(&self.shared, pay)
    }

    /// The next monthly charge (or, after a cancel at period end, the end).
    pub fn renew(&self, subscription_id: &str) -> Result<(), String> {
        renew(&self.shared, subscription_id)
    }

    /// Every retry of the card failed: Razorpay halts the subscription.
    pub fn halt(&self, subscription_id: &str) -> Result<(), String> {
        halt(&self.shared, subscription_id)
    }
}

/// Dev mode's simulated Checkout, from our server: pays through the fake's control endpoint,
/// which answers only loopback callers holding the fake's API keys.
pub async fn simulate_checkout(
    base_url: &str,
    key_id: &str,
    key_secret: &str,
    pay: &Pay,
) -> Result<CheckoutSuccess, String> {
    let response = reqwest::Client::new()
        .post(format!("{}/_fake/checkout", base_url.trim_end_matches('/')))
        .basic_auth(key_id, Some(key_secret))
        .json(pay)
        .send()
        .await
        .map_err(|e| e.to_string())?;
    let status = response.status();
    let body: Value = response.json().await.map_err(|e| e.to_string())?;
    if status.is_success() {
        serde_json::from_value(body).map_err(|e| e.to_string())
    } else {
        Err(body["error"]["description"].as_str().unwrap_or("payment failed").to_owned())
    }
}

fn lock(shared: &Shared) -> MutexGuard<'_, Ledger> {
    shared.ledger.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn authorized(shared: &Shared, headers: &HeaderMap) -> bool {
    let expected = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{}:{}", shared.key_id, shared.key_secret))
    );
    headers.get("authorization").and_then(|v| v.to_str().ok()) == Some(expected.as_str())
}

macro_rules! guard {
    ($shared:expr, $headers:expr) => {
        if !authorized(&$shared, &$headers) {
            return error(StatusCode::UNAUTHORIZED, "Authentication failed");
        }
    };
}

/// Records a webhook and, when a target is set, posts it in the background.
fn emit(shared: &Arc<Shared>, ledger: &mut Ledger, event: &str, payload: Value) {
    let contains: Vec<&String> = payload.as_object().map(|o| o.keys().collect()).unwrap_or_default();
    let body = json!({
        "entity": "event", "account_id": "acc_FAKE", "event": event, "contains": contains,
        "payload": payload, "created_at": now_secs(),
    })
    .to_string();
    let hook = Webhook {
        event_id: new_id("evt"),
        event: event.to_owned(),
        signature: sign(&shared.webhook_secret, body.as_bytes()),
        body,
    };
    ledger.webhooks.push(hook.clone());
    let target = shared.deliver_to.lock().ok().and_then(|d| d.clone());
    if let Some(url) = target {
        let http = shared.http.clone();
        tokio::spawn(async move {
            let sent = http
                .post(&url)
                .header("content-type", "application/json")
                .header("x-razorpay-signature", &hook.signature)
                .header("x-razorpay-event-id", &hook.event_id)
                .body(hook.body)
                .send()
                .await;
            if let Err(e) = sent {
                tracing::warn!(error = %e, event = hook.event, "FAKE Razorpay could not deliver a webhook");
            }
        });
    }
}

fn wrap(entity: &Value) -> Value {
    json!({"entity": entity})
}

#[derive(Deserialize)]
struct OrderBody {
    amount: i64,
    currency: String,
    #[serde(default)]
    receipt: Option<String>,
    #[serde(default)]
    notes: Value,
}

async fn create_order(State(s): State<Arc<Shared>>, headers: HeaderMap, Json(b): Json<OrderBody>) -> Response {
    guard!(s, headers);
    if b.amount < 100 {
        return error(StatusCode::BAD_REQUEST, "Order amount less than minimum amount allowed");
    }
    if b.receipt.as_ref().is_some_and(|r| r.len() > 40) {
        return error(StatusCode::BAD_REQUEST, "receipt: the length must be no more than 40.");
    }
    let order = json!({
        "id": new_id("order"), "entity": "order", "amount": b.amount, "amount_paid": 0, "amount_due": b.amount,
        "currency": b.currency, "receipt": b.receipt, "status": "created", "attempts": 0,
        "notes": b.notes, "created_at": now_secs(),
    });
    lock(&s).orders.insert(order["id"].as_str().unwrap_or_default().to_owned(), order.clone());
    Json(order).into_response()
}

async fn fetch_order(State(s): State<Arc<Shared>>, headers: HeaderMap, Path(id): Path<String>) -> Response {
    guard!(s, headers);
    match lock(&s).orders.get(&id) {
        Some(o) => Json(o.clone()).into_response(),
        None => error(StatusCode::BAD_REQUEST, "The id provided does not exist"),
    }
}

async fn fetch_payment(State(s): State<Arc<Shared>>, headers: HeaderMap, Path(id): Path<String>) -> Response {
    guard!(s, headers);
    match lock(&s).payments.get(&id) {
        Some(p) => Json(p.clone()).into_response(),
        None => error(StatusCode::BAD_REQUEST, "The id provided does not exist"),
    }
}

async fn capture(State(s): State<Arc<Shared>>, headers: HeaderMap, Path(id): Path<String>) -> Response {
    guard!(s, headers);
    let mut ledger = lock(&s);
    let Some(p) = ledger.payments.get_mut(&id) else {
        return error(StatusCode::BAD_REQUEST, "The id provided does not exist");
    };
    if p["status"] != "authorized" {
        return error(StatusCode::BAD_REQUEST, "This payment has already been captured");
    }
    p["status"] = json!("captured");
    p["captured"] = json!(true);
    let p = p.clone();
    emit(&s, &mut ledger, "payment.captured", json!({"payment": wrap(&p)}));
    Json(p).into_response()
}

#[derive(Deserialize)]
struct RefundBody {
    #[serde(default)]
    amount: Option<i64>,
    #[serde(default)]
    receipt: Option<String>,
}

async fn refund(
    State(s): State<Arc<Shared>>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Json(b): Json<RefundBody>,
) -> Response {
    guard!(s, headers);
    let mut ledger = lock(&s);
    let Some(p) = ledger.payments.get_mut(&id) else {
        return error(StatusCode::BAD_REQUEST, "The id provided does not exist");
    };
    if p["status"] != "captured" && p["status"] != "refunded" {
        return error(StatusCode::BAD_REQUEST, "Only captured payments can be refunded");
    }
    let (amount, refunded) = (p["amount"].as_i64().unwrap_or(0), p["amount_refunded"].as_i64().unwrap_or(0));
    let wanted = b.amount.unwrap_or(amount - refunded);
    if wanted <= 0 || wanted > amount - refunded {
        return error(StatusCode::BAD_REQUEST, "The refund amount provided is greater than amount captured");
    }
    p["amount_refunded"] = json!(refunded + wanted);
    p["refund_status"] = json!(if refunded + wanted == amount { "full" } else { "partial" });
    if refunded + wanted == amount {
        p["status"] = json!("refunded");
    }
    let payment = p.clone();
    let refund = json!({
        "id": new_id("rfnd"), "entity": "refund", "amount": wanted, "currency": payment["currency"],
        "payment_id": id, "receipt": b.receipt, "status": "processed", "speed_processed": "normal",
        "notes": [], "created_at": now_secs(),
    });
    ledger.refunds.push(refund.clone());
    emit(&s, &mut ledger, "refund.processed", json!({"refund": wrap(&refund), "payment": wrap(&payment)}));
    Json(refund).into_response()
}

async fn list_refunds(State(s): State<Arc<Shared>>, headers: HeaderMap, Path(id): Path<String>) -> Response {
    guard!(s, headers);
    let items: Vec<Value> = lock(&s).refunds.iter().filter(|r| r["payment_id"] == id.as_str()).cloned().collect();
    Json(json!({"entity": "collection", "count": items.len(), "items": items})).into_response()
}

async fn fetch_invoice(State(s): State<Arc<Shared>>, headers: HeaderMap, Path(id): Path<String>) -> Response {
    guard!(s, headers);
    match lock(&s).invoices.get(&id) {
        Some(i) => Json(i.clone()).into_response(),
        None => error(StatusCode::BAD_REQUEST, "The id provided does not exist"),
    }
}

#[derive(Deserialize)]
struct PlanBody {
    period: String,
    interval: i64,
    item: Value,
}

async fn create_plan(State(s): State<Arc<Shared>>, headers: HeaderMap, Json(b): Json<PlanBody>) -> Response {
    guard!(s, headers);
    if b.period != "monthly" || b.interval < 1 || b.item["amount"].as_i64().unwrap_or(0) < 100 {
        return error(StatusCode::BAD_REQUEST, "The plan is not valid");
    }
    let plan = json!({
        "id": new_id("plan"), "entity": "plan", "interval": b.interval, "period": b.period,
        "item": b.item, "notes": [], "created_at": now_secs(),
    });
    lock(&s).plans.insert(plan["id"].as_str().unwrap_or_default().to_owned(), plan.clone());
    Json(plan).into_response()
}

#[derive(Deserialize)]
struct SubscriptionBody {
    plan_id: String,
    total_count: i64,
    #[serde(default)]
    notes: Value,
}

async fn create_subscription(
    State(s): State<Arc<Shared>>,
    headers: HeaderMap,
    Json(b): Json<SubscriptionBody>,
) -> Response {
    guard!(s, headers);
    let mut ledger = lock(&s);
    if !ledger.plans.contains_key(&b.plan_id) || b.total_count < 1 {
        return error(StatusCode::BAD_REQUEST, "The id provided does not exist");
    }
    let id = new_id("sub");
    let sub = json!({
        "id": id, "entity": "subscription", "plan_id": b.plan_id, "status": "created",
        "current_start": null, "current_end": null, "total_count": b.total_count, "paid_count": 0,
        "remaining_count": b.total_count, "notes": b.notes, "short_url": format!("https://rzp.io/i/{id}"),
        "created_at": now_secs(),
    });
    ledger.subscriptions.insert(id, sub.clone());
    Json(sub).into_response()
}

async fn fetch_subscription(State(s): State<Arc<Shared>>, headers: HeaderMap, Path(id): Path<String>) -> Response {
    guard!(s, headers);
    match lock(&s).subscriptions.get(&id) {
        Some(sub) => Json(sub.clone()).into_response(),
        None => error(StatusCode::BAD_REQUEST, "The id provided does not exist"),
    }
}

#[derive(Deserialize)]
struct CancelBody {
    #[serde(default)]
    cancel_at_cycle_end: Value,
}

async fn cancel_subscription(
    State(s): State<Arc<Shared>>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Json(b): Json<CancelBody>,
) -> Response {
    guard!(s, headers);
    let at_end = b.cancel_at_cycle_end == json!(1) || b.cancel_at_cycle_end == json!(true);
    let mut ledger = lock(&s);
    let Some(sub) = ledger.subscriptions.get_mut(&id) else {
        return error(StatusCode::BAD_REQUEST, "The id provided does not exist");
    };
    if matches!(sub["status"].as_str(), Some("cancelled" | "completed")) {
        return error(StatusCode::BAD_REQUEST, "Subscription is not cancellable in cancelled status.");
    }
    if at_end {
        let sub = sub.clone();
        ledger.cancel_at_end.push(id);
        return Json(sub).into_response();
    }
    sub["status"] = json!("cancelled");
    sub["ended_at"] = json!(now_secs());
    let sub = sub.clone();
    emit(&s, &mut ledger, "subscription.cancelled", json!({"subscription": wrap(&sub)}));
    Json(sub).into_response()
}

fn new_payment(amount: i64, currency: &str, order_id: Option<&str>, status: &str) -> Value {
    json!({
        "id": new_id("pay"), "entity": "payment", "amount": amount, "currency": currency, "status": status,
        "order_id": order_id, "invoice_id": null, "method": "card", "amount_refunded": 0, "refund_status": null,
        "captured": status == "captured", "email": "void@razorpay.com", "contact": "+919999999999",
        "error_description": if status == "failed" { json!("Your payment was declined by the bank.") } else { Value::Null },
        "created_at": now_secs(),
    })
}

fn checkout(s: &Arc<Shared>, pay: &Pay) -> Result<CheckoutSuccess, String> {
    let mut ledger = lock(s);
    if let Some(order_id) = &pay.order_id {
        let order = ledger.orders.get(order_id).cloned().ok_or("no such order")?;
        let amount = pay.amount.unwrap_or(order["amount"].as_i64().unwrap_or(0));
        let currency = pay.currency.clone().unwrap_or(order["currency"].as_str().unwrap_or("INR").to_owned());
        if pay.fail {
            let p = new_payment(amount, &currency, Some(order_id), "failed");
            ledger.payments.insert(p["id"].as_str().unwrap_or_default().to_owned(), p.clone());
            emit(s, &mut ledger, "payment.failed", json!({"payment": wrap(&p)}));
            return Err("Your payment was declined by the bank.".into());
        }
        let mut p = new_payment(amount, &currency, Some(order_id), "authorized");
        let id = p["id"].as_str().unwrap_or_default().to_owned();
        emit(s, &mut ledger, "payment.authorized", json!({"payment": wrap(&p)}));
        // Orders capture automatically (Razorpay's default for Checkout orders).
        p["status"] = json!("captured");
        p["captured"] = json!(true);
        ledger.payments.insert(id.clone(), p.clone());
        emit(s, &mut ledger, "payment.captured", json!({"payment": wrap(&p)}));
        if let Some(o) = ledger.orders.get_mut(order_id) {
            o["status"] = json!("paid");
            o["amount_paid"] = json!(amount);
            o["amount_due"] = json!(0);
            let o = o.clone();
            emit(s, &mut ledger, "order.paid", json!({"payment": wrap(&p), "order": wrap(&o)}));
        }
        return Ok(CheckoutSuccess {
            razorpay_signature: sign(&s.key_secret, format!("{order_id}|{id}").as_bytes()),
            razorpay_payment_id: id,
            razorpay_order_id: Some(order_id.clone()),
            razorpay_subscription_id: None,
        });
    }
    let sub_id = pay.subscription_id.as_deref().ok_or("order_id or subscription_id is required")?;
    let sub = ledger.subscriptions.get(sub_id).cloned().ok_or("no such subscription")?;
    if sub["status"] != "created" {
        return Err("This subscription has already been authorised".into());
    }
    let plan = ledger.plans.get(sub["plan_id"].as_str().unwrap_or_default()).cloned().ok_or("no plan")?;
    if pay.fail {
        let currency = plan["item"]["currency"].as_str().unwrap_or("INR");
        let p = new_payment(plan["item"]["amount"].as_i64().unwrap_or(0), currency, None, "failed");
        emit(s, &mut ledger, "payment.failed", json!({"payment": wrap(&p)}));
        return Err("Your payment was declined by the bank.".into());
    }
    let start = now_secs();
    let payment_id = charge(s, &mut ledger, sub_id, start)?;
    Ok(CheckoutSuccess {
        razorpay_signature: sign(&s.key_secret, format!("{payment_id}|{sub_id}").as_bytes()),
        razorpay_payment_id: payment_id,
        razorpay_order_id: None,
        razorpay_subscription_id: Some(sub_id.to_owned()),
    })
}

/// One successful monthly charge for the period starting at `start`.
fn charge(s: &Arc<Shared>, ledger: &mut Ledger, sub_id: &str, start: i64) -> Result<String, String> {
    let sub = ledger.subscriptions.get_mut(sub_id).ok_or("no such subscription")?;
    let first = sub["status"] == "created";
    sub["status"] = json!("active");
    sub["current_start"] = json!(start);
    sub["current_end"] = json!(start + MONTH_SECS);
    sub["paid_count"] = json!(sub["paid_count"].as_i64().unwrap_or(0) + 1);
    let sub = sub.clone();
    let plan = ledger.plans.get(sub["plan_id"].as_str().unwrap_or_default()).cloned().ok_or("no plan")?;
    let currency = plan["item"]["currency"].as_str().unwrap_or("INR");
    let mut p = new_payment(plan["item"]["amount"].as_i64().unwrap_or(0), currency, None, "captured");
    let id = p["id"].as_str().unwrap_or_default().to_owned();
    // Each charge pays the invoice of one billing period.
    let invoice = json!({
        "id": new_id("inv"), "entity": "invoice", "subscription_id": sub_id, "payment_id": id, "status": "paid",
        "billing_start": start, "billing_end": start + MONTH_SECS, "amount": p["amount"], "currency": currency,
    });
    p["invoice_id"] = invoice["id"].clone();
    ledger.invoices.insert(invoice["id"].as_str().unwrap_or_default().to_owned(), invoice);
    ledger.payments.insert(id.clone(), p.clone());
    if first {
        emit(s, ledger, "subscription.activated", json!({"subscription": wrap(&sub)}));
    }
    emit(s, ledger, "subscription.charged", json!({"subscription": wrap(&sub), "payment": wrap(&p)}));
    Ok(id)
}

fn renew(s: &Arc<Shared>, sub_id: &str) -> Result<(), String> {
    let mut ledger = lock(s);
    let sub = ledger.subscriptions.get(sub_id).cloned().ok_or("no such subscription")?;
    let end = sub["current_end"].as_i64().ok_or("the subscription has not started")?;
    if ledger.cancel_at_end.iter().any(|c| c == sub_id) {
        let sub = ledger.subscriptions.get_mut(sub_id).ok_or("no such subscription")?;
        sub["status"] = json!("cancelled");
        sub["ended_at"] = json!(end);
        let sub = sub.clone();
        emit(s, &mut ledger, "subscription.cancelled", json!({"subscription": wrap(&sub)}));
        return Ok(());
    }
    charge(s, &mut ledger, sub_id, end).map(|_| ())
}

fn halt(s: &Arc<Shared>, sub_id: &str) -> Result<(), String> {
    let mut ledger = lock(s);
    let sub = ledger.subscriptions.get_mut(sub_id).ok_or("no such subscription")?;
    sub["status"] = json!("halted");
    let sub = sub.clone();
    let p = new_payment(0, "INR", None, "failed");
    emit(s, &mut ledger, "payment.failed", json!({"payment": wrap(&p)}));
    emit(s, &mut ledger, "subscription.halted", json!({"subscription": wrap(&sub)}));
    Ok(())
}

/// The control endpoints stand for a customer or Razorpay itself: only a loopback caller
/// holding the fake's keys (our own server) may drive them, never a web page the developer
/// happens to visit.
async fn control_guard(
    State(s): State<Arc<Shared>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    if !(peer.ip().is_loopback() && authorized(&s, req.headers())) {
        return error(StatusCode::UNAUTHORIZED, "Authentication failed");
    }
    next.run(req).await
}

async fn checkout_route(State(s): State<Arc<Shared>>, Json(pay): Json<Pay>) -> Response {
    match checkout(&s, &pay) {
        Ok(done) => Json(done).into_response(),
        Err(e) => error(StatusCode::BAD_REQUEST, &e),
    }
}

async fn renew_route(State(s): State<Arc<Shared>>, Path(id): Path<String>) -> Response {
    match renew(&s, &id) {
        Ok(()) => StatusCode::NO_CONTENT.into_response(),
        Err(e) => error(StatusCode::BAD_REQUEST, &e),
    }
}

async fn halt_route(State(s): State<Arc<Shared>>, Path(id): Path<String>) -> Response {
    match halt(&s, &id) {
        Ok(()) => StatusCode::NO_CONTENT.into_response(),
        Err(e) => error(StatusCode::BAD_REQUEST, &e),
    }
}
