//! Plans, orders, subscriptions, payments, refunds and invoices. A payment is settled in
//! one transaction with its token grant and its invoice number; a refund with its claw-back.
//! The grant's ledger reference (`payment:<id>`, or `subscription:<id>:<period>` for a
//! monthly charge) makes every path — Checkout's verify call, each webhook, each replay —
//! end in one grant, however they interleave.

use domain::billing::{PaymentStatus, tokens_to_claw_back};
use serde::Serialize;

use crate::ledger::{Kind, Movement, Outcome, move_tokens};
use crate::{Db, DbError, Result, conflict, new_id, with_pool};

#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct Plan {
    pub id: String,
    pub version: i64,
    /// `pack` (bought once) or `monthly` (a subscription).
    pub kind: String,
    pub name: String,
    pub tokens: i64,
    pub price_inr: i64,
    pub price_usd: i64,
    pub price_eur: i64,
    pub active: bool,
    pub sort: i64,
    pub created_by: String,
    pub created_at: i64,
}

impl Plan {
    pub fn price(&self, currency: domain::billing::Currency) -> i64 {
        use domain::billing::Currency;
        match currency {
            Currency::Inr => self.price_inr,
            Currency::Usd => self.price_usd,
            Currency::Eur => self.price_eur,
        }
    }

    pub fn is_monthly(&self) -> bool {
        self.kind == "monthly"
    }
}

#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct Order {
    pub id: String,
    #[serde(skip)]
    pub user_id: Option<String>,
    pub razorpay_order_id: String,
    pub plan_id: String,
    pub plan_version: i64,
    pub tokens: i64,
    pub amount: i64,
    pub currency: String,
    pub status: String,
    pub created_at: i64,
}

#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct Subscription {
    pub id: String,
    #[serde(skip)]
    pub user_id: Option<String>,
    pub razorpay_subscription_id: String,
    pub plan_id: String,
    pub plan_version: i64,
    pub tokens: i64,
    pub amount: i64,
    pub currency: String,
    pub status: String,
    pub current_start: Option<i64>,
    pub current_end: Option<i64>,
    pub cancel_at_period_end: bool,
    pub created_at: i64,
    pub updated_at: i64,
}

#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct Payment {
    pub id: String,
    #[serde(skip)]
    pub user_id: Option<String>,
    pub razorpay_payment_id: String,
    pub order_id: Option<String>,
    pub subscription_id: Option<String>,
    pub period_start: Option<i64>,
    pub description: String,
    pub amount: i64,
    pub currency: String,
    pub status: String,
    pub amount_refunded: i64,
    pub tokens: i64,
    pub tokens_granted: i64,
    pub tokens_clawed: i64,
    pub shortfall: i64,
    pub method: Option<String>,
    pub anomaly: Option<String>,
    pub invoice_number: Option<String>,
    pub captured_at: Option<i64>,
    pub created_at: i64,
    pub updated_at: i64,
}

#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct PaymentEvent {
    pub id: String,
    pub razorpay_payment_id: Option<String>,
    pub event: String,
    pub source: String,
    pub summary: String,
    pub received_at: i64,
}

#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct Refund {
    pub id: String,
    pub razorpay_refund_id: String,
    pub payment_id: String,
    pub amount: i64,
    pub status: String,
    pub tokens_clawed: i64,
    pub shortfall: i64,
    pub actor: String,
    pub created_at: i64,
    pub updated_at: i64,
}

#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct Invoice {
    pub number: String,
    pub payment_id: String,
    #[serde(skip)]
    pub user_id: Option<String>,
    pub buyer_name: String,
    pub buyer_email: String,
    pub buyer_company: Option<String>,
    pub buyer_address: Option<String>,
    pub buyer_gstin: Option<String>,
    pub description: String,
    pub amount: i64,
    pub currency: String,
    pub issued_at: i64,
}

/// Captured money per UTC day and currency (refunds shown beside, not netted silently).
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct RevenueDay {
    pub day: i64,
    pub currency: String,
    pub payments: i64,
    pub gross: i64,
    pub refunded: i64,
}

