//! Accounts: sign up, sign in with a password, verify email, reset a forgotten password,
//! correct the profile, grant roles.

use db::tokens::Purpose;
use db::users::{NewUser, ProfileChange, User};
use domain::{Email, Phone, Role, password, profile, secrets};
use providers::mail::Email as Mail;

use crate::limits::{HOUR, MINUTE};
use crate::sessions::{Principal, Started};
use crate::{App, AppError, Client, Result, now_ms};

const VERIFY_TTL_MS: i64 = 48 * HOUR;
const RESET_TTL_MS: i64 = HOUR;

pub struct Signup {
    pub email: String,
    pub password: String,
    pub name: String,
    pub phone: Option<String>,
    pub company: Option<String>,
    pub marketing_opt_in: bool,
}

/// A correction from the profile form or `PATCH /me`; `None` leaves a field alone.
#[derive(Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProfilePatch {
    pub name: Option<String>,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub company: Option<String>,
    pub address: Option<String>,
    pub website: Option<String>,
    pub category: Option<String>,
}

impl App {
    pub async fn signup(&self, s: Signup, client: &Client) -> Result<Started> {
        let sec = &self.settings.security;
        self.limit(&format!("signup:ip:{}", client.network()), sec.signups_per_ip_hour, HOUR).await?;
        let email = Email::parse(&s.email)?;
        self.refuse_disposable(&email)?;
        let name = profile::name(&s.name)?;
        let phone = s.phone.as_deref().filter(|p| !p.trim().is_empty()).map(Phone::parse).transpose()?;
        let company = s.company.as_deref().map(|c| profile::optional("company", c, 120)).transpose()?.flatten();
        password::check(&s.password, sec.password_min_length, Some(&email))?;
        let hash = self.hash_password(s.password).await?;
        let user = self
            .db
            .create_user(
                NewUser {
                    email: Some(email.as_str()),
                    phone: phone.as_ref().map(Phone::as_str),
                    phone_verified: false,
                    password_hash: Some(&hash),
                    name: &name,
                    company: company.as_deref(),
                    marketing_opt_in: s.marketing_opt_in,
                },
                now_ms(),
            )
            .await?;
        self.welcome_grant(&user.id).await?;
        self.record_signup_consents(&user).await?;
        self.send_verification(&user).await;
        self.start_session(user, client, "signed_up").await
    }

    /// Throwaway addresses (`security.disposable_email_domains`, subdomains too) are refused.
    fn refuse_disposable(&self, email: &Email) -> Result<()> {
        let domain = email.as_str().rsplit_once('@').map(|(_, d)| d).unwrap_or_default();
        let listed = self.settings.security.disposable_email_domains.iter().any(|d| {
            let d = d.trim().to_ascii_lowercase();
            !d.is_empty() && (domain == d || domain.ends_with(&format!(".{d}")))
        });
        if listed {
            return Err(domain::Invalid::new(
                "disposable_email",
                "email",
                "Please use an email address you keep: throwaway addresses cannot receive receipts.",
            )
            .into());
        }
        Ok(())
    }

    /// Unknown emails and wrong passwords get the same answer after the same work.
    pub async fn login(&self, email: &str, pass: &str, client: &Client) -> Result<Started> {
        let sec = &self.settings.security;
        self.limit(&format!("login:ip:{}", client.network()), sec.login_attempts_per_ip_15min, 15 * MINUTE).await?;
        let Ok(email) = Email::parse(email) else {
            return Err(AppError::InvalidCredentials);
        };
        let account_bucket = format!("login_fail:{email}");
        self.check_limit(&account_bucket, sec.login_failures_per_account_15min, 15 * MINUTE).await?;
        let user = match self.db.user_by_email(email.as_str()).await {
            Ok(u) => Some(u),
            Err(db::DbError::NotFound) => None,
            Err(e) => return Err(e.into()),
        };
        let stored =
            user.as_ref().and_then(|u| u.password_hash.clone()).unwrap_or_else(|| password::decoy_hash().to_owned());
        let pass = pass.to_owned();
        let matches = self.on_cpu(move || password::verify(&pass, &stored)).await?;
        match user {
            Some(user) if matches => self.start_session(user, client, "signed_in").await,
            Some(user) => {
                self.count_failure(&account_bucket, 15 * MINUTE).await?;
                self.db.audit(Some(&user.id), "unknown", "sign_in_failed", "", &client.network(), now_ms()).await?;
                Err(AppError::InvalidCredentials)
            }
            None => {
                self.count_failure(&account_bucket, 15 * MINUTE).await?;
                Err(AppError::InvalidCredentials)
            }
        }
    }

