//! The job queue's storage. A claim leases a job to one worker until `lease_expires_at`;
//! the worker extends the lease with heartbeats. A job whose lease ran out (its worker
//! crashed) is claimable again, until its attempts are used up and the reaper marks it dead.

use serde::Serialize;

use crate::{Backend, Db, Result, with_pool};

#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct Job {
    pub id: String,
    pub kind: String,
    pub payload: String,
    pub state: String,
    pub attempts: i64,
    pub max_attempts: i64,
    pub run_at: i64,
    pub lease_owner: Option<String>,
    pub lease_expires_at: Option<i64>,
    pub cancel_requested: bool,
    pub last_error: Option<String>,
    pub idempotency_key: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
}

pub struct NewJob<'a> {
    pub kind: &'a str,
    pub payload: &'a str,
    pub max_attempts: i64,
    /// Enqueuing the same key twice yields the first job.
    pub idempotency_key: Option<&'a str>,
    /// The person the job works for: erasing them erases it.
    pub user_id: Option<&'a str>,
}

macro_rules! columns {
    () => {
        "id, kind, payload, state, attempts, max_attempts, run_at, lease_owner, lease_expires_at, cancel_requested, \
         last_error, idempotency_key, created_at, updated_at"
    };
}

/// Inserts a job with any executor of the arm's backend (a pool or an open transaction),
/// so domain changes can enqueue in their own transaction.
macro_rules! insert_job {
    ($executor:expr, $job:expr, $now:expr) => {
        sqlx::query(
            "INSERT INTO jobs (id, kind, payload, state, attempts, max_attempts, run_at, idempotency_key, user_id, created_at, updated_at) \
             VALUES ($1, $2, $3, 'queued', 0, $4, $5, $6, $7, $5, $5) ON CONFLICT (idempotency_key) DO NOTHING",
        )
        .bind($crate::new_id())
        .bind($job.kind)
        .bind($job.payload)
        .bind($job.max_attempts)
        .bind($now)
        .bind($job.idempotency_key)
        .bind($job.user_id)
        .execute($executor)
    };
}
pub(crate) use insert_job;

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct QueueDepth {
    pub kind: String,
    pub waiting: i64,
    pub running: i64,
    pub oldest_due: Option<i64>,
}

impl Db {
    pub async fn enqueue(&self, job: NewJob<'_>, now: i64) -> Result<Job> {
        with_pool!(self, |p| insert_job!(p, job, now).await.map(|_| ()))?;
        let found = match job.idempotency_key {
            Some(key) => self.job_by_key(key).await?,
            None => None,
        };
        match found {
            Some(j) => Ok(j),
            None => self.newest_job(job.kind).await,
        }
    }

    pub(crate) async fn job_by_key(&self, key: &str) -> Result<Option<Job>> {
        Ok(with_pool!(self, |p| sqlx::query_as::<_, Job>(concat!(
            "SELECT ",
            columns!(),
            " FROM jobs WHERE idempotency_key = $1"
        ))
        .bind(key)
        .fetch_optional(p)
        .await)?)
    }

    async fn newest_job(&self, kind: &str) -> Result<Job> {
        Ok(with_pool!(self, |p| sqlx::query_as::<_, Job>(concat!(
            "SELECT ",
            columns!(),
            " FROM jobs WHERE kind = $1 ORDER BY created_at DESC, id DESC LIMIT 1"
        ))
        .bind(kind)
        .fetch_one(p)
        .await)?)
    }

    pub async fn job(&self, id: &str) -> Result<Option<Job>> {
        Ok(with_pool!(self, |p| sqlx::query_as::<_, Job>(concat!("SELECT ", columns!(), " FROM jobs WHERE id = $1"))
            .bind(id)
            .fetch_optional(p)
            .await)?)
    }

    /// Jobs waiting or running, by kind: the queue's depth for monitoring. `waiting` counts
    /// queued jobs that are due (not those held back by a retry's backoff); `oldest_due`
    /// is when the longest-waiting of them became due.
    pub async fn queue_depth(&self, now: i64) -> Result<Vec<QueueDepth>> {
        Ok(with_pool!(self, |p| sqlx::query_as::<_, QueueDepth>(
            "SELECT kind, \
                    SUM(CASE WHEN state = 'queued' AND run_at <= $1 THEN 1 ELSE 0 END) AS waiting, \
                    SUM(CASE WHEN state = 'running' THEN 1 ELSE 0 END) AS running, \
                    MIN(CASE WHEN state = 'queued' AND run_at <= $1 THEN run_at END) AS oldest_due \
             FROM jobs WHERE state IN ('queued', 'running') GROUP BY kind ORDER BY kind"
        )
        .bind(now)
        .fetch_all(p)
        .await)?)
    }

