//! Feedback on every image: thumbs up, or thumbs down with what was wrong. A thumbs down on
//! a studio cutout points to the brush, where the seller can fix it for free.

use serde::{Deserialize, Serialize};

use db::feedback::FeedbackRow;
use domain::feedback::{Category, Feedback, Rating};

use crate::sessions::Principal;
use crate::{App, Result, now_ms};

/// `PUT /api/v1/outputs/{id}/feedback`.
#[derive(Debug, Clone, Deserialize)]
pub struct FeedbackRequest {
    pub rating: String,
    #[serde(default)]
    pub categories: Vec<String>,
    #[serde(default)]
    pub text: String,
}

/// A verdict as its author sees it back.
#[derive(Debug, Clone, Serialize)]
pub struct FeedbackView {
    pub output_id: String,
    pub creation_id: String,
    pub rating: &'static str,
    pub categories: Vec<&'static str>,
    pub text: String,
    pub updated_at: i64,
    /// Where to fix the cutout by hand, after a thumbs down on a studio image.
    pub fix_url: Option<String>,
}

impl FeedbackView {
    /// From a stored row (codes the domain wrote) on one of `creation`'s images.
    pub fn from_row(row: &FeedbackRow, creation: &db::creations::Creation) -> Self {
        let rating = Rating::parse(&row.rating).unwrap_or(Rating::Down);
        let fix = crate::corrections::can_fix(creation) && rating == Rating::Down;
        Self {
            output_id: row.output_id.clone(),
            creation_id: creation.id.clone(),
            rating: rating.as_str(),
            categories: row.categories.split(',').filter_map(Category::parse).map(Category::as_str).collect(),
            text: row.text.clone(),
            updated_at: row.updated_at,
            fix_url: fix.then(|| format!("/creations/{}/fix", creation.id)),
        }
    }
}

impl App {
    /// Records (or changes) the user's verdict on one of their images.
    pub async fn set_feedback(&self, p: &Principal, output_id: &str, req: &FeedbackRequest) -> Result<FeedbackView> {
        let output = self.db.output_of(&p.user.id, output_id).await?;
        let f = Feedback::new(&req.rating, &req.categories, &req.text)?;
        let now = now_ms();
        let row = FeedbackRow {
            output_id: output.id.clone(),
            user_id: p.user.id.clone(),
            rating: f.rating.as_str().into(),
            categories: f.categories_csv(),
            text: f.text,
            created_at: now,
            updated_at: now,
        };
        self.db.set_feedback(&row).await?;
        let creation = self.db.creation_of(&p.user.id, &output.creation_id).await?;
        Ok(FeedbackView::from_row(&row, &creation))
    }

    /// The user's verdicts on one creation's images.
    pub async fn feedback_on(&self, p: &Principal, creation: &db::creations::Creation) -> Result<Vec<FeedbackView>> {
        let rows = self.db.feedback_of(&p.user.id, Some(&creation.id)).await?;
        Ok(rows.iter().map(|r| FeedbackView::from_row(r, creation)).collect())
    }
}
