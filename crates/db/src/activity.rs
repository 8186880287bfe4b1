//! Usage events per user (sign-ins, uploads, creations, downloads, payments) with the device
//! they came from, for the user's "Activity and devices" page; purged after the retention.

use serde::Serialize;

use crate::{Db, Result, new_id, with_pool};

#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct Event {
    pub kind: String,
    pub detail: String,
    pub browser: String,
    pub os: String,
    pub device_type: String,
    pub ip_network: String,
    pub created_at: i64,
}

impl Db {
    pub async fn record_activity(&self, user_id: &str, e: &Event) -> Result<()> {
        with_pool!(self, |p| sqlx::query(
            "INSERT INTO activity (id, user_id, kind, detail, browser, os, device_type, ip_network, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)"
        )
        .bind(new_id())
        .bind(user_id)
        .bind(&e.kind)
        .bind(&e.detail)
        .bind(&e.browser)
        .bind(&e.os)
        .bind(&e.device_type)
        .bind(&e.ip_network)
        .bind(e.created_at)
        .execute(p)
        .await
        .map(|r| r.rows_affected()))?;
        Ok(())
    }

    /// Newest first.
    pub async fn activity_of(&self, user_id: &str, limit: i64) -> Result<Vec<Event>> {
        Ok(with_pool!(self, |p| sqlx::query_as::<_, Event>(
            "SELECT kind, detail, browser, os, device_type, ip_network, created_at FROM activity \
             WHERE user_id = $1 ORDER BY created_at DESC, id DESC LIMIT $2"
        )
        .bind(user_id)
        .bind(limit)
        .fetch_all(p)
        .await)?)
    }

    pub async fn purge_activity(&self, before: i64) -> Result<u64> {
        Ok(with_pool!(self, |p| sqlx::query("DELETE FROM activity WHERE created_at < $1")
            .bind(before)
            .execute(p)
            .await
            .map(|r| r.rows_affected()))?)
    }
}
