//! Deleting the whole account, by its owner, at once: confirmed by password (or, for
//! accounts without one, a code sent to the phone); monthly plans stopped at Razorpay so
//! nothing is charged again; every row about the person deleted and the data key with it;
//! every stored object removed; a last email to say it is done.

use serde::Deserialize;

use db::erasure::Erasure;
use domain::{Phone, password};
use providers::mail::Email as Mail;

use crate::sessions::Principal;
use crate::{App, AppError, Client, Result, now_ms};

/// How the owner confirms: the password, or for phone-only accounts a fresh code.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Confirmation {
    #[serde(default)]
    pub password: Option<String>,
    #[serde(default)]
    pub code: Option<String>,
}

impl App {
    pub async fn delete_account(&self, p: &Principal, confirm: &Confirmation, client: &Client) -> Result<()> {
        let user = &p.user;
        self.limit(&format!("delete_account:{}", user.id), 10, crate::limits::HOUR).await?;
        match (&user.password_hash, &user.phone, confirm) {
            (Some(hash), _, Confirmation { password: Some(given), .. }) => {
                let (given, hash) = (given.clone(), hash.clone());
                if !self.on_cpu(move || password::verify(&given, &hash)).await? {
                    return Err(AppError::InvalidCredentials);
                }
            }
            (None, Some(phone), Confirmation { code: Some(code), .. }) if user.phone_verified_at.is_some() => {
                self.check_code(&Phone::parse(phone)?, code, crate::otp::CodeUse::SignIn).await?;
            }
            (hash, ..) => {
                let (field, message) = if hash.is_some() {
                    ("password", "Enter your password to confirm.")
                } else {
                    ("code", "Enter the code we sent to your phone to confirm.")
                };
                return Err(domain::Invalid::new("confirmation_required", field, message).into());
            }
        }
        self.stop_subscriptions(&user.id).await?;
        let goodbye = user.email.as_ref().map(|to| Mail {
            to: to.clone(),
            subject: "Your SoraiPixel account has been deleted".into(),
            text: "Hello,\n\nAs you asked, your SoraiPixel account has been deleted: your profile, photos, images, \
                   sessions and token history are gone, and the key that encrypted your files has been destroyed. We \
                   keep only what the law requires for payments (amounts, dates and invoice numbers), no longer \
                   linked to you.\n\nIf you did not ask for this, reply to this email.\n"
                .into(),
            unsubscribe: None,
        });
        let erasure = Erasure { user_id: &user.id, email: user.email.as_deref(), phone: user.phone.as_deref() };
        let goodbye = goodbye.as_ref().map(|m| crate::outbox::transactional(m, None));
        self.db.erase_user(&erasure, goodbye.as_ref(), now_ms()).await?;
        // Rows first, then objects: an object left by a failure here is unreadable (its key
        // is gone) and the sweeper removes it within the hour.
        let prefix = format!("users/{}/", user.id);
        match self.blobs.list(&prefix).await {
            Ok(objects) => {
                let paths: Vec<&str> = objects.iter().map(|o| o.path.as_str()).collect();
                self.remove_blobs(&paths).await;
            }
            Err(e) => {
                tracing::warn!(error = %e, "could not list a deleted account's objects; the sweeper will remove them")
            }
        }
        tracing::info!(network = %client.network(), "an account was deleted by its owner");
        Ok(())
    }

    /// Cancels every monthly plan that could still charge, now (not at the period end).
    async fn stop_subscriptions(&self, user_id: &str) -> Result<()> {
        let live = self.db.subscriptions_of(user_id).await?;
        let live: Vec<_> =
            live.into_iter().filter(|s| !matches!(s.status.as_str(), "cancelled" | "completed" | "expired")).collect();
        if live.is_empty() {
            return Ok(());
        }
        let gateway = self.gateway()?;
        for sub in live {
            match gateway.client.cancel_subscription(&sub.razorpay_subscription_id, false).await {
                Ok(remote) => {
                    self.db.update_subscription(&remote.id, &remote.status, None, Some(false), now_ms()).await?;
                }
                // A checkout never paid for cannot charge without its buyer; one that can must
                // be stopped before the account goes.
                Err(e) if sub.status == "created" => {
                    tracing::warn!(error = %e, "could not cancel an unpaid subscription")
                }
                Err(e) => return Err(AppError::Upstream(e.to_string())),
            }
        }
        Ok(())
    }
}
