//! Tokens: the welcome grant, the daily reward, balances, the ledger, and admin
//! adjustments. Holds and charges for jobs go through the same `Db::apply`.

use db::ledger::{Balance, Entry, Kind, Movement, Outcome};
use domain::ledger as statement;

use crate::sessions::Principal;
use crate::{App, AppError, Client, Result, now_ms};

const DAY_MS: i64 = 86_400_000;

/// The most a low-balance alert may be set to.
const MAX_ALERT: i64 = 1_000_000;

impl App {
    /// Sets the balance under which the seller is mailed (and `tokens.low` is sent); `None`
    /// turns it off.
    pub async fn set_balance_alert(&self, p: &Principal, threshold: Option<i64>) -> Result<()> {
        if threshold.is_some_and(|t| !(1..=MAX_ALERT).contains(&t)) {
            return Err(
                domain::Invalid::new("invalid_threshold", "threshold", "Choose from 1 to 1,000,000 tokens.").into()
            );
        }
        Ok(self.db.set_balance_alert(&p.user.id, threshold, now_ms()).await?)
    }

    pub async fn balance_alert(&self, p: &Principal) -> Result<Option<i64>> {
        Ok(self.db.balance_alert(&p.user.id).await?)
    }

    /// After `spent` tokens left a balance of `left`: when that took it from at or above the
    /// seller's alert to below it, mail them and send `tokens.low`, once per such crossing
    /// (`reference` names the spend). Never fails the spend itself.
    pub(crate) async fn after_spend(&self, user_id: &str, left: i64, spent: i64, reference: &str) {
        let crossed = async {
            let Some(threshold) = self.db.balance_alert(user_id).await? else { return Ok(()) };
            if !(left < threshold && left + spent >= threshold) {
                return Ok(());
            }
            let data = serde_json::json!({"balance": left, "threshold": threshold});
            self.announce(
                user_id,
                domain::webhook::EventType::TokensLow,
                &format!("tokens.low:{reference}"),
                data,
                None,
            )
            .await?;
            let user = self.db.user_by_id(user_id).await?;
            let Some(to) = user.email.clone() else { return Ok(()) };
            let mail = providers::mail::Email {
                to,
                unsubscribe: None,
                subject: format!("{left} SoraiPixel tokens left"),
                text: format!(
                    "Hello {},\n\nYour balance is down to {left} tokens, under the {threshold} you asked us to watch \
                     for. Top up at {} so your next photos are not held up.\n\nChange this alert at {}.\n",
                    if user.name.is_empty() { "there" } else { &user.name },
                    self.link("/pricing"),
                    self.link("/tokens"),
                ),
            };
            self.queue_mail(&mail, user_id).await
        };
        if let Err(e) = crossed.await {
            tracing::warn!(user = %user_id, error = %e, "low-balance alert failed");
        }
    }

    /// Once per account, whatever calls it and however often.
    pub(crate) async fn welcome_grant(&self, user_id: &str) -> Result<()> {
        let amount = self.settings.tokens.welcome_grant;
        if amount > 0 {
            let reference = format!("welcome:{user_id}");
            let m = Movement {
                user_id,
                kind: Kind::Grant,
                amount,
                reason: "Welcome tokens",
                reference: &reference,
                actor: "system",
            };
            self.db.apply(m, now_ms()).await?;
        }
        Ok(())
    }

    pub async fn balance(&self, p: &Principal) -> Result<Balance> {
        Ok(self.db.balance(&p.user.id).await?)
    }

    pub async fn ledger(&self, p: &Principal, before: Option<i64>, limit: i64) -> Result<Vec<Entry>> {
        Ok(self.db.ledger(&p.user.id, before, limit.clamp(1, 200)).await?)
    }

    /// A page of the seller's statement (one line per purchase, `domain::ledger`) and the
    /// time to ask for the next, older page from, if there may be one.
    pub async fn statement(&self, p: &Principal, before: Option<i64>) -> Result<(Vec<statement::Line>, Option<i64>)> {
        self.statement_of(&p.user.id, before).await
    }

