//! Buying tokens: prices in the visitor's currency (decided here, never by the browser),
//! Razorpay orders and subscriptions, Checkout verification, payment history, invoices.
//! Webhooks and admin work live in the submodules; every path that learns of money ends in
//! `Db::settle_payment`, which grants once.

use std::sync::Arc;

use domain::billing::{Currency, Gst, Money, PaymentStatus, gst_included};
use serde::{Deserialize, Serialize};

use db::billing::{Invoice, Order, Payment, Purchase, RefundFacts, RefundOutcome, Settlement, Subscription};
use providers::razorpay::{self, NewOrder, NewPlan, Razorpay};

use crate::sessions::Principal;
use crate::{App, AppError, Result, now_ms};

pub mod admin;
pub mod webhooks;

/// Billing cycles a subscription runs for at most (Razorpay needs an end; ten years).
const SUBSCRIPTION_CYCLES: u32 = 120;

/// Checkouts one account may start in an hour (each creates a Razorpay order), and
/// Checkout results with a bad signature it may send before being refused for the hour.
const CHECKOUTS_PER_HOUR: u32 = 30;
const BAD_SIGNATURES_PER_HOUR: u32 = 10;

/// Our side of Razorpay: the API client and the webhook secret.
pub struct Gateway {
    pub client: Razorpay,
    webhook_secret: String,
    /// Dev mode: the FAKE Razorpay's address and keys, for the simulated Checkout.
    simulated: Option<Simulated>,
}

struct Simulated {
    base_url: String,
    key_id: String,
    key_secret: String,
}

impl Gateway {
    pub fn live(client: Razorpay, webhook_secret: &str) -> Self {
        Self { client, webhook_secret: webhook_secret.to_owned(), simulated: None }
    }

    /// Against the FAKE Razorpay at `base_url` (dev mode and tests): no money moves.
    pub fn fake(base_url: &str, key_id: &str, key_secret: &str, webhook_secret: &str) -> Result<Self> {
        let client = Razorpay::new(base_url, key_id, key_secret).map_err(|e| AppError::Internal(e.to_string()))?;
        let simulated =
            Simulated { base_url: base_url.to_owned(), key_id: key_id.to_owned(), key_secret: key_secret.to_owned() };
        Ok(Self { client, webhook_secret: webhook_secret.to_owned(), simulated: Some(simulated) })
    }

    pub fn is_simulated(&self) -> bool {
        self.simulated.is_some()
    }
}

/// What the server knows about where a visitor is, for choosing a currency.
#[derive(Debug)]
pub struct Visitor<'a> {
    /// Our signed currency cookie, if any.
    pub cookie: Option<&'a str>,
    /// The trusted CDN's country header (the web layer passes it only when configured).
    pub country: Option<&'a str>,
    pub ip: std::net::IpAddr,
}

/// The currency a visitor's prices are decided in, the one they are shown in (the same
/// unless they switched), and what their cookie said.
struct CurrencyDecision {
    base: Currency,
    shown: Currency,
    cached: Option<(Currency, Currency)>,
}

/// How long the currency cookie may stand in for a fresh decision.
const CURRENCY_COOKIE_MS: i64 = crate::limits::DAY;

/// A MaxMind-format country database, read whole into memory (a Country database is a few MB).
pub struct Geoip(maxminddb::Reader<Vec<u8>>);

impl Geoip {
    pub fn open(path: &std::path::Path) -> Result<Self> {
        let reader = maxminddb::Reader::open_readfile(path)
            .map_err(|e| AppError::Internal(format!("cannot read the GeoIP database {}: {e}", path.display())))?;
        Ok(Self(reader))
    }

    /// The ISO country code of `ip`, if the database knows it.
    fn country(&self, ip: std::net::IpAddr) -> Option<String> {
        use maxminddb::PathElement::Key;
        self.0.lookup(ip).ok()?.decode_path::<String>(&[Key("country"), Key("iso_code")]).ok()?
    }
}

