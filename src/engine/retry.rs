//! Retrying store operations that failed for a passing reason (a lost connection, a busy or
//! locked database, later HTTP 429/5xx): exponential backoff with jitter (backon), honoring a
//! store's `Retry-After`. Errors of any other kind are returned at once.

use std::future::Future;
use std::time::Duration;

use backon::{ExponentialBuilder, Retryable};

use crate::config::RetryConfig;
use crate::store::StoreError;

/// How long and how often to retry.
#[derive(Debug, Clone, Copy)]
pub struct RetryPolicy {
    pub initial: Duration,
    pub max: Duration,
    pub attempts: usize,
}

impl From<&RetryConfig> for RetryPolicy {
    fn from(c: &RetryConfig) -> Self {
        RetryPolicy {
            initial: Duration::from_millis(c.initial_delay_ms),
            max: Duration::from_millis(c.max_delay_ms),
            attempts: c.max_attempts,
        }
    }
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy::from(&RetryConfig::default())
    }
}

/// Runs `op`, retrying transient failures; `what` names the operation in the log.
pub async fn retry<T, F, Fut>(policy: &RetryPolicy, what: &str, op: F) -> Result<T, StoreError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, StoreError>>,
{
    let backoff = ExponentialBuilder::default()
        .with_jitter()
        .with_min_delay(policy.initial)
        .with_max_delay(policy.max)
        .with_max_times(policy.attempts.saturating_sub(1));
    let mut op = op;
    let timed = || {
        let call = op();
        async move {
            let started = std::time::Instant::now();
            let result = call.await;
            super::metrics::store_call(what, started.elapsed(), result.as_ref().err());
            result
        }
    };
    timed
        .retry(backoff)
        .sleep(tokio::time::sleep)
        .when(StoreError::is_transient)
        // A store's own Retry-After wins over a shorter backoff; it never adds attempts.
        .adjust(|e: &StoreError, delay| delay.map(|d| e.retry_after.map_or(d, |r| r.max(d))))
        .notify(|e: &StoreError, delay| tracing::warn!(operation = what, retry_in = ?delay, error = %e, "retrying"))
        .await
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::ErrorKind;
    use std::sync::atomic::{AtomicUsize, Ordering};

    fn fast(attempts: usize) -> RetryPolicy {
        RetryPolicy {
            initial: Duration::from_millis(1),
            max: Duration::from_millis(5),
            attempts,
        }
    }

    #[tokio::test]
    async fn transient_errors_are_retried_until_success() {
        let calls = AtomicUsize::new(0);
        let result = retry(&fast(5), "test", || async {
            if calls.fetch_add(1, Ordering::SeqCst) < 2 {
                Err(StoreError::new(ErrorKind::Transient, "database is locked"))
            } else {
                Ok(7)
            }
        })
        .await;
        assert_eq!(result.unwrap(), 7);
        assert_eq!(calls.load(Ordering::SeqCst), 3);
    }

    #[tokio::test]
    async fn other_errors_and_exhausted_attempts_stop() {
        let calls = AtomicUsize::new(0);
        let result: Result<(), _> = retry(&fast(5), "test", || async {
            calls.fetch_add(1, Ordering::SeqCst);
            Err(StoreError::new(ErrorKind::Permanent, "no such table"))
        })
        .await;
        assert_eq!(result.unwrap_err().kind, ErrorKind::Permanent);
        assert_eq!(calls.load(Ordering::SeqCst), 1, "a permanent error is not retried");

        let calls = AtomicUsize::new(0);
        let result: Result<(), _> = retry(&fast(3), "test", || async {
            calls.fetch_add(1, Ordering::SeqCst);
            Err(StoreError::new(ErrorKind::Transient, "connection refused"))
        })
        .await;
        assert!(result.unwrap_err().is_transient());
        assert_eq!(calls.load(Ordering::SeqCst), 3, "three attempts in all");
    }

    #[tokio::test]
    async fn retry_after_is_honored() {
        let calls = AtomicUsize::new(0);
        let started = std::time::Instant::now();
        let result = retry(&fast(3), "test", || async {
            if calls.fetch_add(1, Ordering::SeqCst) == 0 {
                let mut e = StoreError::new(ErrorKind::Transient, "429");
                e.retry_after = Some(Duration::from_millis(200));
                Err(e)
            } else {
                Ok(())
            }
        })
        .await;
        assert!(result.is_ok());
        assert!(
            started.elapsed() >= Duration::from_millis(200),
            "waited as the store asked"
        );
    }
}
