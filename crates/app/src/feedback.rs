//! Feedback on every image: thumbs up, or thumbs down with what was wrong. A thumbs down on
//! a studio cutout points to the brush, where the seller can fix it for free; on a
//! generated image it offers the shot made again, free, once.

use serde::{Deserialize, Serialize};

use db::feedback::FeedbackRow;
use domain::feedback::{Category, Feedback, Rating};

use crate::cloud::{CloudOptions, Operation};
use crate::creations::{Accepting, CreationRequest, Options};
use crate::sessions::Principal;
use crate::{App, AppError, Client, Result, now_ms};

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
    /// After a thumbs down on a generated image: it may be made again, free, once.
    pub free_remake: bool,
}

impl FeedbackView {
    /// From a stored row (codes the domain wrote) on one of `creation`'s images.
    pub fn from_row(row: &FeedbackRow, creation: &db::creations::Creation, output: &db::creations::Output) -> Self {
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
            free_remake: creation.engine == "cloud"
                && rating == Rating::Down
                && output.charged.unwrap_or(0) > 0
                && remakeable(&output.label),
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
        Ok(FeedbackView::from_row(&row, &creation, &output))
    }

    /// A generated image the user marked down, made again at no cost. Once per image: the
    /// remake's id comes from the image's, so asking again answers with the same remake.
    pub async fn free_remake(
        &self,
        p: &Principal,
        output_id: &str,
        client: &Client,
    ) -> Result<db::creations::Creation> {
        let output = self.db.output_of(&p.user.id, output_id).await?;
        let creation = self.db.creation_of(&p.user.id, &output.creation_id).await?;
        let marked_down = self
            .feedback_on(p, &creation)
            .await?
            .iter()
            .any(|f| f.output_id == output.id && f.rating == Rating::Down.as_str());
        // A remake's own images were free: no chain of free remakes. Upscales and try-ons
        // are not shots that can be made again.
        let paid = output.charged.unwrap_or(0) > 0;
        if creation.engine != "cloud" || !marked_down || !paid || !remakeable(&output.label) {
            return Err(domain::Invalid::new(
                "not_remakeable",
                "output_id",
                "A free remake is for a generated image you marked as wrong.",
            )
            .into());
        }
        let tier = output.tier.clone().and_then(|t| serde_json::from_value(serde_json::Value::String(t)).ok());
        let cloud = CloudOptions {
            operation: Operation::Regenerate,
            output_id: Some(output.id.clone()),
            tier: tier.unwrap_or_default(),
            ..Default::default()
        };
        let options = Options { engine: Some("cloud".into()), presets: Vec::new(), recipe: Default::default(), cloud };
        let req = CreationRequest {
            callback_url: None,
            upload_id: None,
            upload_ids: Vec::new(),
            options,
            idempotency_key: None,
            fixes_from: None,
        };
        let uploads = self.request_uploads(p, &req).await?;
        let mut planned = self.plan(p, &req.options, uploads.first().cloned().flatten().as_deref()).await?;
        for item in &mut planned {
            item.price = Some(0);
        }
        let ids = crate::creations::creation_ids(&p.user.id, "remake", Some(&output.id), 1)?;
        let what = Accepting { engine: "cloud", planned: &planned, batch_id: None, hints: None };
        let mut made = self.accept(p, &uploads, &ids, &what, client).await?;
        made.pop().ok_or_else(|| AppError::Internal("no remake accepted".into()))
    }

    /// The user's verdicts on one creation's images.
    pub async fn feedback_on(&self, p: &Principal, creation: &db::creations::Creation) -> Result<Vec<FeedbackView>> {
        let rows = self.db.feedback_of(&p.user.id, Some(&creation.id)).await?;
        let outputs = self.db.outputs_of(&creation.id).await?;
        Ok(rows
            .iter()
            .filter_map(|r| {
                outputs.iter().find(|o| o.id == r.output_id).map(|o| FeedbackView::from_row(r, creation, o))
            })
            .collect())
    }
}

/// Shots the cloud engine can make again (not an upscale, not a try-on).
fn remakeable(label: &str) -> bool {
    !matches!(label, "hd" | "try-on")
}
