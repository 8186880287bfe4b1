//! What each API key did per UTC day: calls answered, images made, tokens they cost. Calls
//! are counted as they are answered; images and tokens in the transaction that charges them.

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

    /// Images the key has made (or was charged for) today.
    pub async fn api_images_today(&self, key_id: &str, now: i64) -> Result<i64> {
        Ok(with_pool!(self, |p| sqlx::query_scalar::<_, i64>(
            "SELECT images FROM api_usage WHERE key_id = $1 AND day = $2"
        )
        .bind(key_id)
        .bind(day(now))
        .fetch_optional(p)
        .await)?
        .unwrap_or(0))
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
