//! Aggregates for admins: per UTC day and metric, a value and how many people it covers
//! (so the caller can suppress small groups). Nothing here returns a person's row.

use serde::Serialize;

use crate::{Db, Result, with_pool};

#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct Cell {
    pub day: i64,
    pub metric: String,
    pub value: i64,
    /// Distinct people behind the value.
    pub people: i64,
}

/// Each query yields `(day, metric, value, people)` from `$1` (ms) on.
const QUERIES: [&str; 8] = [
    "SELECT created_at / 86400000 AS day, 'signups' AS metric, COUNT(*) AS value, COUNT(*) AS people \
     FROM users WHERE created_at >= $1 GROUP BY created_at / 86400000",
    "SELECT created_at / 86400000 AS day, 'creations' AS metric, COUNT(*) AS value, COUNT(DISTINCT user_id) AS people \
     FROM creations WHERE created_at >= $1 GROUP BY created_at / 86400000",
    "SELECT created_at / 86400000 AS day, 'images' AS metric, COUNT(*) AS value, COUNT(DISTINCT user_id) AS people \
     FROM outputs WHERE created_at >= $1 GROUP BY created_at / 86400000",
    "SELECT created_at / 86400000 AS day, 'tokens_charged' AS metric, CAST(SUM(amount) AS BIGINT) AS value, \
     COUNT(DISTINCT user_id) AS people FROM ledger_entries WHERE kind = 'charge' AND created_at >= $1 \
     GROUP BY created_at / 86400000",
    "SELECT created_at / 86400000 AS day, 'tokens_granted' AS metric, CAST(SUM(amount) AS BIGINT) AS value, \
     COUNT(DISTINCT user_id) AS people FROM ledger_entries WHERE kind = 'grant' AND created_at >= $1 \
     GROUP BY created_at / 86400000",
    "SELECT captured_at / 86400000 AS day, 'revenue_' || currency AS metric, CAST(SUM(amount) AS BIGINT) AS value, \
     COUNT(DISTINCT user_id) AS people FROM payments WHERE captured_at >= $1 AND status IN ('captured', 'refunded') \
     GROUP BY captured_at / 86400000, currency",
    "SELECT created_at / 86400000 AS day, 'used_' || kind AS metric, COUNT(*) AS value, \
     COUNT(DISTINCT user_id) AS people FROM activity WHERE created_at >= $1 GROUP BY created_at / 86400000, kind",
    "SELECT created_at / 86400000 AS day, 'device_' || device_type AS metric, COUNT(DISTINCT user_id) AS value, \
     COUNT(DISTINCT user_id) AS people FROM activity WHERE created_at >= $1 GROUP BY created_at / 86400000, device_type",
];

impl Db {
    /// Every metric per day since `since`, newest day first.
    pub async fn daily_aggregates(&self, since: i64) -> Result<Vec<Cell>> {
        let mut cells = Vec::new();
        for sql in QUERIES {
            let rows = with_pool!(self, |p| sqlx::query_as::<_, Cell>(sql).bind(since).fetch_all(p).await)?;
            cells.extend(rows);
        }
        cells.sort_by(|a, b| b.day.cmp(&a.day).then_with(|| a.metric.cmp(&b.metric)));
        Ok(cells)
    }
}
