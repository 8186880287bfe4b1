//! Invitations: each account's link code, who signed up through whose link, and the
//! inviter's rewards. A reward is held until `due_at`, then given in the same transaction
//! as its ledger entry; a refund of the payment it came from reverses it (taking back what
//! was given, never below zero).

use crate::ledger::{Kind, Movement, Outcome, move_tokens};
use crate::{Db, DbError, Result, conflict, new_id, with_pool};

/// Someone who signed up through an inviter's link.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Invite {
    pub id: String,
    pub referrer_id: String,
    pub referred_id: String,
    /// Why no reward will come of it (`same_network`); `None` while one may.
    pub refused: Option<String>,
    pub created_at: i64,
    /// The newcomer's address and phone, for the inviter's list (shown masked).
    pub email: Option<String>,
    pub phone: Option<String>,
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Reward {
    pub id: String,
    pub referral_id: String,
    pub referrer_id: String,
    /// `verified` or `first_payment`.
    pub kind: String,
    pub amount: i64,
    pub payment_id: Option<String>,
    /// `held`, `given`, `reversed` or `over_limit`.
    pub status: String,
    pub due_at: i64,
    pub created_at: i64,
}

/// A reward earned now: held until `due_at`, or `over_limit` when the inviter already
/// earned `max_recent` since `recent_since`.
pub struct NewReward<'a> {
    pub referral_id: &'a str,
    pub referrer_id: &'a str,
    pub kind: &'a str,
    pub amount: i64,
    pub payment_id: Option<&'a str>,
    pub due_at: i64,
    pub max_recent: i64,
    pub recent_since: i64,
}

macro_rules! reward_columns {
    () => {
        "id, referral_id, referrer_id, kind, amount, payment_id, status, due_at, created_at"
    };
}

impl Db {
    pub async fn referral_code(&self, user_id: &str) -> Result<Option<String>> {
        with_pool!(self, |p| sqlx::query_scalar::<_, Option<String>>("SELECT referral_code FROM users WHERE id = $1")
            .bind(user_id)
            .fetch_optional(p)
            .await)?
        .ok_or(DbError::NotFound)
    }

    /// Gives the account its code, once; `Conflict` when another account has that code.
    pub async fn set_referral_code(&self, user_id: &str, code: &str) -> Result<()> {
        with_pool!(self, |p| sqlx::query(
            "UPDATE users SET referral_code = $2 WHERE id = $1 AND referral_code IS NULL"
        )
        .bind(user_id)
        .bind(code)
        .execute(p)
        .await
        .map(|_| ())
        .map_err(conflict(&["referral_code"])))?;
        Ok(())
    }

    /// The account whose link carries `code`.
    pub async fn referrer_by_code(&self, code: &str) -> Result<Option<String>> {
        Ok(with_pool!(self, |p| sqlx::query_scalar::<_, String>("SELECT id FROM users WHERE referral_code = $1")
            .bind(code)
            .fetch_optional(p)
            .await)?)
    }

    pub async fn add_referral(
        &self,
        referrer_id: &str,
        referred_id: &str,
        refused: Option<&str>,
        now: i64,
    ) -> Result<()> {
        with_pool!(self, |p| sqlx::query(
            "INSERT INTO referrals (id, referrer_id, referred_id, refused, created_at) VALUES ($1, $2, $3, $4, $5) \
             ON CONFLICT (referred_id) DO NOTHING"
        )
        .bind(new_id())
        .bind(referrer_id)
        .bind(referred_id)
        .bind(refused)
        .bind(now)
        .execute(p)
        .await
        .map(|r| r.rows_affected()))?;
        Ok(())
    }

    /// Marks an invitation as never rewarded, and why.
    pub async fn refuse_referral(&self, id: &str, why: &str) -> Result<()> {
        with_pool!(self, |p| sqlx::query("UPDATE referrals SET refused = $2 WHERE id = $1 AND refused IS NULL")
            .bind(id)
            .bind(why)
            .execute(p)
            .await
            .map(|r| r.rows_affected()))?;
        Ok(())
    }