    /// Leases the oldest ready job (queued and due, or running with an expired lease and
    /// attempts left) to `owner` for `lease_ms`. One statement, so two workers never get
    /// the same job: Postgres skips rows another claim has locked; SQLite has one writer.
    pub async fn claim(&self, owner: &str, now: i64, lease_ms: i64) -> Result<Option<Job>> {
        const READY: &str = "(state = 'queued' AND run_at <= $3) OR (state = 'running' AND lease_expires_at < $3 AND attempts < max_attempts)";
        // Postgres skips rows another claim has locked; SQLite has one writer anyway.
        let lock = if matches!(self.backend, Backend::Postgres(_)) { " FOR UPDATE SKIP LOCKED" } else { "" };
        let sql = sqlx::AssertSqlSafe(format!(
            "UPDATE jobs SET state = 'running', attempts = attempts + 1, lease_owner = $1, lease_expires_at = $2, updated_at = $3 \
             WHERE id = (SELECT id FROM jobs WHERE {READY} ORDER BY run_at, id LIMIT 1{lock}) RETURNING {}",
            columns!()
        ));
        let job = with_pool!(self, |p| sqlx::query_as::<_, Job>(sql)
            .bind(owner)
            .bind(now + lease_ms)
            .bind(now)
            .fetch_optional(p)
            .await)?;
        Ok(job)
    }

    /// Extends the lease. Returns `Some(cancel_requested)` while `owner` still holds the job,
    /// `None` once it lost it (expired and claimed by someone else, or finished).
    pub async fn heartbeat(&self, id: &str, owner: &str, now: i64, lease_ms: i64) -> Result<Option<bool>> {
        Ok(with_pool!(self, |p| {
            sqlx::query_scalar::<_, bool>(
            "UPDATE jobs SET lease_expires_at = $3, updated_at = $4 WHERE id = $1 AND lease_owner = $2 AND state = 'running' \
             RETURNING cancel_requested"
        )
        .bind(id)
        .bind(owner)
        .bind(now + lease_ms)
        .bind(now)
        .fetch_optional(p)
        .await
        })?)
    }

    /// Marks the job done if `owner` still holds it.
    pub async fn finish_job(&self, id: &str, owner: &str, state: &str, now: i64) -> Result<bool> {
        let done = with_pool!(self, |p| sqlx::query(
            "UPDATE jobs SET state = $3, lease_owner = NULL, lease_expires_at = NULL, updated_at = $4 \
             WHERE id = $1 AND lease_owner = $2 AND state = 'running'"
        )
        .bind(id)
        .bind(owner)
        .bind(state)
        .bind(now)
        .execute(p)
        .await
        .map(|r| r.rows_affected()))?;
        Ok(done == 1)
    }

    /// Records a failed attempt: back to the queue after `delay_ms`, or else an exponential
    /// backoff (2 s, 4 s, 8 s … capped near 17 minutes), or dead when the attempts are used
    /// up (or `permanent`).
    pub async fn fail_job(
        &self,
        id: &str,
        owner: &str,
        error: &str,
        permanent: bool,
        delay_ms: Option<i64>,
        now: i64,
    ) -> Result<Option<String>> {
        Ok(with_pool!(self, |p| {
            sqlx::query_scalar::<_, String>(
            "UPDATE jobs SET state = CASE WHEN $4 OR attempts >= max_attempts THEN 'dead' ELSE 'queued' END, \
             run_at = $5 + COALESCE($7, $6 * (CAST(1 AS BIGINT) << CAST(CASE WHEN attempts > 10 THEN 10 ELSE attempts END AS INTEGER))), \
             last_error = $3, lease_owner = NULL, lease_expires_at = NULL, updated_at = $5 \
             WHERE id = $1 AND lease_owner = $2 AND state = 'running' RETURNING state"
        )
        .bind(id)
        .bind(owner)
        .bind(error)
        .bind(permanent)
        .bind(now)
        .bind(1_000i64)
        .bind(delay_ms)
        .fetch_optional(p)
        .await
        })?)
    }

    /// Cancels a queued job at once; a running one is asked to stop at its next heartbeat.
    /// Returns the job's state afterwards.
    pub async fn cancel_job(&self, id: &str, now: i64) -> Result<Option<String>> {
        Ok(with_pool!(self, |p| sqlx::query_scalar::<_, String>(
            "UPDATE jobs SET state = CASE WHEN state = 'queued' THEN 'canceled' ELSE state END, \
             cancel_requested = CASE WHEN state = 'running' THEN TRUE ELSE cancel_requested END, updated_at = $2 \
             WHERE id = $1 RETURNING state"
        )
        .bind(id)
        .bind(now)
        .fetch_optional(p)
        .await)?)
    }

    /// Jobs whose worker vanished on their last attempt: dead, with the reason.
    pub async fn reap_jobs(&self, now: i64) -> Result<Vec<Job>> {
        Ok(with_pool!(self, |p| sqlx::query_as::<_, Job>(concat!(
            "UPDATE jobs SET state = 'dead', last_error = COALESCE(last_error, 'worker lost (lease expired)'), \
             lease_owner = NULL, lease_expires_at = NULL, updated_at = $1 \
             WHERE state = 'running' AND lease_expires_at < $1 AND attempts >= max_attempts RETURNING ",
            columns!()
        ))
        .bind(now)
        .fetch_all(p)
        .await)?)
    }
}