    /// Emails a verification link for the user's current address. Delivery problems are
    /// logged, not raised: the user can ask again from their profile.
    pub async fn send_verification(&self, user: &User) {
        let Some(email) = user.email.as_deref() else {
            return;
        };
        let token = secrets::new_token();
        let issued = self
            .db
            .issue_token(&user.id, Purpose::VerifyEmail, email, &secrets::token_digest(&token), now_ms(), VERIFY_TTL_MS)
            .await;
        let mail = Mail {
            to: email.to_owned(),
            unsubscribe: None,
            subject: "Confirm your email for SoraiPixel".into(),
            text: format!(
                "Hello {},\n\nPlease confirm your email address by opening this link:\n\n{}\n\nThe link works once and expires in 48 hours. If you did not sign up for SoraiPixel, ignore this email.\n",
                user.name,
                self.link(&format!("/verify-email?token={token}"))
            ),
        };
        if let Err(e) = async {
            issued.map_err(AppError::from)?;
            self.queue_mail(&mail, &user.id).await
        }
        .await
        {
            tracing::error!(user_id = %user.id, error = %e, "could not queue the verification email");
        }
    }

    /// Asks again for a verification email, at most a few times an hour.
    pub async fn resend_verification(&self, p: &Principal) -> Result<()> {
        self.limit(&format!("verify_mail:{}", p.user.id), 5, HOUR).await?;
        if p.user.email_verified_at.is_none() {
            self.send_verification(&p.user).await;
        }
        Ok(())
    }

    pub async fn verify_email(&self, token: &str, client: &Client) -> Result<User> {
        let now = now_ms();
        let redeemed = self
            .db
            .redeem_token(Purpose::VerifyEmail, &secrets::token_digest(token), now)
            .await?
            .ok_or(AppError::InvalidToken)?;
        // The address may have changed since the link was sent; only the current one counts.
        if !self.db.mark_email_verified(&redeemed.user_id, &redeemed.email, now).await? {
            return Err(AppError::InvalidToken);
        }
        self.db
            .audit(Some(&redeemed.user_id), "self", "email_verified", &redeemed.email, &client.network(), now)
            .await?;
        Ok(self.db.user_by_id(&redeemed.user_id).await?)
    }

    /// Always answers the same way, so it cannot be used to find out who has an account.
    pub async fn forgot_password(&self, email: &str, client: &Client) -> Result<()> {
        self.limit(&format!("forgot:ip:{}", client.network()), 10, HOUR).await?;
        let Ok(email) = Email::parse(email) else {
            return Ok(());
        };
        self.limit(&format!("forgot:{email}"), 3, HOUR).await?;
        let user = match self.db.user_by_email(email.as_str()).await {
            Ok(u) => u,
            Err(db::DbError::NotFound) => return Ok(()),
            Err(e) => return Err(e.into()),
        };
        let token = secrets::new_token();
        self.db
            .issue_token(
                &user.id,
                Purpose::ResetPassword,
                email.as_str(),
                &secrets::token_digest(&token),
                now_ms(),
                RESET_TTL_MS,
            )
            .await?;
        let mail = Mail {
            to: email.to_string(),
            unsubscribe: None,
            subject: "Reset your SoraiPixel password".into(),
            text: format!(
                "Hello {},\n\nSomeone (hopefully you) asked to reset your SoraiPixel password. Choose a new one here:\n\n{}\n\nThe link works once and expires in one hour. If you did not ask for this, you can ignore this email; your password stays the same.\n",
                user.name,
                self.link(&format!("/reset-password?token={token}"))
            ),
        };
        self.queue_mail(&mail, &user.id).await
    }

