//! Sellers' webhooks: endpoints with a signing secret shown once, events announced once per
//! fact, and delivery from the durable queue: at least once, each attempt signed afresh
//! under the event's one `webhook-id` (receivers drop repeats by it), retried on the
//! configured schedule, then the endpoint is disabled and its owner told by mail.

use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use db::queue::Job;
use db::webhooks::{Attempt, Delivery, Endpoint, JOB_KIND, NewEvent};
use domain::webhook::{EventType, Events, Target};
use jobs::{Handler, HandlerFuture, JobContext, JobError};
use providers::mail::Email as Mail;
use providers::webhook::{Message, SendError, Sender};

use crate::sessions::Principal;
use crate::{App, AppError, Client, Result, now_ms};

/// At most this many endpoints per seller.
const MAX_ENDPOINTS: usize = 10;

/// Events (their payloads) and delivery logs are kept this long.
pub const LOG_RETENTION_MS: i64 = 30 * crate::limits::DAY;

/// `POST /api/v1/webhooks`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EndpointRequest {
    pub url: String,
    pub events: Vec<String>,
}

/// An endpoint as its owner sees it (never its secret).
#[derive(Debug, Clone, Serialize)]
pub struct EndpointView {
    pub id: String,
    pub url: String,
    pub events: Vec<&'static str>,
    pub disabled_at: Option<i64>,
    pub disabled_reason: Option<String>,
    pub created_at: i64,
}

impl From<Endpoint> for EndpointView {
    fn from(e: Endpoint) -> Self {
        Self {
            events: Events::from_stored(&e.events).names(),
            id: e.id,
            url: e.url,
            disabled_at: e.disabled_at,
            disabled_reason: e.disabled_reason,
            created_at: e.created_at,
        }
    }
}

/// A creation's or batch's one-off callback (`callback_url`), with the only secret that
/// signs its deliveries (a repeated request with the same `Idempotency-Key` gets it again).
#[derive(Debug, Clone, Serialize)]
pub struct Callback {
    /// The endpoint's id: its owner's delivery log is `GET /api/v1/webhooks/{id}/deliveries`.
    pub id: String,
    pub url: String,
    pub secret: String,
}

/// What each kind of subject announces to its callback.
pub(crate) enum CallbackOf {
    Creation,
    Batch,
}

fn sealed_path(user_id: &str, endpoint_id: &str) -> String {
    format!("users/{user_id}/webhooks/{endpoint_id}")
}

fn open_secret(key: &storage::DataKey, user_id: &str, endpoint_id: &str, sealed_hex: &str) -> Option<String> {
    let sealed = hex::decode(sealed_hex).ok()?;
    String::from_utf8(storage::envelope::open(key, &sealed_path(user_id, endpoint_id), &sealed).ok()?).ok()
}

impl App {
    /// Registers an endpoint; returns it with the only copy of its signing secret.
    pub async fn create_webhook(
        &self,
        p: &Principal,
        req: &EndpointRequest,
        client: &Client,
    ) -> Result<(EndpointView, String)> {
        let target = Target::parse(&req.url, self.settings.webhooks.allow_private_networks)?;
        let events = Events::parse(&req.events)?;
        if self.db.webhook_endpoints_of(&p.user.id).await?.len() >= MAX_ENDPOINTS {
            return Err(domain::Invalid::new(
                "too_many_webhooks",
                "url",
                format!("Delete an unused endpoint first (at most {MAX_ENDPOINTS})."),
            )
            .into());
        }
        let (endpoint, secret) = self.new_endpoint(&p.user.id, &target, &events, None).await?;
        self.db.create_webhook_endpoint(&endpoint).await?;
        self.db.audit(Some(&p.user.id), "self", "webhook_created", &endpoint.url, &client.network(), now_ms()).await?;
        Ok((endpoint.into(), secret))
    }

    /// An endpoint with a fresh signing secret, sealed with the owner's data key.
    async fn new_endpoint(
        &self,
        user_id: &str,
        target: &Target,
        events: &Events,
        subject_id: Option<&str>,
    ) -> Result<(Endpoint, String)> {
        let id = db::new_id();
        let secret = domain::webhook::new_secret();
        let key = self.data_key(user_id).await?;
        let sealed = storage::envelope::seal(&key, &sealed_path(user_id, &id), secret.as_bytes())
            .map_err(|_| AppError::Internal("sealing a webhook secret failed".into()))?;
        let endpoint = Endpoint {
            id,
            user_id: user_id.to_owned(),
            url: target.as_str().to_owned(),
            events: events.to_stored(),
            secret_sealed: hex::encode(sealed),
            disabled_at: None,
            disabled_reason: None,
            created_at: now_ms(),
            subject_id: subject_id.map(str::to_owned),
        };
        Ok((endpoint, secret))
    }