/// What a payment bought.
pub enum Purchase<'a> {
    Order(&'a Order),
    /// One month of a subscription: the period (Unix seconds) it pays for.
    Month {
        subscription: &'a Subscription,
        period_start: i64,
    },
}

/// Facts about one Razorpay payment, verified by the caller (signature, and that amount
/// and currency match what was sold — otherwise `anomaly` says why nothing is granted).
pub struct Settlement<'a> {
    pub razorpay_payment_id: &'a str,
    pub user_id: &'a str,
    pub purchase: Purchase<'a>,
    pub status: PaymentStatus,
    pub amount: i64,
    pub currency: &'a str,
    pub method: Option<&'a str>,
    pub anomaly: Option<&'a str>,
}

pub struct Settled {
    pub payment: Payment,
    /// This call made the grant (false when it had been made before, or none is due).
    pub granted: bool,
}

/// A refund Razorpay reports (or our admin asked for).
pub struct RefundFacts<'a> {
    pub razorpay_refund_id: &'a str,
    pub razorpay_payment_id: &'a str,
    pub amount: i64,
    pub status: &'a str,
    pub actor: &'a str,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct RefundOutcome {
    /// False when this refund had been recorded before (nothing changed).
    pub new: bool,
    pub tokens_clawed: i64,
    /// Tokens that should have come back but had already been spent.
    pub shortfall: i64,
}

/// Filters of the admin payments list; empty fields match everything.
#[derive(Debug, Default, Clone, serde::Deserialize)]
pub struct PaymentFilter {
    #[serde(default)]
    pub status: String,
    #[serde(default)]
    pub currency: String,
    /// Part of the buyer's email.
    #[serde(default)]
    pub email: String,
    #[serde(default)]
    pub anomalies_only: bool,
}

macro_rules! payment_columns {
    () => {
        "id, user_id, razorpay_payment_id, order_id, subscription_id, period_start, description, amount, currency, \
         status, amount_refunded, tokens, tokens_granted, tokens_clawed, shortfall, method, anomaly, invoice_number, \
         captured_at, created_at, updated_at"
    };
}

macro_rules! plan_columns {
    () => {
        "id, version, kind, name, tokens, price_inr, price_usd, price_eur, active, sort, created_by, created_at"
    };
}

macro_rules! subscription_columns {
    () => {
        "id, user_id, razorpay_subscription_id, plan_id, plan_version, tokens, amount, currency, status, \
         current_start, current_end, cancel_at_period_end, created_at, updated_at"
    };
}

/// Numbers and writes the invoice of `$row` inside transaction `$tx`: `SP-<year>-<n>`,
/// without gaps (the counter moves in the same transaction), buyer details as they are now.
macro_rules! issue_invoice {
    ($tx:ident, $row:expr, $user_id:expr, $now:expr) => {{
        let year = domain::time::civil($now).year;
        let counter = format!("invoice:{year}");
        sqlx::query("INSERT INTO counters (name, value) VALUES ($1, 0) ON CONFLICT (name) DO NOTHING")
            .bind(&counter)
            .execute(&mut *$tx)
            .await?;
        let n: i64 = sqlx::query_scalar("UPDATE counters SET value = value + 1 WHERE name = $1 RETURNING value")
            .bind(&counter)
            .fetch_one(&mut *$tx)
            .await?;
        let number = format!("SP-{year}-{n:06}");
        sqlx::query(
            "INSERT INTO invoices (number, payment_id, user_id, buyer_name, buyer_email, buyer_company, buyer_address, \
             buyer_gstin, description, amount, currency, issued_at) \
             SELECT $1, $2, id, name, COALESCE(email, phone, ''), company, address, gstin, $4, $5, $6, $7 \
             FROM users WHERE id = $3",
        )
        .bind(&number)
        .bind(&$row.id)
        .bind($user_id)
        .bind(&$row.description)
        .bind($row.amount)
        .bind(&$row.currency)
        .bind($now)
        .execute(&mut *$tx)
        .await?;
        number
    }};
}

