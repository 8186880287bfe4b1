//! Creations and outputs, with their token movements in the same transactions: a creation
//! is accepted together with its hold and its job; an output is recorded together with its
//! charge; a creation ends together with the release of what was not charged.

use serde::Serialize;

use crate::ledger::{Balance, Kind, Movement, Outcome, move_tokens};
use crate::queue::{NewJob, insert_job};
use crate::{Db, DbError, Result, new_id, with_pool};

#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct Creation {
    pub id: String,
    #[serde(skip)]
    pub user_id: String,
    pub upload_id: Option<String>,
    pub engine: String,
    #[serde(skip)]
    pub recipes: String,
    pub status: String,
    pub progress: i64,
    pub tokens_held: i64,
    pub tokens_charged: i64,
    pub error: Option<String>,
    /// A stable code for `error` (`unsuitable_background`, `photo_deleted`, …).
    pub error_code: Option<String>,
    /// The API key that asked for it, if one did (its images count in the key's usage).
    #[serde(skip)]
    pub api_key_id: Option<String>,
    pub batch_id: Option<String>,
    /// What the detection pre-pass saw (JSON), for generative creations.
    pub detection: Option<String>,
    /// Shots that could not be made (and were not charged), in words for the user.
    pub notice: Option<String>,
    /// Their ordinals, comma-separated.
    #[serde(skip)]
    pub skipped: Option<String>,
    /// Keep/remove strokes the seller painted to fix the cutout (JSON), for a correction.
    #[serde(skip)]
    pub hints: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
}

/// Why a creation ended without all its images: a stable code and words for the seller.
#[derive(Debug, Clone, Copy)]
pub struct Failure<'a> {
    pub code: &'a str,
    pub message: &'a str,
}

/// How much of an account's content exists.
#[derive(Debug, Clone, Copy, Default, sqlx::FromRow)]
pub struct ContentCounts {
    pub uploads: i64,
    pub creations: i64,
    pub outputs: i64,
}

#[derive(Debug, Clone, Default, Serialize, sqlx::FromRow)]
pub struct Output {
    pub id: String,
    pub creation_id: String,
    #[serde(skip)]
    pub user_id: String,
    pub ordinal: i64,
    pub label: String,
    pub format: String,
    pub width: i64,
    pub height: i64,
    pub bytes: i64,
    #[serde(skip)]
    pub blob_key: String,
    #[serde(skip)]
    pub compliance: Option<String>,
    /// How a generated output was made: provider, model, prompt library version, tier.
    pub provider: Option<String>,
    pub model: Option<String>,
    pub prompt_version: Option<String>,
    pub tier: Option<String>,
    /// Tokens charged for this output.
    pub charged: Option<i64>,
    /// The fidelity check (JSON: score, measures, judge, hybrid placement).
    #[serde(skip)]
    pub fidelity: Option<String>,
    /// How sure the cutout under the image was, 0–1 (low: check the edges).
    pub confidence: Option<f64>,
    /// Where the local engine placed the piece (JSON), for the aligned "before".
    #[serde(skip)]
    pub placement: Option<String>,
    pub created_at: i64,
}

impl Output {
    /// `amazon.jpg`: what the image is for and its format's usual extension.
    pub fn file_name(&self) -> String {
        let extension = if self.format == "jpeg" { "jpg" } else { self.format.as_str() };
        format!("{}.{extension}", self.label)
    }
}

macro_rules! creation_columns {
    () => {
        "id, user_id, upload_id, engine, recipes, status, progress, tokens_held, tokens_charged, error, error_code, api_key_id, batch_id, detection, notice, skipped, hints, created_at, updated_at"
    };
}

macro_rules! output_columns {
    () => {
        "id, creation_id, user_id, ordinal, label, format, width, height, bytes, blob_key, compliance, provider, model, prompt_version, tier, charged, fidelity, confidence, placement, created_at"
    };
}

pub const JOB_KIND: &str = "render_creation";

/// What `add_output` did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Recorded {
    /// Stored, and charged when it had a price (a correction's or remake's has none).
    Stored,
    /// This output was already recorded (a retried job); the stored one stands.
    Duplicate,
    /// The creation had ended (canceled, failed): nothing stored, nothing charged, and the
    /// caller's blob belongs to no one.
    Ended,
}

/// The ledger reasons of free creations (held and charged nothing).
pub const FREE_REMAKE: &str = "Made again for free";
pub const FREE_CORRECTION: &str = "Cutout fixed by hand, free";

