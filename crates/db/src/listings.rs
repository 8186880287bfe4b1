//! Listings, their batches, brand profiles and Shopify connections. A listing's generation
//! is held when it is queued and charged (or released) in the transaction that records its
//! result, under references that name the listing and the generation: a retried job or a
//! replayed request moves nothing twice.

use serde::Serialize;

use crate::ledger::{Kind, Movement, Outcome, move_tokens};
use crate::queue::{NewJob, insert_job};
use crate::{Db, DbError, Result, with_pool};

pub const LISTING_JOB: &str = "listing";
pub const SHOPIFY_JOB: &str = "shopify_push";

#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct ListingBatch {
    pub id: String,
    #[serde(skip)]
    pub user_id: String,
    pub name: String,
    pub brand_version: Option<i64>,
    pub created_at: i64,
}

#[derive(Debug, Clone, Default, Serialize, sqlx::FromRow)]
pub struct ListingRow {
    pub id: String,
    #[serde(skip)]
    pub user_id: String,
    pub batch_id: String,
    pub upload_id: Option<String>,
    pub ordinal: i64,
    pub jewellery: String,
    pub notes: String,
    pub status: String,
    /// Tokens held for the current generation.
    pub held: i64,
    pub generation: i64,
    #[serde(skip)]
    pub content: Option<String>,
    pub source: Option<String>,
    pub provider: Option<String>,
    pub model: Option<String>,
    pub edited: i64,
    pub error: Option<String>,
    pub shopify_status: Option<String>,
    pub shopify_product_id: Option<String>,
    pub shopify_error: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
}

macro_rules! listing_columns {
    () => {
        "id, user_id, batch_id, upload_id, ordinal, jewellery, notes, status, held, generation, content, source, provider, \
         model, edited, error, shopify_status, shopify_product_id, shopify_error, created_at, updated_at"
    };
}

/// How a generation ended.
pub struct Written<'a> {
    pub content: Option<&'a str>,
    pub source: Option<&'a str>,
    pub provider: Option<&'a str>,
    pub model: Option<&'a str>,
    pub error: Option<&'a str>,
}

fn hold_ref(id: &str, generation: i64) -> String {
    format!("listing:{id}:{generation}")
}

/// A listing job names the generation it writes: a late job of an earlier one does nothing.
pub fn job_payload(id: &str, generation: i64) -> String {
    format!("{id}:{generation}")
}

/// The listing id and generation a job names.
pub fn parse_payload(payload: &str) -> Option<(&str, i64)> {
    let (id, generation) = payload.rsplit_once(':')?;
    Some((id, generation.parse().ok()?))
}

impl Db {
    /// A batch and its listings, each held at `price` and queued, all or nothing.
    pub async fn create_listing_batch(
        &self,
        batch: &ListingBatch,
        items: &[ListingRow],
        price: i64,
        now: i64,
    ) -> Result<Outcome> {
        with_pool!(self, |p| {
            let mut tx = p.begin().await?;
            sqlx::query("INSERT INTO listing_batches (id, user_id, name, brand_version, created_at) VALUES ($1, $2, $3, $4, $5)")
                .bind(&batch.id)
                .bind(&batch.user_id)
                .bind(&batch.name)
                .bind(batch.brand_version)
                .bind(now)
                .execute(&mut *tx)
                .await?;
            let mut outcome = Outcome::Duplicate;
            for l in items {
                let reference = hold_ref(&l.id, 1);
                let hold = Movement {
                    user_id: &l.user_id,
                    kind: Kind::Hold,
                    amount: price,
                    reason: "Listing accepted",
                    reference: &reference,
                    actor: "self",
                };
                hold.check()?;
                outcome = move_tokens!(tx, hold, now).await?.0;
                if !matches!(outcome, Outcome::Applied(_)) {
                    tx.rollback().await?;
                    return Ok(outcome);
                }
                sqlx::query(concat!(
                    "INSERT INTO listings (",
                    listing_columns!(),
                    ") VALUES ($1, $2, $3, $4, $5, $6, $7, 'queued', $9, 1, NULL, NULL, NULL, NULL, 0, NULL, NULL, NULL, NULL, $8, $8)"
                ))
                .bind(&l.id)
                .bind(&l.user_id)
                .bind(&batch.id)
                .bind(&l.upload_id)
                .bind(l.ordinal)
                .bind(&l.jewellery)
                .bind(&l.notes)
                .bind(now)
                .bind(price)
                .execute(&mut *tx)
                .await?;
                let payload = job_payload(&l.id, 1);
                let job = NewJob {
                    kind: LISTING_JOB,
                    payload: &payload,
                    max_attempts: 3,
                    idempotency_key: Some(&reference),
                    user_id: Some(&l.user_id),
                };
                insert_job!(&mut *tx, job, now).await?;
            }
            tx.commit().await?;
            Ok(outcome)
        })
    }

