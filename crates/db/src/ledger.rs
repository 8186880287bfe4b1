//! The token ledger. Every change of a balance is one entry written in the same transaction
//! as the balance; `(kind, reference)` is unique, so an event applied twice changes nothing.
//! The schema's CHECKs keep balances non-negative even if a caller got the rules wrong.

use serde::Serialize;

use crate::{Db, DbError, Result, with_pool};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// Tokens added (welcome, daily reward, purchase).
    Grant,
    /// Spendable → held, when a job is accepted.
    Hold,
    /// Held tokens consumed by a successful output.
    Charge,
    /// Held tokens returned to spendable (failure, cancel, leftover).
    Release,
    /// Tokens taken back after a payment refund, as far as the balance allows.
    Refund,
    /// An admin's correction, either direction, with a reason.
    Adjustment,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Grant => "grant",
            Kind::Hold => "hold",
            Kind::Charge => "charge",
            Kind::Release => "release",
            Kind::Refund => "refund",
            Kind::Adjustment => "adjustment",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, sqlx::FromRow)]
pub struct Balance {
    pub balance: i64,
    pub held: i64,
}

#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct Entry {
    pub id: String,
    pub kind: String,
    pub amount: i64,
    pub balance_after: i64,
    pub held_after: i64,
    pub reason: String,
    pub reference: String,
    pub actor: String,
    pub created_at: i64,
}

/// What happened to a requested movement.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Applied(Balance),
    /// The same kind and reference was applied before; nothing changed.
    Duplicate,
    /// Not enough spendable (or held) tokens; nothing changed.
    Insufficient,
}

/// One movement: `amount` is always positive; `kind` says which way it goes. For `Refund`
/// and negative `Adjustment`s, only what the balance holds is taken (see `Moved::shortfall`).
pub struct Movement<'a> {
    pub user_id: &'a str,
    pub kind: Kind,
    pub amount: i64,
    pub reason: &'a str,
    pub reference: &'a str,
    pub actor: &'a str,
}

impl Movement<'_> {
    pub(crate) fn check(&self) -> Result<()> {
        if self.amount == 0 || (self.amount < 0 && self.kind != Kind::Adjustment) {
            return Err(DbError::Invalid(format!("ledger amount {} for {}", self.amount, self.kind.as_str())));
        }
        Ok(())
    }
}

/// Tokens paid for images delivered at once (see `Db::spend`).
#[derive(Clone, Copy)]
pub struct Spend<'a> {
    pub user_id: &'a str,
    pub amount: i64,
    pub images: i64,
    /// The API key that asked, whose usage counts it.
    pub key: Option<&'a crate::usage::KeyRef<'a>>,
    pub reason: &'a str,
    pub reference: &'a str,
}

/// Balance deltas of a movement: (spendable, held). For claw-backs the spendable delta is
/// decided inside the transaction from the current balance.
pub(crate) fn deltas(kind: Kind, amount: i64) -> (i64, i64) {
    match kind {
        Kind::Grant => (amount, 0),
        Kind::Hold => (-amount, amount),
        Kind::Charge => (0, -amount),
        Kind::Release => (amount, -amount),
        Kind::Refund => (-amount, 0),
        Kind::Adjustment => (amount, 0),
    }
}

