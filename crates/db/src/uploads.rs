//! Uploaded photos and the per-user data keys that seal them. Every query names the owner,
//! so one user's id never reaches another user's row.

use serde::Serialize;

use crate::{Db, DbError, Result, with_pool};

#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct Upload {
    pub id: String,
    #[serde(skip)]
    pub user_id: String,
    pub filename: String,
    pub format: String,
    pub width: i64,
    pub height: i64,
    pub bytes: i64,
    #[serde(skip)]
    pub original_key: String,
    #[serde(skip)]
    pub thumb_key: String,
    pub created_at: i64,
}

macro_rules! columns {
    () => {
        "id, user_id, filename, format, width, height, bytes, original_key, thumb_key, created_at"
    };
}

impl Db {
    /// The user's wrapped data key, if one was made.
    pub async fn wrapped_key(&self, user_id: &str) -> Result<Option<Vec<u8>>> {
        Ok(with_pool!(self, |p| sqlx::query_scalar::<_, Vec<u8>>("SELECT wrapped FROM user_keys WHERE user_id = $1")
            .bind(user_id)
            .fetch_optional(p)
            .await)?)
    }

    /// Every user who has a data key, that is, who may have stored blobs.
    pub async fn users_with_keys(&self) -> Result<Vec<String>> {
        Ok(with_pool!(self, |p| sqlx::query_scalar::<_, String>("SELECT user_id FROM user_keys ORDER BY user_id")
            .fetch_all(p)
            .await)?)
    }

    /// Replaces a user's wrapped key, if it is still `old` (a master-key rotation).
    pub async fn replace_wrapped_key(&self, user_id: &str, old: &[u8], new: &[u8]) -> Result<bool> {
        Ok(with_pool!(self, |p| sqlx::query("UPDATE user_keys SET wrapped = $3 WHERE user_id = $1 AND wrapped = $2")
            .bind(user_id)
            .bind(old)
            .bind(new)
            .execute(p)
            .await
            .map(|r| r.rows_affected()))?
            == 1)
    }

    /// Stores a wrapped key unless one exists; returns the one that won (first writer).
    pub async fn store_wrapped_key(&self, user_id: &str, wrapped: &[u8], now: i64) -> Result<Vec<u8>> {
        with_pool!(self, |p| sqlx::query(
            "INSERT INTO user_keys (user_id, wrapped, created_at) VALUES ($1, $2, $3) ON CONFLICT (user_id) DO NOTHING"
        )
        .bind(user_id)
        .bind(wrapped)
        .bind(now)
        .execute(p)
        .await
        .map(|_| ()))?;
        self.wrapped_key(user_id).await?.ok_or(DbError::NotFound)
    }

    pub async fn create_upload(&self, u: &Upload) -> Result<()> {
        with_pool!(self, |p| sqlx::query(concat!(
            "INSERT INTO uploads (",
            columns!(),
            ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)"
        ))
        .bind(&u.id)
        .bind(&u.user_id)
        .bind(&u.filename)
        .bind(&u.format)
        .bind(u.width)
        .bind(u.height)
        .bind(u.bytes)
        .bind(&u.original_key)
        .bind(&u.thumb_key)
        .bind(u.created_at)
        .execute(p)
        .await
        .map(|_| ()))?;
        Ok(())
    }

    pub async fn upload_of(&self, user_id: &str, id: &str) -> Result<Upload> {
        with_pool!(self, |p| sqlx::query_as::<_, Upload>(concat!(
            "SELECT ",
            columns!(),
            " FROM uploads WHERE id = $1 AND user_id = $2"
        ))
        .bind(id)
        .bind(user_id)
        .fetch_optional(p)
        .await)?
        .ok_or(DbError::NotFound)
    }

    /// Newest first, `limit` at a time, before `before` (ms).
    pub async fn uploads_of(&self, user_id: &str, before: Option<i64>, limit: i64) -> Result<Vec<Upload>> {
        Ok(with_pool!(self, |p| sqlx::query_as::<_, Upload>(concat!(
            "SELECT ",
            columns!(),
            " FROM uploads WHERE user_id = $1 AND created_at < $2 ORDER BY created_at DESC, id DESC LIMIT $3"
        ))
        .bind(user_id)
        .bind(before.unwrap_or(i64::MAX))
        .bind(limit)
        .fetch_all(p)
        .await)?)
    }

    /// Deletes the row and returns it, so the caller can remove its blobs.
    pub async fn delete_upload(&self, user_id: &str, id: &str) -> Result<Upload> {
        with_pool!(self, |p| sqlx::query_as::<_, Upload>(concat!(
            "DELETE FROM uploads WHERE id = $1 AND user_id = $2 RETURNING ",
            columns!()
        ))
        .bind(id)
        .bind(user_id)
        .fetch_optional(p)
        .await)?
        .ok_or(DbError::NotFound)
    }

    /// Every blob path the user's rows point at, for the orphan sweeper. Exports count until
    /// they expire at `now`; after that their snapshot is swept like any orphan.
    pub async fn referenced_blobs(&self, user_id: &str, now: i64) -> Result<Vec<String>> {
        Ok(with_pool!(self, |p| sqlx::query_scalar::<_, String>(
            "SELECT original_key FROM uploads WHERE user_id = $1 \
             UNION ALL SELECT thumb_key FROM uploads WHERE user_id = $1 \
             UNION ALL SELECT blob_key FROM outputs WHERE user_id = $1 \
             UNION ALL SELECT blob_key FROM exports WHERE user_id = $1 AND blob_key IS NOT NULL AND expires_at > $2"
        )
        .bind(user_id)
        .bind(now)
        .fetch_all(p)
        .await)?)
    }
}
