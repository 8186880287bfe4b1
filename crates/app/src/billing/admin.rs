//! Admin work on billing: payments with their events, refunds through Razorpay (tokens
//! clawed back as far as the balance allows, the shortfall recorded), plan editing, and
//! revenue from captured payments.

use serde::Deserialize;

use db::billing::{Payment, PaymentEvent, PaymentFilter, Plan, Refund, RefundFacts, RefundOutcome, RevenueDay};

use crate::sessions::Principal;
use crate::{App, AppError, Result, now_ms};

/// One payment as the admin page shows it.
pub struct PaymentDetail {
    pub payment: Payment,
    pub email: Option<String>,
    pub events: Vec<PaymentEvent>,
    pub refunds: Vec<Refund>,
}

/// A plan as an admin edits it (prices in minor units).
#[derive(Debug, Clone, Deserialize)]
pub struct PlanEdit {
    pub name: String,
    pub tokens: i64,
    pub price_inr: i64,
    pub price_usd: i64,
    pub price_eur: i64,
    #[serde(default)]
    pub active: bool,
}

impl App {
    pub async fn admin_payments(
        &self,
        p: &Principal,
        filter: &PaymentFilter,
    ) -> Result<Vec<(Payment, Option<String>)>> {
        p.require_staff()?;
        Ok(self.db.find_payments(filter, 200).await?)
    }

    pub async fn admin_payment(&self, p: &Principal, id: &str) -> Result<PaymentDetail> {
        p.require_staff()?;
        let payment = self.db.payment(id).await?;
        let email = match &payment.user_id {
            Some(u) => self.db.user_by_id(u).await.ok().and_then(|u| u.email),
            None => None,
        };
        Ok(PaymentDetail {
            events: self.db.payment_events(&payment.razorpay_payment_id).await?,
            refunds: self.db.refunds_of(&payment.id).await?,
            email,
            payment,
        })
    }

    /// Refunds `amount` (all that is left when `None`) through Razorpay and claws back the
    /// tokens it paid for. The webhook that follows finds the refund recorded and changes
    /// nothing.
    pub async fn refund_payment(
        &self,
        p: &Principal,
        id: &str,
        amount: Option<i64>,
        reason: &str,
    ) -> Result<RefundOutcome> {
        p.require_admin()?;
        let gateway = self.gateway()?;
        let payment = self.db.payment(id).await?;
        let left = payment.amount - payment.amount_refunded;
        let amount = amount.unwrap_or(left);
        if payment.status != "captured" || amount <= 0 || amount > left {
            return Err(domain::Invalid::new(
                "invalid_refund",
                "amount",
                format!("Only a captured payment can be refunded, up to {left} (minor units)."),
            )
            .into());
        }
        if reason.trim().len() < 3 {
            return Err(domain::Invalid::new("invalid_refund", "reason", "Say why the payment is refunded.").into());
        }
        // A refund Razorpay made whose record we lost (or whose webhook is on its way) shows
        // as a difference: refuse rather than refund twice.
        let remote = gateway
            .client
            .payment(&payment.razorpay_payment_id)
            .await
            .map_err(|e| AppError::Upstream(e.to_string()))?;
        if remote.amount_refunded != payment.amount_refunded {
            return Err(AppError::Busy);
        }
        let receipt = db::new_id();
        let refund = gateway
            .client
            .refund(&payment.razorpay_payment_id, amount, &receipt)
            .await
            .map_err(|e| AppError::Upstream(e.to_string()))?;
        let actor = format!("admin:{}", p.user.id);
        let now = now_ms();
        let outcome = self
            .record_refund(
                &RefundFacts {
                    razorpay_refund_id: &refund.id,
                    razorpay_payment_id: &payment.razorpay_payment_id,
                    amount: refund.amount,
                    status: &refund.status,
                    actor: &actor,
                },
                now,
            )
            .await?;
        let detail = format!(
            "{} {} {}: {} tokens back, shortfall {}; {}",
            payment.razorpay_payment_id,
            amount,
            payment.currency,
            outcome.tokens_clawed,
            outcome.shortfall,
            reason.trim()
        );
        self.db.audit(payment.user_id.as_deref(), &actor, "payment_refunded", &detail, "", now).await?;
        Ok(outcome)
    }

    pub async fn admin_plans(&self, p: &Principal) -> Result<Vec<Plan>> {
        p.require_staff()?;
        Ok(self.db.plans(true).await?)
    }

    /// Saves a new version of a plan; orders already made keep the version they were sold at.
    pub async fn edit_plan(&self, p: &Principal, id: &str, edit: &PlanEdit) -> Result<Plan> {
        p.require_admin()?;
        let current = self.db.plan(id, None).await?;
        let invalid = |field, message: &str| Err(domain::Invalid::new("invalid_plan", field, message).into());
        if edit.name.trim().is_empty() || edit.name.len() > 40 {
            return invalid("name", "Give the plan a name of up to 40 characters.");
        }
        if !(1..=1_000_000).contains(&edit.tokens) {
            return invalid("tokens", "Tokens must be between 1 and 1,000,000.");
        }
        // Razorpay's minimum is ₹1 (100 paise); foreign currencies need at least 50 cents.
        if edit.price_inr < 100 || edit.price_usd < 50 || edit.price_eur < 50 {
            return invalid("price_inr", "Prices must be at least ₹1.00, $0.50 and €0.50.");
        }
        let plan = Plan {
            name: edit.name.trim().to_owned(),
            tokens: edit.tokens,
            price_inr: edit.price_inr,
            price_usd: edit.price_usd,
            price_eur: edit.price_eur,
            active: edit.active,
            created_by: format!("admin:{}", p.user.id),
            ..current
        };
        let now = now_ms();
        let saved = self.db.save_plan(&plan, now).await?;
        let detail = format!(
            "{} v{}: {} tokens, ₹{} ${} €{} (minor units), active {}",
            saved.id, saved.version, saved.tokens, saved.price_inr, saved.price_usd, saved.price_eur, saved.active
        );
        self.db.audit(None, &plan.created_by, "plan_edited", &detail, "", now).await?;
        Ok(saved)
    }

    pub async fn revenue(&self, p: &Principal, days: i64) -> Result<Vec<RevenueDay>> {
        p.require_staff()?;
        Ok(self.db.revenue_by_day(now_ms() - days.clamp(1, 3660) * 86_400_000).await?)
    }
}