impl Db {
    /// The newest version of every plan, in display order (inactive ones too when asked).
    pub async fn plans(&self, include_inactive: bool) -> Result<Vec<Plan>> {
        let sql = concat!(
            "SELECT ",
            plan_columns!(),
            " FROM plans p WHERE version = (SELECT MAX(version) FROM plans q WHERE q.id = p.id) \
             AND (active OR $1) ORDER BY sort, id"
        );
        Ok(with_pool!(self, |p| sqlx::query_as::<_, Plan>(sql).bind(include_inactive).fetch_all(p).await)?)
    }

    pub async fn plan(&self, id: &str, version: Option<i64>) -> Result<Plan> {
        let sql = concat!(
            "SELECT ",
            plan_columns!(),
            " FROM plans WHERE id = $1 AND ($2 < 0 OR version = $2) ORDER BY version DESC LIMIT 1"
        );
        with_pool!(self, |p| sqlx::query_as::<_, Plan>(sql)
            .bind(id)
            .bind(version.unwrap_or(-1))
            .fetch_optional(p)
            .await)?
        .ok_or(DbError::NotFound)
    }

    /// Saves `plan` as the next version of its id (orders keep the version they were sold at).
    pub async fn save_plan(&self, plan: &Plan, now: i64) -> Result<Plan> {
        // One statement: reading the latest version and then writing in a transaction can
        // fail on SQLite (a read lock cannot always be upgraded once another writer committed).
        with_pool!(self, |p| {
            sqlx::query(
            "INSERT INTO plans (id, version, kind, name, tokens, price_inr, price_usd, price_eur, active, sort, \
             created_by, created_at) SELECT $1, COALESCE(MAX(version), 0) + 1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11 \
             FROM plans WHERE id = $1",
        )
        .bind(&plan.id)
        .bind(&plan.kind)
        .bind(&plan.name)
        .bind(plan.tokens)
        .bind(plan.price_inr)
        .bind(plan.price_usd)
        .bind(plan.price_eur)
        .bind(plan.active)
        .bind(plan.sort)
        .bind(&plan.created_by)
        .bind(now)
        .execute(p)
        .await
        .map(|_| ())
        .map_err(crate::conflict(&["version"]))
        })?;
        self.plan(&plan.id, None).await
    }

    pub async fn razorpay_plan_id(&self, plan: &Plan, currency: &str) -> Result<Option<String>> {
        Ok(with_pool!(self, |p| sqlx::query_scalar(
            "SELECT razorpay_plan_id FROM razorpay_plans WHERE plan_id = $1 AND version = $2 AND currency = $3"
        )
        .bind(&plan.id)
        .bind(plan.version)
        .bind(currency)
        .fetch_optional(p)
        .await)?)
    }

    /// Remembers the Razorpay plan for a plan version; the first one stored wins a race.
    pub async fn remember_razorpay_plan(&self, plan: &Plan, currency: &str, razorpay_plan_id: &str) -> Result<String> {
        with_pool!(self, |p| sqlx::query(
            "INSERT INTO razorpay_plans (plan_id, version, currency, razorpay_plan_id) VALUES ($1, $2, $3, $4) \
             ON CONFLICT DO NOTHING"
        )
        .bind(&plan.id)
        .bind(plan.version)
        .bind(currency)
        .bind(razorpay_plan_id)
        .execute(p)
        .await
        .map(|r| r.rows_affected()))?;
        self.razorpay_plan_id(plan, currency).await?.ok_or(DbError::NotFound)
    }

    pub async fn insert_order(&self, o: &Order) -> Result<()> {
        with_pool!(self, |p| sqlx::query(
            "INSERT INTO orders (id, user_id, razorpay_order_id, plan_id, plan_version, tokens, amount, currency, \
             status, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)"
        )
        .bind(&o.id)
        .bind(&o.user_id)
        .bind(&o.razorpay_order_id)
        .bind(&o.plan_id)
        .bind(o.plan_version)
        .bind(o.tokens)
        .bind(o.amount)
        .bind(&o.currency)
        .bind(&o.status)
        .bind(o.created_at)
        .execute(p)
        .await
        .map(|r| r.rows_affected()))?;
        Ok(())
    }

