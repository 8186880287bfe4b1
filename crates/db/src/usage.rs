//! What each API key did per UTC day: calls it made, images made, tokens they cost, and
//! images asked for (its daily limit). Calls are counted when admitted; images and tokens in
//! the transaction that charges them; requests as they are accepted.

use serde::Serialize;

use crate::{Db, Result, with_pool};

/// The UTC day of `now` (ms), as usage rows name it.
pub fn day(now: i64) -> String {
    domain::time::civil(now).date()
}

#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct Usage {
    pub key_id: String,
    pub key_name: String,
    pub day: String,
    pub calls: i64,
    pub images: i64,
    pub tokens: i64,
}

/// Adds to a key's row for the day, inside the caller's executor (a pool or a transaction).
macro_rules! count_usage {
    ($executor:expr, $key_id:expr, $user_id:expr, $key_name:expr, $day:expr, $calls:expr, $images:expr, $tokens:expr) => {
        sqlx::query(
            "INSERT INTO api_usage (key_id, user_id, key_name, day, calls, images, tokens) VALUES ($1, $2, $3, $4, $5, $6, $7) \
             ON CONFLICT (key_id, day) DO UPDATE SET calls = api_usage.calls + excluded.calls, \
             images = api_usage.images + excluded.images, tokens = api_usage.tokens + excluded.tokens",
        )
        .bind($key_id)
        .bind($user_id)
        .bind($key_name)
        .bind($day)
        .bind($calls)
        .bind($images)
        .bind($tokens)
        .execute($executor)
    };
}
pub(crate) use count_usage;

/// The key a use of tokens is counted against.
pub struct KeyRef<'a> {
    pub id: &'a str,
    pub name: &'a str,
}

impl Db {
    /// One call answered for the key.
    pub async fn count_api_call(&self, key: &KeyRef<'_>, user_id: &str, now: i64) -> Result<()> {
        with_pool!(self, |p| count_usage!(p, key.id, user_id, key.name, day(now), 1i64, 0i64, 0i64).await.map(|_| ()))?;
        Ok(())
    }

    /// Reserves `images` of the key's day unless that would pass `limit`; one statement, so
    /// parallel requests cannot both slip under it. `false`: refused, nothing reserved.
    pub async fn reserve_api_images(
        &self,
        key: &KeyRef<'_>,
        user_id: &str,
        images: i64,
        limit: i64,
        now: i64,
    ) -> Result<bool> {
        if images > limit {
            return Ok(false);
        }
        let reserved = with_pool!(self, |p| sqlx::query(
            "INSERT INTO api_usage (key_id, user_id, key_name, day, requested) VALUES ($1, $2, $3, $4, $5) \
             ON CONFLICT (key_id, day) DO UPDATE SET requested = api_usage.requested + excluded.requested \
             WHERE api_usage.requested + excluded.requested <= $6"
        )
        .bind(key.id)
        .bind(user_id)
        .bind(key.name)
        .bind(day(now))
        .bind(images)
        .bind(limit)
        .execute(p)
        .await
        .map(|r| r.rows_affected()))?;
        Ok(reserved == 1)
    }

    /// Gives back images reserved today that will not be made (a request refused after).
    pub async fn release_api_images(&self, key_id: &str, images: i64, now: i64) -> Result<()> {
        with_pool!(self, |p| sqlx::query(
            "UPDATE api_usage SET requested = requested - $3 WHERE key_id = $1 AND day = $2 AND requested >= $3"
        )
        .bind(key_id)
        .bind(day(now))
        .bind(images)
        .execute(p)
        .await
        .map(|_| ()))?;
        Ok(())
    }

    /// The user's usage between two days (inclusive, `YYYY-MM-DD`), newest day first.
    pub async fn api_usage(&self, user_id: &str, from: &str, to: &str) -> Result<Vec<Usage>> {
        Ok(with_pool!(self, |p| sqlx::query_as::<_, Usage>(
            "SELECT key_id, key_name, day, calls, images, tokens FROM api_usage \
             WHERE user_id = $1 AND day >= $2 AND day <= $3 ORDER BY day DESC, key_name, key_id"
        )
        .bind(user_id)
        .bind(from)
        .bind(to)
        .fetch_all(p)
        .await)?)
    }
}
