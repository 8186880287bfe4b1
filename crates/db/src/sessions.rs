//! Browser sessions: only the digest of the cookie token is stored.

use serde::Serialize;

use crate::{Db, Result, new_id, with_pool};

#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct Session {
    pub id: String,
    pub user_id: String,
    #[serde(skip)]
    pub token_digest: String,
    pub created_at: i64,
    pub last_seen_at: i64,
    pub expires_at: i64,
    pub browser: String,
    pub os: String,
    pub device_type: String,
    pub ip_network: String,
}

pub struct NewSession<'a> {
    pub user_id: &'a str,
    pub token_digest: &'a str,
    pub expires_at: i64,
    pub browser: &'a str,
    pub os: &'a str,
    pub device_type: &'a str,
    pub ip_network: &'a str,
}

macro_rules! columns {
    () => {
        "id, user_id, token_digest, created_at, last_seen_at, expires_at, browser, os, device_type, ip_network"
    };
}

impl Db {
    pub async fn create_session(&self, s: NewSession<'_>, now: i64) -> Result<Session> {
        let sql = concat!(
            "INSERT INTO sessions (",
            columns!(),
            ") VALUES ($1, $2, $3, $4, $4, $5, $6, $7, $8, $9) RETURNING ",
            columns!()
        );
        Ok(with_pool!(self, |p| sqlx::query_as::<_, Session>(sql)
            .bind(new_id())
            .bind(s.user_id)
            .bind(s.token_digest)
            .bind(now)
            .bind(s.expires_at)
            .bind(s.browser)
            .bind(s.os)
            .bind(s.device_type)
            .bind(s.ip_network)
            .fetch_one(p)
            .await)?)
    }

    /// The live session for a token digest: not past its absolute expiry and seen within
    /// the idle window.
    pub async fn live_session(&self, digest: &str, now: i64, idle_ms: i64) -> Result<Option<Session>> {
        let sql = concat!(
            "SELECT ",
            columns!(),
            " FROM sessions WHERE token_digest = $1 AND expires_at > $2 AND last_seen_at > $3"
        );
        Ok(with_pool!(self, |p| sqlx::query_as::<_, Session>(sql)
            .bind(digest)
            .bind(now)
            .bind(now - idle_ms)
            .fetch_optional(p)
            .await)?)
    }

    /// Records activity at most once a minute so reads don't become writes.
    pub async fn touch_session(&self, id: &str, now: i64) -> Result<()> {
        with_pool!(self, |p| sqlx::query("UPDATE sessions SET last_seen_at = $2 WHERE id = $1 AND last_seen_at < $3")
            .bind(id)
            .bind(now)
            .bind(now - 60_000)
            .execute(p)
            .await
            .map(|r| r.rows_affected()))?;
        Ok(())
    }

    pub async fn sessions_of(&self, user_id: &str) -> Result<Vec<Session>> {
        let sql = concat!("SELECT ", columns!(), " FROM sessions WHERE user_id = $1 ORDER BY last_seen_at DESC");
        Ok(with_pool!(self, |p| sqlx::query_as::<_, Session>(sql).bind(user_id).fetch_all(p).await)?)
    }

    /// Deletes one of the user's sessions; false when it is not theirs or already gone.
    pub async fn delete_session(&self, user_id: &str, id: &str) -> Result<bool> {
        let done = with_pool!(self, |p| sqlx::query("DELETE FROM sessions WHERE id = $1 AND user_id = $2")
            .bind(id)
            .bind(user_id)
            .execute(p)
            .await
            .map(|r| r.rows_affected()))?;
        Ok(done == 1)
    }

    /// Ends every session of the user except `keep` (when given); returns how many ended.
    pub async fn delete_sessions_except(&self, user_id: &str, keep: Option<&str>) -> Result<u64> {
        let done = with_pool!(self, |p| sqlx::query("DELETE FROM sessions WHERE user_id = $1 AND id <> $2")
            .bind(user_id)
            .bind(keep.unwrap_or(""))
            .execute(p)
            .await
            .map(|r| r.rows_affected()))?;
        Ok(done)
    }

    pub async fn purge_expired_sessions(&self, now: i64, idle_ms: i64) -> Result<u64> {
        let done =
            with_pool!(self, |p| sqlx::query("DELETE FROM sessions WHERE expires_at <= $1 OR last_seen_at <= $2")
                .bind(now)
                .bind(now - idle_ms)
                .execute(p)
                .await
                .map(|r| r.rows_affected()))?;
        Ok(done)
    }
}