    /// Sets a new password from a reset link and ends every session of the account.
    pub async fn reset_password(&self, token: &str, new_password: &str, client: &Client) -> Result<()> {
        let now = now_ms();
        let digest = secrets::token_digest(token);
        let redeemed =
            self.db.redeem_token(Purpose::ResetPassword, &digest, now).await?.ok_or(AppError::InvalidToken)?;
        let user = self.db.user_by_id(&redeemed.user_id).await?;
        let email = user.email.as_deref().and_then(|e| Email::parse(e).ok());
        if let Err(e) = password::check(new_password, self.settings.security.password_min_length, email.as_ref()) {
            // Give the link back so the person can try a better password.
            self.db.issue_token(&user.id, Purpose::ResetPassword, &redeemed.email, &digest, now, RESET_TTL_MS).await?;
            return Err(e.into());
        }
        let hash = self.hash_password(new_password.to_owned()).await?;
        self.db.set_password_hash(&user.id, &hash, now).await?;
        self.db.delete_sessions_except(&user.id, None).await?;
        // Opening the link proves the person reads that inbox.
        self.db.mark_email_verified(&user.id, &redeemed.email, now).await?;
        self.db.audit(Some(&user.id), "self", "password_reset", "all sessions ended", &client.network(), now).await?;
        Ok(())
    }

    pub async fn update_profile(&self, p: &Principal, patch: ProfilePatch, client: &Client) -> Result<User> {
        let opt = |field, v: Option<String>, max| v.map(|v| profile::optional(field, &v, max)).transpose();
        let email = patch.email.map(|e| Email::parse(&e)).transpose()?;
        if let Some(e) = email.as_ref().filter(|e| Some(e.as_str()) != p.user.email.as_deref()) {
            self.refuse_disposable(e)?;
        }
        let phone =
            patch.phone.map(|v| if v.trim().is_empty() { Ok(None) } else { Phone::parse(&v).map(Some) }).transpose()?;
        if email.is_none() && p.user.email.is_none() && matches!(phone, Some(None)) {
            return Err(domain::Invalid::new(
                "contact_required",
                "phone",
                "Keep a phone number or add an email address.",
            )
            .into());
        }
        let change = ProfileChange {
            name: patch.name.map(|n| profile::name(&n)).transpose()?,
            email: email.map(|e| e.to_string()),
            phone: phone.map(|p| p.map(|p| p.to_string())),
            company: opt("company", patch.company, 120)?,
            address: opt("address", patch.address, 300)?,
            website: patch.website.map(|w| profile::website(&w)).transpose()?,
            category: patch.category.map(|c| profile::category(&c)).transpose()?,
        };
        let before = &p.user;
        let user = self.db.update_profile(&before.id, change, now_ms()).await?;
        let mut changed = Vec::new();
        for (field, was, now) in [
            ("name", Some(before.name.as_str()), Some(user.name.as_str())),
            ("email", before.email.as_deref(), user.email.as_deref()),
            ("phone", before.phone.as_deref(), user.phone.as_deref()),
            ("company", before.company.as_deref(), user.company.as_deref()),
            ("address", before.address.as_deref(), user.address.as_deref()),
            ("website", before.website.as_deref(), user.website.as_deref()),
            ("category", before.category.as_deref(), user.category.as_deref()),
        ] {
            if was != now {
                changed.push(field);
            }
        }
        if !changed.is_empty() {
            self.db
                .audit(Some(&user.id), "self", "profile_corrected", &changed.join(","), &client.network(), now_ms())
                .await?;
        }
        if before.email != user.email {
            self.send_verification(&user).await;
        }
        Ok(user)
    }

    /// `soraipixel admin grant EMAIL ROLE`.
    pub async fn grant_role(&self, email: &str, role: &str) -> Result<User> {
        let role = Role::parse(role)
            .ok_or_else(|| domain::Invalid::new("invalid_role", "role", "Role must be user or admin."))?;
        let email = Email::parse(email)?;
        let user = self.db.user_by_email(email.as_str()).await?;
        self.db.set_role(&user.id, role.as_str(), now_ms()).await?;
        self.db.audit(Some(&user.id), "admin:cli", "role_granted", role.as_str(), "", now_ms()).await?;
        Ok(self.db.user_by_id(&user.id).await?)
    }
}

impl App {
    async fn hash_password(&self, password: String) -> Result<String> {
        self.on_cpu(move || password::hash(&password)).await?.map_err(|e| AppError::Internal(e.to_string()))
    }
}
