//! Accounts: sign up, sign in with a password, reset a forgotten password, correct the
//! profile, grant roles. Proving an email or phone is in `contact`.

use db::tokens::{NewToken, Purpose};
use db::users::{NewUser, ProfileChange, User};
use domain::{Email, Phone, Role, password, profile, secrets};
use providers::mail::Email as Mail;

use crate::limits::{HOUR, MINUTE};
use crate::otp::CodeUse;
use crate::sessions::{Principal, Started};
use crate::{App, AppError, Client, Result, now_ms};

const RESET_TTL_MS: i64 = HOUR;

pub struct Signup {
    pub email: String,
    pub password: String,
    pub name: String,
    pub phone: Option<String>,
    pub company: Option<String>,
    pub marketing_opt_in: bool,
    /// The code of the invitation link the person came through, if any.
    pub referral_code: Option<String>,
}

/// A correction from the profile form or `PATCH /me`; `None` leaves a field alone. A new
/// email or phone also needs the person to confirm it is them: their password, or for an
/// account without one, a code sent to its phone (`send_confirmation_code`).
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
    pub current_password: Option<String>,
    pub code: Option<String>,
}

/// The profile after a correction, and what waits for proof: a link went to the new email,
/// a code to the new phone (`confirm_phone`).
pub struct ProfileUpdate {
    pub user: User,
    pub pending_email: Option<String>,
    pub pending_phone: Option<String>,
}

/// Past `login_attempts_per_account_hour`, the owner's own networks wait this long.
const CEILING_DELAY: std::time::Duration = std::time::Duration::from_secs(2);
/// A network the owner signed in from within this time is theirs.
const KNOWN_NETWORK_MS: i64 = 90 * crate::limits::DAY;

