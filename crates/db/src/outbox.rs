//! The mail outbox: a message is queued together with its delivery job, inside the caller's
//! transaction when there is one, so what happened and the mail saying so commit together.

use crate::{Db, DbError, Result, with_pool};

pub const JOB_KIND: &str = "mail";

/// A message to queue. `user_id` is set for marketing (consent is checked again when sent).
pub struct NewMail<'a> {
    pub user_id: Option<&'a str>,
    pub marketing: bool,
    pub to: &'a str,
    pub subject: &'a str,
    pub body: &'a str,
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct QueuedMail {
    pub id: String,
    pub user_id: Option<String>,
    pub kind: String,
    pub to_address: String,
    pub subject: String,
    pub body: String,
}

/// Queues `$mail` (a `NewMail`) and its job inside transaction `$tx`.
macro_rules! queue_mail {
    ($tx:ident, $mail:expr, $now:expr) => {
        async {
            let id = $crate::new_id();
            sqlx::query(
                "INSERT INTO outbox (id, user_id, kind, to_address, subject, body, created_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7)",
            )
            .bind(&id)
            .bind($mail.user_id)
            .bind(if $mail.marketing { "marketing" } else { "transactional" })
            .bind($mail.to)
            .bind($mail.subject)
            .bind($mail.body)
            .bind($now)
            .execute(&mut *$tx)
            .await?;
            let job = $crate::queue::NewJob {
                kind: $crate::outbox::JOB_KIND,
                payload: &id,
                max_attempts: 8,
                idempotency_key: None,
                user_id: $mail.user_id,
            };
            $crate::queue::insert_job!(&mut *$tx, job, $now).await?;
            Ok::<_, sqlx::Error>(())
        }
    };
}
pub(crate) use queue_mail;

impl Db {
    pub async fn queue_mail(&self, mail: &NewMail<'_>, now: i64) -> Result<()> {
        with_pool!(self, |p| {
            let mut tx = p.begin().await?;
            queue_mail!(tx, mail, now).await?;
            tx.commit().await
        })?;
        Ok(())
    }

    /// One message per user with an email (only those opted in to marketing, for
    /// marketing), all queued in one transaction. Returns how many.
    pub async fn queue_mail_to_everyone(&self, marketing: bool, subject: &str, body: &str, now: i64) -> Result<usize> {
        with_pool!(self, |p| {
            // Read before the transaction, which then only writes: a SQLite transaction that
            // reads first fails ('database is locked') when another writer commits meanwhile.
            // Consent is checked again when each mail is sent.
            let people: Vec<(String, String)> =
                // Marketing goes to those who asked for it and are not suspended; service
                // messages (a policy change) go to everyone.
                sqlx::query_as(
                    "SELECT id, email FROM users WHERE email IS NOT NULL \
                     AND ((marketing_opt_in AND suspended_at IS NULL) OR NOT $1)",
                )
                    .bind(marketing)
                    .fetch_all(p)
                    .await?;
            let mut tx = p.begin().await?;
            for (user_id, to) in &people {
                let mail = NewMail { user_id: Some(user_id), marketing, to, subject, body };
                queue_mail!(tx, mail, now).await?;
            }
            tx.commit().await?;
            Ok::<_, sqlx::Error>(people.len())
        })
        .map_err(DbError::from)
    }

    pub async fn queued_mail(&self, id: &str) -> Result<Option<QueuedMail>> {
        Ok(with_pool!(self, |p| sqlx::query_as::<_, QueuedMail>(
            "SELECT id, user_id, kind, to_address, subject, body FROM outbox WHERE id = $1"
        )
        .bind(id)
        .fetch_optional(p)
        .await)?)
    }

    /// Messages not yet delivered.
    pub async fn outbox_len(&self) -> Result<i64> {
        Ok(with_pool!(self, |p| sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM outbox").fetch_one(p).await)?)
    }

    /// Delivered or given up: the message leaves no copy.
    pub async fn forget_mail(&self, id: &str) -> Result<()> {
        with_pool!(self, |p| sqlx::query("DELETE FROM outbox WHERE id = $1")
            .bind(id)
            .execute(p)
            .await
            .map(|r| r.rows_affected()))?;
        Ok(())
    }
}