    pub async fn order_by_razorpay_id(&self, razorpay_order_id: &str) -> Result<Order> {
        with_pool!(self, |p| sqlx::query_as::<_, Order>(
            "SELECT id, user_id, razorpay_order_id, plan_id, plan_version, tokens, amount, currency, status, \
             created_at FROM orders WHERE razorpay_order_id = $1"
        )
        .bind(razorpay_order_id)
        .fetch_optional(p)
        .await)?
        .ok_or(DbError::NotFound)
    }

    pub async fn insert_subscription(&self, s: &Subscription) -> Result<()> {
        with_pool!(self, |p| sqlx::query(
            "INSERT INTO subscriptions (id, user_id, razorpay_subscription_id, plan_id, plan_version, tokens, amount, \
             currency, status, current_start, current_end, cancel_at_period_end, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)"
        )
        .bind(&s.id)
        .bind(&s.user_id)
        .bind(&s.razorpay_subscription_id)
        .bind(&s.plan_id)
        .bind(s.plan_version)
        .bind(s.tokens)
        .bind(s.amount)
        .bind(&s.currency)
        .bind(&s.status)
        .bind(s.current_start)
        .bind(s.current_end)
        .bind(s.cancel_at_period_end)
        .bind(s.created_at)
        .bind(s.updated_at)
        .execute(p)
        .await
        .map(|r| r.rows_affected()))
        .map_err(conflict(&["user_id", "subscriptions_one_open"]))?;
        Ok(())
    }

    pub async fn subscription_by_razorpay_id(&self, razorpay_subscription_id: &str) -> Result<Subscription> {
        let sql =
            concat!("SELECT ", subscription_columns!(), " FROM subscriptions WHERE razorpay_subscription_id = $1");
        with_pool!(self, |p| sqlx::query_as::<_, Subscription>(sql)
            .bind(razorpay_subscription_id)
            .fetch_optional(p)
            .await)?
        .ok_or(DbError::NotFound)
    }

    /// The user's subscriptions, newest first.
    pub async fn subscriptions_of(&self, user_id: &str) -> Result<Vec<Subscription>> {
        let sql = concat!(
            "SELECT ",
            subscription_columns!(),
            " FROM subscriptions WHERE user_id = $1 ORDER BY created_at DESC"
        );
        Ok(with_pool!(self, |p| sqlx::query_as::<_, Subscription>(sql).bind(user_id).fetch_all(p).await)?)
    }

    /// Applies what Razorpay says about a subscription; final states stay final, and an
    /// older period never replaces a newer one.
    pub async fn update_subscription(
        &self,
        razorpay_subscription_id: &str,
        status: &str,
        period: Option<(i64, i64)>,
        cancel_at_period_end: Option<bool>,
        now: i64,
    ) -> Result<Subscription> {
        let sql = concat!(
            "UPDATE subscriptions SET updated_at = $2 WHERE razorpay_subscription_id = $1 RETURNING ",
            subscription_columns!()
        );
        with_pool!(self, |p| {
            let mut tx = p.begin().await?;
            let Some(current) = sqlx::query_as::<_, Subscription>(sql)
                .bind(razorpay_subscription_id)
                .bind(now)
                .fetch_optional(&mut *tx)
                .await?
            else {
                return Err(DbError::NotFound);
            };
            let status = domain::billing::subscription_status_after(&current.status, status);
            let (start, end) = match period {
                Some((s, e)) if current.current_start.is_none_or(|c| s >= c) => (Some(s), Some(e)),
                _ => (current.current_start, current.current_end),
            };
            sqlx::query(
                "UPDATE subscriptions SET status = $2, current_start = $3, current_end = $4, \
                 cancel_at_period_end = $5 WHERE id = $1",
            )
            .bind(&current.id)
            .bind(&status)
            .bind(start)
            .bind(end)
            .bind(cancel_at_period_end.unwrap_or(current.cancel_at_period_end))
            .execute(&mut *tx)
            .await?;
            tx.commit().await?;
            Ok::<_, DbError>(())
        })?;
        self.subscription_by_razorpay_id(razorpay_subscription_id).await
    }