    pub async fn listing_batches_of(&self, user_id: &str) -> Result<Vec<ListingBatch>> {
        Ok(with_pool!(self, |p| sqlx::query_as::<_, ListingBatch>(
            "SELECT id, user_id, name, brand_version, created_at FROM listing_batches WHERE user_id = $1 \
             ORDER BY created_at DESC"
        )
        .bind(user_id)
        .fetch_all(p)
        .await)?)
    }

    pub async fn listing_batch_of(&self, user_id: &str, id: &str) -> Result<ListingBatch> {
        with_pool!(self, |p| sqlx::query_as::<_, ListingBatch>(
            "SELECT id, user_id, name, brand_version, created_at FROM listing_batches WHERE id = $1 AND user_id = $2"
        )
        .bind(id)
        .bind(user_id)
        .fetch_optional(p)
        .await)?
        .ok_or(DbError::NotFound)
    }

    pub async fn listings_of_batch(&self, user_id: &str, batch_id: &str) -> Result<Vec<ListingRow>> {
        let sql = concat!(
            "SELECT ",
            listing_columns!(),
            " FROM listings WHERE batch_id = $1 AND user_id = $2 ORDER BY ordinal"
        );
        Ok(with_pool!(self, |p| sqlx::query_as::<_, ListingRow>(sql).bind(batch_id).bind(user_id).fetch_all(p).await)?)
    }

    pub async fn listing(&self, id: &str) -> Result<ListingRow> {
        let sql = concat!("SELECT ", listing_columns!(), " FROM listings WHERE id = $1");
        with_pool!(self, |p| sqlx::query_as::<_, ListingRow>(sql).bind(id).fetch_optional(p).await)?
            .ok_or(DbError::NotFound)
    }

    pub async fn listing_of(&self, user_id: &str, id: &str) -> Result<ListingRow> {
        let sql = concat!("SELECT ", listing_columns!(), " FROM listings WHERE id = $1 AND user_id = $2");
        with_pool!(self, |p| sqlx::query_as::<_, ListingRow>(sql).bind(id).bind(user_id).fetch_optional(p).await)?
            .ok_or(DbError::NotFound)
    }

    pub async fn start_listing(&self, id: &str, now: i64) -> Result<()> {
        with_pool!(self, |p| sqlx::query(
            "UPDATE listings SET status = 'running', updated_at = $2 WHERE id = $1 AND status = 'queued'"
        )
        .bind(id)
        .bind(now)
        .execute(p)
        .await
        .map(|_| ()))?;
        Ok(())
    }

    /// Records the row's generation: ready with its content and charged, or not written and
    /// released — `failed`, or `ready` again with the copy an earlier generation wrote (the
    /// error kept as a note). Settles the amount held for it. False when that generation
    /// had already ended.
    pub async fn finish_listing(&self, l: &ListingRow, r: &Written<'_>, now: i64) -> Result<bool> {
        let price = l.held;
        let status = if r.content.is_some() || l.content.is_some() { "ready" } else { "failed" };
        let (charge, release) =
            (format!("{}:charge", hold_ref(&l.id, l.generation)), format!("{}:release", hold_ref(&l.id, l.generation)));
        with_pool!(self, |p| {
            let mut tx = p.begin().await?;
            let changed = sqlx::query(
                "UPDATE listings SET status = $3, content = COALESCE($4, content), source = COALESCE($5, source), \
                 provider = COALESCE($6, provider), model = COALESCE($7, model), \
                 error = $8, edited = CASE WHEN $4 IS NULL THEN edited ELSE 0 END, updated_at = $9 \
                 WHERE id = $1 AND generation = $2 AND status IN ('queued', 'running')",
            )
            .bind(&l.id)
            .bind(l.generation)
            .bind(status)
            .bind(r.content)
            .bind(r.source)
            .bind(r.provider)
            .bind(r.model)
            .bind(r.error)
            .bind(now)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            if changed == 0 {
                tx.rollback().await?;
                return Ok(false);
            }
            let (kind, reference, reason) = if r.content.is_some() {
                (Kind::Charge, &charge, "Listing written")
            } else {
                (Kind::Release, &release, "Listing failed: tokens returned")
            };
            let m = Movement { user_id: &l.user_id, kind, amount: price, reason, reference, actor: "system" };
            if !matches!(move_tokens!(tx, m, now).await?.0, Outcome::Applied(_) | Outcome::Duplicate) {
                tx.rollback().await?;
                return Err(DbError::Invalid(format!("settling listing {} failed", l.id)));
            }
            tx.commit().await?;
            Ok(true)
        })
    }