/// A plan at its price in one currency.
#[derive(Debug, Clone, Serialize)]
pub struct PlanPrice {
    pub id: String,
    pub name: String,
    pub kind: String,
    pub tokens: i64,
    pub amount: i64,
    pub currency: &'static str,
    /// `₹149.00`.
    pub display: String,
}

/// What the page needs to open Razorpay Checkout for an order or a subscription.
#[derive(Debug, Clone, Serialize)]
pub struct Checkout {
    pub kind: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub order_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subscription_id: Option<String>,
    pub amount: i64,
    pub currency: &'static str,
    pub display: String,
    pub key_id: String,
    pub name: String,
    pub description: String,
    pub prefill_email: String,
    pub prefill_contact: String,
    /// Dev mode: no real Checkout; the page shows the simulated one.
    pub simulated: bool,
}

/// What Checkout's handler returned to the page.
#[derive(Debug, Clone, Deserialize)]
pub struct CheckoutResult {
    pub razorpay_payment_id: String,
    #[serde(default)]
    pub razorpay_order_id: Option<String>,
    #[serde(default)]
    pub razorpay_subscription_id: Option<String>,
    pub razorpay_signature: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct Verified {
    pub status: String,
    pub tokens: i64,
    pub balance: i64,
    pub invoice_number: Option<String>,
}

/// An invoice with the amounts it prints.
pub struct InvoiceView {
    pub invoice: Invoice,
    pub total: Money,
    pub refunded: Money,
    /// GST lines, on INR invoices when we are GST-registered.
    pub gst: Option<Gst>,
    pub gst_percent: i64,
    pub seller_gstin: Option<String>,
}

impl App {
    pub fn gateway(&self) -> Result<&Arc<Gateway>> {
        self.gateway.as_ref().ok_or(AppError::Unavailable("billing"))
    }

    /// The visitor's currency, from what the server knows alone: the trusted CDN's country,
    /// else the GeoIP database's, else our cookie (an earlier such decision, signed for this
    /// visitor's network and valid a day), else `billing.default_currency`. Nothing the
    /// browser says (its language, a copied cookie) can choose a cheaper price list; a
    /// switch the visitor made (`switch_currency`) stands while that decision allows it.
    /// Returns the cookie value to set when the decision is new.
    pub fn currency(&self, v: &Visitor<'_>) -> (Currency, Option<String>) {
        let d = self.currency_decision(v);
        let cookie = (d.cached != Some((d.base, d.shown))).then(|| self.currency_cookie(d.base, d.shown, v.ip));
        (d.shown, cookie)
    }

    /// The currency the visitor's prices are shown in, and every one they may switch to.
    pub fn currency_choices(&self, v: &Visitor<'_>) -> (Currency, Vec<Currency>) {
        let d = self.currency_decision(v);
        (d.shown, Currency::ALL.into_iter().filter(|c| d.base.may_switch_to(*c)).collect())
    }

    /// Shows (and charges) the visitor's prices in `want` when their decided currency
    /// allows it; returns the cookie that remembers the choice.
    pub fn switch_currency(&self, v: &Visitor<'_>, want: &str) -> Result<String> {
        let d = self.currency_decision(v);
        let want = Currency::parse(want).filter(|w| d.base.may_switch_to(*w)).ok_or_else(|| {
            domain::Invalid::new("invalid_currency", "currency", "Prices cannot be shown in that currency here.")
        })?;
        Ok(self.currency_cookie(d.base, want, v.ip))
    }

