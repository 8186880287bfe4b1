//! Razorpay webhooks: the signature over the raw body is checked before anything is parsed;
//! each event is applied through the same idempotent settlement as Checkout and stored once
//! by its id. Replays, reordering and races with the verify call all end in one grant.

use serde::Deserialize;

use db::billing::{PaymentEvent, Purchase, RefundFacts};
use providers::razorpay::{self, signature_valid};

use crate::{App, AppError, Result, now_ms};

#[derive(Deserialize)]
struct Event {
    event: String,
    #[serde(default)]
    payload: Payload,
}

#[derive(Deserialize, Default)]
struct Payload {
    payment: Option<Wrapped<razorpay::Payment>>,
    refund: Option<Wrapped<razorpay::Refund>>,
    subscription: Option<Wrapped<razorpay::Subscription>>,
}

#[derive(Deserialize)]
struct Wrapped<T> {
    entity: T,
}

/// What happened to a delivery (all answered 200 so Razorpay stops retrying).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Delivery {
    Applied,
    /// This event id was handled before.
    Replay,
    /// Signed and stored, but about nothing of ours (another integration's order, say).
    Ignored,
}

impl App {
    /// `body` is the raw request body; `signature` the `X-Razorpay-Signature` header.
    pub async fn razorpay_webhook(&self, body: &[u8], signature: &str) -> Result<Delivery> {
        let gateway = self.gateway()?;
        if !signature_valid(&gateway.webhook_secret, body, signature) {
            tracing::warn!("Razorpay webhook with a bad signature refused");
            return Err(AppError::PaymentRejected {
                code: "invalid_signature",
                message: "Webhook signature does not match.".into(),
            });
        }
        // Replays are known by what was signed: the event id header is not, so a captured
        // body sent again under a new id is still the same event.
        let id = format!("body:{}", domain::secrets::digest(body));
        if self.db.payment_event_seen(&id).await? {
            return Ok(Delivery::Replay);
        }
        let event: Event = serde_json::from_slice(body)
            .map_err(|e| domain::Invalid::new("invalid_webhook", "body", format!("Not a Razorpay event: {e}")))?;
        let now = now_ms();
        let applied = self.apply_event(&event, now).await?;
        let payment = event.payload.payment.as_ref().map(|p| &p.entity);
        let refund = event.payload.refund.as_ref().map(|r| &r.entity);
        let summary = match (payment, refund) {
            (_, Some(r)) => format!("{} {} {} {}", r.id, r.status, r.amount, r.currency),
            (Some(p), None) => format!("{} {} {} {}", p.id, p.status, p.amount, p.currency),
            (None, None) => event
                .payload
                .subscription
                .as_ref()
                .map(|s| format!("{} {}", s.entity.id, s.entity.status))
                .unwrap_or_default(),
        };
        // Stored after it was applied: if applying failed, Razorpay's retry applies it again.
        self.db
            .record_payment_event(&PaymentEvent {
                id,
                razorpay_payment_id: payment.map(|p| p.id.clone()).or(refund.map(|r| r.payment_id.clone())),
                event: event.event.clone(),
                source: "webhook".into(),
                summary,
                received_at: now,
            })
            .await?;
        Ok(if applied { Delivery::Applied } else { Delivery::Ignored })
    }

    async fn apply_event(&self, event: &Event, now: i64) -> Result<bool> {
        let payment = event.payload.payment.as_ref().map(|p| &p.entity);
        match event.event.as_str() {
            "payment.authorized" | "payment.captured" | "payment.failed" | "order.paid" => match payment {
                Some(payment) => self.apply_order_payment(payment, now).await,
                None => Ok(false),
            },
            "refund.created" | "refund.processed" => {
                let Some(refund) = event.payload.refund.as_ref().map(|r| &r.entity) else { return Ok(false) };
                // Events can arrive out of order: first learn the payment the refund is about.
                if let Some(payment) = payment {
                    self.apply_order_payment(payment, now).await?;
                }
                let facts = RefundFacts {
                    razorpay_refund_id: &refund.id,
                    razorpay_payment_id: &refund.payment_id,
                    amount: refund.amount,
                    status: &refund.status,
                    actor: "razorpay",
                };
                match self.record_refund(&facts, now).await {
                    Ok(outcome) => {
                        if outcome.shortfall > 0 {
                            tracing::warn!(
                                refund = refund.id,
                                shortfall = outcome.shortfall,
                                "refund exceeded the balance"
                            );
                        }
                        Ok(true)
                    }
                    Err(AppError::NotFound) => Ok(false),
                    Err(e) => Err(e),
                }
            }
            "refund.failed" => {
                let Some(refund) = event.payload.refund.as_ref().map(|r| &r.entity) else { return Ok(false) };
                let failed = self.db.fail_refund(&refund.id, now).await?;
                if failed {
                    self.db.restore_rewards_of_payment(&refund.payment_id, now).await?;
                }
                Ok(failed)
            }
            name if name.starts_with("subscription.") => {
                let Some(remote) = event.payload.subscription.as_ref().map(|s| &s.entity) else { return Ok(false) };
                let sub = match self.apply_subscription(remote, now).await {
                    Ok(s) => s,
                    Err(AppError::NotFound) => return Ok(false),
                    Err(e) => return Err(e),
                };
                if name == "subscription.charged"
                    && let (Some(payment), Some(period_start), Some(user_id)) =
                        (payment, remote.current_start, sub.user_id.clone())
                {
                    let anomaly = super::month_mismatch(&sub, payment);
                    let purchase = Purchase::Month { subscription: &sub, period_start };
                    self.settle(&user_id, purchase, payment, anomaly, "webhook", now).await?;
                }
                Ok(true)
            }
            _ => Ok(false),
        }
    }

    /// A payment for one of our orders, as a webhook reports it. An authorized payment whose
    /// amount matches is captured here too, so the tokens arrive even if the buyer closed
    /// the page before Checkout's handler ran.
    async fn apply_order_payment(&self, payment: &razorpay::Payment, now: i64) -> Result<bool> {
        let Some(order_id) = &payment.order_id else { return Ok(false) };
        let order = match self.db.order_by_razorpay_id(order_id).await {
            Ok(o) => o,
            Err(db::DbError::NotFound) => return Ok(false),
            Err(e) => return Err(e.into()),
        };
        let Some(user_id) = order.user_id.clone() else { return Ok(false) };
        let anomaly = super::order_mismatch(&order, payment);
        let captured;
        let payment = if anomaly.is_none() && payment.status == "authorized" {
            let gateway = self.gateway()?;
            captured = gateway
                .client
                .capture(&payment.id, order.amount, &order.currency)
                .await
                .map_err(|e| AppError::Upstream(e.to_string()))?;
            &captured
        } else {
            payment
        };
        self.settle(&user_id, Purchase::Order(&order), payment, anomaly, "webhook", now).await?;
        Ok(true)
    }
}