impl Db {
    /// Accepts creations (one, or a batch) all or nothing: each holds its cost, is stored
    /// and gets its job in one transaction. Returns `Insufficient` (and stores nothing) when
    /// the balance cannot cover every hold.
    pub async fn create_creations(&self, creations: &[Creation], now: i64) -> Result<Outcome> {
        let references: Vec<String> = creations.iter().map(|c| format!("creation:{}", c.id)).collect();
        with_pool!(self, |p| {
            let mut tx = p.begin().await?;
            let mut outcome = Outcome::Duplicate;
            // One millisecond apart, in the order asked: a batch lists in upload order and
            // pages on `created_at` never split it.
            for ((c, reference), at) in creations.iter().zip(&references).zip(now..) {
                let hold = Movement {
                    user_id: &c.user_id,
                    kind: Kind::Hold,
                    amount: c.tokens_held,
                    reason: "Creation accepted",
                    reference,
                    actor: "self",
                };
                // A free creation (a correction) moves no tokens: there is nothing to hold.
                if c.tokens_held != 0 {
                    hold.check()?;
                    outcome = move_tokens!(tx, hold, now).await?.0;
                    if !matches!(outcome, Outcome::Applied(_)) {
                        tx.rollback().await?;
                        return Ok(outcome);
                    }
                }
                let inserted = sqlx::query(concat!(
                    "INSERT INTO creations (",
                    creation_columns!(),
                    ") VALUES ($1, $2, $3, $4, $5, 'queued', 0, $6, 0, NULL, NULL, $10, $7, NULL, NULL, NULL, $9, $8, $8) \
                     ON CONFLICT (id) DO NOTHING"
                ))
                .bind(&c.id)
                .bind(&c.user_id)
                .bind(&c.upload_id)
                .bind(&c.engine)
                .bind(&c.recipes)
                .bind(c.tokens_held)
                .bind(&c.batch_id)
                .bind(at)
                .bind(&c.hints)
                .bind(&c.api_key_id)
                .execute(&mut *tx)
                .await?
                .rows_affected();
                // Without a hold to recognise it by, a repeated free request is known by its id.
                if inserted == 0 {
                    tx.rollback().await?;
                    return Ok(Outcome::Duplicate);
                }
                // A free one is in the ledger too, at no cost: the statement lists it.
                if c.tokens_held == 0 {
                    let free =
                        Movement { reason: if c.hints.is_some() { FREE_CORRECTION } else { FREE_REMAKE }, ..hold };
                    outcome = move_tokens!(tx, free, now).await?.0;
                }
                let job = NewJob {
                    kind: JOB_KIND,
                    payload: &c.id,
                    // Backoffs of 2, 4, 8 and 16 s: a worker killed mid-job and a storage
                    // outage of half a minute still end in images, not a refund.
                    max_attempts: 5,
                    idempotency_key: Some(reference),
                    user_id: Some(&c.user_id),
                };
                insert_job!(&mut *tx, job, now).await?;
            }
            tx.commit().await?;
            Ok(outcome)
        })
    }

    pub async fn creation_of(&self, user_id: &str, id: &str) -> Result<Creation> {
        with_pool!(self, |p| sqlx::query_as::<_, Creation>(concat!(
            "SELECT ",
            creation_columns!(),
            " FROM creations WHERE id = $1 AND user_id = $2"
        ))
        .bind(id)
        .bind(user_id)
        .fetch_optional(p)
        .await)?
        .ok_or(DbError::NotFound)
    }

    /// For the worker, which acts for the owner recorded on the creation.
    pub async fn creation(&self, id: &str) -> Result<Creation> {
        with_pool!(self, |p| sqlx::query_as::<_, Creation>(concat!(
            "SELECT ",
            creation_columns!(),
            " FROM creations WHERE id = $1"
        ))
        .bind(id)
        .fetch_optional(p)
        .await)?
        .ok_or(DbError::NotFound)
    }

    pub async fn creations_of(&self, user_id: &str, before: Option<i64>, limit: i64) -> Result<Vec<Creation>> {
        Ok(with_pool!(self, |p| sqlx::query_as::<_, Creation>(concat!(
            "SELECT ",
            creation_columns!(),
            " FROM creations WHERE user_id = $1 AND created_at < $2 ORDER BY created_at DESC, id DESC LIMIT $3"
        ))
        .bind(user_id)
        .bind(before.unwrap_or(i64::MAX))
        .bind(limit)
        .fetch_all(p)
        .await)?)
    }

