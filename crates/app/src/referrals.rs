//! Inviting people. Each account has a link; a newcomer who signs up through it gets extra
//! tokens once they prove their email, and the inviter earns a reward then and another at
//! the newcomer's first payment (`settings.referrals`). Against farming: no reward for a
//! sign-up from a network the inviter signs in from (their own device or home) or with an
//! alias of the inviter's own inbox, throwaway addresses are refused at sign-up anyway, an inviter earns at most a set number of rewards
//! in 30 days, and rewards are held for days before they are given; a refund of the payment
//! reverses its reward.

use serde::Serialize;

use db::ledger::{Kind, Movement};
use db::referrals::{NewReward, Reward};
use domain::secrets;

use crate::limits::DAY;
use crate::sessions::Principal;
use crate::{App, Client, Result, now_ms};

/// A sign-up from a network the inviter signed in from within this time is theirs.
const OWN_NETWORK_DAYS: i64 = 90;

/// The inviter's page: their link, what an invitation earns, and each invite.
#[derive(Debug, Clone, Serialize)]
pub struct Referrals {
    pub link: String,
    pub invites: Vec<InviteView>,
    /// Tokens for the inviter at the newcomer's proven email and first payment.
    pub on_verified: i64,
    pub on_first_payment: i64,
    /// Extra tokens for the newcomer.
    pub newcomer: i64,
    pub hold_days: u32,
    pub max_rewards_per_month: u32,
}

#[derive(Debug, Clone, Serialize)]
pub struct InviteView {
    /// The newcomer's address, masked (`as•••@example.com`), or their phone's last digits.
    pub who: String,
    pub joined_at: i64,
    /// `not_rewarded`, `waiting` (email not proven yet) or `rewarding`.
    pub status: &'static str,
    /// Why not rewarded: `same_network` (signed up from the inviter's own network) or
    /// `same_inbox` (an alias of the inviter's own address).
    pub not_rewarded_because: Option<String>,
    pub rewards: Vec<RewardView>,
}

#[derive(Debug, Clone, Serialize)]
pub struct RewardView {
    /// `verified` or `first_payment`.
    pub kind: String,
    pub amount: i64,
    /// `held`, `given`, `reversed` or `over_limit`.
    pub status: String,
    /// When a held reward is given.
    pub due_at: i64,
}

impl From<Reward> for RewardView {
    fn from(r: Reward) -> Self {
        Self { kind: r.kind, amount: r.amount, status: r.status, due_at: r.due_at }
    }
}

impl App {
    /// `GET /api/v1/referrals`.
    pub async fn referrals(&self, p: &Principal) -> Result<Referrals> {
        self.referrals_of(&p.user.id).await
    }

    pub(crate) async fn referrals_of(&self, user_id: &str) -> Result<Referrals> {
        let code = self.referral_code(user_id).await?;
        let invites = self
            .db
            .invites_of(user_id)
            .await?
            .into_iter()
            .map(|(invite, rewards)| InviteView {
                who: match (&invite.email, invite.phone.as_deref().and_then(|p| domain::Phone::parse(p).ok())) {
                    (Some(email), _) => domain::email::masked(email),
                    (None, Some(phone)) => phone.masked(),
                    (None, None) => domain::email::masked(""),
                },
                joined_at: invite.created_at,
                status: match (&invite.refused, rewards.is_empty()) {
                    (Some(_), _) => "not_rewarded",
                    (None, true) => "waiting",
                    (None, false) => "rewarding",
                },
                not_rewarded_because: invite.refused,
                rewards: rewards.into_iter().map(RewardView::from).collect(),
            })
            .collect();
        let r = &self.settings.referrals;
        Ok(Referrals {
            link: self.link(&format!("/signup?ref={code}")),
            invites,
            on_verified: r.on_verified,
            on_first_payment: r.on_first_payment,
            newcomer: r.newcomer,
            hold_days: r.hold_days,
            max_rewards_per_month: r.max_rewards_per_month,
        })
    }

    /// The account's code, made on first use.
    async fn referral_code(&self, user_id: &str) -> Result<String> {
        for _ in 0..3 {
            if let Some(code) = self.db.referral_code(user_id).await? {
                return Ok(code);
            }
            // 60 random bits: a link cannot be guessed from another one.
            let code: String = secrets::new_token().chars().take(10).collect();
            match self.db.set_referral_code(user_id, &code).await {
                Ok(()) | Err(db::DbError::Conflict(_)) => {}
                Err(e) => return Err(e.into()),
            }
        }
        Err(crate::AppError::Internal("no referral code could be stored".into()))
    }

    /// Whether `code` is some account's invitation (the sign-up page welcomes the invited).
    pub async fn invitation_exists(&self, code: &str) -> Result<bool> {
        let code = code.trim();
        Ok(!code.is_empty() && code.len() <= 40 && self.db.referrer_by_code(code).await?.is_some())
    }