    /// The one-off callback of the creation or batch `subject` (about to be accepted) to
    /// `url`, checked like an endpoint's address. Returns it with whether this call made it
    /// (a repeated request finds the first one's, with its secret).
    pub(crate) async fn callback_for(
        &self,
        user_id: &str,
        url: &str,
        subject: &str,
        of: CallbackOf,
    ) -> Result<(Callback, bool)> {
        let target = Target::parse(url, self.settings.webhooks.allow_private_networks)
            .map_err(|e| domain::Invalid { field: "callback_url", ..e })?;
        let events = match of {
            CallbackOf::Creation => vec![EventType::CreationSucceeded, EventType::CreationFailed],
            CallbackOf::Batch => vec![EventType::BatchFinished],
        };
        let events = Events::parse(&events.iter().map(|e| e.as_str()).collect::<Vec<_>>())?;
        let (endpoint, secret) = self.new_endpoint(user_id, &target, &events, Some(subject)).await?;
        if self.db.create_webhook_endpoint(&endpoint).await? {
            return Ok((Callback { id: endpoint.id, url: endpoint.url, secret }, true));
        }
        let first = self.db.webhook_callback_of(user_id, subject).await?.ok_or(AppError::Busy)?;
        let key = self.data_key(user_id).await?;
        let secret = open_secret(&key, user_id, &first.id, &first.secret_sealed)
            .ok_or_else(|| AppError::Internal("a callback's secret could not be opened".into()))?;
        Ok((Callback { id: first.id, url: first.url, secret }, false))
    }

    pub async fn webhooks(&self, p: &Principal) -> Result<Vec<EndpointView>> {
        Ok(self.db.webhook_endpoints_of(&p.user.id).await?.into_iter().map(EndpointView::from).collect())
    }

    pub async fn webhook(&self, p: &Principal, id: &str) -> Result<EndpointView> {
        Ok(self.db.webhook_endpoint_of(&p.user.id, id).await?.into())
    }

    pub async fn delete_webhook(&self, p: &Principal, id: &str, client: &Client) -> Result<()> {
        let endpoint = self.db.webhook_endpoint_of(&p.user.id, id).await?;
        self.db.delete_webhook_endpoint(&p.user.id, id).await?;
        self.db.audit(Some(&p.user.id), "self", "webhook_deleted", &endpoint.url, &client.network(), now_ms()).await?;
        Ok(())
    }

    /// The endpoint's latest deliveries, newest first.
    pub async fn webhook_deliveries(&self, p: &Principal, id: &str) -> Result<Vec<Delivery>> {
        self.db.webhook_endpoint_of(&p.user.id, id).await?;
        Ok(self.db.webhook_deliveries_of(&p.user.id, id, 100).await?)
    }

    /// Sends a `webhook.test` event to this endpoint alone.
    pub async fn test_webhook(&self, p: &Principal, id: &str) -> Result<()> {
        let endpoint = self.db.webhook_endpoint_of(&p.user.id, id).await?;
        self.limit(&format!("webhook-test:{}", p.user.id), 30, crate::limits::HOUR).await?;
        let data = json!({"endpoint_id": endpoint.id, "message": "A test event from SoraiPixel."});
        let key = format!("webhook.test:{}", db::new_id());
        self.queue_event(&p.user.id, "webhook.test", &key, data, Some(&endpoint.id), None).await
    }

    /// Sends a finished delivery again ("send again"), with its event's id. On a paused
    /// endpoint it turns the endpoint back on, which also sends what was held for it.
    pub async fn resend_webhook(&self, p: &Principal, endpoint_id: &str, delivery_id: &str) -> Result<()> {
        let endpoint = self.db.webhook_endpoint_of(&p.user.id, endpoint_id).await?;
        if self.db.webhook_delivery_state(&p.user.id, endpoint_id, delivery_id).await?.is_none() {
            return Err(AppError::NotFound);
        }
        self.limit(&format!("webhook-resend:{}", p.user.id), 60, crate::limits::HOUR).await?;
        let (attempts, now) = (self.delivery_attempts(), now_ms());
        if endpoint.disabled_at.is_some() {
            self.db.enable_webhook_endpoint(&p.user.id, endpoint_id, attempts, now).await?;
        }
        match self.db.resend_webhook_delivery(&p.user.id, delivery_id, attempts, now).await {
            Ok(()) => Ok(()),
            // Already on its way (a held delivery the endpoint's return just queued).
            Err(db::DbError::Invalid(_)) if endpoint.disabled_at.is_some() => Ok(()),
            Err(db::DbError::Invalid(_)) => Err(AppError::Busy),
            Err(e) => Err(e.into()),
        }
    }

