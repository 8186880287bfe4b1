//! Proving an email address (a link sent to it) or a phone number (a code sent to it), and
//! what a change of either does. An address or number counts only once proven; proving it
//! drops every unverified claim on it by another account. A changed address or number ends
//! every other session, revokes every API key and tells the person by mail.

use db::tokens::{NewToken, Purpose};
use db::users::User;
use domain::{Email, Phone, secrets};
use providers::mail::Email as Mail;

use crate::limits::HOUR;
use crate::otp::CodeUse;
use crate::sessions::Principal;
use crate::{App, AppError, Client, Result, now_ms};

const VERIFY_TTL_MS: i64 = 48 * HOUR;

impl App {
    /// Emails a link that proves the user's current address. Delivery problems are logged,
    /// not raised: the user can ask again from their profile.
    pub async fn send_verification(&self, user: &User) {
        let Some(email) = user.email.as_deref() else {
            return;
        };
        if let Err(e) = self.mail_email_link(user, email, None).await {
            tracing::error!(user_id = %user.id, error = %e, "could not queue the verification email");
        }
    }

    /// The link that proves `email` for `user`; when `email` is a new address, opening it
    /// makes it the account's address (and `session`, which asked, stays signed in).
    pub(crate) async fn mail_email_link(&self, user: &User, email: &str, session: Option<&str>) -> Result<()> {
        let token = secrets::new_token();
        let digest = secrets::token_digest(&token);
        let t =
            NewToken { user_id: &user.id, purpose: Purpose::VerifyEmail, email, digest: &digest, session_id: session };
        self.db.issue_token(&t, now_ms(), VERIFY_TTL_MS).await?;
        let link = self.link(&format!("/verify-email?token={token}"));
        let (subject, text) = if user.email.as_deref() == Some(email) {
            (
                "Confirm your email for SoraiPixel",
                format!(
                    "Hello {},\n\nPlease confirm your email address by opening this link:\n\n{link}\n\nThe link works once \
                     and expires in 48 hours. If you did not sign up for SoraiPixel, ignore this email.\n",
                    user.name
                ),
            )
        } else {
            (
                "Confirm your new email for SoraiPixel",
                format!(
                    "Hello {},\n\nYou asked to use this address for your SoraiPixel account. Open this link to make the \
                     change:\n\n{link}\n\nThe link works once and expires in 48 hours. Until then your account keeps its \
                     current address. If you did not ask for this, ignore this email.\n",
                    user.name
                ),
            )
        };
        let mail = Mail { to: email.to_owned(), unsubscribe: None, subject: subject.into(), text };
        self.queue_mail(&mail, &user.id).await
    }

    /// Asks again for a verification email, at most a few times an hour.
    pub async fn resend_verification(&self, p: &Principal) -> Result<()> {
        self.limit(&format!("verify_mail:{}", p.user.id), 5, HOUR).await?;
        if p.user.email_verified_at.is_none() {
            self.send_verification(&p.user).await;
        }
        Ok(())
    }

    /// A new address for the account, proven before it counts: a link goes to it, and the
    /// account keeps its current address until the link is opened.
    pub(crate) async fn request_email_change(&self, p: &Principal, email: &Email) -> Result<()> {
        self.limit(&format!("verify_mail:{}", p.user.id), 5, HOUR).await?;
        let holders = self.db.users_by_email(email.as_str()).await?;
        if holders.iter().any(|u| u.email_verified_at.is_some() && u.id != p.user.id) {
            return Err(AppError::Taken("email"));
        }
        self.mail_email_link(&p.user, email.as_str(), p.session.as_ref().map(|s| s.id.as_str())).await
    }

    /// Opening a link: the address it was sent to becomes the account's verified address.
    /// After a change, the session that asked for it stays signed in.
    pub async fn verify_email(&self, token: &str, client: &Client) -> Result<User> {
        let now = now_ms();
        let redeemed = self
            .db
            .redeem_token(Purpose::VerifyEmail, &secrets::token_digest(token), now)
            .await?
            .ok_or(AppError::InvalidToken)?;
        let claimed = self.db.claim_email(&redeemed.user_id, &redeemed.email, now).await?;
        let user = self.db.user_by_id(&redeemed.user_id).await?;
        self.db.audit(Some(&user.id), "self", "email_verified", &redeemed.email, &client.network(), now).await?;
        if claimed.changed {
            let what = match &claimed.previous {
                Some(previous) => format!("Your sign-in email changed from {previous} to {}", redeemed.email),
                None => format!("{} was added to your account as its sign-in email", redeemed.email),
            };
            let keep = redeemed.session_id.as_deref();
            self.secure_after_change(&user, keep, &what, claimed.previous.as_deref(), client).await?;
        }
        // The proof stands without it: an invitation reward that failed is logged.
        if let Err(e) = self.referral_verified(&user.id).await {
            tracing::warn!(error = %e, "the invitation reward for a proven email could not be recorded");
        }
        Ok(user)
    }