    /// At sign-up (email or phone) through an invitation. The account stands without it:
    /// an invitation that could not be noted is logged.
    pub(crate) async fn note_referral_at_signup(&self, user_id: &str, code: &str, client: &Client) {
        if let Err(e) = self.note_referral(user_id, code, client).await {
            tracing::warn!(error = %e, "an invitation could not be noted at sign-up");
        }
    }

    /// Remembered, and marked as never rewarded when the newcomer comes from a network the
    /// inviter signs in from or is the inviter's own inbox. An unknown code is ignored: an
    /// old link must not stop anyone signing up.
    async fn note_referral(&self, user_id: &str, code: &str, client: &Client) -> Result<()> {
        let code = code.trim();
        if code.is_empty() || code.len() > 40 {
            return Ok(());
        }
        let Some(referrer) = self.db.referrer_by_code(code).await? else { return Ok(()) };
        let now = now_ms();
        let refused = if self.db.signed_in_from(&referrer, &client.network(), now - OWN_NETWORK_DAYS * DAY).await? {
            Some("same_network")
        } else if self.same_inbox(&referrer, user_id).await? {
            Some("same_inbox")
        } else {
            None
        };
        self.db.add_referral(&referrer, user_id, refused, now).await?;
        Ok(())
    }

    /// `me+1@…`, `m.e@gmail.com`: both accounts' addresses reach one inbox.
    async fn same_inbox(&self, a: &str, b: &str) -> Result<bool> {
        let inbox = |u: db::users::User| u.email.as_deref().map(domain::email::inbox);
        let (a, b) = (inbox(self.db.user_by_id(a).await?), inbox(self.db.user_by_id(b).await?));
        Ok(matches!((a, b), (Some(a), Some(b)) if a == b))
    }

    /// The newcomer proved their email: their extra tokens now, the inviter's reward held.
    /// An address that turns out to be the inviter's own (added after a phone sign-up)
    /// ends the invitation unrewarded.
    pub(crate) async fn referral_verified(&self, user_id: &str) -> Result<()> {
        let Some(invite) = self.db.referral_of(user_id).await?.filter(|i| i.refused.is_none()) else { return Ok(()) };
        if self.same_inbox(&invite.referrer_id, user_id).await? {
            self.db.refuse_referral(&invite.id, "same_inbox").await?;
            return Ok(());
        }
        let newcomer = self.settings.referrals.newcomer;
        if newcomer > 0 {
            let reference = format!("referral-welcome:{}", invite.id);
            let m = Movement {
                user_id,
                kind: Kind::Grant,
                amount: newcomer,
                reason: "Invitation bonus: you joined through a friend's link",
                reference: &reference,
                actor: "system",
            };
            self.db.apply(m, now_ms()).await?;
        }
        self.earn(&invite, "verified", self.settings.referrals.on_verified, None).await
    }

    /// The newcomer's first payment: the inviter's second reward, held (a refund reverses it).
    pub(crate) async fn referral_paid(&self, user_id: &str, payment_id: &str) -> Result<()> {
        let Some(invite) = self.db.referral_of(user_id).await?.filter(|i| i.refused.is_none()) else { return Ok(()) };
        self.earn(&invite, "first_payment", self.settings.referrals.on_first_payment, Some(payment_id)).await
    }

    async fn earn(
        &self,
        invite: &db::referrals::Invite,
        kind: &str,
        amount: i64,
        payment_id: Option<&str>,
    ) -> Result<()> {
        let r = &self.settings.referrals;
        let now = now_ms();
        let reward = NewReward {
            referral_id: &invite.id,
            referrer_id: &invite.referrer_id,
            kind,
            amount,
            payment_id,
            due_at: now + i64::from(r.hold_days) * DAY,
            max_recent: i64::from(r.max_rewards_per_month),
            recent_since: now - 30 * DAY,
        };
        self.db.add_reward(&reward, now).await?;
        Ok(())
    }

    /// A payment was refunded: the reward it earned is reversed.
    pub(crate) async fn referral_refunded(&self, payment_id: &str) -> Result<u64> {
        let why = "Invitation reward cancelled and taken back";
        Ok(self.db.reverse_rewards_of_payment(payment_id, why, now_ms()).await?)
    }

    /// Housekeeping: rewards whose holding time is over are given. Returns how many.
    pub async fn give_due_referral_rewards(&self) -> Result<u64> {
        let now = now_ms();
        let mut given = 0;
        for reward in self.db.due_rewards(now, 500).await? {
            let why = if reward.kind == "first_payment" {
                "Invitation reward: a friend you invited made their first payment"
            } else {
                "Invitation reward: a friend you invited joined and proved their email"
            };
            given += u64::from(self.db.give_reward(&reward, why, now).await?);
        }
        Ok(given)
    }
}
