//! Security rate limits on fixed windows and pauses after an action, shared across processes through the database.

use crate::{App, AppError, Result, now_ms};

impl App {
    /// Counts one hit in `bucket` and refuses once more than `max` arrive in the window.
    pub async fn limit(&self, bucket: &str, max: u32, window_ms: i64) -> Result<()> {
        let now = now_ms();
        let start = now - now.rem_euclid(window_ms);
        let hits = self.db.hit(bucket, start).await?;
        if hits > i64::from(max) {
            return Err(retry_after(start + window_ms - now));
        }
        Ok(())
    }

    /// Refuses a second action on `bucket` within `pause_ms` of the last one allowed.
    pub async fn cool_down(&self, bucket: &str, pause_ms: i64) -> Result<()> {
        let now = now_ms();
        match self.db.cool_down(bucket, now, now + pause_ms).await? {
            Some(until) => Err(retry_after(until - now)),
            None => Ok(()),
        }
    }

    /// Gives back a hit counted by `limit` (a reserved attempt that went well).
    pub async fn release(&self, bucket: &str, window_ms: i64) -> Result<()> {
        let now = now_ms();
        self.db.unhit(bucket, now - now.rem_euclid(window_ms)).await?;
        Ok(())
    }
}

fn retry_after(ms: i64) -> AppError {
    AppError::RateLimited { retry_after_secs: u64::try_from((ms.max(1) + 999) / 1000).unwrap_or(1) }
}

pub const MINUTE: i64 = 60_000;
pub const HOUR: i64 = 60 * MINUTE;
pub const DAY: i64 = 24 * HOUR;