    /// Records what a payment did, once: state advanced by the rules of `PaymentStatus`,
    /// tokens granted on the first capture, an invoice numbered for captured money.
    pub async fn settle_payment(&self, s: &Settlement<'_>, now: i64) -> Result<Settled> {
        let (order_id, subscription_id, period_start, tokens, description, reference) = match &s.purchase {
            Purchase::Order(o) => (
                Some(o.id.as_str()),
                None,
                None,
                o.tokens,
                format!("{} tokens ({} pack)", o.tokens, title(&o.plan_id)),
                format!("payment:{}", s.razorpay_payment_id),
            ),
            Purchase::Month { subscription, period_start } => (
                None,
                Some(subscription.id.as_str()),
                Some(*period_start),
                subscription.tokens,
                format!("{} tokens ({} monthly plan)", subscription.tokens, title(&subscription.plan_id)),
                format!("subscription:{}:{period_start}", subscription.id),
            ),
        };
        let select = concat!(
            "UPDATE payments SET updated_at = $2 WHERE razorpay_payment_id = $1 RETURNING ",
            payment_columns!()
        );
        let (payment, granted) = with_pool!(self, |p| {
            let mut tx = p.begin().await?;
            sqlx::query(
                "INSERT INTO payments (id, user_id, razorpay_payment_id, order_id, subscription_id, period_start, \
                 description, amount, currency, status, tokens, created_at, updated_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 'created', $10, $11, $11) \
                 ON CONFLICT (razorpay_payment_id) DO NOTHING",
            )
            .bind(new_id())
            .bind(s.user_id)
            .bind(s.razorpay_payment_id)
            .bind(order_id)
            .bind(subscription_id)
            .bind(period_start)
            .bind(&description)
            .bind(s.amount)
            .bind(s.currency)
            .bind(tokens)
            .bind(now)
            .execute(&mut *tx)
            .await?;
            // The update takes the row lock (Postgres) or the write lock (SQLite) before reading.
            let row =
                sqlx::query_as::<_, Payment>(select).bind(s.razorpay_payment_id).bind(now).fetch_one(&mut *tx).await?;
            let current = PaymentStatus::parse(&row.status).unwrap_or(PaymentStatus::Created);
            let status = current.advance(s.status);
            let money_taken = matches!(status, PaymentStatus::Captured | PaymentStatus::Refunded);
            let mut anomaly = row.anomaly.clone().or(s.anomaly.map(str::to_owned));
            if row.user_id.as_deref().is_some_and(|u| u != s.user_id) {
                anomaly.get_or_insert_with(|| "payment reported for another account".into());
            }
            let mut granted = false;
            let mut tokens_granted = row.tokens_granted;
            // Only a payment that stands captured grants: one refunded before we heard of its
            // capture (an uncaptured payment Razorpay returned, say) never does.
            if status == PaymentStatus::Captured && tokens_granted == 0 && anomaly.is_none() {
                let m = Movement {
                    user_id: s.user_id,
                    kind: Kind::Grant,
                    amount: row.tokens,
                    reason: &row.description,
                    reference: &reference,
                    actor: "razorpay",
                };
                match move_tokens!(tx, m, now).await?.0 {
                    Outcome::Applied(_) => {
                        granted = true;
                        tokens_granted = row.tokens;
                    }
                    _ => anomaly = Some("a second charge for a period already paid".into()),
                }
            }
            let mut invoice_number = row.invoice_number.clone();
            if money_taken && invoice_number.is_none() {
                invoice_number = Some(issue_invoice!(tx, row, s.user_id, now));
            }
            if money_taken && let Some(order) = order_id {
                sqlx::query("UPDATE orders SET status = 'paid' WHERE id = $1").bind(order).execute(&mut *tx).await?;
            }
            sqlx::query(
                "UPDATE payments SET status = $2, tokens_granted = $3, anomaly = $4, method = COALESCE(method, $5), \
                 invoice_number = $6, captured_at = COALESCE(captured_at, $7) WHERE id = $1",
            )
            .bind(&row.id)
            .bind(status.as_str())
            .bind(tokens_granted)
            .bind(&anomaly)
            .bind(s.method)
            .bind(&invoice_number)
            .bind(money_taken.then_some(now))
            .execute(&mut *tx)
            .await?;
            tx.commit().await?;
            Ok::<_, sqlx::Error>((row.id, granted))
        })?;
        Ok(Settled { payment: self.payment(&payment).await?, granted })
    }