    /// An account's statement, a page before `before`, and the time to page on from.
    pub(crate) async fn statement_of(
        &self,
        user_id: &str,
        before: Option<i64>,
    ) -> Result<(Vec<statement::Line>, Option<i64>)> {
        let page = self.db.ledger(user_id, before, STATEMENT_PAGE).await?;
        let older = page.last().filter(|_| page.len() == STATEMENT_PAGE as usize).map(|e| e.created_at);
        let moves: Vec<statement::Movement<'_>> = page.iter().map(movement).collect();
        // Purchases the page cuts through are read whole, so each shows once and complete.
        let mut related = Vec::new();
        for key in statement::unfinished_purchases(&moves) {
            related.extend(self.db.ledger_of_purchase(user_id, key).await?);
        }
        let related: Vec<statement::Movement<'_>> = related.iter().map(movement).collect();
        Ok((statement::statement_page(&moves, &related), older))
    }

    /// The daily reward, at most once per UTC day (the day is part of the ledger reference,
    /// so two clicks in a race still make one entry).
    pub async fn claim_daily_reward(&self, p: &Principal, client: &Client) -> Result<Balance> {
        let now = now_ms();
        let day = now.div_euclid(DAY_MS);
        let reference = format!("daily:{}:{day}", p.user.id);
        let amount = self.settings.tokens.daily_reward;
        let m = Movement {
            user_id: &p.user.id,
            kind: Kind::Grant,
            amount,
            reason: "Daily reward",
            reference: &reference,
            actor: "self",
        };
        match self.db.apply(m, now).await? {
            (Outcome::Applied(balance), _) => {
                self.db
                    .audit(
                        Some(&p.user.id),
                        "self",
                        "daily_reward_claimed",
                        &amount.to_string(),
                        &client.network(),
                        now,
                    )
                    .await?;
                Ok(balance)
            }
            _ => Err(AppError::AlreadyDone {
                retry_after_secs: u64::try_from(((day + 1) * DAY_MS - now) / 1000).unwrap_or(1),
            }),
        }
    }

    /// `soraipixel admin tokens EMAIL AMOUNT REASON`.
    pub async fn adjust_tokens(&self, email: &str, amount: i64, reason: &str, actor: &str) -> Result<(Balance, i64)> {
        let user = self.account_named_by(email).await?;
        let moved = self.adjust_balance(&user.id, amount, reason, actor).await?;
        let detail = format!("{amount:+} {}", reason.trim());
        self.db.audit(Some(&user.id), actor, "tokens_adjusted", &detail, "", now_ms()).await?;
        Ok(moved)
    }

    /// A signed correction in the ledger (the caller audits it), never taking the balance
    /// below zero (the shortfall is returned).
    pub(crate) async fn adjust_balance(
        &self,
        user_id: &str,
        amount: i64,
        reason: &str,
        actor: &str,
    ) -> Result<(Balance, i64)> {
        if amount == 0 || reason.trim().len() < 3 {
            return Err(
                domain::Invalid::new("invalid_adjustment", "amount", "Give a non-zero amount and a reason.").into()
            );
        }
        let now = now_ms();
        let reference = format!("adjust:{}", db::new_id());
        let m =
            Movement { user_id, kind: Kind::Adjustment, amount, reason: reason.trim(), reference: &reference, actor };
        match self.db.apply(m, now).await? {
            (Outcome::Applied(balance), shortfall) => Ok((balance, shortfall)),
            _ => Err(AppError::Internal("adjustment not applied".into())),
        }
    }
}

/// Ledger entries a page of the statement is made from.
const STATEMENT_PAGE: i64 = 50;

fn movement(e: &Entry) -> statement::Movement<'_> {
    statement::Movement {
        id: &e.id,
        kind: &e.kind,
        amount: e.amount,
        balance_after: e.balance_after,
        reason: &e.reason,
        reference: &e.reference,
        at: e.created_at,
    }
}
