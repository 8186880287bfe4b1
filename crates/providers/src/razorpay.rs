//! A client of Razorpay's REST API (`https://api.razorpay.com/v1`, HTTP basic auth with the
//! key id and secret) and the two signatures Razorpay uses: Checkout's
//! `HMAC_SHA256(order_or_subscription_id|payment_id, key_secret)` and the webhook's
//! `HMAC_SHA256(raw_body, webhook_secret)`.
//!
//! Retries are only where repeating cannot do something twice: reads are retried on network
//! errors, 429 and 5xx; writes only when the connection was never made. A refund whose reply
//! was lost is looked up by its receipt before it is asked for again.

use std::time::Duration;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::Value;

pub const LIVE_URL: &str = "https://api.razorpay.com";

#[derive(Debug, thiserror::Error)]
pub enum RazorpayError {
    #[error("Razorpay unreachable: {0}")]
    Transport(String),
    /// Razorpay answered with an error object (`{"error": {"code", "description"}}`).
    #[error("Razorpay refused ({status}): {code}: {description}")]
    Api { status: u16, code: String, description: String },
    #[error("unexpected reply from Razorpay: {0}")]
    Malformed(String),
}

#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct Order {
    pub id: String,
    pub amount: i64,
    pub currency: String,
    #[serde(default)]
    pub receipt: Option<String>,
    pub status: String,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct Payment {
    pub id: String,
    pub amount: i64,
    pub currency: String,
    /// `created`, `authorized`, `captured`, `refunded` or `failed`.
    pub status: String,
    #[serde(default)]
    pub order_id: Option<String>,
    #[serde(default)]
    pub method: Option<String>,
    /// For subscription charges: the invoice of the billing period this payment paid.
    #[serde(default)]
    pub invoice_id: Option<String>,
    #[serde(default)]
    pub amount_refunded: i64,
    #[serde(default)]
    pub error_description: Option<String>,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct Refund {
    pub id: String,
    pub payment_id: String,
    pub amount: i64,
    pub currency: String,
    /// `pending`, `processed` or `failed`.
    pub status: String,
    #[serde(default)]
    pub receipt: Option<String>,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct Subscription {
    pub id: String,
    pub plan_id: String,
    /// `created`, `authenticated`, `active`, `pending`, `halted`, `cancelled`, `completed`…
    pub status: String,
    /// Unix seconds of the current billing period, once it has started.
    #[serde(default)]
    pub current_start: Option<i64>,
    #[serde(default)]
    pub current_end: Option<i64>,
    #[serde(default)]
    pub short_url: Option<String>,
}

/// A subscription's invoice: one billing period and the payment that paid it.
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct Invoice {
    pub id: String,
    #[serde(default)]
    pub subscription_id: Option<String>,
    /// Unix seconds.
    #[serde(default)]
    pub billing_start: Option<i64>,
    #[serde(default)]
    pub billing_end: Option<i64>,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct Plan {
    pub id: String,
}

#[derive(Deserialize)]
struct Collection<T> {
    items: Vec<T>,
}

#[derive(Deserialize)]
struct ErrorReply {
    error: ErrorBody,
}

#[derive(Deserialize)]
struct ErrorBody {
    #[serde(default)]
    code: String,
    #[serde(default)]
    description: String,
}

/// What one order asks for: `receipt` is our id, echoed back on the order and in webhooks.
pub struct NewOrder<'a> {
    pub amount: i64,
    pub currency: &'a str,
    pub receipt: &'a str,
    pub notes: Value,
}

/// A monthly plan at one price in one currency.
pub struct NewPlan<'a> {
    pub name: &'a str,
    pub amount: i64,
    pub currency: &'a str,
    pub notes: Value,
}

#[derive(Clone, Copy, PartialEq)]
enum Retry {
    /// Reads: any transient failure.
    Always,
    /// Writes: only if the request never left.
    IfNotSent,
}

#[derive(Clone)]
pub struct Razorpay {
    http: reqwest::Client,
    base_url: String,
    key_id: String,
    key_secret: String,
}

impl Razorpay {
    pub fn new(base_url: &str, key_id: &str, key_secret: &str) -> Result<Self, RazorpayError> {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(15))
            .connect_timeout(Duration::from_secs(5))
            .build()
            .map_err(|e| RazorpayError::Transport(e.to_string()))?;
        Ok(Self {
            http,
            base_url: base_url.trim_end_matches('/').to_owned(),
            key_id: key_id.to_owned(),
            key_secret: key_secret.to_owned(),
        })
    }

    /// Public: Checkout on the page needs it.
    pub fn key_id(&self) -> &str {
        &self.key_id
    }

    pub async fn create_order(&self, order: &NewOrder<'_>) -> Result<Order, RazorpayError> {
        let body = serde_json::json!({
            "amount": order.amount, "currency": order.currency, "receipt": order.receipt, "notes": order.notes,
        });
        self.send(reqwest::Method::POST, "/v1/orders", Some(body), Retry::IfNotSent).await
    }

    pub async fn payment(&self, id: &str) -> Result<Payment, RazorpayError> {
        self.send(reqwest::Method::GET, &format!("/v1/payments/{}", path_segment(id)?), None, Retry::Always).await
    }

    /// Captures an authorized payment. Asking again after a lost reply fails with "already
    /// captured"; then the payment is read instead.
    pub async fn capture(&self, id: &str, amount: i64, currency: &str) -> Result<Payment, RazorpayError> {
        let path = format!("/v1/payments/{}/capture", path_segment(id)?);
        let body = serde_json::json!({"amount": amount, "currency": currency});
        match self.send::<Payment>(reqwest::Method::POST, &path, Some(body), Retry::IfNotSent).await {
            Err(RazorpayError::Transport(_) | RazorpayError::Api { .. }) => self.payment(id).await,
            done => done,
        }
    }

    /// A full or partial refund. `receipt` is ours and unique per refund: if the reply is
    /// lost, the refunds of the payment are searched for it before trying again, so one
    /// request never refunds twice.
    pub async fn refund(&self, payment_id: &str, amount: i64, receipt: &str) -> Result<Refund, RazorpayError> {
        let path = format!("/v1/payments/{}/refund", path_segment(payment_id)?);
        let body = serde_json::json!({"amount": amount, "receipt": receipt, "speed": "normal"});
        for attempt in 0..3u32 {
            if attempt > 0 {
                tokio::time::sleep(Duration::from_millis(300 * u64::from(attempt))).await;
                if let Some(done) =
                    self.refunds(payment_id).await?.into_iter().find(|r| r.receipt.as_deref() == Some(receipt))
                {
                    return Ok(done);
                }
            }
            match self.send(reqwest::Method::POST, &path, Some(body.clone()), Retry::IfNotSent).await {
                Err(RazorpayError::Transport(_)) => continue,
                done => return done,
            }
        }
        Err(RazorpayError::Transport("refund request did not complete".into()))
    }

    pub async fn refunds(&self, payment_id: &str) -> Result<Vec<Refund>, RazorpayError> {
        let path = format!("/v1/payments/{}/refunds?count=100", path_segment(payment_id)?);
        let list: Collection<Refund> = self.send(reqwest::Method::GET, &path, None, Retry::Always).await?;
        Ok(list.items)
    }

    pub async fn invoice(&self, id: &str) -> Result<Invoice, RazorpayError> {
        self.send(reqwest::Method::GET, &format!("/v1/invoices/{}", path_segment(id)?), None, Retry::Always).await
    }

    pub async fn create_plan(&self, plan: &NewPlan<'_>) -> Result<Plan, RazorpayError> {
        let body = serde_json::json!({
            "period": "monthly", "interval": 1,
            "item": {"name": plan.name, "amount": plan.amount, "currency": plan.currency},
            "notes": plan.notes,
        });
        self.send(reqwest::Method::POST, "/v1/plans", Some(body), Retry::IfNotSent).await
    }

    /// A monthly subscription billed up to `total_count` times (Razorpay requires an end).
    pub async fn create_subscription(
        &self,
        plan_id: &str,
        total_count: u32,
        notes: Value,
    ) -> Result<Subscription, RazorpayError> {
        let body = serde_json::json!({
            "plan_id": plan_id, "total_count": total_count, "quantity": 1, "customer_notify": 1, "notes": notes,
        });
        self.send(reqwest::Method::POST, "/v1/subscriptions", Some(body), Retry::IfNotSent).await
    }

    pub async fn subscription(&self, id: &str) -> Result<Subscription, RazorpayError> {
        self.send(reqwest::Method::GET, &format!("/v1/subscriptions/{}", path_segment(id)?), None, Retry::Always).await
    }

    /// Cancels now, or at the end of the paid period (the customer keeps what they paid for).
    pub async fn cancel_subscription(&self, id: &str, at_period_end: bool) -> Result<Subscription, RazorpayError> {
        let path = format!("/v1/subscriptions/{}/cancel", path_segment(id)?);
        let body = serde_json::json!({"cancel_at_cycle_end": u8::from(at_period_end)});
        self.send(reqwest::Method::POST, &path, Some(body), Retry::IfNotSent).await
    }

    /// Checkout's signature over `order_id|payment_id` (or `payment_id|subscription_id` for
    /// subscriptions — pass the parts in that order), compared in constant time.
    pub fn checkout_signature_valid(&self, first: &str, second: &str, signature: &str) -> bool {
        signature_valid(&self.key_secret, format!("{first}|{second}").as_bytes(), signature)
    }

    async fn send<T: DeserializeOwned>(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
        retry: Retry,
    ) -> Result<T, RazorpayError> {
        let url = format!("{}{path}", self.base_url);
        let mut last = RazorpayError::Transport("not attempted".into());
        for attempt in 0..3u32 {
            if attempt > 0 {
                tokio::time::sleep(Duration::from_millis(200 * 3u64.pow(attempt - 1))).await;
            }
            let mut request = self.http.request(method.clone(), &url).basic_auth(&self.key_id, Some(&self.key_secret));
            if let Some(b) = &body {
                request = request.json(b);
            }
            let response = match crate::send("razorpay", request).await {
                Ok(r) => r,
                Err(e) => {
                    let unsent = e.is_connect();
                    last = RazorpayError::Transport(e.without_url().to_string());
                    if retry == Retry::Always || unsent {
                        continue;
                    }
                    return Err(last);
                }
            };
            let status = response.status();
            let bytes = response.bytes().await.map_err(|e| RazorpayError::Transport(e.without_url().to_string()))?;
            if status.is_success() {
                return serde_json::from_slice(&bytes).map_err(|e| RazorpayError::Malformed(e.to_string()));
            }
            let error = serde_json::from_slice::<ErrorReply>(&bytes).map(|r| r.error).unwrap_or(ErrorBody {
                code: "UNKNOWN".into(),
                description: String::from_utf8_lossy(&bytes).chars().take(200).collect(),
            });
            last = RazorpayError::Api { status: status.as_u16(), code: error.code, description: error.description };
            let transient = status.is_server_error() || status == reqwest::StatusCode::TOO_MANY_REQUESTS;
            if !(transient && retry == Retry::Always) {
                return Err(last);
            }
        }
        Err(last)
    }
}