    /// Records a refund once and takes back the tokens it covers, never below zero: what
    /// was already spent is the shortfall, kept on the payment and the refund for admins.
    pub async fn record_refund(&self, r: &RefundFacts<'_>, now: i64) -> Result<RefundOutcome> {
        let select = concat!(
            "UPDATE payments SET updated_at = $2 WHERE razorpay_payment_id = $1 RETURNING ",
            payment_columns!()
        );
        with_pool!(self, |p| {
            let mut tx = p.begin().await?;
            let Some(row) = sqlx::query_as::<_, Payment>(select)
                .bind(r.razorpay_payment_id)
                .bind(now)
                .fetch_optional(&mut *tx)
                .await?
            else {
                return Err(DbError::NotFound);
            };
            let inserted = sqlx::query(
                "INSERT INTO refunds (id, razorpay_refund_id, payment_id, amount, status, tokens_clawed, shortfall, \
                 actor, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, 0, 0, $6, $7, $7) \
                 ON CONFLICT (razorpay_refund_id) DO NOTHING",
            )
            .bind(new_id())
            .bind(r.razorpay_refund_id)
            .bind(&row.id)
            .bind(r.amount)
            .bind(r.status)
            .bind(r.actor)
            .bind(now)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            if inserted == 0 {
                sqlx::query("UPDATE refunds SET status = $2, updated_at = $3 WHERE razorpay_refund_id = $1")
                    .bind(r.razorpay_refund_id)
                    .bind(r.status)
                    .bind(now)
                    .execute(&mut *tx)
                    .await?;
                tx.commit().await?;
                return Ok(RefundOutcome { new: false, tokens_clawed: 0, shortfall: 0 });
            }
            let refunded = (row.amount_refunded + r.amount).min(row.amount);
            let due = tokens_to_claw_back(row.tokens_granted, row.amount, refunded, row.tokens_clawed);
            let mut shortfall = 0;
            if due > 0
                && let Some(user_id) = row.user_id.as_deref()
            {
                let reference = format!("refund:{}", r.razorpay_refund_id);
                let m = Movement {
                    user_id,
                    kind: Kind::Refund,
                    amount: due,
                    reason: "Tokens returned for a refunded payment",
                    reference: &reference,
                    actor: r.actor,
                };
                shortfall = move_tokens!(tx, m, now).await?.1;
            } else if due > 0 {
                shortfall = due;
            }
            let status = if refunded == row.amount { PaymentStatus::Refunded.as_str() } else { row.status.as_str() };
            sqlx::query(
                "UPDATE payments SET amount_refunded = $2, tokens_clawed = tokens_clawed + $3, \
                 shortfall = shortfall + $4, status = $5 WHERE id = $1",
            )
            .bind(&row.id)
            .bind(refunded)
            .bind(due)
            .bind(shortfall)
            .bind(status)
            .execute(&mut *tx)
            .await?;
            sqlx::query("UPDATE refunds SET tokens_clawed = $2, shortfall = $3 WHERE razorpay_refund_id = $1")
                .bind(r.razorpay_refund_id)
                .bind(due - shortfall)
                .bind(shortfall)
                .execute(&mut *tx)
                .await?;
            tx.commit().await?;
            Ok(RefundOutcome { new: true, tokens_clawed: due - shortfall, shortfall })
        })
    }