    /// Sends a code that confirms the account's own number. A new number goes through
    /// `update_profile`, which asks for the password first: a stolen session alone must
    /// never be able to put its own number on the account.
    pub async fn send_phone_proof(&self, p: &Principal, client: &Client) -> Result<Phone> {
        let Some(phone) = p.user.phone.as_deref() else {
            return Err(domain::Invalid::new("no_phone", "phone", "Add a mobile number to your profile first.").into());
        };
        self.send_new_phone_proof(p, &Phone::parse(phone)?, client).await?;
        Phone::parse(phone).map_err(Into::into)
    }

    /// A code that proves `phone` for this account, once the owner has confirmed the
    /// change. A number another account has proven cannot be claimed.
    pub(crate) async fn send_new_phone_proof(&self, p: &Principal, phone: &Phone, client: &Client) -> Result<()> {
        match self.db.user_by_verified_phone(phone.as_str()).await {
            Ok(holder) if holder.id == p.user.id => {
                return Err(
                    domain::Invalid::new("already_verified", "phone", "This number is already confirmed.").into()
                );
            }
            Ok(_) => return Err(AppError::Taken("phone")),
            Err(db::DbError::NotFound) => {}
            Err(e) => return Err(e.into()),
        }
        self.send_phone_code(phone, CodeUse::Prove { user_id: &p.user.id }, client).await
    }

    /// A code sent by `send_phone_proof` or `send_new_phone_proof`: the number becomes the
    /// account's, verified.
    pub async fn confirm_phone(&self, p: &Principal, phone: &str, code: &str, client: &Client) -> Result<User> {
        let phone = Phone::parse(phone)?;
        self.check_code(&phone, code, CodeUse::Prove { user_id: &p.user.id }).await?;
        let now = now_ms();
        let claimed = self.db.claim_phone(&p.user.id, phone.as_str(), now).await?;
        let user = self.db.user_by_id(&p.user.id).await?;
        self.db.audit(Some(&user.id), "self", "phone_verified", &phone.masked(), &client.network(), now).await?;
        if claimed.changed {
            let what = format!("Your mobile number changed to {}", phone.masked());
            self.secure_after_change(&user, p.session.as_ref().map(|s| s.id.as_str()), &what, None, client).await?;
        }
        Ok(user)
    }

    /// Takes the phone number off the account (it must keep an email to sign in with).
    pub(crate) async fn remove_phone(&self, p: &Principal, client: &Client) -> Result<User> {
        if p.user.email.is_none() {
            return Err(domain::Invalid::new(
                "contact_required",
                "phone",
                "Keep a phone number or add an email address.",
            )
            .into());
        }
        self.db.remove_phone(&p.user.id, now_ms()).await?;
        let user = self.db.user_by_id(&p.user.id).await?;
        let keep = p.session.as_ref().map(|s| s.id.as_str());
        self.secure_after_change(&user, keep, "Your mobile number was removed", None, client).await?;
        Ok(user)
    }

    /// After the password, the email or the phone changed: every other session ends, every
    /// API key is revoked (keys made before the change must not outlive it), and the person
    /// is told at their address (and at `also`, the address they had before).
    pub(crate) async fn secure_after_change(
        &self,
        user: &User,
        keep_session: Option<&str>,
        what: &str,
        also: Option<&str>,
        client: &Client,
    ) -> Result<()> {
        let keys = self.db.delete_api_keys_of(&user.id).await?;
        let sessions = self.db.delete_sessions_except(&user.id, keep_session).await?;
        let detail = format!("{keys} API keys revoked, {sessions} other sessions ended");
        self.db.audit(Some(&user.id), "self", "signed_out_everywhere", &detail, &client.network(), now_ms()).await?;
        let text = format!(
            "Hello {},\n\n{what}.\n\nTo keep your account safe we signed out every other device and revoked your API \
             keys ({keys} revoked); make new keys in your account settings if you use them.\n\nIf you did not do this, \
             reset your password at {} and write to {}.\n",
            if user.name.is_empty() { "there" } else { &user.name },
            self.link("/forgot-password"),
            self.settings.contact.email
        );
        for to in user.email.iter().map(String::as_str).chain(also) {
            let mail = Mail {
                to: to.to_owned(),
                unsubscribe: None,
                subject: "Security notice from SoraiPixel".into(),
                text: text.clone(),
            };
            self.queue_mail(&mail, &user.id).await?;
        }
        Ok(())
    }
}
