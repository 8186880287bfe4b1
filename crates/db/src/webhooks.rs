//! Outbound webhooks: sellers' endpoints, events recorded once, and one delivery per event
//! and endpoint, sent by a `webhook` job from the durable queue.

use serde::Serialize;

use crate::queue::{NewJob, insert_job};
use crate::{Db, DbError, Result, new_id, with_pool};

pub const JOB_KIND: &str = "webhook";

#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct Endpoint {
    pub id: String,
    #[serde(skip)]
    pub user_id: String,
    pub url: String,
    /// Space-separated event types (`domain::webhook::Events`).
    pub events: String,
    /// The signing secret, sealed with the owner's data key (hex).
    #[serde(skip)]
    pub secret_sealed: String,
    pub disabled_at: Option<i64>,
    pub disabled_reason: Option<String>,
    pub created_at: i64,
    /// A one-off callback's creation or batch (its events alone go there); `None` for the
    /// seller's endpoints.
    pub subject_id: Option<String>,
}

/// An event to announce; `idempotency_key` names the fact, so announcing it again adds
/// nothing.
pub struct NewEvent<'a> {
    pub user_id: &'a str,
    pub event_type: &'a str,
    pub payload: &'a str,
    pub idempotency_key: &'a str,
    /// The creation or batch it is about, for one-off callbacks.
    pub subject: Option<&'a str>,
}

/// A delivery as the seller's log shows it.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct Delivery {
    pub id: String,
    pub endpoint_id: String,
    pub event_id: String,
    pub event_type: String,
    /// `pending`, `delivered`, `failed`, or `paused` (held while its endpoint is paused).
    pub state: String,
    pub attempts: i64,
    pub response_status: Option<i64>,
    pub latency_ms: Option<i64>,
    pub response_excerpt: Option<String>,
    pub error: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
}

/// What a delivery job needs to send one attempt.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Sending {
    pub id: String,
    pub user_id: String,
    pub endpoint_id: String,
    pub url: String,
    pub secret_sealed: String,
    pub disabled: bool,
    /// A one-off callback: nothing else will go there, so it is never paused.
    pub one_off: bool,
    pub state: String,
    pub event_id: String,
    pub payload: String,
    pub created_at: i64,
}

/// The outcome of one attempt.
pub struct Attempt<'a> {
    pub delivered: bool,
    pub response_status: Option<i64>,
    pub latency_ms: Option<i64>,
    pub response_excerpt: Option<&'a str>,
    pub error: Option<&'a str>,
}

/// Queues the `webhook` job that sends one delivery, inside the caller's transaction.
macro_rules! send_job {
    ($tx:ident, $delivery:expr, $user:expr, $key:expr, $max_attempts:expr, $now:expr) => {{
        let job = NewJob {
            kind: JOB_KIND,
            payload: $delivery,
            max_attempts: $max_attempts,
            idempotency_key: Some($key),
            user_id: Some($user),
        };
        insert_job!(&mut *$tx, job, $now).await
    }};
}

macro_rules! endpoint_columns {
    () => {
        "id, user_id, url, events, secret_sealed, disabled_at, disabled_reason, created_at, subject_id"
    };
}

impl Db {
    /// Stores an endpoint; `false` when a one-off callback for its subject exists already.
    pub async fn create_webhook_endpoint(&self, e: &Endpoint) -> Result<bool> {
        let done = with_pool!(self, |p| sqlx::query(concat!(
            "INSERT INTO webhook_endpoints (",
            endpoint_columns!(),
            ") VALUES ($1, $2, $3, $4, $5, NULL, NULL, $6, $7) ON CONFLICT (subject_id) DO NOTHING"
        ))
        .bind(&e.id)
        .bind(&e.user_id)
        .bind(&e.url)
        .bind(&e.events)
        .bind(&e.secret_sealed)
        .bind(e.created_at)
        .bind(&e.subject_id)
        .execute(p)
        .await
        .map(|r| r.rows_affected()))?;
        Ok(done == 1)
    }

    /// The seller's endpoints (one-off callbacks aside).
    pub async fn webhook_endpoints_of(&self, user_id: &str) -> Result<Vec<Endpoint>> {
        let sql = concat!(
            "SELECT ",
            endpoint_columns!(),
            " FROM webhook_endpoints WHERE user_id = $1 AND subject_id IS NULL ORDER BY created_at"
        );
        Ok(with_pool!(self, |p| sqlx::query_as::<_, Endpoint>(sql).bind(user_id).fetch_all(p).await)?)
    }

