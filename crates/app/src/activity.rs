//! Usage and device data, server-side only (no third-party analytics): what the user did,
//! from which browser, OS and device type, on which truncated network. Shown to the user;
//! deleted after `privacy.activity_retention_days`.

use db::activity::Event;
use domain::device::Device;

use crate::sessions::Principal;
use crate::{App, Client, Result, now_ms};

/// What a usage event is about.
#[derive(Debug, Clone, Copy)]
pub enum Activity {
    SignedIn,
    Uploaded,
    Created,
    Downloaded,
    Paid,
}

impl Activity {
    fn as_str(self) -> &'static str {
        match self {
            Activity::SignedIn => "signed_in",
            Activity::Uploaded => "uploaded",
            Activity::Created => "created",
            Activity::Downloaded => "downloaded",
            Activity::Paid => "paid",
        }
    }
}

impl App {
    /// Records one event; `client` is `None` for what happens server-side (a payment
    /// confirmed by Razorpay). A failure is logged, never the user's problem.
    pub(crate) async fn record_activity(&self, user_id: &str, what: Activity, detail: &str, client: Option<&Client>) {
        let device = client.map(|c| Device::from_user_agent(&c.user_agent));
        let event = Event {
            kind: what.as_str().to_owned(),
            detail: detail.chars().take(200).collect(),
            browser: device.as_ref().map_or("—".into(), |d| d.browser.clone()),
            os: device.as_ref().map_or("—".into(), |d| d.os.clone()),
            device_type: device.as_ref().map_or("server".into(), |d| d.device_type.clone()),
            ip_network: client.map(Client::network).unwrap_or_default(),
            created_at: now_ms(),
        };
        if let Err(e) = self.db.record_activity(user_id, &event).await {
            tracing::warn!(error = %e, kind = what.as_str(), "could not record a usage event");
        }
    }

    pub async fn activity(&self, p: &Principal) -> Result<Vec<Event>> {
        Ok(self.db.activity_of(&p.user.id, 500).await?)
    }
}
