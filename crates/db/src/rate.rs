//! Fixed-window counters for security limits (logins, OTP sends, signups). They live in
//! the database so every process shares them; and pauses that count from the action itself.

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

    /// Starts a pause on `bucket` lasting until `until` unless one is still running at `now`;
    /// returns the end of the running pause when there is one. One statement, so two
    /// processes cannot both start it.
    pub async fn cool_down(&self, bucket: &str, now: i64, until: i64) -> Result<Option<i64>> {
        let started = with_pool!(self, |p| sqlx::query_scalar::<_, i64>(
            "INSERT INTO cooldowns (bucket, until_ms) VALUES ($1, $2) ON CONFLICT (bucket) \
             DO UPDATE SET until_ms = excluded.until_ms WHERE cooldowns.until_ms <= $3 RETURNING until_ms"
        )
        .bind(bucket)
        .bind(until)
        .bind(now)
        .fetch_optional(p)
        .await)?;
        if started.is_some() {
            return Ok(None);
        }
        Ok(with_pool!(self, |p| sqlx::query_scalar::<_, i64>("SELECT until_ms FROM cooldowns WHERE bucket = $1")
            .bind(bucket)
            .fetch_optional(p)
            .await)?)
    }

    /// Removes counters of windows that began before `before` and pauses that ended by then.
    pub async fn purge_rate_counters(&self, before: i64) -> Result<u64> {
        let counters = with_pool!(self, |p| sqlx::query("DELETE FROM rate_counters WHERE window_start < $1")
            .bind(before)
            .execute(p)
            .await
            .map(|r| r.rows_affected()))?;
        let pauses = with_pool!(self, |p| sqlx::query("DELETE FROM cooldowns WHERE until_ms < $1")
            .bind(before)
            .execute(p)
            .await
            .map(|r| r.rows_affected()))?;
        Ok(counters + pauses)
    }
}
