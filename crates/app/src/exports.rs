//! "Download my data": a job snapshots everything we hold about the account into
//! `account.json` (sealed with the user's key like every blob); the download streams a ZIP of
//! it with every upload and image in original quality, until the export expires. An email
//! says when it is ready.

use serde::Serialize;

use db::exports::{Export, JOB_KIND};
use db::queue::Job;
use jobs::{Handler, HandlerFuture, JobContext, JobError};
use providers::mail::Email as Mail;

use crate::archive::{self, Chunks, Entry};
use crate::sessions::Principal;
use crate::{App, AppError, Client, Result, now_ms};

/// How long a finished export can be downloaded.
const EXPORT_TTL_MS: i64 = 7 * 86_400_000;
const EXPORTS_PER_DAY: u32 = 5;

/// Everything the account holds, as `account.json`.
#[derive(Serialize)]
struct AccountFile {
    exported_at: i64,
    profile: db::users::User,
    consents: Vec<db::consents::ConsentChange>,
    activity: Vec<db::activity::Event>,
    sessions: Vec<db::sessions::Session>,
    api_keys: Vec<db::api_keys::ApiKey>,
    security_log: Vec<db::audit::AuditEntry>,
    tokens: db::ledger::Balance,
    ledger: Vec<db::ledger::Entry>,
    payments: Vec<db::billing::Payment>,
    invoices: Vec<db::billing::Invoice>,
    subscriptions: Vec<db::billing::Subscription>,
    uploads: Vec<db::uploads::Upload>,
    creations: Vec<CreationFile>,
    /// Thumbs up or down on images, with what was wrong.
    feedback: Vec<db::feedback::FeedbackRow>,
    brand_profile: Option<serde_json::Value>,
    listing_batches: Vec<ListingBatchFile>,
    /// The connected Shopify store's domain (its token is never exported).
    shopify_store: Option<String>,
    /// Webhook addresses and what they subscribe to (never their secrets).
    webhooks: Vec<db::webhooks::Endpoint>,
    /// Where creations and batches called back (`callback_url`).
    webhook_callbacks: Vec<db::webhooks::Endpoint>,
    /// API calls, images and tokens per key per day.
    api_usage: Vec<db::usage::Usage>,
    /// The account's invitation link and the people who came through it (masked).
    invitations: crate::referrals::Referrals,
    joined_through_invitation: bool,
}

#[derive(Serialize)]
struct ListingBatchFile {
    #[serde(flatten)]
    batch: db::listings::ListingBatch,
    listings: Vec<crate::listings::ListingView>,
}

#[derive(Serialize)]
struct CreationFile {
    #[serde(flatten)]
    creation: db::creations::Creation,
    /// What was asked for: presets, background, shadow… as stored.
    settings: serde_json::Value,
    /// The keep/remove strokes painted to fix the cutout, for a correction.
    #[serde(skip_serializing_if = "Option::is_none")]
    strokes: Option<serde_json::Value>,
    outputs: Vec<db::creations::Output>,
}

impl App {
    pub async fn request_export(&self, p: &Principal, client: &Client) -> Result<Export> {
        self.limit(&format!("export:{}", p.user.id), EXPORTS_PER_DAY, 24 * crate::limits::HOUR).await?;
        let export = self.db.create_export(&db::new_id(), &p.user.id, now_ms()).await?;
        self.db.audit(Some(&p.user.id), "self", "export_requested", "", &client.network(), now_ms()).await?;
        Ok(export)
    }

    pub async fn exports(&self, p: &Principal) -> Result<Vec<Export>> {
        Ok(self.db.exports_of(&p.user.id).await?)
    }

    pub async fn export_of(&self, p: &Principal, id: &str) -> Result<Export> {
        let export = self.db.export(id).await?;
        if export.user_id != p.user.id {
            return Err(AppError::NotFound);
        }
        Ok(export)
    }

    /// The ZIP: `account.json`, `uploads/…` (originals as uploaded) and `images/<creation>/…`.
    pub async fn export_zip(&self, p: &Principal, id: &str, client: &Client) -> Result<(String, Chunks)> {
        let export = self.export_of(p, id).await?;
        let (Some(json), Some(expires)) = (export.blob_key, export.expires_at) else { return Err(AppError::Busy) };
        if expires <= now_ms() {
            return Err(AppError::InvalidToken);
        }
        let user = &p.user.id;
        let mut entries = vec![Entry { name: "account.json".into(), blob: json }];
        let uploads = self.db.uploads_of(user, None, i64::MAX).await?;
        let names = uploads.iter().map(|u| format!("uploads/{}", u.filename)).collect();
        entries.extend(archive::entries(names, uploads.into_iter().map(|u| u.original_key)));
        for c in self.db.creations_of(user, None, i64::MAX).await? {
            let outputs = self.db.outputs_of(&c.id).await?;
            let names = outputs.iter().map(|o| format!("images/{}/{}", c.id, o.file_name())).collect();
            entries.extend(archive::entries(names, outputs.into_iter().map(|o| o.blob_key)));
        }
        self.record_activity(user, crate::activity::Activity::Downloaded, "a copy of all my data", Some(client)).await;
        let chunks = self.zip(user, entries).await?;
        Ok((format!("soraipixel-my-data-{}.zip", &export.id[..8.min(export.id.len())]), chunks))
    }

