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
    pub created_at: i64,
    pub last_used_at: Option<i64>,
}

macro_rules! columns {
    () => {
        "id, user_id, name, prefix, token_digest, created_at, last_used_at"
    };
}

impl Db {
    pub async fn create_api_key(
        &self,
        user_id: &str,
        name: &str,
        prefix: &str,
        digest: &str,
        now: i64,
    ) -> Result<ApiKey> {
        let sql = concat!(
            "INSERT INTO api_keys (id, user_id, name, prefix, token_digest, created_at) VALUES ($1, $2, $3, $4, $5, $6) RETURNING ",
            columns!()
        );
        Ok(with_pool!(self, |p| sqlx::query_as::<_, ApiKey>(sql)
            .bind(new_id())
            .bind(user_id)
            .bind(name)
            .bind(prefix)
            .bind(digest)
            .bind(now)
            .fetch_one(p)
            .await)?)
    }

    pub async fn api_keys_of(&self, user_id: &str) -> Result<Vec<ApiKey>> {
        let sql = concat!("SELECT ", columns!(), " FROM api_keys WHERE user_id = $1 ORDER BY created_at DESC");
        Ok(with_pool!(self, |p| sqlx::query_as::<_, ApiKey>(sql).bind(user_id).fetch_all(p).await)?)
    }

    pub async fn api_key_by_digest(&self, digest: &str) -> Result<Option<ApiKey>> {
        let sql = concat!("SELECT ", columns!(), " FROM api_keys WHERE token_digest = $1");
        Ok(with_pool!(self, |p| sqlx::query_as::<_, ApiKey>(sql).bind(digest).fetch_optional(p).await)?)
    }

    pub async fn touch_api_key(&self, id: &str, now: i64) -> Result<()> {
        with_pool!(self, |p| {
            sqlx::query(
                "UPDATE api_keys SET last_used_at = $2 WHERE id = $1 AND (last_used_at IS NULL OR last_used_at < $3)",
            )
            .bind(id)
            .bind(now)
            .bind(now - 60_000)
            .execute(p)
            .await
            .map(|r| r.rows_affected())
        })?;
        Ok(())
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