    /// A refund Razorpay could not make (`refund.failed`): the money stays with us, so the
    /// refunded amount and the tokens taken for it go back, once. False if unknown or done.
    pub async fn fail_refund(&self, razorpay_refund_id: &str, now: i64) -> Result<bool> {
        with_pool!(self, |p| {
            let mut tx = p.begin().await?;
            let Some(refund) = sqlx::query_as::<_, Refund>(
                "UPDATE refunds SET status = 'failed', updated_at = $2 WHERE razorpay_refund_id = $1 \
                 AND status <> 'failed' RETURNING id, razorpay_refund_id, payment_id, amount, status, tokens_clawed, \
                 shortfall, actor, created_at, updated_at",
            )
            .bind(razorpay_refund_id)
            .bind(now)
            .fetch_optional(&mut *tx)
            .await?
            else {
                return Ok(false);
            };
            let user_id: Option<String> = sqlx::query_scalar(
                "UPDATE payments SET amount_refunded = amount_refunded - $2, \
                 tokens_clawed = tokens_clawed - $3, shortfall = shortfall - $4, \
                 status = CASE WHEN status = 'refunded' THEN 'captured' ELSE status END WHERE id = $1 RETURNING user_id",
            )
            .bind(&refund.payment_id)
            .bind(refund.amount)
            .bind(refund.tokens_clawed + refund.shortfall)
            .bind(refund.shortfall)
            .fetch_one(&mut *tx)
            .await?;
            if refund.tokens_clawed > 0
                && let Some(user_id) = user_id.as_deref()
            {
                let reference = format!("refund-failed:{razorpay_refund_id}");
                let m = Movement {
                    user_id,
                    kind: Kind::Grant,
                    amount: refund.tokens_clawed,
                    reason: "Tokens returned: the refund did not go through",
                    reference: &reference,
                    actor: "razorpay",
                };
                move_tokens!(tx, m, now).await?;
            }
            tx.commit().await?;
            Ok::<_, DbError>(true)
        })
    }

    /// Stores an event once by its id; false when it had been stored before.
    pub async fn record_payment_event(&self, e: &PaymentEvent) -> Result<bool> {
        Ok(with_pool!(self, |p| sqlx::query(
            "INSERT INTO payment_events (id, razorpay_payment_id, event, source, summary, received_at) \
             VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (id) DO NOTHING"
        )
        .bind(&e.id)
        .bind(&e.razorpay_payment_id)
        .bind(&e.event)
        .bind(&e.source)
        .bind(&e.summary)
        .bind(e.received_at)
        .execute(p)
        .await
        .map(|r| r.rows_affected()))?
            == 1)
    }

    pub async fn payment_event_seen(&self, id: &str) -> Result<bool> {
        let n: i64 = with_pool!(self, |p| sqlx::query_scalar("SELECT COUNT(*) FROM payment_events WHERE id = $1")
            .bind(id)
            .fetch_one(p)
            .await)?;
        Ok(n > 0)
    }

    pub async fn payment_events(&self, razorpay_payment_id: &str) -> Result<Vec<PaymentEvent>> {
        Ok(with_pool!(self, |p| sqlx::query_as::<_, PaymentEvent>(
            "SELECT id, razorpay_payment_id, event, source, summary, received_at FROM payment_events \
             WHERE razorpay_payment_id = $1 ORDER BY received_at, id"
        )
        .bind(razorpay_payment_id)
        .fetch_all(p)
        .await)?)
    }

    pub async fn payment(&self, id: &str) -> Result<Payment> {
        let sql = concat!("SELECT ", payment_columns!(), " FROM payments WHERE id = $1 OR razorpay_payment_id = $1");
        with_pool!(self, |p| sqlx::query_as::<_, Payment>(sql).bind(id).fetch_optional(p).await)?
            .ok_or(DbError::NotFound)
    }

    /// The user's payments, newest first.
    pub async fn payments_of(&self, user_id: &str, limit: i64) -> Result<Vec<Payment>> {
        let sql = concat!(
            "SELECT ",
            payment_columns!(),
            " FROM payments WHERE user_id = $1 ORDER BY created_at DESC, id DESC LIMIT $2"
        );
        Ok(with_pool!(self, |p| sqlx::query_as::<_, Payment>(sql).bind(user_id).bind(limit).fetch_all(p).await)?)
    }