    fn currency_decision(&self, v: &Visitor<'_>) -> CurrencyDecision {
        let network = domain::device::truncate_ip(v.ip);
        let fresh = v
            .country
            .filter(|c| c.len() == 2)
            .map(Currency::for_country)
            .or_else(|| self.geoip.as_ref().and_then(|g| g.country(v.ip)).as_deref().map(Currency::for_country));
        let cached = v.cookie.and_then(|c| self.read_currency_cookie(c, &network, now_ms()));
        let base = fresh.or(cached.map(|(base, _)| base)).unwrap_or_else(|| self.default_currency());
        // A switch stands only under the decision it was made from.
        let shown = cached
            .filter(|(cached_base, _)| *cached_base == base)
            .map(|(_, shown)| shown)
            .filter(|s| base.may_switch_to(*s))
            .unwrap_or(base);
        CurrencyDecision { base, shown, cached }
    }

    fn default_currency(&self) -> Currency {
        Currency::parse(&self.settings.billing.default_currency).unwrap_or(Currency::Usd)
    }

    /// `CODE.UNTIL.MAC`, where `CODE` is the decided currency or `BASE-SHOWN` after a
    /// switch: valid only for the network it was made for, until `UNTIL`.
    fn currency_cookie(&self, base: Currency, shown: Currency, ip: std::net::IpAddr) -> String {
        let code = if shown == base { base.code().to_owned() } else { format!("{}-{}", base.code(), shown.code()) };
        let until = (now_ms() + CURRENCY_COOKIE_MS).to_string();
        let network = domain::device::truncate_ip(ip);
        let mac: String = self.mac(&["currency", &code, &network, &until]).chars().take(32).collect();
        format!("{code}.{until}.{mac}")
    }

    /// (decided, shown) from a cookie of ours for this network that has not expired.
    fn read_currency_cookie(&self, cookie: &str, network: &str, now: i64) -> Option<(Currency, Currency)> {
        let mut parts = cookie.split('.');
        let (code, until, mac) = (parts.next()?, parts.next()?, parts.next()?);
        let (base, shown) = code.split_once('-').unwrap_or((code, code));
        let (base, shown) = (Currency::parse(base)?, Currency::parse(shown)?);
        let fresh = until.parse::<i64>().is_ok_and(|t| t > now && t <= now + CURRENCY_COOKIE_MS);
        (fresh && self.mac_matches(&["currency", code, network, until], mac, 32)).then_some((base, shown))
    }

    /// Active plans at their prices in `currency`.
    pub async fn price_list(&self, currency: Currency) -> Result<Vec<PlanPrice>> {
        let plans = self.db.plans(false).await?;
        Ok(plans
            .into_iter()
            .map(|p| {
                let amount = p.price(currency);
                PlanPrice {
                    display: Money { minor: amount, currency }.to_string(),
                    id: p.id,
                    name: p.name,
                    kind: p.kind,
                    tokens: p.tokens,
                    amount,
                    currency: currency.code(),
                }
            })
            .collect())
    }

