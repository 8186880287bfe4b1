//! Staff looking after people: finding an account, reading its file, and acting on it
//! with a reason (suspend or reactivate, adjust tokens, end sessions, resend the email
//! proof, change the role). Admins act; read-only support staff only read. Pictures are
//! shown only after an audited "view content" with a reason, for half an hour. Every action
//! is in the audit log twice: on the account (its owner sees it in their security log) and
//! on the staff member's own.

use serde::Serialize;

use db::api_keys::ApiKey;
use db::audit::AuditEntry;
use db::billing::Payment;
use db::consents::ConsentChange;
use db::creations::{ContentCounts, Output};
use db::ledger::Balance;
use db::sessions::Session;
use domain::Role;
use imaging::Format;

use crate::limits::{HOUR, MINUTE};
use crate::sessions::Principal;
use crate::{App, AppError, Client, Result, now_ms};

/// How long pictures stay visible to a staff member after their audited "view content".
pub const CONTENT_WINDOW_MS: i64 = 30 * MINUTE;

/// The longest side of an image in staff's audited look.
const STAFF_THUMB_SIDE: u32 = 320;

/// An account as staff's search lists it.
#[derive(Debug, Clone, Serialize)]
pub struct Person {
    pub id: String,
    pub email: Option<String>,
    pub email_verified: bool,
    pub phone: Option<String>,
    pub phone_verified: bool,
    pub name: String,
    pub company: Option<String>,
    pub role: String,
    pub suspended_at: Option<i64>,
    pub created_at: i64,
}

impl From<db::users::User> for Person {
    fn from(u: db::users::User) -> Self {
        Self {
            email_verified: u.email_verified_at.is_some(),
            phone_verified: u.phone_verified_at.is_some(),
            id: u.id,
            email: u.email,
            phone: u.phone,
            name: u.name,
            company: u.company,
            role: u.role,
            suspended_at: u.suspended_at,
            created_at: u.created_at,
        }
    }
}

impl Person {
    /// How the account is named in staff's words and logs.
    pub fn called(&self) -> &str {
        self.email.as_deref().or(self.phone.as_deref()).unwrap_or(&self.name)
    }

    pub fn role_words(&self) -> &'static str {
        Role::parse(&self.role).unwrap_or(Role::User).words()
    }
}

/// An API key as staff see it: by name, never its prefix.
#[derive(Debug, Clone)]
pub struct KeyName {
    pub name: String,
    pub created_at: i64,
    pub last_used_at: Option<i64>,
}

impl From<ApiKey> for KeyName {
    fn from(k: ApiKey) -> Self {
        Self { name: k.name, created_at: k.created_at, last_used_at: k.last_used_at }
    }
}

/// Everything staff see on one account's page.
pub struct PersonFile {
    pub person: Person,
    pub balance: Balance,
    /// The newest page of the statement the seller sees.
    pub ledger: Vec<domain::ledger::Line>,
    pub counts: ContentCounts,
    pub payments: Vec<Payment>,
    pub sessions: Vec<Session>,
    pub keys: Vec<KeyName>,
    pub marketing: bool,
    pub model_training: bool,
    pub consent_history: Vec<ConsentChange>,
    pub log: Vec<AuditEntry>,
    /// What the fraud rules raised, in words.
    pub flags: Vec<String>,
    /// The newest images, only while this staff member's "view content" is open.
    pub content: Option<Vec<Output>>,
}

/// What staff do to an account. Each needs a reason; all but `ViewContent` need an admin.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StaffAction {
    Suspend,
    Reactivate,
    AdjustTokens(i64),
    EndSessions,
    ResendVerification,
    SetRole(Role),
    ViewContent,
}