    /// For admins: payments matching `f`, newest first, with the buyer's email.
    pub async fn find_payments(&self, f: &PaymentFilter, limit: i64) -> Result<Vec<(Payment, Option<String>)>> {
        #[derive(sqlx::FromRow)]
        struct Row {
            #[sqlx(flatten)]
            payment: Payment,
            email: Option<String>,
        }
        let sql = "SELECT p.id, p.user_id, p.razorpay_payment_id, p.order_id, p.subscription_id, p.period_start, \
             p.description, p.amount, p.currency, p.status, p.amount_refunded, p.tokens, p.tokens_granted, \
             p.tokens_clawed, p.shortfall, p.method, p.anomaly, p.invoice_number, p.captured_at, p.created_at, \
             p.updated_at, u.email FROM payments p LEFT JOIN users u ON u.id = p.user_id \
             WHERE ($1 = '' OR p.status = $1) AND ($2 = '' OR p.currency = $2) \
             AND ($3 = '' OR LOWER(COALESCE(u.email, '')) LIKE $4) AND (NOT $5 OR p.anomaly IS NOT NULL OR p.shortfall > 0) \
             ORDER BY p.created_at DESC, p.id DESC LIMIT $6";
        let email = f.email.trim().to_lowercase().replace(['%', '_'], "");
        let rows = with_pool!(self, |p| sqlx::query_as::<_, Row>(sql)
            .bind(f.status.trim())
            .bind(f.currency.trim().to_uppercase())
            .bind(&email)
            .bind(format!("%{email}%"))
            .bind(f.anomalies_only)
            .bind(limit)
            .fetch_all(p)
            .await)?;
        Ok(rows.into_iter().map(|r| (r.payment, r.email)).collect())
    }

    pub async fn refunds_of(&self, payment_id: &str) -> Result<Vec<Refund>> {
        Ok(with_pool!(self, |p| sqlx::query_as::<_, Refund>(
            "SELECT id, razorpay_refund_id, payment_id, amount, status, tokens_clawed, shortfall, actor, created_at, \
             updated_at FROM refunds WHERE payment_id = $1 ORDER BY created_at"
        )
        .bind(payment_id)
        .fetch_all(p)
        .await)?)
    }

    pub async fn invoices_of(&self, user_id: &str) -> Result<Vec<Invoice>> {
        Ok(with_pool!(self, |p| sqlx::query_as::<_, Invoice>(
            "SELECT number, payment_id, user_id, buyer_name, buyer_email, buyer_company, buyer_address, buyer_gstin, \
             description, amount, currency, issued_at FROM invoices WHERE user_id = $1 ORDER BY issued_at"
        )
        .bind(user_id)
        .fetch_all(p)
        .await)?)
    }

    pub async fn invoice(&self, number: &str) -> Result<Invoice> {
        with_pool!(self, |p| sqlx::query_as::<_, Invoice>(
            "SELECT number, payment_id, user_id, buyer_name, buyer_email, buyer_company, buyer_address, buyer_gstin, \
             description, amount, currency, issued_at FROM invoices WHERE number = $1"
        )
        .bind(number)
        .fetch_optional(p)
        .await)?
        .ok_or(DbError::NotFound)
    }

    /// Captured payments only, per UTC day and currency, newest day first.
    pub async fn revenue_by_day(&self, since: i64) -> Result<Vec<RevenueDay>> {
        Ok(with_pool!(self, |p| sqlx::query_as::<_, RevenueDay>(
            "SELECT captured_at / 86400000 AS day, currency, COUNT(*) AS payments, \
             CAST(SUM(amount) AS BIGINT) AS gross, CAST(SUM(amount_refunded) AS BIGINT) AS refunded \
             FROM payments WHERE captured_at IS NOT NULL AND captured_at >= $1 \
             AND status IN ('captured', 'refunded') GROUP BY captured_at / 86400000, currency \
             ORDER BY day DESC, currency"
        )
        .bind(since)
        .fetch_all(p)
        .await)?)
    }
}

/// `starter` → `Starter`.
fn title(id: &str) -> String {
    let mut chars = id.chars();
    chars.next().map(|c| c.to_uppercase().chain(chars).collect()).unwrap_or_default()
}
