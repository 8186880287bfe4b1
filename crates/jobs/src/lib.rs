//! The worker loop. At most `concurrency` jobs run at once; each keeps its lease alive
//! with heartbeats and is told to stop when its lease is lost or a cancel is requested.
//! A panicking handler fails its attempt instead of taking the worker down.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use futures_util::FutureExt;
use tokio::sync::{Semaphore, watch};

use db::Db;
use db::queue::Job;

pub type HandlerFuture = Pin<Box<dyn Future<Output = Result<(), JobError>> + Send>>;

/// Runs one kind of job.
pub trait Handler: Send + Sync + 'static {
    fn kind(&self) -> &'static str;
    fn run(&self, job: Job, ctx: JobContext) -> HandlerFuture;
    /// Called once when the job is dead (attempts used up, permanent error, or its worker
    /// lost on the last attempt), so the handler can settle what the job held.
    fn dead(&self, _job: Job) -> HandlerFuture {
        Box::pin(async { Ok(()) })
    }
}

#[derive(Debug, thiserror::Error)]
pub enum JobError {
    /// Worth another attempt after a backoff.
    #[error("{0}")]
    Retry(String),
    /// Worth another attempt, not before this long (a schedule of the handler's own).
    #[error("{0}")]
    RetryAfter(String, Duration),
    /// Will fail the same way again: dead at once.
    #[error("{0}")]
    Permanent(String),
}

/// Given to handlers: tells them when to stop early.
#[derive(Clone)]
pub struct JobContext {
    stop: watch::Receiver<bool>,
}

impl JobContext {
    /// True once the job was canceled or its lease lost; long handlers check between steps.
    pub fn should_stop(&self) -> bool {
        *self.stop.borrow()
    }
}

#[derive(Clone)]
pub struct Runner {
    db: Db,
    handlers: Arc<HashMap<&'static str, Arc<dyn Handler>>>,
    owner: String,
    concurrency: usize,
    lease: Duration,
    poll: Duration,
}

impl Runner {
    pub fn new(db: Db, handlers: Vec<Arc<dyn Handler>>, concurrency: usize) -> Self {
        let handlers = handlers.into_iter().map(|h| (h.kind(), h)).collect();
        let owner = format!("{}-{}", std::process::id(), uuid::Uuid::new_v4().simple());
        Self {
            db,
            handlers: Arc::new(handlers),
            owner,
            concurrency: concurrency.max(1),
            lease: Duration::from_secs(30),
            poll: Duration::from_millis(500),
        }
    }

    /// Shorter leases and polls, for tests of crash recovery.
    pub fn with_timing(mut self, lease: Duration, poll: Duration) -> Self {
        self.lease = lease;
        self.poll = poll;
        self
    }

    /// Claims and runs jobs until the task is dropped.
    pub async fn run(self) {
        tracing::info!(owner = %self.owner, concurrency = self.concurrency, "worker started");
        let slots = Arc::new(Semaphore::new(self.concurrency));
        // Owning the jobs' tasks here means they stop when this loop is dropped, as they
        // would if the process died.
        let mut running = tokio::task::JoinSet::new();
        let mut last_reap = std::time::Instant::now();
        loop {
            while running.try_join_next().is_some() {}
            let Ok(permit) = slots.clone().acquire_owned().await else { return };
            if last_reap.elapsed() > self.lease {
                last_reap = std::time::Instant::now();
                match self.db.reap_jobs(now_ms()).await {
                    Ok(dead) => {
                        for job in dead {
                            tracing::warn!(job = %job.id, kind = %job.kind, "job dead: worker lost on last attempt");
                            // Settle what it held (a creation's tokens), as for any dead job.
                            self.settle(job).await;
                        }
                    }
                    Err(e) => tracing::warn!(error = %e, "reaper failed"),
                }
            }
            match self.db.claim(&self.owner, now_ms(), as_ms(self.lease)).await {
                Ok(Some(job)) => {
                    let runner = self.clone();
                    running.spawn(async move {
                        runner.execute(job).await;
                        drop(permit);
                    });
                }
                Ok(None) => {
                    drop(permit);
                    tokio::time::sleep(self.poll).await;
                }
                Err(e) => {
                    drop(permit);
                    tracing::warn!(error = %e, "claim failed; retrying");
                    tokio::time::sleep(self.poll * 4).await;
                }
            }
        }
    }