impl StaffAction {
    /// The audit actions: on the account (its owner reads it) and on the staff member's log.
    fn audit_actions(self) -> (&'static str, &'static str) {
        match self {
            StaffAction::Suspend => ("account_suspended", "suspended_user"),
            StaffAction::Reactivate => ("account_reactivated", "reactivated_user"),
            StaffAction::AdjustTokens(_) => ("tokens_adjusted", "adjusted_tokens"),
            StaffAction::EndSessions => ("sessions_ended", "ended_sessions"),
            StaffAction::ResendVerification => ("verification_resent", "resent_verification"),
            StaffAction::SetRole(_) => ("role_changed", "changed_role"),
            StaffAction::ViewContent => ("content_viewed", "viewed_content"),
        }
    }
}

impl App {
    /// Accounts whose id is `q`, or whose email, phone, name or company holds it.
    pub async fn find_people(&self, p: &Principal, q: &str) -> Result<Vec<Person>> {
        p.require_staff()?;
        let q = q.trim();
        if q.chars().count() < 2 {
            return Err(domain::Invalid::new("query_too_short", "q", "Type at least two letters.").into());
        }
        Ok(self.db.search_users(q, 50).await?.into_iter().map(Person::from).collect())
    }

    /// One account's file for staff. Its pictures are in it only while this staff member's
    /// audited "view content" is open.
    pub async fn person_file(&self, p: &Principal, user_id: &str) -> Result<PersonFile> {
        p.require_staff()?;
        let user = self.db.user_by_id(user_id).await?;
        let payments = self.db.payments_of(user_id, 50).await?;
        let mut flags: Vec<String> = payments
            .iter()
            .filter_map(|pay| pay.anomaly.as_ref().map(|a| format!("Payment {}: {a}", pay.razorpay_payment_id)))
            .collect();
        flags.extend(payments.iter().filter(|pay| pay.shortfall > 0).map(|pay| {
            format!("Refunded payment {} left {} tokens not taken back", pay.razorpay_payment_id, pay.shortfall)
        }));
        let content = if self.content_open(p, user_id).await? {
            Some(self.db.recent_outputs_of(user_id, 24).await?)
        } else {
            None
        };
        Ok(PersonFile {
            balance: self.db.balance(user_id).await?,
            ledger: self.statement_of(user_id, None).await?.0,
            counts: self.db.content_counts(user_id).await?,
            payments,
            sessions: self.db.sessions_of(user_id).await?,
            keys: self.db.api_keys_of(user_id).await?.into_iter().map(KeyName::from).collect(),
            marketing: user.marketing_opt_in,
            model_training: user.model_training_opt_in,
            consent_history: self.db.consent_history(user_id).await?,
            log: self.db.audit_of(user_id, 30).await?,
            flags,
            content,
            person: user.into(),
        })
    }

    /// One of the account's images, small, for a staff member whose "view content" is open.
    pub async fn staff_thumbnail(&self, p: &Principal, user_id: &str, output_id: &str) -> Result<Vec<u8>> {
        p.require_staff()?;
        if !self.content_open(p, user_id).await? {
            return Err(AppError::Forbidden);
        }
        let output = self.db.output_of(user_id, output_id).await?;
        let key = self.data_key(user_id).await?;
        let bytes = self.blobs.get(&key, &output.blob_key).await?;
        let limits = self.upload_limits();
        // A JPEG is decoded straight at a reduced scale: a page shows up to 24 of these.
        self.on_cpu(move || {
            let (decoded, ..) = imaging::decode_reduced(&bytes, &limits, STAFF_THUMB_SIDE)?;
            imaging::thumbnail(&decoded, STAFF_THUMB_SIDE, Format::Jpeg)
        })
        .await?
        .map_err(crate::uploads::image_error)
    }

    async fn content_open(&self, p: &Principal, user_id: &str) -> Result<bool> {
        let actor = staff_actor(p);
        let (theirs, _) = StaffAction::ViewContent.audit_actions();
        Ok(self.db.audited_since(user_id, &actor, theirs, now_ms() - CONTENT_WINDOW_MS).await?)
    }