    /// Announces a fact to the user's endpoints subscribed to it, and to the one-off
    /// callback of the creation or batch it is about; announcing the same `key` again does
    /// nothing, so a retried job never sends an event twice.
    pub(crate) async fn announce(
        &self,
        user_id: &str,
        event: EventType,
        key: &str,
        data: Value,
        subject: Option<&str>,
    ) -> Result<()> {
        self.queue_event(user_id, event.as_str(), key, data, None, subject).await
    }

    async fn queue_event(
        &self,
        user_id: &str,
        event_type: &str,
        key: &str,
        data: Value,
        only: Option<&str>,
        subject: Option<&str>,
    ) -> Result<()> {
        let now = now_ms();
        let payload = json!({"type": event_type, "timestamp": domain::time::rfc3339(now), "data": data}).to_string();
        let event = NewEvent { user_id, event_type, payload: &payload, idempotency_key: key, subject };
        self.db.queue_webhook_event(&event, only, self.delivery_attempts(), now).await?;
        Ok(())
    }

    /// Forgets events and their delivery logs older than `LOG_RETENTION_MS` (held deliveries
    /// of a paused endpoint go with them). Returns how many events went.
    pub async fn sweep_webhook_log(&self) -> Result<u64> {
        Ok(self.db.delete_webhook_events_before(now_ms() - LOG_RETENTION_MS).await?)
    }

    /// The first try and one per wait of the schedule.
    fn delivery_attempts(&self) -> i64 {
        i64::try_from(self.settings.webhooks.retry_schedule_secs.len()).unwrap_or(8) + 1
    }

    /// A creation has ended: `creation.succeeded` or `creation.failed`, and
    /// `batch.finished` when it was the last of its batch to end.
    pub(crate) async fn announce_creation(&self, id: &str) -> Result<()> {
        let c = self.db.creation(id).await?;
        let event = match c.status.as_str() {
            "succeeded" => Some(EventType::CreationSucceeded),
            "failed" => Some(EventType::CreationFailed),
            "canceled" => None,
            _ => return Ok(()),
        };
        let (user_id, batch_id) = (c.user_id.clone(), c.batch_id.clone());
        if let Some(event) = event {
            let outputs = self.db.outputs_of(&c.id).await?;
            let key = format!("{}:{}", event.as_str(), c.id);
            let subject = Some(c.id.clone());
            self.announce(&user_id, event, &key, crate::creations::view(c, outputs), subject.as_deref()).await?;
        }
        let Some(batch_id) = batch_id else { return Ok(()) };
        let batch = self.db.batch_of(&user_id, &batch_id).await?;
        if batch.iter().any(|c| matches!(c.status.as_str(), "queued" | "running")) {
            return Ok(());
        }
        let count = |status: &str| batch.iter().filter(|c| c.status == status).count();
        let data = json!({
            "id": batch_id,
            "creations": batch.len(),
            "succeeded": count("succeeded"),
            "failed": count("failed"),
            "canceled": count("canceled"),
            "url": format!("/api/v1/batches/{batch_id}"),
        });
        let key = format!("batch.finished:{batch_id}");
        self.announce(&user_id, EventType::BatchFinished, &key, data, Some(&batch_id)).await
    }

