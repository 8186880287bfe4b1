//! The staff review queue: images whose cutout was doubtful, that failed a marketplace
//! check, or that their seller marked down.

use serde::Serialize;

use crate::{Db, Result, with_pool};

/// One image to look at, with why it is here. No pixels: content needs an audited look.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct ReviewItem {
    pub output_id: String,
    pub creation_id: String,
    pub user_id: String,
    pub label: String,
    pub engine: String,
    pub model: Option<String>,
    pub prompt_version: Option<String>,
    pub confidence: Option<f64>,
    /// 1 when a rule of the marketplace check failed.
    pub checks_failed: i64,
    pub charged: Option<i64>,
    pub rating: Option<String>,
    pub categories: Option<String>,
    pub text: Option<String>,
    /// 1 once staff gave back what the image cost.
    pub refunded: i64,
    pub created_at: i64,
}

/// Images of one engine and kind made in one period with one verdict (or none).
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct FeedbackTally {
    /// `(created_at - offset) / width`: the period's number.
    pub bucket: i64,
    pub engine: String,
    pub label: String,
    pub rating: Option<String>,
    pub categories: String,
    pub images: i64,
}

/// The ledger reference of a refund given from the queue (one per image).
pub fn refund_reference(output_id: &str) -> String {
    format!("review-refund:{output_id}")
}

impl Db {
    /// Whether staff gave back what any image of the creation cost.
    pub async fn creation_refunded(&self, creation_id: &str) -> Result<bool> {
        let n = with_pool!(self, |p| sqlx::query_scalar::<_, i64>(
            "SELECT COUNT(*) FROM outputs o JOIN ledger_entries l \
             ON l.kind = 'adjustment' AND l.reference = 'review-refund:' || o.id WHERE o.creation_id = $1"
        )
        .bind(creation_id)
        .fetch_one(p)
        .await)?;
        Ok(n > 0)
    }

    /// Newest first. `reason`: `any`, `confidence` (below `low`), `checks` or `down`;
    /// `engine`: `local`, `cloud` or empty for both.
    pub async fn review_queue(&self, reason: &str, engine: &str, low: f64, limit: i64) -> Result<Vec<ReviewItem>> {
        Ok(with_pool!(self, |p| {
            sqlx::query_as::<_, ReviewItem>(
            "SELECT o.id AS output_id, o.creation_id, o.user_id, o.label, c.engine, o.model, o.prompt_version, \
             o.confidence, CAST(CASE WHEN o.compliance LIKE '%\"passed\":false%' THEN 1 ELSE 0 END AS BIGINT) AS checks_failed, \
             o.charged, f.rating, f.categories, f.text, \
             CAST(CASE WHEN EXISTS (SELECT 1 FROM ledger_entries l WHERE l.kind = 'adjustment' \
               AND l.reference = 'review-refund:' || o.id) THEN 1 ELSE 0 END AS BIGINT) AS refunded, o.created_at \
             FROM outputs o JOIN creations c ON c.id = o.creation_id \
             LEFT JOIN output_feedback f ON f.output_id = o.id \
             WHERE ((($1 = 'any' OR $1 = 'confidence') AND o.confidence < $2) \
                OR (($1 = 'any' OR $1 = 'checks') AND o.compliance LIKE '%\"passed\":false%') \
                OR (($1 = 'any' OR $1 = 'down') AND f.rating = 'down')) \
               AND ($3 = '' OR c.engine = $3) \
             ORDER BY o.created_at DESC LIMIT $4"
        )
        .bind(reason)
        .bind(low)
        .bind(engine)
        .bind(limit)
        .fetch_all(p)
        .await
        })?)
    }

    /// Images made since `since`, counted by period (`width` ms from `offset`), engine,
    /// label and verdict.
    pub async fn feedback_tallies(&self, since: i64, offset: i64, width: i64) -> Result<Vec<FeedbackTally>> {
        Ok(with_pool!(self, |p| sqlx::query_as::<_, FeedbackTally>(
            "SELECT (o.created_at - $2) / $3 AS bucket, c.engine, o.label, f.rating, \
             COALESCE(f.categories, '') AS categories, COUNT(*) AS images \
             FROM outputs o JOIN creations c ON c.id = o.creation_id \
             LEFT JOIN output_feedback f ON f.output_id = o.id \
             WHERE o.created_at >= $1 GROUP BY 1, 2, 3, 4, 5"
        )
        .bind(since)
        .bind(offset)
        .bind(width)
        .fetch_all(p)
        .await)?)
    }
}