    /// Does `action` to an account, with a reason, and audits it on both sides. Returns the
    /// account as it is afterwards.
    pub async fn act_on_person(
        &self,
        p: &Principal,
        user_id: &str,
        action: StaffAction,
        reason: &str,
        client: &Client,
    ) -> Result<Person> {
        if action == StaffAction::ViewContent {
            p.require_staff()?
        } else {
            p.require_admin()?
        }
        let reason = staff_reason(reason)?;
        let user = self.db.user_by_id(user_id).await?;
        let own = user.id == p.user.id;
        let refuse = |code, why| Err(AppError::from(domain::Invalid::new(code, "id", why)));
        let now = now_ms();
        let detail = match action {
            StaffAction::Suspend | StaffAction::Reactivate => {
                let suspend = action == StaffAction::Suspend;
                if suspend && own {
                    return refuse("cannot_suspend_self", "You cannot suspend your own account.");
                }
                if suspend && !self.db.suspend_user(user_id, now).await? {
                    return refuse("already_suspended", "This account is suspended already.");
                }
                if !suspend && !self.db.reactivate_user(user_id, now).await? {
                    return refuse("not_suspended", "This account is not suspended.");
                }
                reason.to_owned()
            }
            StaffAction::ViewContent => reason.to_owned(),
            StaffAction::AdjustTokens(_) if own => {
                return refuse("cannot_adjust_own_tokens", "Another admin must adjust your tokens.");
            }
            StaffAction::AdjustTokens(amount) => {
                if !(-1_000_000..=1_000_000).contains(&amount) {
                    let why = "Adjust by at most 1,000,000 tokens either way.";
                    return Err(domain::Invalid::new("invalid_adjustment", "amount", why).into());
                }
                let (_, short) = self.adjust_balance(user_id, amount, reason, &staff_actor(p)).await?;
                let short = if short > 0 {
                    format!(" ({short} could not be taken: the balance was lower)")
                } else {
                    String::new()
                };
                format!("{amount:+} tokens{short}: {reason}")
            }
            StaffAction::EndSessions => {
                let ended = self.db.delete_sessions_except(user_id, None).await?;
                format!("{ended} signed-in device{}: {reason}", if ended == 1 { "" } else { "s" })
            }
            StaffAction::ResendVerification => {
                let Some(email) = user.email.as_deref().filter(|_| user.email_verified_at.is_none()) else {
                    return refuse("nothing_to_verify", "This account has no unproven email address.");
                };
                self.limit(&format!("verify_mail:{user_id}"), 5, HOUR).await?;
                self.mail_email_link(&user, email, None).await?;
                format!("to {email}: {reason}")
            }
            StaffAction::SetRole(_) if own => {
                return refuse("cannot_change_own_role", "Another admin must change your role.");
            }
            StaffAction::SetRole(role) => {
                if role.as_str() == user.role {
                    return refuse("same_role", "The account has this role already.");
                }
                self.db.set_role(user_id, role.as_str(), now).await?;
                format!("{}: {reason}", role.words())
            }
        };
        let person: Person = self.db.user_by_id(user_id).await?.into();
        self.record_staff_action(p, &person, action.audit_actions(), &detail, client).await?;
        Ok(person)
    }

    async fn record_staff_action(
        &self,
        p: &Principal,
        person: &Person,
        (theirs, ours): (&str, &str),
        detail: &str,
        client: &Client,
    ) -> Result<()> {
        let now = now_ms();
        // The account's owner sees their row: not the staff member's network.
        self.db.audit(Some(&person.id), &staff_actor(p), theirs, detail, "", now).await?;
        // The staff member's own log names the account in words, as every security log does.
        let own = format!("{}: {detail}", person.called());
        self.db.audit(Some(&p.user.id), "self", ours, &own, &client.network(), now).await?;
        Ok(())
    }
}

/// How a staff member is named in an account's log and ledger.
fn staff_actor(p: &Principal) -> String {
    format!("admin:{}", p.user.id)
}

fn staff_reason(reason: &str) -> Result<&str> {
    let reason = reason.trim();
    if reason.chars().count() < 3 || reason.chars().count() > 500 {
        return Err(
            domain::Invalid::new("invalid_reason", "reason", "Say why, in a few words (at most 500 letters).").into()
        );
    }
    Ok(reason)
}
