//! Sellers' verdicts on their images, one per image.

use serde::Serialize;

use crate::{Db, Result, with_pool};

#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct FeedbackRow {
    pub output_id: String,
    #[serde(skip)]
    pub user_id: String,
    pub rating: String,
    /// Comma-separated codes (`cutout_wrong,blurry`).
    pub categories: String,
    pub text: String,
    pub created_at: i64,
    pub updated_at: i64,
}

impl Db {
    /// Records the verdict on `output_id`, replacing an earlier one (the owner's only: the
    /// caller has checked the output is theirs).
    pub async fn set_feedback(&self, f: &FeedbackRow) -> Result<()> {
        with_pool!(self, |p| sqlx::query(
            "INSERT INTO output_feedback (output_id, user_id, rating, categories, text, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $6) ON CONFLICT (output_id) DO UPDATE SET \
             rating = excluded.rating, categories = excluded.categories, text = excluded.text, \
             updated_at = excluded.updated_at WHERE output_feedback.user_id = excluded.user_id"
        )
        .bind(&f.output_id)
        .bind(&f.user_id)
        .bind(&f.rating)
        .bind(&f.categories)
        .bind(&f.text)
        .bind(f.updated_at)
        .execute(p)
        .await
        .map(|_| ()))?;
        Ok(())
    }

    /// The user's verdicts on the outputs of one creation, or on everything (`None`).
    pub async fn feedback_of(&self, user_id: &str, creation_id: Option<&str>) -> Result<Vec<FeedbackRow>> {
        Ok(with_pool!(self, |p| sqlx::query_as::<_, FeedbackRow>(
            "SELECT f.output_id, f.user_id, f.rating, f.categories, f.text, f.created_at, f.updated_at \
             FROM output_feedback f JOIN outputs o ON o.id = f.output_id \
             WHERE f.user_id = $1 AND ($2 IS NULL OR o.creation_id = $2) ORDER BY f.updated_at"
        )
        .bind(user_id)
        .bind(creation_id)
        .fetch_all(p)
        .await)?)
    }
}