    /// Creates the Razorpay order (a pack) or subscription (a monthly plan) at the server's
    /// price for `plan_id` in `currency`.
    pub async fn start_checkout(&self, p: &Principal, plan_id: &str, currency: Currency) -> Result<Checkout> {
        let gateway = self.gateway()?;
        self.limit(&format!("checkout:{}", p.user.id), CHECKOUTS_PER_HOUR, crate::limits::HOUR).await?;
        let plan = self.db.plan(plan_id, None).await?;
        if !plan.active {
            return Err(AppError::NotFound);
        }
        let amount = plan.price(currency);
        let now = now_ms();
        let notes = serde_json::json!({"user_id": p.user.id, "plan_id": plan.id, "plan_version": plan.version});
        let (kind, order_id, subscription_id) = if plan.is_monthly() {
            let already = || {
                AppError::from(domain::Invalid::new(
                    "already_subscribed",
                    "plan_id",
                    "You already have a monthly plan. Cancel it first to change plans.",
                ))
            };
            let current = self.db.subscriptions_of(&p.user.id).await?;
            if current.iter().any(|s| matches!(s.status.as_str(), "active" | "authenticated" | "pending")) {
                return Err(already());
            }
            // A checkout opened earlier and never paid gives way to this one, cancelled at
            // Razorpay first so it can no longer be paid: one open plan at a time, which the
            // database enforces (`subscriptions_one_open`).
            for unpaid in current.iter().filter(|s| s.status == "created") {
                let id = &unpaid.razorpay_subscription_id;
                // Razorpay refuses to cancel one that already ended (expired, cancelled):
                // then what it says the subscription is, is what we record.
                let remote = match gateway.client.cancel_subscription(id, false).await {
                    Ok(remote) => remote,
                    Err(e) => match gateway.client.subscription(id).await.map_err(upstream)? {
                        r if matches!(r.status.as_str(), "cancelled" | "expired" | "completed") => r,
                        _ => return Err(upstream(e)),
                    },
                };
                self.db.update_subscription(&remote.id, &remote.status, None, Some(false), now).await?;
            }
            let razorpay_plan = match self.db.razorpay_plan_id(&plan, currency.code()).await? {
                Some(id) => id,
                None => {
                    let name = format!("SoraiPixel {} — {} tokens a month", plan.name, plan.tokens);
                    let made = gateway
                        .client
                        .create_plan(&NewPlan { name: &name, amount, currency: currency.code(), notes: notes.clone() })
                        .await
                        .map_err(upstream)?;
                    self.db.remember_razorpay_plan(&plan, currency.code(), &made.id).await?
                }
            };
            let sub = gateway
                .client
                .create_subscription(&razorpay_plan, SUBSCRIPTION_CYCLES, notes)
                .await
                .map_err(upstream)?;
            let inserted = self
                .db
                .insert_subscription(&Subscription {
                    id: db::new_id(),
                    user_id: Some(p.user.id.clone()),
                    razorpay_subscription_id: sub.id.clone(),
                    plan_id: plan.id.clone(),
                    plan_version: plan.version,
                    tokens: plan.tokens,
                    amount,
                    currency: currency.code().to_owned(),
                    status: sub.status,
                    current_start: None,
                    current_end: None,
                    cancel_at_period_end: false,
                    created_at: now,
                    updated_at: now,
                })
                .await;
            if let Err(db::DbError::Conflict(_)) = inserted {
                // Another checkout won the race: this one must never be paid.
                if let Err(e) = gateway.client.cancel_subscription(&sub.id, false).await {
                    tracing::warn!(error = %e, "could not cancel a subscription that lost the race");
                }
                return Err(already());
            }
            inserted?;
            ("subscription", None, Some(sub.id))
        } else {
            let receipt = db::new_id();
            let order = gateway
                .client
                .create_order(&NewOrder { amount, currency: currency.code(), receipt: &receipt, notes })
                .await
                .map_err(upstream)?;
            if order.amount != amount || order.currency != currency.code() {
                return Err(AppError::Upstream("Razorpay changed the order amount".into()));
            }
            self.db
                .insert_order(&Order {
                    id: receipt,
                    user_id: Some(p.user.id.clone()),
                    razorpay_order_id: order.id.clone(),
                    plan_id: plan.id.clone(),
                    plan_version: plan.version,
                    tokens: plan.tokens,
                    amount,
                    currency: currency.code().to_owned(),
                    status: "created".into(),
                    created_at: now,
                })
                .await?;
            ("order", Some(order.id), None)
        };
        let cadence = if plan.is_monthly() { " a month" } else { "" };
        Ok(Checkout {
            kind,
            order_id,
            subscription_id,
            amount,
            currency: currency.code(),
            display: format!("{}{cadence}", Money { minor: amount, currency }),
            key_id: gateway.client.key_id().to_owned(),
            name: format!("SoraiPixel {}", plan.name),
            description: format!("{} tokens{cadence}", plan.tokens),
            prefill_email: p.user.email.clone().unwrap_or_default(),
            prefill_contact: p.user.phone.clone().unwrap_or_default(),
            simulated: gateway.is_simulated(),
        })
    }