    /// Queues another generation of a ready or failed listing, holding `price` for it.
    pub async fn regenerate_listing(&self, user_id: &str, id: &str, price: i64, now: i64) -> Result<Outcome> {
        with_pool!(self, |p| {
            let mut tx = p.begin().await?;
            let generation: Option<i64> = sqlx::query_scalar(
                "UPDATE listings SET generation = generation + 1, held = $4, status = 'queued', error = NULL, \
                 updated_at = $3 WHERE id = $1 AND user_id = $2 AND status IN ('ready', 'failed') RETURNING generation",
            )
            .bind(id)
            .bind(user_id)
            .bind(now)
            .bind(price)
            .fetch_optional(&mut *tx)
            .await?;
            let Some(generation) = generation else {
                tx.rollback().await?;
                return Err(DbError::Invalid("listing is still being written".into()));
            };
            let reference = hold_ref(id, generation);
            let hold = Movement {
                user_id,
                kind: Kind::Hold,
                amount: price,
                reason: "Listing accepted",
                reference: &reference,
                actor: "self",
            };
            let outcome = move_tokens!(tx, hold, now).await?.0;
            if !matches!(outcome, Outcome::Applied(_)) {
                tx.rollback().await?;
                return Ok(outcome);
            }
            let payload = job_payload(id, generation);
            let job = NewJob {
                kind: LISTING_JOB,
                payload: &payload,
                max_attempts: 3,
                idempotency_key: Some(&reference),
                user_id: Some(user_id),
            };
            insert_job!(&mut *tx, job, now).await?;
            tx.commit().await?;
            Ok(outcome)
        })
    }

    /// The seller's own wording replaces the content of a ready listing.
    pub async fn edit_listing(&self, user_id: &str, id: &str, content: &str, now: i64) -> Result<()> {
        let changed = with_pool!(self, |p| {
            sqlx::query(
            "UPDATE listings SET content = $3, edited = 1, updated_at = $4 WHERE id = $1 AND user_id = $2 AND status = 'ready'"
        )
        .bind(id)
        .bind(user_id)
        .bind(content)
        .bind(now)
        .execute(p)
        .await
        .map(|r| r.rows_affected())
        })?;
        if changed == 0 {
            return Err(DbError::Invalid("only a ready listing can be edited".into()));
        }
        Ok(())
    }

    /// Queues pushes of the batch's ready listings not pushed yet; how many were queued.
    pub async fn queue_shopify_pushes(&self, user_id: &str, batch_id: &str, now: i64) -> Result<u64> {
        with_pool!(self, |p| {
            let mut tx = p.begin().await?;
            let ids: Vec<String> = sqlx::query_scalar(
                "UPDATE listings SET shopify_status = 'queued', shopify_error = NULL, updated_at = $3 \
                 WHERE batch_id = $1 AND user_id = $2 AND status = 'ready' \
                 AND (shopify_status IS NULL OR shopify_status = 'failed') RETURNING id",
            )
            .bind(batch_id)
            .bind(user_id)
            .bind(now)
            .fetch_all(&mut *tx)
            .await?;
            for id in &ids {
                let key = format!("shopify:{id}:{now}");
                let job = NewJob {
                    kind: SHOPIFY_JOB,
                    payload: id,
                    max_attempts: 5,
                    idempotency_key: Some(&key),
                    user_id: Some(user_id),
                };
                insert_job!(&mut *tx, job, now).await?;
            }
            tx.commit().await?;
            Ok(ids.len() as u64)
        })
    }

