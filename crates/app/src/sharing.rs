//! Share links: a seller sends one image to a buyer (on WhatsApp, say) without an account.
//! The link names the output and an expiry and is signed with the server key, so nothing is
//! stored; it stops working when it expires or when the image or creation is deleted.

use db::creations::Output;

use crate::{App, AppError, Client, Result, now_ms};

/// Shared images one network may fetch per hour.
const SHARED_PER_HOUR: u32 = 300;
/// How long a share link works.
const VALID_DAYS: i64 = 7;
const DAY_MS: i64 = 24 * 60 * 60 * 1000;

impl App {
    /// The public path of a share link for one of the user's outputs. The expiry is rounded
    /// up to a whole day so the page shows the same link all day.
    pub fn share_path(&self, output: &Output) -> String {
        let expires = (now_ms() / DAY_MS + VALID_DAYS + 1) * DAY_MS / 1000;
        let expires = expires.to_string();
        let mac = self.mac(&["share", &output.id, &expires]);
        format!("/s/{}.{expires}.{}", output.id, &mac[..32])
    }

    /// The full link, for messages.
    pub fn share_url(&self, output: &Output) -> String {
        self.link(&self.share_path(output))
    }

    /// The output a share link names; `NotFound` for a forged, expired or dangling link alike.
    pub async fn shared_output(&self, token: &str) -> Result<Output> {
        let mut parts = token.splitn(3, '.');
        let (Some(id), Some(expires), Some(mac)) = (parts.next(), parts.next(), parts.next()) else {
            return Err(AppError::NotFound);
        };
        let live = expires.parse::<i64>().is_ok_and(|e| e.saturating_mul(1000) > now_ms());
        if !self.mac_matches(&["share", id, expires], mac, 32) || !live {
            return Err(AppError::NotFound);
        }
        let output = self.db.output(id).await?;
        // A suspended account's links stop with it.
        if self.db.user_by_id(&output.user_id).await?.suspended_at.is_some() {
            return Err(AppError::NotFound);
        }
        Ok(output)
    }

    /// The image behind a share link, as a JPEG at most `size` pixels on its longest side.
    /// Anyone with a link may ask, so each network gets a bounded number per hour.
    pub async fn shared_image(&self, token: &str, size: u32, client: &Client) -> Result<Vec<u8>> {
        let output = self.shared_output(token).await?;
        self.limit(&format!("share:{}", client.network()), SHARED_PER_HOUR, crate::limits::HOUR).await?;
        let key = self.data_key(&output.user_id).await?;
        let bytes = self.blobs.get(&key, &output.blob_key).await?;
        self.converted(bytes, size, imaging::Format::Jpeg, 88).await
    }
}