    /// Checkout's success handler, checked: the signature over the order (or subscription)
    /// id *we stored* and the payment id, then the payment as Razorpay reports it must match
    /// what was sold. Grants at most once, together with any webhook saying the same.
    pub async fn verify_checkout(&self, p: &Principal, r: &CheckoutResult) -> Result<Verified> {
        let gateway = self.gateway()?;
        let now = now_ms();
        // Reserved before the signature is checked, so parallel forgeries count too.
        let bad_signatures = format!("bad_signature:{}", p.user.id);
        self.limit(&bad_signatures, BAD_SIGNATURES_PER_HOUR, crate::limits::HOUR).await?;
        let rejected = |code, message: &str| AppError::PaymentRejected { code, message: message.to_owned() };
        let settled = match (&r.razorpay_order_id, &r.razorpay_subscription_id) {
            (Some(order_id), None) => {
                let order = self.db.order_by_razorpay_id(order_id).await?;
                if order.user_id.as_deref() != Some(p.user.id.as_str()) {
                    return Err(AppError::NotFound);
                }
                if !gateway.client.checkout_signature_valid(
                    &order.razorpay_order_id,
                    &r.razorpay_payment_id,
                    &r.razorpay_signature,
                ) {
                    self.audit_payment(p, "payment_signature_rejected", order_id).await?;
                    return Err(rejected("invalid_signature", "The payment could not be verified."));
                }
                self.release(&bad_signatures, crate::limits::HOUR).await?;
                let mut payment = gateway.client.payment(&r.razorpay_payment_id).await.map_err(upstream)?;
                let anomaly = order_mismatch(&order, &payment);
                if anomaly.is_none() && payment.status == "authorized" {
                    payment =
                        gateway.client.capture(&payment.id, order.amount, &order.currency).await.map_err(upstream)?;
                }
                self.settle(p.user.id.as_str(), Purchase::Order(&order), &payment, anomaly, "checkout", now).await?
            }
            (None, Some(sub_id)) => {
                let sub = self.db.subscription_by_razorpay_id(sub_id).await?;
                if sub.user_id.as_deref() != Some(p.user.id.as_str()) {
                    return Err(AppError::NotFound);
                }
                if !gateway.client.checkout_signature_valid(
                    &r.razorpay_payment_id,
                    &sub.razorpay_subscription_id,
                    &r.razorpay_signature,
                ) {
                    self.audit_payment(p, "payment_signature_rejected", sub_id).await?;
                    return Err(rejected("invalid_signature", "The payment could not be verified."));
                }
                self.release(&bad_signatures, crate::limits::HOUR).await?;
                let payment = gateway.client.payment(&r.razorpay_payment_id).await.map_err(upstream)?;
                let remote = gateway.client.subscription(sub_id).await.map_err(upstream)?;
                let sub = self.apply_subscription(&remote, now).await?;
                // The period this payment paid is its invoice's, not the subscription's current
                // one (which has moved on if this verify comes late).
                let (period_start, anomaly) = match &payment.invoice_id {
                    Some(id) => {
                        let invoice = gateway.client.invoice(id).await.map_err(upstream)?;
                        let foreign = invoice.subscription_id.as_deref() != Some(sub.razorpay_subscription_id.as_str());
                        let anomaly = foreign.then(|| format!("invoice {id} belongs to another subscription"));
                        (invoice.billing_start, anomaly.or_else(|| month_mismatch(&sub, &payment)))
                    }
                    None => (sub.current_start, month_mismatch(&sub, &payment)),
                };
                let Some(period_start) = period_start else {
                    return Err(rejected("payment_pending", "The first charge has not gone through yet."));
                };
                let purchase = Purchase::Month { subscription: &sub, period_start };
                self.settle(p.user.id.as_str(), purchase, &payment, anomaly, "checkout", now).await?
            }
            _ => return Err(rejected("invalid_checkout", "Send an order id or a subscription id.")),
        };
        if let Some(why) = &settled.anomaly {
            tracing::warn!(payment = settled.razorpay_payment_id, why, "payment not granted");
            return Err(rejected("payment_mismatch", "This payment does not match what was bought."));
        }
        let status = settled.status.clone();
        if PaymentStatus::parse(&status) != Some(PaymentStatus::Captured) {
            return Err(rejected("payment_not_captured", "The payment has not been completed."));
        }
        Ok(Verified {
            status,
            tokens: settled.tokens_granted,
            balance: self.db.balance(&p.user.id).await?.balance,
            invoice_number: settled.invoice_number,
        })
    }

