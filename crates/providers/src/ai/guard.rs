//! Every call to a provider passes one guard: a deadline for the whole call, a limit on
//! calls in flight (providers rate-limit per key), and a circuit breaker that stops
//! calling a provider after repeated outages and lets one trial call through after a
//! cool-down, so a dead provider fails fast and the caller can fall back.

use std::future::Future;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use serde::Deserialize;
use tokio::sync::Semaphore;

use super::AiError;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct GuardSettings {
    pub concurrency: usize,
    pub timeout_secs: u64,
    /// Consecutive outages that open the circuit.
    pub failures_to_open: u32,
    pub open_secs: u64,
}

impl Default for GuardSettings {
    fn default() -> Self {
        Self { concurrency: 4, timeout_secs: 120, failures_to_open: 5, open_secs: 60 }
    }
}

#[derive(Debug, Default)]
struct Breaker {
    failures: u32,
    open_until: Option<Instant>,
    /// A trial call is out after the cool-down; others wait for its verdict.
    trial: bool,
}

pub struct Guard {
    name: String,
    settings: GuardSettings,
    permits: Semaphore,
    breaker: Mutex<Breaker>,
}

impl Guard {
    pub fn new(name: &str, settings: GuardSettings) -> Self {
        Self {
            name: name.to_owned(),
            settings,
            permits: Semaphore::new(settings.concurrency.max(1)),
            breaker: Mutex::new(Breaker::default()),
        }
    }

    pub async fn run<T>(&self, call: impl Future<Output = Result<T, AiError>>) -> Result<T, AiError> {
        self.admit()?;
        // A call dropped midway (its caller gave up) records nothing; the trial flag must
        // not stay set, or the circuit would never close.
        struct Pending<'a>(&'a Guard);
        impl Drop for Pending<'_> {
            fn drop(&mut self) {
                if let Ok(mut b) = self.0.breaker.lock() {
                    b.trial = false;
                }
            }
        }
        let _pending = Pending(self);
        let result = match self.permits.acquire().await {
            Ok(_permit) => tokio::time::timeout(Duration::from_secs(self.settings.timeout_secs), call)
                .await
                .unwrap_or(Err(AiError::Timeout)),
            Err(_) => Err(AiError::Unavailable(self.name.clone())),
        };
        self.record(result.as_ref().err());
        result
    }

    fn admit(&self) -> Result<(), AiError> {
        let mut b = self.breaker.lock().map_err(|_| AiError::Unavailable(self.name.clone()))?;
        match b.open_until {
            Some(t) if Instant::now() < t || b.trial => Err(AiError::Unavailable(self.name.clone())),
            Some(_) => {
                b.trial = true;
                Ok(())
            }
            None => Ok(()),
        }
    }

    fn record(&self, error: Option<&AiError>) {
        let Ok(mut b) = self.breaker.lock() else { return };
        b.trial = false;
        match error {
            Some(e) if e.is_outage() => {
                b.failures += 1;
                if b.failures >= self.settings.failures_to_open || b.open_until.is_some() {
                    b.open_until = Some(Instant::now() + Duration::from_secs(self.settings.open_secs));
                    tracing::warn!(provider = %self.name, "circuit open: {} outages in a row", b.failures);
                }
            }
            // The provider answered (even with a refusal): it is up.
            _ => *b = Breaker::default(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn opens_after_outages_and_closes_after_a_good_trial() {
        let g =
            Guard::new("test", GuardSettings { concurrency: 1, timeout_secs: 5, failures_to_open: 2, open_secs: 0 });
        let fail = || async { Err::<(), _>(AiError::Timeout) };
        assert_eq!(g.run(fail()).await, Err(AiError::Timeout));
        assert_eq!(g.run(async { Err::<(), _>(AiError::Refused("no".into())) }).await.unwrap_err().code(), "refused");
        // A refusal resets the count: two outages in a row are needed.
        assert_eq!(g.run(fail()).await, Err(AiError::Timeout));
        assert_eq!(g.run(fail()).await, Err(AiError::Timeout));
        // open_secs = 0: the cool-down is over at once, so the next call is the trial.
        assert!(g.run(async { Ok(()) }).await.is_ok());
        assert!(g.run(async { Ok(()) }).await.is_ok(), "closed again after a good trial");
    }

    #[tokio::test]
    async fn an_open_circuit_refuses_without_calling() {
        let g =
            Guard::new("test", GuardSettings { concurrency: 1, timeout_secs: 5, failures_to_open: 1, open_secs: 60 });
        let _ = g.run(async { Err::<(), _>(AiError::Transport("down".into())) }).await;
        let called = std::sync::atomic::AtomicBool::new(false);
        let r = g
            .run(async {
                called.store(true, std::sync::atomic::Ordering::SeqCst);
                Ok(())
            })
            .await;
        assert_eq!(r, Err(AiError::Unavailable("test".into())));
        assert!(!called.load(std::sync::atomic::Ordering::SeqCst));
    }

    #[tokio::test]
    async fn a_slow_call_times_out() {
        let g = Guard::new("test", GuardSettings { timeout_secs: 0, ..GuardSettings::default() });
        let r = g.run(async {
            tokio::time::sleep(Duration::from_millis(50)).await;
            Ok(())
        });
        assert_eq!(r.await, Err(AiError::Timeout));
    }
}