    async fn execute(&self, job: Job) {
        let (id, kind) = (job.id.clone(), job.kind.clone());
        let started = std::time::Instant::now();
        // From when it could first run (its run_at) to now: how far behind the queue is.
        let waited = now_ms().saturating_sub(job.run_at).max(0) as f64 / 1000.0;
        metrics::histogram!("soraipixel_job_wait_seconds", "kind" => kind.clone()).record(waited);
        let Some(handler) = self.handlers.get(kind.as_str()).cloned() else {
            self.record(&id, Err(JobError::Permanent(format!("no handler for {kind}")))).await;
            return;
        };
        let (stop_tx, stop_rx) = watch::channel(false);
        let ctx = JobContext { stop: stop_rx.clone() };
        tracing::info!(job = %id, kind = %kind, attempt = job.attempts, "job started");
        // A panic in the handler becomes a failed attempt, not a dead worker.
        let work = std::panic::AssertUnwindSafe(handler.run(job, ctx)).catch_unwind();
        tokio::pin!(work);
        let mut beat = tokio::time::interval(self.lease / 3);
        beat.tick().await;
        let outcome = loop {
            tokio::select! {
                result = &mut work => break result.unwrap_or_else(|_| Err(JobError::Retry("handler panicked".into()))),
                _ = beat.tick() => match self.db.heartbeat(&id, &self.owner, now_ms(), as_ms(self.lease)).await {
                    Ok(Some(false)) => {}
                    // Canceled, or the lease was lost to another worker: ask the handler to stop.
                    Ok(Some(true) | None) => { let _ = stop_tx.send(true); }
                    Err(e) => tracing::warn!(job = %id, error = %e, "heartbeat failed"),
                },
            }
        };
        let seconds = started.elapsed().as_secs_f64();
        if *stop_rx.borrow() && outcome.is_err() {
            // Canceled or lease lost: finish as canceled if we still hold it.
            let _ = self.db.finish_job(&id, &self.owner, "canceled", now_ms()).await;
            tracing::info!(job = %id, "job stopped early");
            metrics::histogram!("soraipixel_job_seconds", "kind" => kind, "outcome" => "stopped").record(seconds);
            return;
        }
        let label = match &outcome {
            Ok(()) => "succeeded",
            Err(JobError::Permanent(_)) => "failed",
            Err(_) => "retried",
        };
        metrics::histogram!("soraipixel_job_seconds", "kind" => kind, "outcome" => label).record(seconds);
        self.record(&id, outcome).await;
    }

    async fn record(&self, id: &str, outcome: Result<(), JobError>) {
        let now = now_ms();
        let result = match &outcome {
            Ok(()) => self.db.finish_job(id, &self.owner, "succeeded", now).await.map(|_| Some("succeeded".to_owned())),
            Err(JobError::Retry(msg)) => self.db.fail_job(id, &self.owner, msg, false, None, now).await,
            Err(JobError::RetryAfter(msg, after)) => {
                self.db.fail_job(id, &self.owner, msg, false, Some(as_ms(*after)), now).await
            }
            Err(JobError::Permanent(msg)) => self.db.fail_job(id, &self.owner, msg, true, None, now).await,
        };
        if let Ok(Some(state)) = &result
            && state == "dead"
            && let Ok(Some(job)) = self.db.job(id).await
        {
            self.settle(job).await;
        }
        match result {
            Ok(state) => {
                tracing::info!(job = %id, state = state.as_deref().unwrap_or("lost"), error = outcome.err().map(|e| e.to_string()), "job finished")
            }
            Err(e) => {
                tracing::error!(job = %id, error = %e, "could not record the job's outcome; its lease will expire and it will run again")
            }
        }
    }
}

impl Runner {
    async fn settle(&self, job: Job) {
        let id = job.id.clone();
        if let Some(handler) = self.handlers.get(job.kind.as_str()).cloned()
            && let Err(e) = handler.dead(job).await
        {
            tracing::error!(job = %id, error = %e, "settling a dead job failed");
        }
    }
}

fn as_ms(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(30_000)
}

pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or_default()
}