    /// Dev mode's simulated Checkout: pays through the FAKE Razorpay and returns what the
    /// real Checkout's handler would.
    pub async fn simulate_checkout(&self, p: &Principal, pay: &fakes::razorpay::Pay) -> Result<serde_json::Value> {
        let gateway = self.gateway()?;
        let Some(fake) = &gateway.simulated else { return Err(AppError::NotFound) };
        // Only for the buyer's own order or subscription.
        let own = match (&pay.order_id, &pay.subscription_id) {
            (Some(o), _) => self.db.order_by_razorpay_id(o).await?.user_id,
            (None, Some(s)) => self.db.subscription_by_razorpay_id(s).await?.user_id,
            _ => None,
        };
        if own.as_deref() != Some(p.user.id.as_str()) {
            return Err(AppError::NotFound);
        }
        let paid = fakes::razorpay::simulate_checkout(&fake.base_url, &fake.key_id, &fake.key_secret, pay)
            .await
            .map_err(|message| AppError::PaymentRejected { code: "payment_failed", message })?;
        serde_json::to_value(paid).map_err(|e| AppError::Internal(e.to_string()))
    }

    /// Records one payment fact and its event; returns the payment as it now stands.
    async fn settle(
        &self,
        user_id: &str,
        purchase: Purchase<'_>,
        payment: &razorpay::Payment,
        anomaly: Option<String>,
        source: &str,
        now: i64,
    ) -> Result<Payment> {
        let status = PaymentStatus::parse(&payment.status).unwrap_or(PaymentStatus::Created);
        let settled = self
            .db
            .settle_payment(
                &Settlement {
                    razorpay_payment_id: &payment.id,
                    user_id,
                    purchase,
                    status,
                    amount: payment.amount,
                    currency: &payment.currency,
                    method: payment.method.as_deref(),
                    anomaly: anomaly.as_deref(),
                },
                now,
            )
            .await?;
        if source == "checkout" {
            self.db
                .record_payment_event(&db::billing::PaymentEvent {
                    id: format!("checkout:{}:{}", payment.id, payment.status),
                    razorpay_payment_id: Some(payment.id.clone()),
                    event: format!("checkout.{}", payment.status),
                    source: "checkout".into(),
                    summary: summary(payment),
                    received_at: now,
                })
                .await?;
        }
        if settled.granted {
            tracing::info!(
                payment = payment.id,
                tokens = settled.payment.tokens_granted,
                "tokens granted for a payment"
            );
            let p = &settled.payment;
            let detail = format!("{} — {} {}", p.description, p.amount, p.currency);
            self.record_activity(user_id, crate::activity::Activity::Paid, &detail, None).await;
            self.send_receipt(user_id, p).await;
            // A payment stands without it: an invitation reward that failed is logged.
            if let Err(e) = self.referral_paid(user_id, &p.razorpay_payment_id).await {
                tracing::warn!(error = %e, "the invitation reward for a payment could not be recorded");
            }
        }
        Ok(settled.payment)
    }

