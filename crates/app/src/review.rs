//! The staff review queue: what to look at, how often sellers mark images down week by
//! week, and (admins) giving back what an image cost.

use db::ledger::{Kind, Movement, Outcome};
use db::review::{ReviewItem, refund_reference};
use domain::feedback::{FIRST_MONDAY_MS, Rating, Tally, WEEK_MS, Week};

use crate::sessions::Principal;
use crate::{App, AppError, Result, now_ms};

/// Why an image is in the queue, as the filter names it.
pub const REASONS: [(&str, &str); 4] = [
    ("any", "Everything"),
    ("confidence", "Doubtful cutout"),
    ("checks", "Failed a marketplace check"),
    ("down", "Marked down by the seller"),
];

impl App {
    pub async fn review_queue(&self, p: &Principal, reason: &str, engine: &str) -> Result<Vec<ReviewItem>> {
        p.require_staff()?;
        let reason = REASONS.iter().find(|(r, _)| *r == reason).map_or("any", |(r, _)| *r);
        let engine = if matches!(engine, "local" | "cloud") { engine } else { "" };
        Ok(self.db.review_queue(reason, engine, f64::from(imaging::LOW_CONFIDENCE), 200).await?)
    }

    /// The last `weeks` weeks (this one included) of thumbs-down rates per engine and kind,
    /// and what sellers said was wrong.
    pub async fn weekly_feedback(&self, p: &Principal, weeks: i64) -> Result<Vec<Week>> {
        p.require_staff()?;
        let since = domain::feedback::week_start(now_ms()) - (weeks.clamp(1, 52) - 1) * WEEK_MS;
        let rows = self.db.feedback_tallies(since, FIRST_MONDAY_MS, WEEK_MS).await?;
        let tallies: Vec<Tally<'_>> = rows
            .iter()
            .map(|r| Tally {
                week_start: r.bucket * WEEK_MS + FIRST_MONDAY_MS,
                engine: &r.engine,
                kind: &r.label,
                rating: r.rating.as_deref().and_then(Rating::parse),
                categories: &r.categories,
                images: r.images,
            })
            .collect();
        Ok(domain::feedback::weekly(&tallies))
    }

    /// Gives the seller back what one image cost, once, with a reason in their ledger and
    /// security log. Returns the tokens given back (0 when it was given already).
    pub async fn refund_output(&self, p: &Principal, output_id: &str, reason: &str) -> Result<i64> {
        p.require_admin()?;
        let reason = reason.trim();
        if reason.chars().count() < 3 {
            return Err(domain::Invalid::new("invalid_reason", "reason", "Say why the tokens are given back.").into());
        }
        let output = self.db.output(output_id).await?;
        let amount = output.charged.unwrap_or(0);
        if amount <= 0 {
            return Err(domain::Invalid::new("nothing_to_refund", "output_id", "This image cost nothing.").into());
        }
        let reference = refund_reference(&output.id);
        let actor = format!("admin:{}", p.user.id);
        let words = format!("Refund: {reason}");
        let m = Movement {
            user_id: &output.user_id,
            kind: Kind::Adjustment,
            amount,
            reason: &words,
            reference: &reference,
            actor: &actor,
        };
        match self.db.apply(m, now_ms()).await?.0 {
            Outcome::Applied(_) => {
                let detail = format!("{amount:+} for an image: {reason}");
                self.db.audit(Some(&output.user_id), &actor, "tokens_adjusted", &detail, "", now_ms()).await?;
                Ok(amount)
            }
            Outcome::Duplicate => Ok(0),
            Outcome::Insufficient => Err(AppError::Internal("a refund cannot be short".into())),
        }
    }
}
