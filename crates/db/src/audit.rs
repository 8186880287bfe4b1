//! Audit log of security-relevant and admin actions, visible to the user it concerns.

use serde::Serialize;

use crate::{Db, Result, new_id, with_pool};

#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct AuditEntry {
    pub id: String,
    #[serde(skip)]
    pub user_id: Option<String>,
    /// `self`, `admin:<id>` or `system`.
    pub actor: String,
    pub action: String,
    pub detail: String,
    pub ip_network: String,
    pub created_at: i64,
}

impl Db {
    pub async fn audit(
        &self,
        user_id: Option<&str>,
        actor: &str,
        action: &str,
        detail: &str,
        ip_network: &str,
        now: i64,
    ) -> Result<()> {
        with_pool!(self, |p| {
            sqlx::query(
            "INSERT INTO audit_log (id, user_id, actor, action, detail, ip_network, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7)"
        )
        .bind(new_id())
        .bind(user_id)
        .bind(actor)
        .bind(action)
        .bind(detail)
        .bind(ip_network)
        .bind(now)
        .execute(p).await.map(|r| r.rows_affected())
        })?;
        Ok(())
    }

    pub async fn audit_of(&self, user_id: &str, limit: i64) -> Result<Vec<AuditEntry>> {
        Ok(with_pool!(self, |p| {
            sqlx::query_as::<_, AuditEntry>(
            "SELECT id, user_id, actor, action, detail, ip_network, created_at FROM audit_log WHERE user_id = $1 ORDER BY created_at DESC, id DESC LIMIT $2"
        )
        .bind(user_id)
        .bind(limit)
        .fetch_all(p)
        .await
        })?)
    }

    /// Whether the user signed in from `network` since `since` (a device they use).
    pub async fn signed_in_from(&self, user_id: &str, network: &str, since: i64) -> Result<bool> {
        Ok(with_pool!(self, |p| sqlx::query_scalar::<_, i64>(
            "SELECT COUNT(*) FROM audit_log WHERE user_id = $1 AND ip_network = $2 AND created_at > $3 \
             AND action IN ('signed_in', 'signed_in_with_code', 'signed_up', 'signed_up_with_code')"
        )
        .bind(user_id)
        .bind(network)
        .bind(since)
        .fetch_one(p)
        .await)?
            > 0)
    }

    /// Whether `actor` recorded `action` on the user's account since `since`.
    pub async fn audited_since(&self, user_id: &str, actor: &str, action: &str, since: i64) -> Result<bool> {
        Ok(with_pool!(self, |p| sqlx::query_scalar::<_, i64>(
            "SELECT COUNT(*) FROM audit_log WHERE user_id = $1 AND actor = $2 AND action = $3 AND created_at > $4"
        )
        .bind(user_id)
        .bind(actor)
        .bind(action)
        .bind(since)
        .fetch_one(p)
        .await)?
            > 0)
    }
}
