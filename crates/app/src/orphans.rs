//! The orphan sweeper. Blobs are written before the row that points at them commits, so a
//! crash, a failed insert or a canceled creation can leave a blob no row names. Those are
//! removed once they are older than a grace period long enough for any write in flight, as
//! are partial writes a killed process left behind.

use std::collections::{HashMap, HashSet};

use crate::{App, AppError, Result, now_ms};

/// Blobs younger than this are left alone: their row may be about to commit.
pub const GRACE_MS: i64 = 60 * 60 * 1000;

impl App {
    /// Removes every blob under `users/` that no row points at and that is older than
    /// `grace_ms`. Returns how many were removed.
    pub async fn sweep_orphans(&self, grace_ms: i64) -> Result<usize> {
        let listed = self.blobs.list("users").await.map_err(|e| AppError::Internal(format!("listing blobs: {e}")))?;
        let cutoff = now_ms() - grace_ms;
        let mut by_user: HashMap<String, Vec<String>> = HashMap::new();
        for blob in listed.into_iter().filter(|b| b.modified_ms < cutoff) {
            if let Some(user) = blob.path.split('/').nth(1) {
                by_user.entry(user.to_owned()).or_default().push(blob.path);
            }
        }
        let mut removed = self
            .blobs
            .remove_stale_staging(cutoff)
            .await
            .map_err(|e| AppError::Internal(format!("removing partial writes: {e}")))?;
        for (user, paths) in by_user {
            let referenced: HashSet<String> = self.db.referenced_blobs(&user, now_ms()).await?.into_iter().collect();
            let orphans: Vec<&str> =
                paths.iter().filter(|p| !referenced.contains(p.as_str())).map(String::as_str).collect();
            if !orphans.is_empty() {
                tracing::info!(count = orphans.len(), "removing orphan blobs");
                self.remove_blobs(&orphans).await;
                removed += orphans.len();
            }
        }
        Ok(removed)
    }
}
