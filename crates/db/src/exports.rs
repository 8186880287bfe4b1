//! Data exports: a row per request, accepted together with the job that builds it.

use serde::Serialize;

use crate::outbox::{NewMail, queue_mail};
use crate::queue::{NewJob, insert_job};
use crate::{Db, DbError, Result, with_pool};

pub const JOB_KIND: &str = "export";

#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct Export {
    pub id: String,
    #[serde(skip)]
    pub user_id: String,
    /// `queued`, `ready` or `failed`.
    pub status: String,
    #[serde(skip)]
    pub blob_key: Option<String>,
    pub created_at: i64,
    pub ready_at: Option<i64>,
    pub expires_at: Option<i64>,
}

macro_rules! columns {
    () => {
        "id, user_id, status, blob_key, created_at, ready_at, expires_at"
    };
}

impl Db {
    /// The export row and its job, in one transaction.
    pub async fn create_export(&self, id: &str, user_id: &str, now: i64) -> Result<Export> {
        with_pool!(self, |p| {
            let mut tx = p.begin().await?;
            sqlx::query("INSERT INTO exports (id, user_id, status, created_at) VALUES ($1, $2, 'queued', $3)")
                .bind(id)
                .bind(user_id)
                .bind(now)
                .execute(&mut *tx)
                .await?;
            let job =
                NewJob { kind: JOB_KIND, payload: id, max_attempts: 5, idempotency_key: None, user_id: Some(user_id) };
            insert_job!(&mut *tx, job, now).await?;
            tx.commit().await
        })?;
        self.export(id).await
    }

    pub async fn export(&self, id: &str) -> Result<Export> {
        let sql = concat!("SELECT ", columns!(), " FROM exports WHERE id = $1");
        with_pool!(self, |p| sqlx::query_as::<_, Export>(sql).bind(id).fetch_optional(p).await)?
            .ok_or(DbError::NotFound)
    }

    pub async fn exports_of(&self, user_id: &str) -> Result<Vec<Export>> {
        let sql = concat!("SELECT ", columns!(), " FROM exports WHERE user_id = $1 ORDER BY created_at DESC LIMIT 20");
        Ok(with_pool!(self, |p| sqlx::query_as::<_, Export>(sql).bind(user_id).fetch_all(p).await)?)
    }

    /// Ready (with its snapshot) or failed (without), with the mail announcing it. False
    /// (and no mail) when the export is no longer waiting — deleted with its account, say.
    pub async fn finish_export(
        &self,
        id: &str,
        blob_key: Option<&str>,
        now: i64,
        expires_at: i64,
        mail: Option<&NewMail<'_>>,
    ) -> Result<bool> {
        let status = if blob_key.is_some() { "ready" } else { "failed" };
        with_pool!(self, |p| {
            let mut tx = p.begin().await?;
            let changed = sqlx::query(
                "UPDATE exports SET status = $2, blob_key = $3, ready_at = $4, expires_at = $5 \
                 WHERE id = $1 AND status = 'queued'",
            )
            .bind(id)
            .bind(status)
            .bind(blob_key)
            .bind(now)
            .bind(expires_at)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            if changed == 1
                && let Some(mail) = mail
            {
                queue_mail!(tx, mail, now).await?;
            }
            tx.commit().await?;
            Ok::<_, sqlx::Error>(changed == 1)
        })
        .map_err(crate::DbError::from)
    }
}