    /// Records a refund; once the payment is refunded in full, the invitation reward it
    /// earned is reversed (logged if that fails: the refund stands).
    pub(crate) async fn record_refund(&self, facts: &RefundFacts<'_>, now: i64) -> Result<RefundOutcome> {
        let outcome = self.db.record_refund(facts, now).await?;
        let payment = facts.razorpay_payment_id;
        let whole = self.db.payment(payment).await.is_ok_and(|p| p.status == PaymentStatus::Refunded.as_str());
        if whole && let Err(e) = self.referral_refunded(payment).await {
            tracing::warn!(payment, error = %e, "the invitation reward of a refunded payment was not reversed");
        }
        Ok(outcome)
    }

    /// The buyer's receipt, once per payment (only the grant that just happened sends one).
    /// A receipt that cannot be queued is logged, never a reason to fail the payment.
    async fn send_receipt(&self, user_id: &str, p: &Payment) {
        let user = match self.db.user_by_id(user_id).await {
            Ok(u) => u,
            Err(e) => return tracing::warn!(error = %e, "no receipt: the buyer could not be read"),
        };
        // Only to an address the buyer proved: an unproven one may be someone else's.
        let Some(to) = user.email.clone().filter(|_| user.email_verified_at.is_some()) else { return };
        let money = Money { minor: p.amount, currency: Currency::parse(&p.currency).unwrap_or(Currency::Usd) };
        let invoice = p.invoice_number.as_deref().map_or(String::new(), |n| {
            format!(
                "\nYour invoice {n} (print it or save it as a PDF):\n{}\n",
                self.link(&format!("/billing/invoices/{n}"))
            )
        });
        let mail = providers::mail::Email {
            to,
            subject: format!("Your SoraiPixel receipt: {money:#}"),
            text: format!(
                "Hello {},\n\nThank you for your payment of {money:#} for {}. {} tokens are in your balance.\n{invoice}\n\
                 Every token you buy, hold and spend is listed on your tokens page:\n{}\n",
                user.name,
                p.description,
                p.tokens_granted,
                self.link("/tokens")
            ),
            unsubscribe: None,
        };
        if let Err(e) = self.queue_mail(&mail, user_id).await {
            tracing::warn!(error = %e, "the receipt could not be queued");
        }
    }

    /// Stores what Razorpay says about a subscription we know.
    async fn apply_subscription(&self, remote: &razorpay::Subscription, now: i64) -> Result<Subscription> {
        let period = remote.current_start.zip(remote.current_end);
        Ok(self.db.update_subscription(&remote.id, &remote.status, period, None, now).await?)
    }

    async fn audit_payment(&self, p: &Principal, action: &str, detail: &str) -> Result<()> {
        Ok(self.db.audit(Some(&p.user.id), "self", action, detail, "", now_ms()).await?)
    }

    /// The GSTIN printed on the user's future invoices; empty removes it.
    pub async fn set_gstin(&self, p: &Principal, raw: &str) -> Result<Option<String>> {
        let gstin = if raw.trim().is_empty() { None } else { Some(domain::billing::parse_gstin(raw)?) };
        self.db.set_gstin(&p.user.id, gstin.as_deref(), now_ms()).await?;
        self.audit_payment(p, "gstin_changed", gstin.as_deref().unwrap_or("removed")).await?;
        Ok(gstin)
    }

    pub async fn payments(&self, p: &Principal) -> Result<Vec<Payment>> {
        Ok(self.db.payments_of(&p.user.id, 100).await?)
    }

    pub async fn subscriptions(&self, p: &Principal) -> Result<Vec<Subscription>> {
        Ok(self.db.subscriptions_of(&p.user.id).await?)
    }