/// The body of a movement, run inside the caller's transaction `$tx` (so other changes can
/// commit or roll back with it). Evaluates to `Result<(Outcome, shortfall), sqlx::Error>`;
/// the caller commits only on `Outcome::Applied`.
macro_rules! move_tokens {
    ($tx:ident, $m:expr, $now:expr) => {
        async {
            let claw_back = $m.kind == $crate::ledger::Kind::Refund || ($m.kind == $crate::ledger::Kind::Adjustment && $m.amount < 0);
                // Writing first takes the write lock at once (SQLite) or the row lock (Postgres).
                sqlx::query("INSERT INTO token_accounts (user_id, balance, held, updated_at) VALUES ($1, 0, 0, $2) ON CONFLICT (user_id) DO NOTHING")
                    .bind($m.user_id)
                    .bind($now)
                    .execute(&mut *$tx)
                    .await?;
                let current = sqlx::query_as::<_, $crate::ledger::Balance>(
                    "UPDATE token_accounts SET updated_at = $2 WHERE user_id = $1 RETURNING balance, held",
                )
                .bind($m.user_id)
                .bind($now)
                .fetch_one(&mut *$tx)
                .await?;
                // Under that lock, a replay of an applied event is recognised before any rule.
                let seen =
                    sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM ledger_entries WHERE kind = $1 AND reference = $2")
                        .bind($m.kind.as_str())
                        .bind($m.reference)
                        .fetch_one(&mut *$tx)
                        .await?;
                if seen > 0 {
                    return Ok(($crate::ledger::Outcome::Duplicate, 0));
                }
                let wanted = $m.amount.abs();
                let (mut d_balance, d_held) = $crate::ledger::deltas($m.kind, $m.amount);
                let mut shortfall = 0;
                if claw_back {
                    let taken = wanted.min(current.balance);
                    shortfall = wanted - taken;
                    d_balance = -taken;
                }
                let after = $crate::ledger::Balance { balance: current.balance + d_balance, held: current.held + d_held };
                if after.balance < 0 || after.held < 0 {
                    return Ok(($crate::ledger::Outcome::Insufficient, 0));
                }
                let reason =
                    if shortfall > 0 { format!("{} (shortfall {shortfall})", $m.reason) } else { $m.reason.to_owned() };
                let inserted = sqlx::query(
                    "INSERT INTO ledger_entries (id, user_id, kind, amount, balance_after, held_after, reason, reference, actor, created_at) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) ON CONFLICT (kind, reference) DO NOTHING",
                )
                .bind($crate::new_id())
                .bind($m.user_id)
                .bind($m.kind.as_str())
                .bind(if claw_back { d_balance } else { $m.amount })
                .bind(after.balance)
                .bind(after.held)
                .bind(&reason)
                .bind($m.reference)
                .bind($m.actor)
                .bind($now)
                .execute(&mut *$tx)
                .await?
                .rows_affected();
                if inserted == 0 {
                    return Ok(($crate::ledger::Outcome::Duplicate, 0));
                }
                sqlx::query("UPDATE token_accounts SET balance = $2, held = $3 WHERE user_id = $1")
                    .bind($m.user_id)
                    .bind(after.balance)
                    .bind(after.held)
                    .execute(&mut *$tx)
                    .await?;
                Ok::<_, sqlx::Error>(($crate::ledger::Outcome::Applied(after), shortfall))
        }
    };
}
pub(crate) use move_tokens;

impl Db {
    pub async fn balance(&self, user_id: &str) -> Result<Balance> {
        Ok(with_pool!(self, |p| sqlx::query_as::<_, Balance>(
            "SELECT balance, held FROM token_accounts WHERE user_id = $1"
        )
        .bind(user_id)
        .fetch_optional(p)
        .await)?
        .unwrap_or(Balance { balance: 0, held: 0 }))
    }

    /// The balance under which the user wants to hear, if they asked.
    pub async fn balance_alert(&self, user_id: &str) -> Result<Option<i64>> {
        Ok(with_pool!(self, |p| sqlx::query_scalar::<_, i64>(
            "SELECT threshold FROM balance_alerts WHERE user_id = $1"
        )
        .bind(user_id)
        .fetch_optional(p)
        .await)?)
    }

    /// Sets (or, with `None`, removes) the user's low-balance alert.
    pub async fn set_balance_alert(&self, user_id: &str, threshold: Option<i64>, now: i64) -> Result<()> {
        with_pool!(self, |p| match threshold {
            Some(t) => sqlx::query(
                "INSERT INTO balance_alerts (user_id, threshold, updated_at) VALUES ($1, $2, $3) \
                 ON CONFLICT (user_id) DO UPDATE SET threshold = excluded.threshold, updated_at = excluded.updated_at",
            )
            .bind(user_id)
            .bind(t)
            .bind(now)
            .execute(p)
            .await
            .map(|_| ()),
            None =>
                sqlx::query("DELETE FROM balance_alerts WHERE user_id = $1").bind(user_id).execute(p).await.map(|_| ()),
        })?;
        Ok(())
    }

