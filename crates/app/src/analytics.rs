//! Aggregated analytics for admins: daily counts of signups, creations, images, tokens,
//! revenue, feature use and devices. A figure covering fewer people than
//! `privacy.analytics_min_group` is suppressed, and the report type has no field that could
//! carry a person's data.

use serde::Serialize;

use crate::sessions::Principal;
use crate::{App, Result, now_ms};

/// One figure of the report: a day, what is counted, and the count (absent when suppressed).
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Figure {
    /// `2026-11-27` (UTC).
    pub date: String,
    pub metric: String,
    pub value: Option<i64>,
}

impl App {
    pub async fn analytics(&self, p: &Principal, days: i64) -> Result<Vec<Figure>> {
        p.require_staff()?;
        let since = now_ms() - days.clamp(1, 366) * 86_400_000;
        let min = i64::from(self.settings.privacy.analytics_min_group);
        Ok(self
            .db
            .daily_aggregates(since)
            .await?
            .into_iter()
            .map(|c| Figure {
                date: domain::time::civil(c.day * 86_400_000).date(),
                metric: c.metric,
                value: (c.people >= min).then_some(c.value),
            })
            .collect())
    }
}
