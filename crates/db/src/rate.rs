//! Fixed-window counters for security limits (logins, OTP sends, signups). They live in
//! the database so every process shares them.

use crate::{Db, Result, with_pool};

impl Db {
    /// Adds one hit to `bucket` in the window starting at `window_start` and returns the
    /// hits so far in that window, this one included.
    pub async fn hit(&self, bucket: &str, window_start: i64) -> Result<i64> {
        Ok(with_pool!(self, |p| {
            sqlx::query_scalar::<_, i64>(
                "INSERT INTO rate_counters (bucket, window_start, hits) VALUES ($1, $2, 1) \
             ON CONFLICT (bucket, window_start) DO UPDATE SET hits = rate_counters.hits + 1 RETURNING hits",
            )
            .bind(bucket)
            .bind(window_start)
            .fetch_one(p)
            .await
        })?)
    }

    /// Gives back one hit reserved with `hit` (an attempt that turned out fine).
    pub async fn unhit(&self, bucket: &str, window_start: i64) -> Result<()> {
        with_pool!(self, |p| sqlx::query(
            "UPDATE rate_counters SET hits = hits - 1 WHERE bucket = $1 AND window_start = $2 AND hits > 0"
        )
        .bind(bucket)
        .bind(window_start)
        .execute(p)
        .await
        .map(|r| r.rows_affected()))?;
        Ok(())
    }

    pub async fn purge_rate_counters(&self, before: i64) -> Result<u64> {
        let done = with_pool!(self, |p| sqlx::query("DELETE FROM rate_counters WHERE window_start < $1")
            .bind(before)
            .execute(p)
            .await
            .map(|r| r.rows_affected()))?;
        Ok(done)
    }
}
