//! The cloud engine's records: every model call with its usage and cost, and the
//! watermarked previews made for visitors who are not signed in.

use serde::Serialize;

use crate::queue::{NewJob, insert_job};
use crate::{Db, DbError, Result, new_id, with_pool};

pub const PREVIEW_JOB: &str = "preview";

/// One call to an image or vision model.
#[derive(Debug, Clone, Default)]
pub struct ProviderCall<'a> {
    pub user_id: Option<&'a str>,
    pub creation_id: Option<&'a str>,
    pub provider: &'a str,
    pub model: &'a str,
    /// `scene`, `judge`, `upscale`, `preview`…
    pub purpose: &'a str,
    /// `ok`, `rejected` (failed the fidelity check) or the error's code.
    pub outcome: &'a str,
    pub latency_ms: i64,
    pub input_tokens: i64,
    pub output_tokens: i64,
    pub cost_micros: i64,
    pub fidelity: Option<f64>,
}

/// Calls and cost per provider, model and outcome (admin view).
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct CallSummary {
    pub provider: String,
    pub model: String,
    pub outcome: String,
    pub calls: i64,
    pub cost_micros: i64,
}

#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct Preview {
    pub id: String,
    /// Digest of the visitor's trial token.
    #[serde(skip)]
    pub device: String,
    #[serde(skip)]
    pub network: String,
    pub theme: String,
    pub jewellery: String,
    pub status: String,
    #[serde(skip)]
    pub wrapped_key: String,
    #[serde(skip)]
    pub photo_key: Option<String>,
    #[serde(skip)]
    pub image_key: Option<String>,
    pub fidelity: Option<f64>,
    pub error: Option<String>,
    pub created_at: i64,
    pub expires_at: i64,
}

macro_rules! preview_columns {
    () => {
        "id, device, network, theme, jewellery, status, wrapped_key, photo_key, image_key, fidelity, error, created_at, expires_at"
    };
}

impl Db {
    pub async fn record_provider_call(&self, c: &ProviderCall<'_>, now: i64) -> Result<()> {
        with_pool!(self, |p| sqlx::query(
            "INSERT INTO provider_calls (id, user_id, creation_id, provider, model, purpose, outcome, latency_ms, \
             input_tokens, output_tokens, cost_micros, fidelity, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)"
        )
        .bind(new_id())
        .bind(c.user_id)
        .bind(c.creation_id)
        .bind(c.provider)
        .bind(c.model)
        .bind(c.purpose)
        .bind(c.outcome)
        .bind(c.latency_ms)
        .bind(c.input_tokens)
        .bind(c.output_tokens)
        .bind(c.cost_micros)
        .bind(c.fidelity)
        .bind(now)
        .execute(p)
        .await
        .map(|_| ()))?;
        Ok(())
    }

    /// Calls since `since`, grouped for the admin's cost view.
    pub async fn provider_call_summary(&self, since: i64) -> Result<Vec<CallSummary>> {
        Ok(with_pool!(self, |p| {
            sqlx::query_as::<_, CallSummary>(
            "SELECT provider, model, outcome, COUNT(*) AS calls, CAST(COALESCE(SUM(cost_micros), 0) AS BIGINT) AS cost_micros \
             FROM provider_calls WHERE created_at >= $1 GROUP BY provider, model, outcome ORDER BY provider, model, outcome"
        )
        .bind(since)
        .fetch_all(p)
        .await
        })?)
    }

    /// A preview and its job, in one transaction.
    pub async fn create_preview(&self, p: &Preview) -> Result<()> {
        with_pool!(self, |pool| {
            let mut tx = pool.begin().await?;
            sqlx::query(concat!(
                "INSERT INTO previews (",
                preview_columns!(),
                ") VALUES ($1, $2, $3, $4, $5, 'queued', $6, $7, NULL, NULL, NULL, $8, $9)"
            ))
            .bind(&p.id)
            .bind(&p.device)
            .bind(&p.network)
            .bind(&p.theme)
            .bind(&p.jewellery)
            .bind(&p.wrapped_key)
            .bind(&p.photo_key)
            .bind(p.created_at)
            .bind(p.expires_at)
            .execute(&mut *tx)
            .await?;
            let job =
                NewJob { kind: PREVIEW_JOB, payload: &p.id, max_attempts: 3, idempotency_key: None, user_id: None };
            insert_job!(&mut *tx, job, p.created_at).await?;
            tx.commit().await
        })?;
        Ok(())
    }

    pub async fn preview(&self, id: &str) -> Result<Preview> {
        let sql = concat!("SELECT ", preview_columns!(), " FROM previews WHERE id = $1");
        with_pool!(self, |p| sqlx::query_as::<_, Preview>(sql).bind(id).fetch_optional(p).await)?
            .ok_or(DbError::NotFound)
    }

    /// Ends a preview: its image (or its error), and the photo's key cleared (the caller
    /// removes the photo object).
    pub async fn finish_preview(
        &self,
        id: &str,
        image_key: Option<&str>,
        fidelity: Option<f64>,
        error: Option<&str>,
    ) -> Result<()> {
        let status = if image_key.is_some() { "succeeded" } else { "failed" };
        with_pool!(self, |p| sqlx::query(
            "UPDATE previews SET status = $2, image_key = $3, fidelity = $4, error = $5, photo_key = NULL \
             WHERE id = $1 AND status IN ('queued', 'running')"
        )
        .bind(id)
        .bind(status)
        .bind(image_key)
        .bind(fidelity)
        .bind(error)
        .execute(p)
        .await
        .map(|_| ()))?;
        Ok(())
    }

    /// Previews past their expiry, for the sweeper.
    pub async fn expired_previews(&self, now: i64) -> Result<Vec<Preview>> {
        let sql = concat!("SELECT ", preview_columns!(), " FROM previews WHERE expires_at < $1 LIMIT 500");
        Ok(with_pool!(self, |p| sqlx::query_as::<_, Preview>(sql).bind(now).fetch_all(p).await)?)
    }

    pub async fn delete_preview(&self, id: &str) -> Result<()> {
        with_pool!(self, |p| sqlx::query("DELETE FROM previews WHERE id = $1").bind(id).execute(p).await.map(|_| ()))?;
        Ok(())
    }
}