    /// The user's one-off callbacks (for the data export).
    pub async fn webhook_callbacks_of(&self, user_id: &str) -> Result<Vec<Endpoint>> {
        let sql = concat!(
            "SELECT ",
            endpoint_columns!(),
            " FROM webhook_endpoints WHERE user_id = $1 AND subject_id IS NOT NULL ORDER BY created_at"
        );
        Ok(with_pool!(self, |p| sqlx::query_as::<_, Endpoint>(sql).bind(user_id).fetch_all(p).await)?)
    }

    /// The one-off callback of the user's creation or batch.
    pub async fn webhook_callback_of(&self, user_id: &str, subject_id: &str) -> Result<Option<Endpoint>> {
        let sql =
            concat!("SELECT ", endpoint_columns!(), " FROM webhook_endpoints WHERE subject_id = $1 AND user_id = $2");
        Ok(with_pool!(self, |p| sqlx::query_as::<_, Endpoint>(sql)
            .bind(subject_id)
            .bind(user_id)
            .fetch_optional(p)
            .await)?)
    }

    /// Forgets the one-off callback of a creation or batch, with its deliveries.
    pub async fn delete_webhook_callback(&self, user_id: &str, subject_id: &str) -> Result<()> {
        with_pool!(self, |p| sqlx::query("DELETE FROM webhook_endpoints WHERE subject_id = $1 AND user_id = $2")
            .bind(subject_id)
            .bind(user_id)
            .execute(p)
            .await
            .map(|_| ()))?;
        Ok(())
    }

    pub async fn webhook_endpoint_of(&self, user_id: &str, id: &str) -> Result<Endpoint> {
        let sql = concat!("SELECT ", endpoint_columns!(), " FROM webhook_endpoints WHERE id = $1 AND user_id = $2");
        with_pool!(self, |p| sqlx::query_as::<_, Endpoint>(sql).bind(id).bind(user_id).fetch_optional(p).await)?
            .ok_or(DbError::NotFound)
    }

    pub async fn delete_webhook_endpoint(&self, user_id: &str, id: &str) -> Result<bool> {
        let done = with_pool!(self, |p| sqlx::query("DELETE FROM webhook_endpoints WHERE id = $1 AND user_id = $2")
            .bind(id)
            .bind(user_id)
            .execute(p)
            .await
            .map(|r| r.rows_affected()))?;
        Ok(done == 1)
    }

    /// Turns a paused endpoint back on and queues the deliveries held for it, in one
    /// transaction.
    pub async fn enable_webhook_endpoint(&self, user_id: &str, id: &str, max_attempts: i64, now: i64) -> Result<()> {
        with_pool!(self, |p| {
            let mut tx = p.begin().await?;
            sqlx::query(
                "UPDATE webhook_endpoints SET disabled_at = NULL, disabled_reason = NULL WHERE id = $1 AND user_id = $2",
            )
            .bind(id)
            .bind(user_id)
            .execute(&mut *tx)
            .await?;
            let held: Vec<String> = sqlx::query_scalar(
                "UPDATE webhook_deliveries SET state = 'pending', updated_at = $3 \
                 WHERE endpoint_id = $1 AND user_id = $2 AND state = 'paused' RETURNING id",
            )
            .bind(id)
            .bind(user_id)
            .bind(now)
            .fetch_all(&mut *tx)
            .await?;
            for delivery_id in &held {
                send_job!(
                    tx,
                    delivery_id,
                    user_id,
                    &format!("webhook:{delivery_id}:resumed:{now}"),
                    max_attempts,
                    now
                )?;
            }
            tx.commit().await?;
            Ok(())
        })
    }

    /// Holds a pending delivery whose endpoint was paused meanwhile.
    pub async fn pause_webhook_delivery(&self, id: &str, now: i64) -> Result<()> {
        with_pool!(self, |p| sqlx::query(
            "UPDATE webhook_deliveries SET state = 'paused', updated_at = $2 WHERE id = $1 AND state = 'pending'"
        )
        .bind(id)
        .bind(now)
        .execute(p)
        .await
        .map(|_| ()))?;
        Ok(())
    }

