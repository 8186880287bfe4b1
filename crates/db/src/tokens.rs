//! Single-use emailed tokens (email verification, password reset). Consuming deletes the
//! row in the same statement that reads it, so a token can never be used twice.

use crate::{Db, Result, with_pool};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    VerifyEmail,
    ResetPassword,
}

impl Purpose {
    fn as_str(self) -> &'static str {
        match self {
            Purpose::VerifyEmail => "verify_email",
            Purpose::ResetPassword => "reset_password",
        }
    }
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Redeemed {
    pub user_id: String,
    pub email: String,
    /// The session that asked for the link, which stays signed in when it changes the email.
    pub session_id: Option<String>,
}

/// A token to store: whose, for what, for which address, and (for an email change) the
/// session that asked.
pub struct NewToken<'a> {
    pub user_id: &'a str,
    pub purpose: Purpose,
    pub email: &'a str,
    pub digest: &'a str,
    pub session_id: Option<&'a str>,
}

impl Db {
    /// Stores a token digest; earlier tokens of the same purpose for the user are revoked.
    pub async fn issue_token(&self, t: &NewToken<'_>, now: i64, ttl_ms: i64) -> Result<()> {
        with_pool!(self, |p| sqlx::query("DELETE FROM one_time_tokens WHERE user_id = $1 AND purpose = $2")
            .bind(t.user_id)
            .bind(t.purpose.as_str())
            .execute(p)
            .await
            .map(|r| r.rows_affected()))?;
        with_pool!(self, |p| {
            sqlx::query(
                "INSERT INTO one_time_tokens (digest, user_id, purpose, email, session_id, created_at, expires_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
            )
            .bind(t.digest)
            .bind(t.user_id)
            .bind(t.purpose.as_str())
            .bind(t.email)
            .bind(t.session_id)
            .bind(now)
            .bind(now + ttl_ms)
            .execute(p)
            .await
            .map(|r| r.rows_affected())
        })?;
        Ok(())
    }

    /// Deletes and returns the token if it exists, has this purpose and has not expired.
    pub async fn redeem_token(&self, purpose: Purpose, digest: &str, now: i64) -> Result<Option<Redeemed>> {
        Ok(with_pool!(self, |p| {
            sqlx::query_as::<_, Redeemed>(
            "DELETE FROM one_time_tokens WHERE digest = $1 AND purpose = $2 AND expires_at > $3 RETURNING user_id, email, session_id"
        )
        .bind(digest)
        .bind(purpose.as_str())
        .bind(now)
        .fetch_optional(p)
        .await
        })?)
    }

    pub async fn purge_expired_tokens(&self, now: i64) -> Result<u64> {
        let a = with_pool!(self, |p| sqlx::query("DELETE FROM one_time_tokens WHERE expires_at <= $1")
            .bind(now)
            .execute(p)
            .await
            .map(|r| r.rows_affected()))?;
        let b = with_pool!(self, |p| sqlx::query("DELETE FROM otp_codes WHERE expires_at <= $1")
            .bind(now)
            .execute(p)
            .await
            .map(|r| r.rows_affected()))?;
        Ok(a + b)
    }
}