    /// One attempt of a delivery (`attempt` counts from 1).
    async fn deliver_webhook(&self, delivery_id: &str, attempt: i64) -> std::result::Result<(), JobError> {
        let retry = |what: &str, e: &dyn std::fmt::Display| JobError::Retry(format!("{what}: {e}"));
        let Some(d) = self.db.webhook_sending(delivery_id).await.map_err(|e| retry("loading delivery", &e))? else {
            return Ok(()); // its endpoint was deleted
        };
        // Delivered by an attempt whose worker died before it could say so: not again.
        if d.state != "pending" {
            return Ok(());
        }
        if d.disabled {
            // Held until its owner turns the endpoint back on.
            return self.db.pause_webhook_delivery(delivery_id, now_ms()).await.map_err(|e| retry("pausing", &e));
        }
        let key = self.data_key(&d.user_id).await.map_err(|e| retry("data key", &e))?;
        let secret = open_secret(&key, &d.user_id, &d.endpoint_id, &d.secret_sealed)
            .ok_or_else(|| JobError::Permanent("the secret could not be opened".into()))?;
        // A fresh timestamp and signature each attempt; the id stays the event's.
        let timestamp = now_ms() / 1000;
        let body = d.payload.as_bytes();
        let signature = domain::webhook::sign(&secret, &d.event_id, timestamp, body)
            .ok_or_else(|| JobError::Permanent("bad secret".into()))?;
        let sender = self.webhook_sender();
        let message = Message { url: &d.url, id: &d.event_id, timestamp, signature: &signature, body };
        let (outcome, attempt_row) = match sender.send(&message).await {
            Ok(answer) if (200..300).contains(&answer.status) => (Ok(()), (true, Some(answer), None)),
            Ok(answer) => {
                let why = format!("the endpoint answered {}", answer.status);
                (Err(why.clone()), (false, Some(answer), Some(why)))
            }
            Err(SendError::Refused(why)) => (Err(why.clone()), (false, None, Some(why))),
            Err(SendError::Failed(why)) => (Err(why.clone()), (false, None, Some(why))),
        };
        let (delivered, answer, error) = attempt_row;
        let record = Attempt {
            delivered,
            response_status: answer.as_ref().map(|a| i64::from(a.status)),
            latency_ms: answer.as_ref().map(|a| a.latency_ms),
            response_excerpt: answer.as_ref().map(|a| a.excerpt.as_str()),
            error: error.as_deref(),
        };
        self.db.record_webhook_attempt(delivery_id, &record, now_ms()).await.map_err(|e| retry("recording", &e))?;
        outcome.map_err(|why| {
            let schedule = &self.settings.webhooks.retry_schedule_secs;
            let wait = usize::try_from(attempt - 1).ok().and_then(|i| schedule.get(i)).copied().unwrap_or(0);
            JobError::RetryAfter(why, Duration::from_secs(wait))
        })
    }

    fn webhook_sender(&self) -> Sender {
        let w = &self.settings.webhooks;
        Sender {
            allow_private: w.allow_private_networks,
            connect_timeout: Duration::from_secs(w.connect_timeout_secs),
            timeout: Duration::from_secs(w.timeout_secs),
        }
    }

    /// Out of attempts: the delivery failed; unless something else reached the endpoint
    /// since, the endpoint is paused and its owner told, once.
    async fn delivery_failed(&self, delivery_id: &str) -> std::result::Result<(), JobError> {
        let retry = |e: &dyn std::fmt::Display| JobError::Retry(e.to_string());
        self.db.fail_webhook_delivery(delivery_id, now_ms()).await.map_err(|e| retry(&e))?;
        let Some(d) = self.db.webhook_sending(delivery_id).await.map_err(|e| retry(&e))? else { return Ok(()) };
        // Nothing else will go to a one-off callback: there is nothing to pause.
        if d.one_off {
            return Ok(());
        }
        if self.db.webhook_delivered_since(&d.endpoint_id, d.created_at).await.map_err(|e| retry(&e))? {
            return Ok(());
        }
        let reason = "Deliveries kept failing for a day.";
        if !self.db.disable_webhook_endpoint(&d.endpoint_id, reason, now_ms()).await.map_err(|e| retry(&e))? {
            return Ok(());
        }
        let user = self.db.user_by_id(&d.user_id).await.map_err(|e| retry(&e))?;
        let Some(to) = user.email.clone() else { return Ok(()) };
        let mail = Mail {
            to,
            unsubscribe: None,
            subject: "A SoraiPixel webhook endpoint was turned off".into(),
            text: format!(
                "Hello {},\n\nWe could not deliver events to {} for about a day, so we stopped sending to it.\n\n\
                 When it works again, open {} and press \"Send again\" on a delivery: that turns it back on.\n",
                if user.name.is_empty() { "there" } else { &user.name },
                d.url,
                self.link("/settings/developers"),
            ),
        };
        self.queue_mail(&mail, &d.user_id).await.map_err(|e| retry(&e))
    }
}

/// The queue handler that sends webhook deliveries.
pub struct DeliverWebhooks(pub App);

impl Handler for DeliverWebhooks {
    fn kind(&self) -> &'static str {
        JOB_KIND
    }

    fn run(&self, job: Job, _ctx: JobContext) -> HandlerFuture {
        let app = self.0.clone();
        Box::pin(async move { app.deliver_webhook(&job.payload, job.attempts).await })
    }

    fn dead(&self, job: Job) -> HandlerFuture {
        let app = self.0.clone();
        Box::pin(async move { app.delivery_failed(&job.payload).await })
    }
}
