//! One-time SMS codes, one live code per phone. The code itself is never stored, only a
//! keyed MAC of it; attempts are counted in the same statement that checks the limit.

use crate::{Db, Result, with_pool};

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Otp {
    pub phone: String,
    pub code_mac: String,
    pub attempts: i64,
    pub created_at: i64,
    pub expires_at: i64,
}

impl Db {
    /// Replaces any earlier code for the phone.
    pub async fn store_otp(&self, phone: &str, code_mac: &str, now: i64, ttl_ms: i64) -> Result<()> {
        with_pool!(self, |p| {
            sqlx::query(
            "INSERT INTO otp_codes (phone, code_mac, attempts, created_at, expires_at) VALUES ($1, $2, 0, $3, $4) \
             ON CONFLICT (phone) DO UPDATE SET code_mac = excluded.code_mac, attempts = 0, created_at = excluded.created_at, expires_at = excluded.expires_at"
        )
        .bind(phone)
        .bind(code_mac)
        .bind(now)
        .bind(now + ttl_ms)
        .execute(p).await.map(|r| r.rows_affected())
        })?;
        Ok(())
    }

    /// Counts one attempt against the live code and returns it, or `None` when there is no
    /// live code or its attempts are used up.
    pub async fn attempt_otp(&self, phone: &str, now: i64, max_attempts: i64) -> Result<Option<Otp>> {
        Ok(with_pool!(self, |p| {
            sqlx::query_as::<_, Otp>(
                "UPDATE otp_codes SET attempts = attempts + 1 WHERE phone = $1 AND expires_at > $2 AND attempts < $3 \
             RETURNING phone, code_mac, attempts, created_at, expires_at",
            )
            .bind(phone)
            .bind(now)
            .bind(max_attempts)
            .fetch_optional(p)
            .await
        })?)
    }

    pub async fn delete_otp(&self, phone: &str) -> Result<()> {
        with_pool!(self, |p| sqlx::query("DELETE FROM otp_codes WHERE phone = $1")
            .bind(phone)
            .execute(p)
            .await
            .map(|r| r.rows_affected()))?;
        Ok(())
    }
}
