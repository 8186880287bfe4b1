//! Consents and policy acknowledgements. A change of consent updates the user's current
//! choice and appends to the history in one transaction.

use serde::Serialize;

use crate::{Db, Result, new_id, with_pool};

#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct ConsentChange {
    pub purpose: String,
    pub granted: bool,
    /// `signup`, `settings`, `api`, `unsubscribe`.
    pub source: String,
    pub policy_version: String,
    pub created_at: i64,
}

/// What a consent is for, with the user column holding its current value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    Marketing,
    ModelTraining,
}

impl Purpose {
    pub fn as_str(self) -> &'static str {
        match self {
            Purpose::Marketing => "marketing",
            Purpose::ModelTraining => "model_training",
        }
    }

    fn column_update(self) -> &'static str {
        match self {
            Purpose::Marketing => "UPDATE users SET marketing_opt_in = $2, updated_at = $3 WHERE id = $1",
            Purpose::ModelTraining => "UPDATE users SET model_training_opt_in = $2, updated_at = $3 WHERE id = $1",
        }
    }
}

impl Db {
    /// Sets a consent and records the change (also when it repeats the current value: the
    /// person said it again, at that time, under that policy).
    pub async fn set_consent(
        &self,
        user_id: &str,
        purpose: Purpose,
        granted: bool,
        source: &str,
        policy_version: &str,
        now: i64,
    ) -> Result<()> {
        with_pool!(self, |p| {
            let mut tx = p.begin().await?;
            sqlx::query(purpose.column_update()).bind(user_id).bind(granted).bind(now).execute(&mut *tx).await?;
            sqlx::query(
                "INSERT INTO consents (id, user_id, purpose, granted, source, policy_version, created_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7)",
            )
            .bind(new_id())
            .bind(user_id)
            .bind(purpose.as_str())
            .bind(granted)
            .bind(source)
            .bind(policy_version)
            .bind(now)
            .execute(&mut *tx)
            .await?;
            tx.commit().await
        })?;
        Ok(())
    }

    /// Newest first.
    pub async fn consent_history(&self, user_id: &str) -> Result<Vec<ConsentChange>> {
        Ok(with_pool!(self, |p| sqlx::query_as::<_, ConsentChange>(
            "SELECT purpose, granted, source, policy_version, created_at FROM consents WHERE user_id = $1 \
             ORDER BY created_at DESC, id DESC"
        )
        .bind(user_id)
        .fetch_all(p)
        .await)?)
    }

    /// Records that the user has seen `version` (once; the first time counts).
    pub async fn acknowledge_policy(&self, user_id: &str, version: &str, now: i64) -> Result<()> {
        with_pool!(self, |p| {
            let mut tx = p.begin().await?;
            sqlx::query(
                "INSERT INTO policy_acknowledgements (user_id, version, acknowledged_at) VALUES ($1, $2, $3) \
                 ON CONFLICT DO NOTHING",
            )
            .bind(user_id)
            .bind(version)
            .bind(now)
            .execute(&mut *tx)
            .await?;
            sqlx::query("UPDATE users SET policy_acknowledged = $2 WHERE id = $1")
                .bind(user_id)
                .bind(version)
                .execute(&mut *tx)
                .await?;
            tx.commit().await
        })?;
        Ok(())
    }

    pub async fn acknowledged_policy(&self, user_id: &str, version: &str) -> Result<Option<i64>> {
        Ok(with_pool!(self, |p| sqlx::query_scalar::<_, i64>(
            "SELECT acknowledged_at FROM policy_acknowledgements WHERE user_id = $1 AND version = $2"
        )
        .bind(user_id)
        .bind(version)
        .fetch_optional(p)
        .await)?)
    }
}