    /// Whether anything reached the endpoint after `since` (so one failing event does not
    /// pause an endpoint that works).
    pub async fn webhook_delivered_since(&self, endpoint_id: &str, since: i64) -> Result<bool> {
        Ok(with_pool!(self, |p| sqlx::query_scalar::<_, String>(
            "SELECT id FROM webhook_deliveries WHERE endpoint_id = $1 AND state = 'delivered' AND updated_at > $2 LIMIT 1"
        )
        .bind(endpoint_id)
        .bind(since)
        .fetch_optional(p)
        .await)?
        .is_some())
    }

    /// Disables a live endpoint; `true` if this call did (so its owner is told once).
    pub async fn disable_webhook_endpoint(&self, id: &str, reason: &str, now: i64) -> Result<bool> {
        let done = with_pool!(self, |p| {
            sqlx::query(
            "UPDATE webhook_endpoints SET disabled_at = $2, disabled_reason = $3 WHERE id = $1 AND disabled_at IS NULL"
        )
        .bind(id)
        .bind(now)
        .bind(reason)
        .execute(p)
        .await
        .map(|r| r.rows_affected())
        })?;
        Ok(done == 1)
    }

    /// Records the event, unless an event with its key exists, and queues one delivery (and
    /// its job) to each endpoint of the user subscribed to it (held as `paused` for a paused
    /// endpoint) and to the one-off callback of its subject, all in one transaction; with
    /// `only`, to that endpoint alone whatever it subscribes to (a test event). Returns how many deliveries were queued to send.
    pub async fn queue_webhook_event(
        &self,
        e: &NewEvent<'_>,
        only: Option<&str>,
        max_attempts: i64,
        now: i64,
    ) -> Result<u64> {
        with_pool!(self, |p| {
            let mut tx = p.begin().await?;
            let event_id: Option<String> = sqlx::query_scalar(
                "INSERT INTO webhook_events (id, user_id, event_type, payload, idempotency_key, created_at) \
                 VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (idempotency_key) DO NOTHING RETURNING id",
            )
            .bind(format!("msg_{}", new_id().replace('-', "")))
            .bind(e.user_id)
            .bind(e.event_type)
            .bind(e.payload)
            .bind(e.idempotency_key)
            .bind(now)
            .fetch_optional(&mut *tx)
            .await?;
            let Some(event_id) = event_id else {
                tx.rollback().await?;
                return Ok(0);
            };
            // A paused endpoint gets its delivery too, held until the owner turns it back on.
            let endpoints: Vec<(String, bool)> = sqlx::query_as(
                "SELECT id, disabled_at IS NOT NULL FROM webhook_endpoints WHERE user_id = $1 \
                 AND (id = $2 OR ($2 IS NULL AND (' ' || events || ' ') LIKE ('% ' || $3 || ' %') \
                 AND (subject_id IS NULL OR subject_id = $4))) ORDER BY created_at",
            )
            .bind(e.user_id)
            .bind(only)
            .bind(e.event_type)
            .bind(e.subject)
            .fetch_all(&mut *tx)
            .await?;
            for (endpoint_id, paused) in &endpoints {
                let delivery_id = new_id();
                sqlx::query(
                    "INSERT INTO webhook_deliveries (id, endpoint_id, event_id, user_id, state, attempts, created_at, updated_at) \
                     VALUES ($1, $2, $3, $4, $5, 0, $6, $6)",
                )
                .bind(&delivery_id)
                .bind(endpoint_id)
                .bind(&event_id)
                .bind(e.user_id)
                .bind(if *paused { "paused" } else { "pending" })
                .bind(now)
                .execute(&mut *tx)
                .await?;
                if *paused {
                    continue;
                }
                send_job!(tx, &delivery_id, e.user_id, &format!("webhook:{delivery_id}"), max_attempts, now)?;
            }
            tx.commit().await?;
            Ok(endpoints.iter().filter(|(_, paused)| !paused).count() as u64)
        })
    }

    /// Queues a finished or held delivery again (the owner's "send again"): same event, same
    /// id. `Invalid` while it is still pending.
    pub async fn resend_webhook_delivery(&self, user_id: &str, id: &str, max_attempts: i64, now: i64) -> Result<()> {
        with_pool!(self, |p| {
            let mut tx = p.begin().await?;
            let changed = sqlx::query(
                "UPDATE webhook_deliveries SET state = 'pending', updated_at = $3 \
                 WHERE id = $1 AND user_id = $2 AND state <> 'pending'",
            )
            .bind(id)
            .bind(user_id)
            .bind(now)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            if changed == 0 {
                tx.rollback().await?;
                return Err(DbError::Invalid("delivery unknown or still pending".into()));
            }
            send_job!(tx, id, user_id, &format!("webhook:{id}:again:{now}"), max_attempts, now)?;
            tx.commit().await?;
            Ok(())
        })
    }