    /// The creations of one batch, oldest first.
    pub async fn batch_of(&self, user_id: &str, batch_id: &str) -> Result<Vec<Creation>> {
        let list = with_pool!(self, |p| sqlx::query_as::<_, Creation>(concat!(
            "SELECT ",
            creation_columns!(),
            " FROM creations WHERE batch_id = $1 AND user_id = $2 ORDER BY created_at, id"
        ))
        .bind(batch_id)
        .bind(user_id)
        .fetch_all(p)
        .await)?;
        if list.is_empty() { Err(DbError::NotFound) } else { Ok(list) }
    }

    pub async fn set_creation_progress(&self, id: &str, status: &str, progress: i64, now: i64) -> Result<()> {
        with_pool!(self, |p| {
            sqlx::query(
            "UPDATE creations SET status = $2, progress = $3, updated_at = $4 WHERE id = $1 AND status IN ('queued', 'running')"
        )
        .bind(id)
        .bind(status)
        .bind(progress)
        .bind(now)
        .execute(p)
        .await
        .map(|_| ())
        })?;
        Ok(())
    }

    /// Records an output and charges for it in one transaction. A retried job that made the
    /// same output again changes nothing (unique ordinal, unique charge reference).
    pub async fn add_output(&self, o: &Output, cost: i64, now: i64) -> Result<Recorded> {
        let reference = format!("creation:{}:output:{}", o.creation_id, o.ordinal);
        let charge = Movement {
            user_id: &o.user_id,
            kind: Kind::Charge,
            amount: cost,
            reason: "Image made",
            reference: &reference,
            actor: "system",
        };
        // A free output (a correction's) is recorded without a charge.
        if cost != 0 {
            charge.check()?;
        }
        with_pool!(self, |p| {
            let mut tx = p.begin().await?;
            // Counting the charge first locks the creation row, so it cannot end (and
            // release its hold) between this check and the charge; an ended creation
            // takes no more outputs.
            // A free output only on a free creation: a paid one never gives an image away.
            let active = sqlx::query(
                "UPDATE creations SET tokens_charged = tokens_charged + $2, updated_at = $3 \
                 WHERE id = $1 AND status IN ('queued', 'running') AND ($2 > 0 OR tokens_held = 0)",
            )
            .bind(&o.creation_id)
            .bind(cost)
            .bind(now)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            if active == 0 {
                tx.rollback().await?;
                if cost == 0 && self.creation(&o.creation_id).await?.tokens_held != 0 {
                    return Err(DbError::Invalid(format!("a free output on paid creation {}", o.creation_id)));
                }
                return Ok(Recorded::Ended);
            }
            let inserted = sqlx::query(concat!(
                "INSERT INTO outputs (",
                output_columns!(),
                ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20) ON CONFLICT (creation_id, ordinal) DO NOTHING"
            ))
            .bind(&o.id)
            .bind(&o.creation_id)
            .bind(&o.user_id)
            .bind(o.ordinal)
            .bind(&o.label)
            .bind(&o.format)
            .bind(o.width)
            .bind(o.height)
            .bind(o.bytes)
            .bind(&o.blob_key)
            .bind(&o.compliance)
            .bind(&o.provider)
            .bind(&o.model)
            .bind(&o.prompt_version)
            .bind(&o.tier)
            .bind(o.charged)
            .bind(&o.fidelity)
            .bind(o.confidence)
            .bind(&o.placement)
            .bind(now)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            if inserted == 0 {
                tx.rollback().await?;
                return Ok(Recorded::Duplicate);
            }
            // An image asked for with an API key counts in that key's usage for the day.
            sqlx::query(
                "INSERT INTO api_usage (key_id, user_id, key_name, day, calls, images, tokens) \
                 SELECT c.api_key_id, c.user_id, COALESCE(k.name, ''), $2, 0, 1, $3 \
                 FROM creations c LEFT JOIN api_keys k ON k.id = c.api_key_id \
                 WHERE c.id = $1 AND c.api_key_id IS NOT NULL \
                 ON CONFLICT (key_id, day) DO UPDATE SET images = api_usage.images + 1, \
                 tokens = api_usage.tokens + excluded.tokens",
            )
            .bind(&o.creation_id)
            .bind(crate::usage::day(now))
            .bind(cost)
            .execute(&mut *tx)
            .await?;
            if cost == 0 {
                tx.commit().await?;
                return Ok(Recorded::Stored);
            }
            let (outcome, _) = move_tokens!(tx, charge, now).await?;
            if !matches!(outcome, Outcome::Applied(_)) {
                tx.rollback().await?;
                return Err(DbError::Invalid(format!("charge for output {} was {outcome:?}", o.ordinal)));
            }
            tx.commit().await?;
            Ok(Recorded::Stored)
        })
    }

    pub async fn outputs_of(&self, creation_id: &str) -> Result<Vec<Output>> {
        Ok(with_pool!(self, |p| sqlx::query_as::<_, Output>(concat!(
            "SELECT ",
            output_columns!(),
            " FROM outputs WHERE creation_id = $1 ORDER BY ordinal"
        ))
        .bind(creation_id)
        .fetch_all(p)
        .await)?)
    }

    /// The user's newest outputs, newest first (staff's audited look at an account).
    pub async fn recent_outputs_of(&self, user_id: &str, limit: i64) -> Result<Vec<Output>> {
        Ok(with_pool!(self, |p| sqlx::query_as::<_, Output>(concat!(
            "SELECT ",
            output_columns!(),
            " FROM outputs WHERE user_id = $1 ORDER BY created_at DESC, id DESC LIMIT $2"
        ))
        .bind(user_id)
        .bind(limit)
        .fetch_all(p)
        .await)?)
    }

    /// How much of an account's content exists: photos, creations and images.
    pub async fn content_counts(&self, user_id: &str) -> Result<ContentCounts> {
        Ok(with_pool!(self, |p| sqlx::query_as::<_, ContentCounts>(
            "SELECT (SELECT COUNT(*) FROM uploads WHERE user_id = $1) AS uploads, \
             (SELECT COUNT(*) FROM creations WHERE user_id = $1) AS creations, \
             (SELECT COUNT(*) FROM outputs WHERE user_id = $1) AS outputs"
        )
        .bind(user_id)
        .fetch_one(p)
        .await)?)
    }

    /// For a share link, whose signature already names the output.
    pub async fn output(&self, id: &str) -> Result<Output> {
        with_pool!(self, |p| sqlx::query_as::<_, Output>(concat!(
            "SELECT ",
            output_columns!(),
            " FROM outputs WHERE id = $1"
        ))
        .bind(id)
        .fetch_optional(p)
        .await)?
        .ok_or(DbError::NotFound)
    }

    pub async fn output_of(&self, user_id: &str, id: &str) -> Result<Output> {
        with_pool!(self, |p| sqlx::query_as::<_, Output>(concat!(
            "SELECT ",
            output_columns!(),
            " FROM outputs WHERE id = $1 AND user_id = $2"
        ))
        .bind(id)
        .bind(user_id)
        .fetch_optional(p)
        .await)?
        .ok_or(DbError::NotFound)
    }

    /// Ends a creation (succeeded, failed or canceled) and releases whatever of its hold
    /// was not charged, in one transaction. The amounts are read from the row the ending
    /// update locked, so a late output cannot slip between them. Ending twice changes nothing.
    pub async fn finish_creation(
        &self,
        id: &str,
        status: &str,
        error: Option<Failure<'_>>,
        now: i64,
    ) -> Result<Option<Balance>> {
        let reference = format!("creation:{id}:release");
        with_pool!(self, |p| {
            let mut tx = p.begin().await?;
            let ended: Option<(String, i64, i64)> = sqlx::query_as(
                "UPDATE creations SET status = $2, error = $3, error_code = $5, progress = CASE WHEN $2 = 'succeeded' THEN 100 ELSE progress END, updated_at = $4 \
                 WHERE id = $1 AND status IN ('queued', 'running') RETURNING user_id, tokens_held, tokens_charged",
            )
            .bind(id)
            .bind(status)
            .bind(error.map(|f| f.message))
            .bind(now)
            .bind(error.map(|f| f.code))
            .fetch_optional(&mut *tx)
            .await?;
            let Some((user_id, held, charged)) = ended else {
                tx.rollback().await?;
                return Ok(None);
            };
            let left = held - charged;
            let mut balance = None;
            if left > 0 {
                let release = Movement {
                    user_id: &user_id,
                    kind: Kind::Release,
                    amount: left,
                    reason: "Unused tokens returned",
                    reference: &reference,
                    actor: "system",
                };
                match move_tokens!(tx, release, now).await? {
                    (Outcome::Applied(b), _) => balance = Some(b),
                    (Outcome::Duplicate, _) => {}
                    (other, _) => {
                        // Never end a creation while its hold stays stuck: fail loudly, retry.
                        tx.rollback().await?;
                        return Err(DbError::Invalid(format!("release for creation {id} was {other:?}")));
                    }
                }
            }
            tx.commit().await?;
            Ok(balance)
        })
    }

    /// Cancels the owner's creation: it ends as canceled with its unused tokens released, and
    /// its job is canceled (or, if running, told to stop at its next heartbeat). Outputs
    /// already made stay, and stay charged. `Invalid` when it had already ended.
    pub async fn cancel_creation(&self, user_id: &str, id: &str, now: i64) -> Result<()> {
        let c = self.creation_of(user_id, id).await?;
        if !matches!(c.status.as_str(), "queued" | "running") {
            return Err(DbError::Invalid("creation already ended".into()));
        }
        self.finish_creation(id, "canceled", Some(Failure { code: "canceled", message: "Canceled" }), now).await?;
        if let Some(job) = self.job_by_key(&format!("creation:{id}")).await? {
            self.cancel_job(&job.id, now).await?;
        }
        Ok(())
    }

    /// Records what the detection pre-pass saw.
    pub async fn set_creation_detection(&self, id: &str, detection: &str, now: i64) -> Result<()> {
        with_pool!(self, |p| sqlx::query("UPDATE creations SET detection = $2, updated_at = $3 WHERE id = $1")
            .bind(id)
            .bind(detection)
            .bind(now)
            .execute(p)
            .await
            .map(|_| ()))?;
        Ok(())
    }

    /// Gives up shot `ordinal`, with a line for the user about it.
    pub async fn skip_shot(&self, id: &str, ordinal: i64, line: &str, now: i64) -> Result<()> {
        with_pool!(self, |p| sqlx::query(
            "UPDATE creations SET notice = CASE WHEN notice IS NULL THEN $2 ELSE notice || ' ' || $2 END, \
             skipped = CASE WHEN skipped IS NULL THEN $4 ELSE skipped || ',' || $4 END, updated_at = $3 WHERE id = $1"
        )
        .bind(id)
        .bind(line)
        .bind(now)
        .bind(ordinal.to_string())
        .execute(p)
        .await
        .map(|_| ()))?;
        Ok(())
    }

    /// Deletes a finished creation and returns its outputs' blob keys for removal.
    pub async fn delete_creation(&self, user_id: &str, id: &str) -> Result<Vec<String>> {
        let c = self.creation_of(user_id, id).await?;
        if matches!(c.status.as_str(), "queued" | "running") {
            return Err(DbError::Invalid("creation still in progress".into()));
        }
        let keys = self.outputs_of(id).await?.into_iter().map(|o| o.blob_key).collect();
        with_pool!(self, |p| {
            let mut tx = p.begin().await?;
            sqlx::query("DELETE FROM creations WHERE id = $1 AND user_id = $2")
                .bind(id)
                .bind(user_id)
                .execute(&mut *tx)
                .await?;
            // Its one-off callback goes with it, and its batch's with the batch's last creation.
            sqlx::query(
                "DELETE FROM webhook_endpoints WHERE user_id = $1 AND (subject_id = $2 OR (subject_id = $3 \
                 AND NOT EXISTS (SELECT 1 FROM creations WHERE user_id = $1 AND batch_id = $3)))",
            )
            .bind(user_id)
            .bind(id)
            .bind(&c.batch_id)
            .execute(&mut *tx)
            .await?;
            tx.commit().await
        })?;
        Ok(keys)
    }
}

/// A fresh creation record; `tokens_held` is the quote.
pub fn new_creation(user_id: &str, upload_id: &str, engine: &str, recipes: String, tokens_held: i64) -> Creation {
    Creation {
        id: new_id(),
        user_id: user_id.to_owned(),
        upload_id: Some(upload_id.to_owned()),
        engine: engine.to_owned(),
        recipes,
        status: "queued".into(),
        progress: 0,
        tokens_held,
        tokens_charged: 0,
        error: None,
        error_code: None,
        api_key_id: None,
        batch_id: None,
        detection: None,
        notice: None,
        skipped: None,
        hints: None,
        created_at: 0,
        updated_at: 0,
    }
}
