//! Housekeeping every worker runs: expired sessions, links, codes and counters are removed,
//! expired visitor previews are deleted, webhook events past 30 days are forgotten, blobs
//! no row points at are swept, and invitation rewards whose holding time is over are given.

use std::time::Duration;

pub async fn run(app: app::App) {
    let mut tick = tokio::time::interval(Duration::from_secs(600));
    loop {
        tick.tick().await;
        match app.purge_expired().await {
            Ok(0) => {}
            Ok(n) => tracing::info!(removed = n, "expired sessions, links and counters removed"),
            Err(e) => tracing::warn!(error = %e, "housekeeping failed; will retry"),
        }
        match app.sweep_previews().await {
            Ok(0) => {}
            Ok(n) => tracing::info!(removed = n, "expired visitor previews removed"),
            Err(e) => tracing::warn!(error = %e, "preview sweep failed; will retry"),
        }
        match app.sweep_webhook_log().await {
            Ok(0) => {}
            Ok(n) => tracing::info!(removed = n, "webhook events past their 30 days removed"),
            Err(e) => tracing::warn!(error = %e, "webhook log sweep failed; will retry"),
        }
        match app.give_due_referral_rewards().await {
            Ok(0) => {}
            Ok(n) => tracing::info!(given = n, "invitation rewards given"),
            Err(e) => tracing::warn!(error = %e, "invitation rewards not given; will retry"),
        }
        match app.sweep_orphans(app::orphans::GRACE_MS).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(removed = n, "orphan blobs removed"),
            Err(e) => tracing::warn!(error = %e, "orphan sweep failed; will retry"),
        }
    }
}