    /// The state of the user's delivery to that endpoint, if there is one.
    pub async fn webhook_delivery_state(&self, user_id: &str, endpoint_id: &str, id: &str) -> Result<Option<String>> {
        Ok(with_pool!(self, |p| sqlx::query_scalar::<_, String>(
            "SELECT state FROM webhook_deliveries WHERE id = $1 AND endpoint_id = $2 AND user_id = $3"
        )
        .bind(id)
        .bind(endpoint_id)
        .bind(user_id)
        .fetch_optional(p)
        .await)?)
    }

    pub async fn webhook_sending(&self, delivery_id: &str) -> Result<Option<Sending>> {
        Ok(with_pool!(self, |p| sqlx::query_as::<_, Sending>(
            "SELECT d.id, d.user_id, d.endpoint_id, w.url, w.secret_sealed, (w.disabled_at IS NOT NULL) AS disabled, \
             (w.subject_id IS NOT NULL) AS one_off, \
             d.state, d.event_id, e.payload, d.created_at \
             FROM webhook_deliveries d JOIN webhook_endpoints w ON w.id = d.endpoint_id \
             JOIN webhook_events e ON e.id = d.event_id WHERE d.id = $1"
        )
        .bind(delivery_id)
        .fetch_optional(p)
        .await)?)
    }

    /// Records an attempt; a pending delivery becomes delivered when it got through, and
    /// stays pending otherwise (`fail_webhook_delivery` ends it).
    pub async fn record_webhook_attempt(&self, id: &str, a: &Attempt<'_>, now: i64) -> Result<()> {
        with_pool!(self, |p| sqlx::query(
            "UPDATE webhook_deliveries SET attempts = attempts + 1, \
             state = CASE WHEN $2 THEN 'delivered' ELSE state END, \
             response_status = $3, latency_ms = $4, response_excerpt = $5, error = $6, updated_at = $7 WHERE id = $1"
        )
        .bind(id)
        .bind(a.delivered)
        .bind(a.response_status)
        .bind(a.latency_ms)
        .bind(a.response_excerpt)
        .bind(a.error)
        .bind(now)
        .execute(p)
        .await
        .map(|_| ()))?;
        Ok(())
    }

    /// Gives up on a pending delivery.
    pub async fn fail_webhook_delivery(&self, id: &str, now: i64) -> Result<()> {
        with_pool!(self, |p| sqlx::query(
            "UPDATE webhook_deliveries SET state = 'failed', updated_at = $2 WHERE id = $1 AND state = 'pending'"
        )
        .bind(id)
        .bind(now)
        .execute(p)
        .await
        .map(|_| ()))?;
        Ok(())
    }

    /// Forgets events made before `cutoff`, with their deliveries, unless one is still being
    /// sent. Returns how many events went.
    pub async fn delete_webhook_events_before(&self, cutoff: i64) -> Result<u64> {
        Ok(with_pool!(self, |p| sqlx::query(
            "DELETE FROM webhook_events WHERE created_at < $1 AND NOT EXISTS \
             (SELECT 1 FROM webhook_deliveries d WHERE d.event_id = webhook_events.id AND d.state = 'pending')"
        )
        .bind(cutoff)
        .execute(p)
        .await
        .map(|r| r.rows_affected()))?)
    }

    /// The endpoint's deliveries, newest first.
    pub async fn webhook_deliveries_of(&self, user_id: &str, endpoint_id: &str, limit: i64) -> Result<Vec<Delivery>> {
        Ok(with_pool!(self, |p| {
            sqlx::query_as::<_, Delivery>(
            "SELECT d.id, d.endpoint_id, d.event_id, e.event_type, d.state, d.attempts, d.response_status, d.latency_ms, \
             d.response_excerpt, d.error, d.created_at, d.updated_at \
             FROM webhook_deliveries d JOIN webhook_events e ON e.id = d.event_id \
             WHERE d.user_id = $1 AND d.endpoint_id = $2 ORDER BY d.created_at DESC, d.id DESC LIMIT $3"
        )
        .bind(user_id)
        .bind(endpoint_id)
        .bind(limit)
        .fetch_all(p)
        .await
        })?)
    }
}