    /// How the account came: through whose link, if anyone's.
    pub async fn referral_of(&self, referred_id: &str) -> Result<Option<Invite>> {
        Ok(with_pool!(self, |p| sqlx::query_as::<_, Invite>(
            "SELECT r.id, r.referrer_id, r.referred_id, r.refused, r.created_at, u.email, u.phone FROM referrals r \
             JOIN users u ON u.id = r.referred_id WHERE r.referred_id = $1"
        )
        .bind(referred_id)
        .fetch_optional(p)
        .await)?)
    }

    /// Records a reward once per invite and kind; `None` when it was recorded before, else
    /// its status (`held`, or `over_limit` past the inviter's limit).
    pub async fn add_reward(&self, r: &NewReward<'_>, now: i64) -> Result<Option<&'static str>> {
        let id = new_id();
        with_pool!(self, |p| {
            let mut tx = p.begin().await?;
            // Written first: SQLite takes its write lock at once, so the count below cannot
            // go stale under a concurrent writer.
            let added = sqlx::query(
                "INSERT INTO referral_rewards (id, referral_id, referrer_id, kind, amount, payment_id, status, due_at, \
                 created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, 'held', $7, $8, $8) \
                 ON CONFLICT (referral_id, kind) DO NOTHING",
            )
            .bind(&id)
            .bind(r.referral_id)
            .bind(r.referrer_id)
            .bind(r.kind)
            .bind(r.amount)
            .bind(r.payment_id)
            .bind(r.due_at)
            .bind(now)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            if added == 0 {
                tx.rollback().await?;
                return Ok(None);
            }
            let earlier = sqlx::query_scalar::<_, i64>(
                "SELECT COUNT(*) FROM referral_rewards WHERE referrer_id = $1 AND created_at >= $2 \
                 AND status IN ('held', 'given') AND id <> $3",
            )
            .bind(r.referrer_id)
            .bind(r.recent_since)
            .bind(&id)
            .fetch_one(&mut *tx)
            .await?;
            let status = if earlier >= r.max_recent { "over_limit" } else { "held" };
            if status == "over_limit" {
                sqlx::query("UPDATE referral_rewards SET status = 'over_limit' WHERE id = $1")
                    .bind(&id)
                    .execute(&mut *tx)
                    .await?;
            }
            tx.commit().await?;
            Ok(Some(status))
        })
    }

    /// A refund that failed after all: rewards it reversed while they were still held are
    /// held again (one already given and taken back stays reversed).
    pub async fn restore_rewards_of_payment(&self, payment_id: &str, now: i64) -> Result<u64> {
        Ok(with_pool!(self, |p| {
            sqlx::query(
            "UPDATE referral_rewards SET status = 'held', updated_at = $2 WHERE payment_id = $1 AND status = 'reversed' \
             AND NOT EXISTS (SELECT 1 FROM ledger_entries l WHERE l.kind = 'refund' AND l.reference = $3 || referral_rewards.id)"
        )
        .bind(payment_id)
        .bind(now)
        .bind(domain::ledger::REFERRAL_REVERSED)
        .execute(p)
        .await
        .map(|r| r.rows_affected())
        })?)
    }

    /// Held rewards whose time has come, oldest first; a suspended inviter's wait.
    pub async fn due_rewards(&self, now: i64, limit: i64) -> Result<Vec<Reward>> {
        Ok(with_pool!(self, |p| sqlx::query_as::<_, Reward>(concat!(
            "SELECT ",
            reward_columns!(),
            " FROM referral_rewards WHERE status = 'held' AND due_at <= $1 \
             AND referrer_id IN (SELECT id FROM users WHERE suspended_at IS NULL) ORDER BY due_at LIMIT $2"
        ))
        .bind(now)
        .bind(limit)
        .fetch_all(p)
        .await)?)
    }

    /// Gives a held reward: its grant and its status in one transaction (given once, however
    /// often asked).
    pub async fn give_reward(&self, reward: &Reward, reason: &str, now: i64) -> Result<bool> {
        self.move_reward(reward, "held", "given", reason, now).await
    }

    /// Reverses the rewards a refunded payment earned: a held one is never given, a given
    /// one is taken back as far as the inviter's balance allows. Returns how many.
    pub async fn reverse_rewards_of_payment(&self, payment_id: &str, reason: &str, now: i64) -> Result<u64> {
        let mut reversed = 0;
        // A reward given between the read and its reversal is read again, as given.
        for _ in 0..3 {
            let rewards = with_pool!(self, |p| sqlx::query_as::<_, Reward>(concat!(
                "SELECT ",
                reward_columns!(),
                " FROM referral_rewards WHERE payment_id = $1 AND status IN ('held', 'given')"
            ))
            .bind(payment_id)
            .fetch_all(p)
            .await)?;
            if rewards.is_empty() {
                break;
            }
            for reward in rewards {
                reversed += u64::from(self.reverse_reward(&reward, reason, now).await?);
            }
        }
        Ok(reversed)
    }

    async fn reverse_reward(&self, reward: &Reward, reason: &str, now: i64) -> Result<bool> {
        // Only from the status read, so a grant is never taken back that was not made.
        self.move_reward(reward, &reward.status, "reversed", reason, now).await
    }

    /// Moves a reward from status `from` to `to` in one transaction with its tokens: granted
    /// on the way to `given`, taken back (never below zero) when a given one is reversed.
    /// False when the reward was no longer `from`.
    async fn move_reward(&self, reward: &Reward, from: &str, to: &str, reason: &str, now: i64) -> Result<bool> {
        let (kind, reference) = if to == "given" {
            (Kind::Grant, format!("referral:{}", reward.id))
        } else {
            (Kind::Refund, format!("{}{}", domain::ledger::REFERRAL_REVERSED, reward.id))
        };
        let moves_tokens = reward.amount > 0 && (to == "given" || from == "given");
        let m = Movement {
            user_id: &reward.referrer_id,
            kind,
            amount: reward.amount,
            reason,
            reference: &reference,
            actor: "system",
        };
        with_pool!(self, |p| {
            let mut tx = p.begin().await?;
            let marked =
                sqlx::query("UPDATE referral_rewards SET status = $3, updated_at = $2 WHERE id = $1 AND status = $4")
                    .bind(&reward.id)
                    .bind(now)
                    .bind(to)
                    .bind(from)
                    .execute(&mut *tx)
                    .await?
                    .rows_affected();
            if marked == 0 || (moves_tokens && matches!(move_tokens!(tx, m, now).await?.0, Outcome::Insufficient)) {
                tx.rollback().await?;
                return Ok(false);
            }
            tx.commit().await?;
            Ok(true)
        })
    }

    /// The inviter's invites, newest first, each with its rewards.
    pub async fn invites_of(&self, referrer_id: &str) -> Result<Vec<(Invite, Vec<Reward>)>> {
        let invites = with_pool!(self, |p| sqlx::query_as::<_, Invite>(
            "SELECT r.id, r.referrer_id, r.referred_id, r.refused, r.created_at, u.email, u.phone FROM referrals r \
             JOIN users u ON u.id = r.referred_id WHERE r.referrer_id = $1 ORDER BY r.created_at DESC LIMIT 200"
        )
        .bind(referrer_id)
        .fetch_all(p)
        .await)?;
        let rewards = with_pool!(self, |p| sqlx::query_as::<_, Reward>(concat!(
            "SELECT ",
            reward_columns!(),
            " FROM referral_rewards WHERE referrer_id = $1 ORDER BY created_at"
        ))
        .bind(referrer_id)
        .fetch_all(p)
        .await)?;
        Ok(invites
            .into_iter()
            .map(|i| {
                let mine = rewards.iter().filter(|r| r.referral_id == i.id).cloned().collect();
                (i, mine)
            })
            .collect())
    }
}
