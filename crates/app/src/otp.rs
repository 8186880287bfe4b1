//! Phone codes: 6 digits, valid 5 minutes, at most 5 attempts per code; sends throttled per
//! phone and per network. A code signs in to the account whose number it proved; a number
//! no account has proven gets a new account (an unverified claim on it is dropped). A code
//! that proves a number for a signed-in account is bound to that account.

use db::users::NewUser;
use domain::{Phone, secrets};

use crate::limits::HOUR;
use crate::sessions::Started;
use crate::{App, AppError, Client, Result, now_ms};

pub const CODE_TTL_MS: i64 = 5 * 60_000;
pub const MAX_ATTEMPTS: i64 = 5;

/// What a code is good for; part of its MAC, so a code sent for one use fails any other.
#[derive(Debug, Clone, Copy)]
pub(crate) enum CodeUse<'a> {
    /// Signing in, or confirming an action on the account that proved this number.
    SignIn,
    /// Proving a number for this account (adding, changing or confirming it).
    Prove { user_id: &'a str },
}

impl App {
    /// Sends a sign-in code.
    pub async fn send_code(&self, phone: &str, client: &Client) -> Result<()> {
        self.send_phone_code(&Phone::parse(phone)?, CodeUse::SignIn, client).await
    }

    pub(crate) async fn send_phone_code(&self, phone: &Phone, usage: CodeUse<'_>, client: &Client) -> Result<()> {
        let sec = &self.settings.security;
        let resend_ms = i64::try_from(sec.otp_resend_seconds).unwrap_or(60) * 1000;
        self.limit(&format!("otp:ip:{}", client.network()), sec.otp_sends_per_ip_hour, HOUR).await?;
        self.cool_down(&format!("otp:resend:{phone}"), resend_ms).await?;
        self.limit(&format!("otp:phone:{phone}"), sec.otp_sends_per_phone_hour, HOUR).await?;
        let code = secrets::otp_code();
        self.db.store_otp(phone.as_str(), &self.mac(&code_parts(phone, &code, usage)), now_ms(), CODE_TTL_MS).await?;
        if let Err(e) = self.sms.send_code(phone.as_str(), &code).await {
            tracing::error!(phone = %phone.masked(), error = %e, "could not send the code");
            self.db.delete_otp(phone.as_str()).await?;
            return Err(AppError::Delivery);
        }
        Ok(())
    }

    /// Returns the session and whether the account was created just now (through the
    /// invitation `referral_code`, if one came with it).
    pub async fn verify_code(
        &self,
        phone: &str,
        code: &str,
        referral_code: Option<&str>,
        client: &Client,
    ) -> Result<(Started, bool)> {
        let phone = Phone::parse(phone)?;
        self.check_code(&phone, code, CodeUse::SignIn).await?;
        match self.db.user_by_verified_phone(phone.as_str()).await {
            Ok(user) => Ok((self.start_session(user, client, "signed_in_with_code").await?, false)),
            Err(db::DbError::NotFound) => {
                let user = self
                    .db
                    .create_user(
                        NewUser {
                            email: None,
                            phone: Some(phone.as_str()),
                            phone_verified: true,
                            password_hash: None,
                            name: "",
                            company: None,
                            marketing_opt_in: false,
                        },
                        now_ms(),
                    )
                    .await?;
                self.welcome_grant(&user.id).await?;
                if let Some(code) = referral_code {
                    self.note_referral_at_signup(&user.id, code, client).await;
                }
                self.record_signup_consents(&user).await?;
                Ok((self.start_session(user, client, "signed_up_with_code").await?, true))
            }
            Err(e) => Err(e.into()),
        }
    }

    /// The code sent to `phone` for `usage` is right (and is used up); counts wrong attempts.
    pub(crate) async fn check_code(&self, phone: &Phone, code: &str, usage: CodeUse<'_>) -> Result<()> {
        let Some(live) = self.db.attempt_otp(phone.as_str(), now_ms(), MAX_ATTEMPTS).await? else {
            return Err(AppError::InvalidCode);
        };
        if !self.mac_matches(&code_parts(phone, code.trim(), usage), &live.code_mac, usize::MAX) {
            if live.attempts >= MAX_ATTEMPTS {
                self.db.delete_otp(phone.as_str()).await?;
                return Err(AppError::RateLimited { retry_after_secs: self.settings.security.otp_resend_seconds });
            }
            return Err(AppError::InvalidCode);
        }
        self.db.delete_otp(phone.as_str()).await?;
        Ok(())
    }
}

/// What a code's MAC covers: the code, the phone and, when proving a number, the account.
fn code_parts<'a>(phone: &'a Phone, code: &'a str, usage: CodeUse<'a>) -> Vec<&'a str> {
    match usage {
        CodeUse::SignIn => vec!["otp", phone.as_str(), code],
        CodeUse::Prove { user_id } => vec!["otp-prove", user_id, phone.as_str(), code],
    }
}
