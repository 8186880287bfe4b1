//! Phone sign-in with a one-time code: 6 digits, valid 5 minutes, at most 5 attempts per
//! code; sends throttled per phone and per network. A phone with no account gets a new one.

use db::users::NewUser;
use domain::{Phone, secrets};

use crate::limits::HOUR;
use crate::sessions::Started;
use crate::{App, AppError, Client, Result, now_ms};

pub const CODE_TTL_MS: i64 = 5 * 60_000;
pub const MAX_ATTEMPTS: i64 = 5;

impl App {
    pub async fn send_code(&self, phone: &str, client: &Client) -> Result<()> {
        let sec = &self.settings.security;
        let phone = Phone::parse(phone)?;
        let resend_ms = i64::try_from(sec.otp_resend_seconds).unwrap_or(60) * 1000;
        self.limit(&format!("otp:ip:{}", client.network()), sec.otp_sends_per_ip_hour, HOUR).await?;
        self.limit(&format!("otp:resend:{phone}"), 1, resend_ms).await?;
        self.limit(&format!("otp:phone:{phone}"), sec.otp_sends_per_phone_hour, HOUR).await?;
        let code = secrets::otp_code();
        self.db.store_otp(phone.as_str(), &self.mac(&["otp", phone.as_str(), &code]), now_ms(), CODE_TTL_MS).await?;
        if let Err(e) = self.sms.send_code(phone.as_str(), &code).await {
            tracing::error!(phone = %phone.masked(), error = %e, "could not send the sign-in code");
            self.db.delete_otp(phone.as_str()).await?;
            return Err(AppError::Delivery);
        }
        Ok(())
    }

    /// Returns the session and whether the account was created just now.
    pub async fn verify_code(&self, phone: &str, code: &str, client: &Client) -> Result<(Started, bool)> {
        let phone = Phone::parse(phone)?;
        let now = now_ms();
        self.check_code(&phone, code).await?;
        match self.db.user_by_phone(phone.as_str()).await {
            Ok(user) => {
                if user.phone_verified_at.is_none() {
                    self.db.mark_phone_verified(&user.id, now).await?;
                }
                let user = self.db.user_by_id(&user.id).await?;
                Ok((self.start_session(user, client, "signed_in_with_code").await?, false))
            }
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
                        now,
                    )
                    .await?;
                self.welcome_grant(&user.id).await?;
                self.record_signup_consents(&user).await?;
                Ok((self.start_session(user, client, "signed_up_with_code").await?, true))
            }
            Err(e) => Err(e.into()),
        }
    }

    /// The code sent to `phone` is right (and is used up); counts wrong attempts.
    pub(crate) async fn check_code(&self, phone: &Phone, code: &str) -> Result<()> {
        let Some(live) = self.db.attempt_otp(phone.as_str(), now_ms(), MAX_ATTEMPTS).await? else {
            return Err(AppError::InvalidCode);
        };
        let expected = self.mac(&["otp", phone.as_str(), code.trim()]);
        if !secrets::equal(&live.code_mac, &expected) {
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
