//! The worker against a real queue on both backends: retries, panics, cancellation, and a
//! worker killed mid-job whose job another worker finishes after the lease expires.

#![allow(clippy::unwrap_used, clippy::panic, reason = "tests fail loudly")]

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use db::queue::{Job, NewJob};
use db::{Db, on_both_backends};
use jobs::{Handler, HandlerFuture, JobContext, JobError, Runner};

/// Behaviour chosen by the payload: "ok", "flaky" (fails the first attempt), "panic",
/// "slow" (runs until told to stop), "bad" (permanent failure).
struct Test {
    seen: Arc<Seen>,
}

/// What the handler saw: attempts started, and dead jobs settled.
#[derive(Default)]
struct Seen {
    runs: AtomicUsize,
    settled: AtomicUsize,
}

impl Handler for Test {
    fn kind(&self) -> &'static str {
        "test"
    }

    fn run(&self, job: Job, ctx: JobContext) -> HandlerFuture {
        let seen = self.seen.clone();
        Box::pin(async move {
            seen.runs.fetch_add(1, Ordering::SeqCst);
            match job.payload.as_str() {
                "flaky" if job.attempts == 1 => Err(JobError::Retry("first try fails".into())),
                "panic" => panic!("boom"),
                "bad" => Err(JobError::Permanent("cannot ever work".into())),
                "slow" => {
                    for _ in 0..400 {
                        if ctx.should_stop() {
                            return Err(JobError::Retry("stopped".into()));
                        }
                        tokio::time::sleep(Duration::from_millis(10)).await;
                    }
                    Ok(())
                }
                _ => Ok(()),
            }
        })
    }

    fn dead(&self, _job: Job) -> HandlerFuture {
        let seen = self.seen.clone();
        Box::pin(async move {
            seen.settled.fetch_add(1, Ordering::SeqCst);
            Ok(())
        })
    }
}

fn runner(db: &Db, seen: &Arc<Seen>) -> Runner {
    Runner::new(db.clone(), vec![Arc::new(Test { seen: seen.clone() })], 2)
        .with_timing(Duration::from_millis(600), Duration::from_millis(20))
}

async fn enqueue(db: &Db, payload: &str, max_attempts: i64) -> String {
    db.enqueue(NewJob { kind: "test", payload, max_attempts, idempotency_key: None, user_id: None }, jobs::now_ms())
        .await
        .unwrap()
        .id
}

async fn wait_for(db: &Db, id: &str, state: &str) -> Job {
    for _ in 0..600 {
        let j = db.job(id).await.unwrap().unwrap();
        if j.state == state {
            return j;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("job {id} never reached {state}: {:?}", db.job(id).await.unwrap());
}

async fn outcomes(db: Db) {
    let seen = Arc::new(Seen::default());
    let ok = enqueue(&db, "ok", 3).await;
    let bad = enqueue(&db, "bad", 3).await;
    let worker = tokio::spawn(runner(&db, &seen).run());
    assert_eq!(wait_for(&db, &ok, "succeeded").await.attempts, 1);
    let dead = wait_for(&db, &bad, "dead").await;
    assert_eq!(
        (dead.attempts, dead.last_error.as_deref()),
        (1, Some("cannot ever work")),
        "permanent errors are not retried"
    );
    worker.abort();
}

async fn retries_and_panics(db: Db) {
    let seen = Arc::new(Seen::default());
    // Backoff after the first failure is 2 s; the test waits for it.
    let flaky = enqueue(&db, "flaky", 3).await;
    let panics = enqueue(&db, "panic", 1).await;
    let worker = tokio::spawn(runner(&db, &seen).run());
    let dead = wait_for(&db, &panics, "dead").await;
    assert_eq!(dead.last_error.as_deref(), Some("handler panicked"), "a panic fails the attempt, not the worker");
    assert_eq!(wait_for(&db, &flaky, "succeeded").await.attempts, 2);
    worker.abort();
}

async fn cancel_running(db: Db) {
    let seen = Arc::new(Seen::default());
    let slow = enqueue(&db, "slow", 3).await;
    let worker = tokio::spawn(runner(&db, &seen).run());
    wait_for(&db, &slow, "running").await;
    db.cancel_job(&slow, jobs::now_ms()).await.unwrap();
    wait_for(&db, &slow, "canceled").await;
    worker.abort();
}

async fn killed_worker_job_completes_after_lease_expiry(db: Db) {
    let seen = Arc::new(Seen::default());
    let slow = enqueue(&db, "slow", 3).await;
    let doomed = tokio::spawn(runner(&db, &seen).run());
    // Kill it once its handler is really working, not merely after the claim.
    while seen.runs.load(Ordering::SeqCst) == 0 {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    doomed.abort(); // the process dies: no heartbeat, no cleanup
    let survivor = tokio::spawn(runner(&db, &seen).run());
    let done = wait_for(&db, &slow, "succeeded").await;
    assert_eq!(done.attempts, 2, "taken over once the lease expired");
    assert_eq!(seen.runs.load(Ordering::SeqCst), 2);
    survivor.abort();
}

/// A worker lost on the job's last attempt: the reaper marks it dead and the handler
/// settles what it held (for creations: the tokens come back).
async fn job_lost_on_its_last_attempt_is_settled(db: Db) {
    let seen = Arc::new(Seen::default());
    let slow = enqueue(&db, "slow", 1).await;
    let doomed = tokio::spawn(runner(&db, &seen).run());
    while seen.runs.load(Ordering::SeqCst) == 0 {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    doomed.abort();
    let reaper = tokio::spawn(runner(&db, &seen).run());
    let dead = wait_for(&db, &slow, "dead").await;
    assert_eq!(dead.last_error.as_deref(), Some("worker lost (lease expired)"));
    for _ in 0..100 {
        if seen.settled.load(Ordering::SeqCst) == 1 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(seen.settled.load(Ordering::SeqCst), 1, "settled once");
    assert_eq!(seen.runs.load(Ordering::SeqCst), 1, "not run again");
    reaper.abort();
}

on_both_backends!(
    outcomes,
    retries_and_panics,
    cancel_running,
    killed_worker_job_completes_after_lease_expiry,
    job_lost_on_its_last_attempt_is_settled
);