    /// Pays for images delivered at once: a hold and its charge under one reference, and
    /// the key's usage when a key asked, in one transaction. `Insufficient` (or
    /// `Duplicate`) changes nothing.
    pub async fn spend(&self, s: &Spend<'_>, now: i64) -> Result<Outcome> {
        let Spend { user_id, amount, images, key, reason, reference } = *s;
        let movement = |kind| Movement { user_id, kind, amount, reason, reference, actor: "self" };
        movement(Kind::Hold).check()?;
        with_pool!(self, |p| {
            let mut tx = p.begin().await?;
            let held = move_tokens!(tx, movement(Kind::Hold), now).await?.0;
            if !matches!(held, Outcome::Applied(_)) {
                tx.rollback().await?;
                return Ok(held);
            }
            let charged = move_tokens!(tx, movement(Kind::Charge), now).await?.0;
            if matches!(charged, Outcome::Applied(_)) {
                if let Some(k) = key {
                    let day = crate::usage::day(now);
                    crate::usage::count_usage!(&mut *tx, k.id, user_id, k.name, day, 0i64, images, amount).await?;
                }
                tx.commit().await?;
            } else {
                tx.rollback().await?;
            }
            Ok(charged)
        })
    }

    /// Applies one movement atomically. `Adjustment` takes a signed amount; `Refund` and
    /// negative adjustments are capped at the spendable balance, the rest is the shortfall
    /// returned beside the outcome and noted in the entry's reason.
    pub async fn apply(&self, m: Movement<'_>, now: i64) -> Result<(Outcome, i64)> {
        m.check()?;
        with_pool!(self, |p| {
            let mut tx = p.begin().await?;
            let result = move_tokens!(tx, m, now).await?;
            if matches!(result.0, Outcome::Applied(_)) {
                tx.commit().await?;
            } else {
                tx.rollback().await?;
            }
            Ok(result)
        })
    }

    /// Newest first; `before` pages by creation time.
    pub async fn ledger(&self, user_id: &str, before: Option<i64>, limit: i64) -> Result<Vec<Entry>> {
        Ok(with_pool!(self, |p| {
            sqlx::query_as::<_, Entry>(
            "SELECT id, kind, amount, balance_after, held_after, reason, reference, actor, created_at FROM ledger_entries \
             WHERE user_id = $1 AND created_at < $2 ORDER BY created_at DESC, id DESC LIMIT $3"
        )
        .bind(user_id)
        .bind(before.unwrap_or(i64::MAX))
        .bind(limit)
        .fetch_all(p)
        .await
        })?)
    }

    /// Every movement of one purchase: the entry referenced `key` and those under
    /// `key:` (a creation's charges and release, a listing's).
    pub async fn ledger_of_purchase(&self, user_id: &str, key: &str) -> Result<Vec<Entry>> {
        Ok(with_pool!(self, |p| {
            sqlx::query_as::<_, Entry>(
                "SELECT id, kind, amount, balance_after, held_after, reason, reference, actor, created_at FROM ledger_entries \
                 WHERE user_id = $1 AND (reference = $2 OR substr(reference, 1, length($2) + 1) = $2 || ':') \
                 ORDER BY created_at DESC, id DESC",
            )
            .bind(user_id)
            .bind(key)
            .fetch_all(p)
            .await
        })?)
    }

    /// Sum of all entries' effect on (spendable, held) for a user — for invariant checks.
    pub async fn ledger_totals(&self, user_id: &str) -> Result<Balance> {
        let entries = self.ledger(user_id, None, i64::MAX).await?;
        let mut total = Balance { balance: 0, held: 0 };
        for e in entries {
            let kind = match e.kind.as_str() {
                "grant" => Kind::Grant,
                "hold" => Kind::Hold,
                "charge" => Kind::Charge,
                "release" => Kind::Release,
                "refund" => Kind::Refund,
                _ => Kind::Adjustment,
            };
            let (b, h) = if kind == Kind::Refund { (e.amount, 0) } else { deltas(kind, e.amount) };
            total.balance += b;
            total.held += h;
        }
        Ok(total)
    }
}