impl App {
    pub async fn signup(&self, s: Signup, client: &Client) -> Result<Started> {
        let sec = &self.settings.security;
        self.limit(&format!("signup:ip:{}", client.network()), sec.signups_per_ip_hour, HOUR).await?;
        let email = Email::parse(&s.email)?;
        self.refuse_disposable(&email)?;
        // An unverified claim does not block a new one: whoever proves the inbox keeps it.
        let claims = self.db.users_by_email(email.as_str()).await?;
        if claims.first().is_some_and(|u| u.email_verified_at.is_some())
            || claims.len() >= usize::try_from(db::users::MAX_EMAIL_CLAIMS).unwrap_or(3)
        {
            return Err(AppError::Taken("email"));
        }
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
        if let Some(code) = &s.referral_code {
            self.note_referral_at_signup(&user.id, code, client).await;
        }
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

    /// Unknown emails and wrong passwords get the same answer after the same work. Each
    /// guess is counted before the password is checked, so parallel guesses count too: at
    /// most `login_failures_per_account_15min` per account and network, and past a ceiling
    /// per account only the owner's known networks get in, after a short delay.
    pub async fn login(&self, email: &str, pass: &str, client: &Client) -> Result<Started> {
        let sec = &self.settings.security;
        let network = client.network();
        self.limit(&format!("login:ip:{network}"), sec.login_attempts_per_ip_15min, 15 * MINUTE).await?;
        let Some(email) = Email::lookup(email) else {
            return Err(AppError::InvalidCredentials);
        };
        let here = format!("login:{network}:{email}");
        self.limit(&here, sec.login_failures_per_account_15min, 15 * MINUTE).await?;
        let candidates = self.db.users_by_email(email.as_str()).await?;
        let everywhere = format!("login_all:{email}");
        if self.limit(&everywhere, sec.login_attempts_per_account_hour, HOUR).await.is_err() {
            let mut known = false;
            // Only the verified holder's networks count: anyone can claim an address.
            for u in candidates.iter().filter(|u| u.email_verified_at.is_some()) {
                known |= self.db.signed_in_from(&u.id, &network, now_ms() - KNOWN_NETWORK_MS).await?;
            }
            if !known {
                return Err(AppError::RateLimited { retry_after_secs: 15 * 60 });
            }
            tokio::time::sleep(CEILING_DELAY).await;
        }
        let mut candidates: Vec<User> = candidates.into_iter().filter(|u| u.password_hash.is_some()).collect();
        let hashes: Vec<String> = candidates.iter().filter_map(|u| u.password_hash.clone()).collect();
        let pass = pass.to_owned();
        let matched = self
            .on_cpu(move || {
                if hashes.is_empty() {
                    password::verify(&pass, password::decoy_hash());
                }
                hashes.iter().position(|h| password::verify(&pass, h))
            })
            .await?;
        match matched {
            Some(i) => {
                // A good password gives its reservations back.
                self.release(&here, 15 * MINUTE).await?;
                self.release(&everywhere, HOUR).await?;
                self.start_session(candidates.swap_remove(i), client, "signed_in").await
            }
            None => {
                for user in &candidates {
                    self.db.audit(Some(&user.id), "unknown", "sign_in_failed", "", &network, now_ms()).await?;
                }
                Err(AppError::InvalidCredentials)
            }
        }
    }

    /// Always answers the same way, so it cannot be used to find out who has an account.
    /// Only a verified address gets a reset link: an unverified one proves nothing. Limits
    /// are per network and per (address, network), so nobody can use up the owner's; an
    /// address gets at most one link every two minutes (each new link replaces the last).
    pub async fn forgot_password(&self, email: &str, client: &Client) -> Result<()> {
        let network = client.network();
        self.limit(&format!("forgot:ip:{network}"), 10, HOUR).await?;
        let Some(email) = Email::lookup(email) else {
            return Ok(());
        };
        self.limit(&format!("forgot:{network}:{email}"), 3, HOUR).await?;
        let Some(user) =
            self.db.users_by_email(email.as_str()).await?.into_iter().find(|u| u.email_verified_at.is_some())
        else {
            return Ok(());
        };
        if self.cool_down(&format!("forgot_mail:{email}"), 2 * MINUTE).await.is_err() {
            return Ok(());
        }
        let token = secrets::new_token();
        let digest = secrets::token_digest(&token);
        let t = NewToken {
            user_id: &user.id,
            purpose: Purpose::ResetPassword,
            email: email.as_str(),
            digest: &digest,
            session_id: None,
        };
        self.db.issue_token(&t, now_ms(), RESET_TTL_MS).await?;
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

    /// Sets a new password from a reset link: every session ends and every API key is
    /// revoked (a key made by someone who had the account before must not outlive it).
    pub async fn reset_password(&self, token: &str, new_password: &str, client: &Client) -> Result<()> {
        let now = now_ms();
        let digest = secrets::token_digest(token);
        let redeemed =
            self.db.redeem_token(Purpose::ResetPassword, &digest, now).await?.ok_or(AppError::InvalidToken)?;
        let user = self.db.user_by_id(&redeemed.user_id).await?;
        // The link counts only while it was sent to the account's verified address.
        if user.email.as_deref() != Some(redeemed.email.as_str()) || user.email_verified_at.is_none() {
            return Err(AppError::InvalidToken);
        }
        let email = user.email.as_deref().and_then(|e| Email::parse(e).ok());
        if let Err(e) = password::check(new_password, self.settings.security.password_min_length, email.as_ref()) {
            // Give the link back so the person can try a better password.
            let t = NewToken {
                user_id: &user.id,
                purpose: Purpose::ResetPassword,
                email: &redeemed.email,
                digest: &digest,
                session_id: None,
            };
            self.db.issue_token(&t, now, RESET_TTL_MS).await?;
            return Err(e.into());
        }
        let hash = self.hash_password(new_password.to_owned()).await?;
        self.db.set_password_hash(&user.id, &hash, now).await?;
        self.db.audit(Some(&user.id), "self", "password_reset", "", &client.network(), now).await?;
        self.secure_after_change(&user, None, "Your password was reset", None, client).await
    }

    /// Confirms a sensitive change is the account's owner: the password, or for accounts
    /// without one, a code sent to the account's own phone.
    async fn reauthenticate(&self, p: &Principal, password: Option<&str>, code: Option<&str>) -> Result<()> {
        let user = &p.user;
        let bucket = format!("reauth:{}", user.id);
        self.limit(&bucket, 10, 15 * MINUTE).await?;
        match (&user.password_hash, &user.phone, user.phone_verified_at) {
            (Some(hash), ..) => {
                let Some(given) = password.filter(|g| !g.is_empty()) else {
                    return Err(domain::Invalid::new(
                        "reauthentication_required",
                        "current_password",
                        "Enter your current password to change your email or phone.",
                    )
                    .into());
                };
                let (given, hash) = (given.to_owned(), hash.clone());
                if !self.on_cpu(move || password::verify(&given, &hash)).await? {
                    return Err(domain::Invalid::new(
                        "wrong_password",
                        "current_password",
                        "That is not your current password.",
                    )
                    .into());
                }
            }
            (None, Some(phone), Some(_)) => {
                let Some(code) = code.filter(|c| !c.trim().is_empty()) else {
                    return Err(domain::Invalid::new(
                        "reauthentication_required",
                        "code",
                        "Enter the code we send to your phone to change your email or phone.",
                    )
                    .into());
                };
                self.check_code(&Phone::parse(phone)?, code, CodeUse::SignIn).await?;
            }
            _ => return Err(AppError::Forbidden),
        }
        self.release(&bucket, 15 * MINUTE).await
    }

    /// For an account without a password: a code to its own phone, to confirm a change.
    pub async fn send_confirmation_code(&self, p: &Principal, client: &Client) -> Result<()> {
        match (&p.user.phone, p.user.phone_verified_at) {
            (Some(phone), Some(_)) => self.send_phone_code(&Phone::parse(phone)?, CodeUse::SignIn, client).await,
            _ => Err(domain::Invalid::new("no_phone", "phone", "This account has no confirmed phone number.").into()),
        }
    }

    /// Plain fields change at once. A new email or phone needs the owner's confirmation
    /// (`reauthenticate`) and then proof: a link to the new address, a code to the new number.
    pub async fn update_profile(&self, p: &Principal, patch: ProfilePatch, client: &Client) -> Result<ProfileUpdate> {
        let opt = |field, v: Option<String>, max| v.map(|v| profile::optional(field, &v, max)).transpose();
        // Only a new address is held to today's rules; the one the account has stays.
        let typed = patch.email.as_deref().map(|e| e.trim().to_lowercase());
        let new_email =
            typed.filter(|e| Some(e.as_str()) != p.user.email.as_deref()).map(|e| Email::parse(&e)).transpose()?;
        if let Some(e) = &new_email {
            self.refuse_disposable(e)?;
        }
        let phone = patch
            .phone
            .as_deref()
            .map(|v| if v.trim().is_empty() { Ok(None) } else { Phone::parse(v).map(Some) })
            .transpose()?;
        let new_phone = phone.filter(|ph| ph.as_ref().map(Phone::as_str) != p.user.phone.as_deref());
        if matches!(new_phone, Some(None)) && p.user.email.is_none() {
            return Err(domain::Invalid::new(
                "contact_required",
                "phone",
                "Keep a phone number or add an email address.",
            )
            .into());
        }
        let change = ProfileChange {
            name: patch.name.map(|n| profile::name(&n)).transpose()?,
            company: opt("company", patch.company, 120)?,
            address: patch.address.map(|a| profile::multiline("address", &a, 300)).transpose()?,
            website: patch.website.map(|w| profile::website(&w)).transpose()?,
            category: patch.category.map(|c| profile::category(&c)).transpose()?,
        };
        if new_email.is_some() || new_phone.is_some() {
            self.reauthenticate(p, patch.current_password.as_deref(), patch.code.as_deref()).await?;
        }
        let before = &p.user;
        let mut user = self.db.update_profile(&before.id, change, now_ms()).await?;
        let changed: Vec<&str> = [
            ("name", Some(before.name.as_str()), Some(user.name.as_str())),
            ("company", before.company.as_deref(), user.company.as_deref()),
            ("address", before.address.as_deref(), user.address.as_deref()),
            ("website", before.website.as_deref(), user.website.as_deref()),
            ("category", before.category.as_deref(), user.category.as_deref()),
        ]
        .into_iter()
        .filter(|(_, was, now)| was != now)
        .map(|(field, ..)| field)
        .collect();
        if !changed.is_empty() {
            self.db
                .audit(Some(&user.id), "self", "profile_corrected", &changed.join(", "), &client.network(), now_ms())
                .await?;
        }
        let mut update = ProfileUpdate { user: user.clone(), pending_email: None, pending_phone: None };
        if let Some(email) = new_email {
            self.request_email_change(p, &email).await?;
            update.pending_email = Some(email.to_string());
        }
        match new_phone {
            Some(Some(phone)) => {
                self.send_new_phone_proof(p, &phone, client).await?;
                update.pending_phone = Some(phone.to_string());
            }
            Some(None) => {
                user = self.remove_phone(p, client).await?;
                update.user = user;
            }
            None => {}
        }
        Ok(update)
    }

    /// `soraipixel admin grant EMAIL ROLE`.
    pub async fn grant_role(&self, email: &str, role: &str) -> Result<User> {
        let role = Role::parse(role)
            .ok_or_else(|| domain::Invalid::new("invalid_role", "role", "Role must be user, support or admin."))?;
        let user = self.account_named_by(email).await?;
        self.db.set_role(&user.id, role.as_str(), now_ms()).await?;
        self.db.audit(Some(&user.id), "admin:cli", "role_granted", role.as_str(), "", now_ms()).await?;
        Ok(self.db.user_by_id(&user.id).await?)
    }
}

impl App {
    /// For staff commands: the account an address names — its verified holder, or its only
    /// claim. Several unverified claims are ambiguous (one may be an impostor's).
    pub(crate) async fn account_named_by(&self, email: &str) -> Result<User> {
        let email = Email::lookup(email)
            .ok_or_else(|| domain::Invalid::new("invalid_email", "email", "Enter a valid email address."))?;
        let mut claims = self.db.users_by_email(email.as_str()).await?;
        match claims.first() {
            None => Err(AppError::NotFound),
            Some(u) if u.email_verified_at.is_some() || claims.len() == 1 => Ok(claims.swap_remove(0)),
            Some(_) => Err(domain::Invalid::new(
                "ambiguous_email",
                "email",
                "Several unverified accounts claim this address; none has proven it yet.",
            )
            .into()),
        }
    }

    async fn hash_password(&self, password: String) -> Result<String> {
        self.on_cpu(move || password::hash(&password)).await?.map_err(|e| AppError::Internal(e.to_string()))
    }
}
