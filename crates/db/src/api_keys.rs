//! API keys for programmatic clients: shown once, stored as a digest.

use serde::Serialize;

use crate::{Db, Result, new_id, with_pool};

#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct ApiKey {
    pub id: String,
    #[serde(skip)]
    pub user_id: String,
    pub name: String,
    /// The first characters of the key, so people can tell their keys apart.
    pub prefix: String,
    #[serde(skip)]
    pub token_digest: String,
    /// Space-separated scopes (`domain::Scope`).
    pub scopes: String,
    pub expires_at: Option<i64>,
    pub created_at: i64,
    pub last_used_at: Option<i64>,
    /// The truncated network it was last used from.
    pub last_used_network: Option<String>,
    /// Requests a minute, and images a UTC day, this key may ask for.
    pub per_minute: i64,
    pub images_per_day: i64,
}

pub struct NewApiKey<'a> {
    pub user_id: &'a str,
    pub name: &'a str,
    pub prefix: &'a str,
    pub digest: &'a str,
    pub scopes: &'a str,
    pub expires_at: Option<i64>,
    pub per_minute: i64,
    pub images_per_day: i64,
}

macro_rules! columns {
    () => {
        "id, user_id, name, prefix, token_digest, scopes, expires_at, created_at, last_used_at, last_used_network, \
         per_minute, images_per_day"
    };
}

impl Db {
    pub async fn create_api_key(&self, k: &NewApiKey<'_>, now: i64) -> Result<ApiKey> {
        let sql = concat!(
            "INSERT INTO api_keys (id, user_id, name, prefix, token_digest, scopes, expires_at, created_at, per_minute, \
             images_per_day) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING ",
            columns!()
        );
        Ok(with_pool!(self, |p| sqlx::query_as::<_, ApiKey>(sql)
            .bind(new_id())
            .bind(k.user_id)
            .bind(k.name)
            .bind(k.prefix)
            .bind(k.digest)
            .bind(k.scopes)
            .bind(k.expires_at)
            .bind(now)
            .bind(k.per_minute)
            .bind(k.images_per_day)
            .fetch_one(p)
            .await)?)
    }

    pub async fn api_keys_of(&self, user_id: &str) -> Result<Vec<ApiKey>> {
        let sql = concat!("SELECT ", columns!(), " FROM api_keys WHERE user_id = $1 ORDER BY created_at DESC");
        Ok(with_pool!(self, |p| sqlx::query_as::<_, ApiKey>(sql).bind(user_id).fetch_all(p).await)?)
    }

    /// The key with this digest, unless it has run out.
    pub async fn api_key_by_digest(&self, digest: &str, now: i64) -> Result<Option<ApiKey>> {
        let sql = concat!(
            "SELECT ",
            columns!(),
            " FROM api_keys WHERE token_digest = $1 AND (expires_at IS NULL OR expires_at > $2)"
        );
        Ok(with_pool!(self, |p| sqlx::query_as::<_, ApiKey>(sql).bind(digest).bind(now).fetch_optional(p).await)?)
    }

    /// Records use at most once a minute per network, so reads stay reads.
    pub async fn touch_api_key(&self, id: &str, network: &str, now: i64) -> Result<()> {
        with_pool!(self, |p| {
            sqlx::query(
                "UPDATE api_keys SET last_used_at = $2, last_used_network = $4 WHERE id = $1 \
                 AND (last_used_at IS NULL OR last_used_at < $3 OR last_used_network IS DISTINCT FROM $4)",
            )
            .bind(id)
            .bind(now)
            .bind(now - 60_000)
            .bind(network)
            .execute(p)
            .await
            .map(|r| r.rows_affected())
        })?;
        Ok(())
    }

    /// Revokes every key of the user (a password reset, an email or phone change).
    pub async fn delete_api_keys_of(&self, user_id: &str) -> Result<u64> {
        Ok(with_pool!(self, |p| sqlx::query("DELETE FROM api_keys WHERE user_id = $1")
            .bind(user_id)
            .execute(p)
            .await
            .map(|r| r.rows_affected()))?)
    }

    pub async fn delete_api_key(&self, user_id: &str, id: &str) -> Result<bool> {
        let done = with_pool!(self, |p| sqlx::query("DELETE FROM api_keys WHERE id = $1 AND user_id = $2")
            .bind(id)
            .bind(user_id)
            .execute(p)
            .await
            .map(|r| r.rows_affected()))?;
        Ok(done == 1)
    }
}