    pub async fn set_shopify_status(
        &self,
        id: &str,
        status: &str,
        product: Option<&str>,
        error: Option<&str>,
        now: i64,
    ) -> Result<()> {
        with_pool!(self, |p| sqlx::query(
            "UPDATE listings SET shopify_status = $2, shopify_product_id = COALESCE($3, shopify_product_id), \
             shopify_error = $4, updated_at = $5 WHERE id = $1"
        )
        .bind(id)
        .bind(status)
        .bind(product)
        .bind(error)
        .bind(now)
        .execute(p)
        .await
        .map(|_| ()))?;
        Ok(())
    }

    /// Saves a new version of the user's brand profile; returns its version number.
    pub async fn save_brand_profile(&self, user_id: &str, profile: &str, now: i64) -> Result<i64> {
        with_pool!(self, |p| {
            let mut tx = p.begin().await?;
            let version: i64 = sqlx::query_scalar(
                "INSERT INTO brand_profiles (user_id, version, profile, created_at) \
                 SELECT $1, COALESCE(MAX(version), 0) + 1, $2, $3 FROM brand_profiles WHERE user_id = $1 RETURNING version",
            )
            .bind(user_id)
            .bind(profile)
            .bind(now)
            .fetch_one(&mut *tx)
            .await?;
            tx.commit().await?;
            Ok(version)
        })
    }

    /// The newest brand profile: (version, JSON, saved at).
    pub async fn brand_profile(&self, user_id: &str) -> Result<Option<(i64, String, i64)>> {
        Ok(with_pool!(self, |p| sqlx::query_as::<_, (i64, String, i64)>(
            "SELECT version, profile, created_at FROM brand_profiles WHERE user_id = $1 ORDER BY version DESC LIMIT 1"
        )
        .bind(user_id)
        .fetch_optional(p)
        .await)?)
    }

    /// One saved version of the user's brand profile (JSON).
    pub async fn brand_profile_version(&self, user_id: &str, version: i64) -> Result<Option<String>> {
        Ok(with_pool!(self, |p| sqlx::query_scalar::<_, String>(
            "SELECT profile FROM brand_profiles WHERE user_id = $1 AND version = $2"
        )
        .bind(user_id)
        .bind(version)
        .fetch_optional(p)
        .await)?)
    }

    pub async fn brand_profile_versions(&self, user_id: &str) -> Result<Vec<(i64, i64)>> {
        Ok(with_pool!(self, |p| sqlx::query_as::<_, (i64, i64)>(
            "SELECT version, created_at FROM brand_profiles WHERE user_id = $1 ORDER BY version DESC"
        )
        .bind(user_id)
        .fetch_all(p)
        .await)?)
    }

    pub async fn save_shop(&self, user_id: &str, shop: &str, sealed_token: &str, now: i64) -> Result<()> {
        with_pool!(self, |p| sqlx::query(
            "INSERT INTO shop_connections (user_id, shop, sealed_token, created_at) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (user_id) DO UPDATE SET shop = $2, sealed_token = $3, created_at = $4"
        )
        .bind(user_id)
        .bind(shop)
        .bind(sealed_token)
        .bind(now)
        .execute(p)
        .await
        .map(|_| ()))?;
        Ok(())
    }

    /// The connected store: (shop domain, sealed token).
    pub async fn shop_of(&self, user_id: &str) -> Result<Option<(String, String)>> {
        Ok(with_pool!(self, |p| sqlx::query_as::<_, (String, String)>(
            "SELECT shop, sealed_token FROM shop_connections WHERE user_id = $1"
        )
        .bind(user_id)
        .fetch_optional(p)
        .await)?)
    }

    pub async fn delete_shop(&self, user_id: &str) -> Result<()> {
        with_pool!(self, |p| sqlx::query("DELETE FROM shop_connections WHERE user_id = $1")
            .bind(user_id)
            .execute(p)
            .await
            .map(|_| ()))?;
        Ok(())
    }
}