/// Ids go into URL paths: Razorpay's are `prefix_alnum`; anything else is refused here.
fn path_segment(id: &str) -> Result<&str, RazorpayError> {
    if !id.is_empty() && id.len() <= 64 && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
        Ok(id)
    } else {
        Err(RazorpayError::Malformed(format!("not a Razorpay id: {:?}", id.chars().take(70).collect::<String>())))
    }
}

/// Hex HMAC-SHA256 of `message` under `secret`, as Razorpay signs.
pub fn sign(secret: &str, message: &[u8]) -> String {
    hex::encode(domain::secrets::mac_bytes(secret.as_bytes(), message))
}

/// `X-Razorpay-Signature` checked against the raw body, in constant time.
pub fn signature_valid(secret: &str, message: &[u8], signature: &str) -> bool {
    domain::secrets::equal(&sign(secret, message), signature.trim())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signatures_match_razorpay_docs_shape() {
        let sig = sign("secret", b"order_1|pay_1");
        assert_eq!(sig.len(), 64);
        assert!(signature_valid("secret", b"order_1|pay_1", &sig));
        assert!(!signature_valid("secret", b"order_1|pay_2", &sig));
        assert!(!signature_valid("other", b"order_1|pay_1", &sig));
        assert!(!signature_valid("secret", b"order_1|pay_1", ""));
        // Known vector: HMAC-SHA256("key", "The quick brown fox jumps over the lazy dog").
        assert_eq!(
            sign("key", b"The quick brown fox jumps over the lazy dog"),
            "f7bc83f430538424b13298e6aa6fb143ef4d59a14946175997479dbc2d1a3cd8"
        );
    }

    #[test]
    fn ids_cannot_escape_the_path() {
        assert!(path_segment("pay_29QQoUBi66xm2f").is_ok());
        assert!(path_segment("../orders").is_err());
        assert!(path_segment("pay_1?x=1").is_err());
        assert!(path_segment("").is_err());
    }
}