    /// Cancels a monthly plan at the end of the period already paid for.
    pub async fn cancel_subscription(&self, p: &Principal, id: &str) -> Result<Subscription> {
        let gateway = self.gateway()?;
        let sub =
            self.db.subscriptions_of(&p.user.id).await?.into_iter().find(|s| s.id == id).ok_or(AppError::NotFound)?;
        if matches!(sub.status.as_str(), "cancelled" | "completed" | "expired") || sub.cancel_at_period_end {
            return Err(AppError::AlreadyEnded);
        }
        // Not yet paid: nothing to keep until a period end, so it ends now.
        let at_period_end = sub.current_start.is_some();
        let remote =
            gateway.client.cancel_subscription(&sub.razorpay_subscription_id, at_period_end).await.map_err(upstream)?;
        let now = now_ms();
        let updated = self.db.update_subscription(&remote.id, &remote.status, None, Some(at_period_end), now).await?;
        self.audit_payment(p, "subscription_cancelled", &sub.plan_id).await?;
        Ok(updated)
    }

    /// An invoice for its buyer (or staff), with GST worked out for INR.
    pub async fn invoice(&self, p: &Principal, number: &str) -> Result<InvoiceView> {
        let invoice = self.db.invoice(number).await?;
        if invoice.user_id.as_deref() != Some(p.user.id.as_str()) && !p.role().is_staff() {
            return Err(AppError::NotFound);
        }
        let payment = self.db.payment(&invoice.payment_id).await?;
        let currency = Currency::parse(&invoice.currency).unwrap_or(Currency::Usd);
        let seller_gstin = self.settings.billing.seller_gstin.clone();
        let gst = seller_gstin.as_deref().filter(|_| currency == Currency::Inr).map(|ours| {
            // Place of supply: the buyer's state from their GSTIN, else ours.
            let same_state = invoice.buyer_gstin.as_deref().is_none_or(|theirs| theirs.get(..2) == ours.get(..2));
            gst_included(invoice.amount, self.settings.billing.gst_percent, same_state)
        });
        Ok(InvoiceView {
            total: Money { minor: invoice.amount, currency },
            refunded: Money { minor: payment.amount_refunded, currency },
            gst,
            gst_percent: self.settings.billing.gst_percent,
            seller_gstin,
            invoice,
        })
    }
}

/// Why an order payment must not grant: anything but the order's own amount and currency.
fn order_mismatch(order: &Order, payment: &razorpay::Payment) -> Option<String> {
    if payment.order_id.as_deref() != Some(order.razorpay_order_id.as_str()) {
        Some(format!("payment belongs to order {:?}", payment.order_id))
    } else if payment.amount != order.amount || payment.currency != order.currency {
        Some(format!("paid {} {}, order is {} {}", payment.amount, payment.currency, order.amount, order.currency))
    } else {
        None
    }
}

fn month_mismatch(sub: &Subscription, payment: &razorpay::Payment) -> Option<String> {
    (payment.amount != sub.amount || payment.currency != sub.currency)
        .then(|| format!("paid {} {}, plan is {} {}", payment.amount, payment.currency, sub.amount, sub.currency))
}

fn summary(p: &razorpay::Payment) -> String {
    format!("{} {} {} {}", p.id, p.status, p.amount, p.currency)
}

fn upstream(e: razorpay::RazorpayError) -> AppError {
    AppError::Upstream(e.to_string())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests fail loudly")]

    use std::net::{IpAddr, Ipv4Addr};

    #[test]
    fn geoip_reads_a_maxmind_format_country_database() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("country.mmdb");
        let networks = [(Ipv4Addr::new(203, 0, 113, 0), 24, "IN"), (Ipv4Addr::new(198, 51, 100, 0), 24, "DE")];
        std::fs::write(&path, fakes::geoip::country_database(&networks)).unwrap();
        let geoip = super::Geoip::open(&path).unwrap();
        let at = |a, b, c, d| geoip.country(IpAddr::V4(Ipv4Addr::new(a, b, c, d)));
        assert_eq!(at(203, 0, 113, 7).as_deref(), Some("IN"));
        assert_eq!(at(198, 51, 100, 255).as_deref(), Some("DE"));
        assert_eq!(at(8, 8, 8, 8), None);
        assert!(super::Geoip::open(&dir.path().join("missing.mmdb")).is_err());
    }
}