    async fn build_export(&self, id: &str) -> std::result::Result<(), JobError> {
        let retry = |e: &dyn std::fmt::Display| JobError::Retry(e.to_string());
        let export = self.db.export(id).await.map_err(|e| retry(&e))?;
        if export.status != "queued" {
            return Ok(());
        }
        let file = self.account_file(&export.user_id).await.map_err(|e| retry(&e))?;
        let json = serde_json::to_vec_pretty(&file).map_err(|e| JobError::Permanent(e.to_string()))?;
        let key = self.data_key(&export.user_id).await.map_err(|e| retry(&e))?;
        let path = format!("users/{}/exports/{id}.json", export.user_id);
        self.blobs.put(&key, &path, &json).await.map_err(|e| retry(&e))?;
        let mail = file.profile.email.clone().map(|to| Mail {
            to,
            subject: "Your SoraiPixel data is ready to download".into(),
            text: format!(
                "Hello {},\n\nThe copy of your data you asked for is ready: your profile, sessions, token history, \
                 payments, and every photo and image in original quality.\n\nDownload it from your account settings \
                 (signed in) within 7 days:\n\n{}\n\nIf you did not ask for this, change your password and sign out \
                 other devices from the same page.\n",
                file.profile.name,
                self.link("/settings#export")
            ),
            unsubscribe: None,
        });
        let now = now_ms();
        let mail = mail.as_ref().map(|m| crate::outbox::transactional(m, Some(&export.user_id)));
        let finished = self
            .db
            .finish_export(id, Some(&path), now, now + EXPORT_TTL_MS, mail.as_ref())
            .await
            .map_err(|e| retry(&e))?;
        if !finished {
            // The export (or the whole account) went while this ran: leave nothing behind.
            self.remove_blobs(&[&path]).await;
        }
        Ok(())
    }

    async fn account_file(&self, user_id: &str) -> Result<AccountFile> {
        let db = &self.db;
        let mut creations = Vec::new();
        for creation in db.creations_of(user_id, None, i64::MAX).await? {
            let settings = serde_json::from_str(&creation.recipes).unwrap_or(serde_json::Value::Null);
            let strokes = creation.hints.as_deref().and_then(|h| serde_json::from_str(h).ok());
            let outputs = db.outputs_of(&creation.id).await?;
            creations.push(CreationFile { creation, settings, strokes, outputs });
        }
        let mut listing_batches = Vec::new();
        let lengths = self.brand_of(user_id).await?.1.lengths;
        for batch in db.listing_batches_of(user_id).await? {
            let rows = db.listings_of_batch(user_id, &batch.id).await?;
            let listings = rows.into_iter().map(|r| crate::listings::view(r, lengths)).collect();
            listing_batches.push(ListingBatchFile { batch, listings });
        }
        let brand_profile = db.brand_profile(user_id).await?.and_then(|(_, json, _)| serde_json::from_str(&json).ok());
        Ok(AccountFile {
            exported_at: now_ms(),
            profile: db.user_by_id(user_id).await?,
            consents: db.consent_history(user_id).await?,
            activity: db.activity_of(user_id, i64::MAX).await?,
            sessions: db.sessions_of(user_id).await?,
            api_keys: db.api_keys_of(user_id).await?,
            security_log: db.audit_of(user_id, i64::MAX).await?,
            tokens: db.balance(user_id).await?,
            ledger: db.ledger(user_id, None, i64::MAX).await?,
            payments: db.payments_of(user_id, i64::MAX).await?,
            invoices: db.invoices_of(user_id).await?,
            subscriptions: db.subscriptions_of(user_id).await?,
            uploads: db.uploads_of(user_id, None, i64::MAX).await?,
            creations,
            feedback: db.feedback_of(user_id, None).await?,
            brand_profile,
            listing_batches,
            shopify_store: db.shop_of(user_id).await?.map(|(shop, _)| shop),
            webhooks: db.webhook_endpoints_of(user_id).await?,
            webhook_callbacks: db.webhook_callbacks_of(user_id).await?,
            api_usage: db.api_usage(user_id, "0000-00-00", "9999-99-99").await?,
            invitations: self.referrals_of(user_id).await?,
            joined_through_invitation: db.referral_of(user_id).await?.is_some(),
        })
    }
}

pub struct BuildExports(pub App);

impl Handler for BuildExports {
    fn kind(&self) -> &'static str {
        JOB_KIND
    }

    fn run(&self, job: Job, _ctx: JobContext) -> HandlerFuture {
        let app = self.0.clone();
        Box::pin(async move { app.build_export(&job.payload).await })
    }

    fn dead(&self, job: Job) -> HandlerFuture {
        let app = self.0.clone();
        Box::pin(async move {
            let now = now_ms();
            app.db
                .finish_export(&job.payload, None, now, now, None)
                .await
                .map_err(|e| JobError::Retry(e.to_string()))?;
            Ok(())
        })
    }
}
