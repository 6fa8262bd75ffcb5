//! Which failures are transient, and how long to wait before the next attempt.
use std::time::{Duration, Instant};

use rand::Rng;

use super::AliyunClient;
use crate::error::{Error, Result};

/// How transient failures are retried: bounded in attempts, in total time since the first
/// attempt, and by the invocation's deadline (FC kills the function at its timeout).
#[derive(Debug, Clone, Copy)]
pub struct RetryPolicy {
    pub max_attempts: u32,
    pub base_delay: Duration,
    pub max_delay: Duration,
    /// No new attempt starts after this much time has passed since the first one.
    pub max_elapsed: Duration,
    pub request_timeout: Duration,
    /// No attempt starts, and none runs, past this instant.
    pub deadline: Option<Instant>,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        let c = crate::aliyun::RetryConfig::default();
        RetryPolicy::from(&c)
    }
}

impl From<&crate::aliyun::RetryConfig> for RetryPolicy {
    fn from(c: &crate::aliyun::RetryConfig) -> Self {
        RetryPolicy {
            max_attempts: c.max_attempts.max(1),
            base_delay: Duration::from_millis(c.base_delay_ms),
            max_delay: Duration::from_millis(c.max_delay_ms),
            max_elapsed: Duration::from_secs(c.max_elapsed_secs),
            request_timeout: Duration::from_secs(c.request_timeout_secs.max(1)),
            deadline: None,
        }
    }
}

impl RetryPolicy {
    /// Full jitter: a random delay in [0, min(max, base * 2^attempt)].
    pub(crate) fn delay(&self, attempt: u32) -> Duration {
        let cap = self
            .base_delay
            .saturating_mul(1u32 << attempt.min(16))
            .min(self.max_delay);
        let ms = rand::thread_rng().gen_range(0..=cap.as_millis() as u64);
        Duration::from_millis(ms)
    }

    /// Whether another attempt may start after `attempt` attempts and a pause of `delay`.
    fn may_retry(&self, attempt: u32, started: Instant, delay: Duration) -> bool {
        attempt < self.max_attempts
            && started.elapsed() + delay < self.max_elapsed
            && self.deadline.is_none_or(|d| {
                // Checked: `delay` comes from [aliyun.retry] numbers.
                Instant::now()
                    .checked_add(delay.saturating_add(Duration::from_millis(100)))
                    .is_some_and(|t| t < d)
            })
    }

    /// The timeout of one attempt: the configured one, cut short by the deadline.
    pub(super) fn attempt_timeout(&self) -> Option<Duration> {
        match self.deadline {
            None => Some(self.request_timeout),
            Some(d) => {
                let left = d.saturating_duration_since(Instant::now());
                (!left.is_zero()).then(|| left.min(self.request_timeout))
            }
        }
    }
}

/// Whether an Alibaba error code / HTTP status is worth another try: throttling (any
/// `Throttling*` code, HTTP 429 as FC 3 answers it), the service's own "busy / try again"
/// codes (`SystemBusy`, `ServiceBusy`, `IdempotenceProcessing`: ALIBABA_API.md, "Retryable
/// beyond ..."), and server errors. Every other 4xx is the caller's fault and is never retried.
pub fn is_retryable(code: &str, http_status: u16) -> bool {
    is_retryable_with(code, http_status, &[])
}

/// [`is_retryable`], plus the product-specific codes in `extra` (exact, or a prefix when it
/// ends with `.`/`*`, e.g. ALB's `IncorrectStatus.Listener` during `Configuring`).
pub fn is_retryable_with(code: &str, http_status: u16, extra: &[&str]) -> bool {
    const BUSY: [&str; 4] = [
        "UnknownError",
        "SystemBusy",
        "ServiceBusy",
        "IdempotenceProcessing",
    ];
    code.starts_with("Throttling")
        || code.starts_with("ServiceUnavailable")
        || code.starts_with("InternalError")
        || BUSY.contains(&code)
        || http_status == 429
        || http_status >= 500
        || extra.iter().any(|e| match e.strip_suffix('*') {
            Some(prefix) => code.starts_with(prefix),
            None => code == *e,
        })
}

/// Whether another try of a failed call may succeed: a retryable Alibaba answer
/// ([`is_retryable`]) or the network (timeouts, dropped connections). The one classification
/// of the crate: the client's retries and the callers that retry whole steps use it.
pub fn is_transient(e: &Error) -> bool {
    is_transient_with(e, &[])
}

fn is_transient_with(e: &Error, extra: &[&str]) -> bool {
    match e {
        Error::Aliyun {
            code, http_status, ..
        } => is_retryable_with(code, *http_status, extra),
        Error::Transport { .. } => true,
        _ => false,
    }
}

/// `Retry-After`: delta seconds or an HTTP date (RFC 9110 10.2.3); `None` if absent or
/// unreadable, zero for a date in the past.
pub fn parse_retry_after(value: &str, now: std::time::SystemTime) -> Option<Duration> {
    let v = value.trim();
    if let Ok(secs) = v.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let when = httpdate::parse_http_date(v).ok()?;
    Some(when.duration_since(now).unwrap_or(Duration::ZERO))
}

/// One failed attempt and the server's `Retry-After`, if it sent one.
pub(super) struct Failure {
    pub error: Error,
    pub retry_after: Option<Duration>,
}

impl From<Error> for Failure {
    fn from(error: Error) -> Self {
        Failure {
            error,
            retry_after: None,
        }
    }
}

pub(super) type Attempt<T> = std::result::Result<T, Failure>;

impl AliyunClient {
    /// Run `call` until it succeeds, fails for good, or the retry policy (attempts, total
    /// time, the invocation's deadline) says stop. Transient: see [`is_transient`] (with the
    /// caller's `extra` codes). A server's `Retry-After` sets the pause (capped by
    /// `max_delay`; past the deadline, no retry). Every call goes through here.
    pub(super) async fn with_retries<T, F, Fut>(
        &self,
        action: &str,
        extra: &[&str],
        mut call: F,
    ) -> Result<T>
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = Attempt<T>>,
    {
        let started = Instant::now();
        let mut attempt = 0;
        loop {
            let failure = match call().await {
                Ok(v) => return Ok(v),
                Err(f) => f,
            };
            attempt += 1;
            let delay = match failure.retry_after {
                Some(d) => d.min(self.retry.max_delay),
                None => self.retry.delay(attempt),
            };
            if !is_transient_with(&failure.error, extra)
                || !self.retry.may_retry(attempt, started, delay)
            {
                return Err(failure.error);
            }
            tracing::warn!(
                action,
                attempt,
                delay_ms = delay.as_millis() as u64,
                error = %failure.error,
                "retrying Alibaba Cloud call"
            );
            tokio::time::sleep(delay).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU32, Ordering::SeqCst};

    #[test]
    fn retry_classification() {
        assert!(is_retryable("Throttling.User", 400));
        assert!(is_retryable("ServiceUnavailable", 503));
        assert!(is_retryable("InternalError", 500));
        assert!(is_retryable("Whatever", 502));
        assert!(!is_retryable("InvalidAccessKeyId.NotFound", 404));
        assert!(!is_retryable("SignatureDoesNotMatch", 400));
        assert!(!is_retryable("DomainRecordDuplicate", 400));
        // FC 3 throttling is a bare 429; the busy codes of ALIBABA_API.md.
        assert!(is_retryable("TooManyRequests", 429));
        assert!(is_retryable("HTTP429", 429));
        for code in ["SystemBusy", "ServiceBusy", "IdempotenceProcessing"] {
            assert!(is_retryable(code, 400), "{code}");
        }
        // Caller errors never are, whatever their 4xx.
        for (code, status) in [
            ("InvalidParameter", 400),
            ("Forbidden.RAM", 403),
            ("EntityNotExist.Role", 404),
            ("FileAlreadyExists", 409),
            ("IncorrectStatus.Listener", 400),
        ] {
            assert!(!is_retryable(code, status), "{code}");
        }
        // A caller-supplied set (ALB's in-configuration codes): exact or `prefix*`.
        let alb = ["IncorrectStatus.Listener", "ResourceInConfiguring.*"];
        assert!(is_retryable_with("IncorrectStatus.Listener", 400, &alb));
        let configuring = "ResourceInConfiguring.Listener";
        assert!(is_retryable_with(configuring, 400, &alb));
        assert!(!is_retryable_with(
            "IncorrectStatus.LoadBalancer",
            400,
            &alb
        ));
        // Whole errors: the network is transient, configuration never is.
        let transport = Error::Transport {
            action: "X".into(),
            message: "timed out".into(),
        };
        assert!(is_transient(&transport));
        assert!(!is_transient(&Error::Config("x".into())));
        assert!(is_transient(&err("Throttling", 400)));
        assert!(!is_transient(&err("InvalidParameter", 400)));
    }

    #[test]
    fn retry_after_is_seconds_or_an_http_date() {
        let now = std::time::SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        assert_eq!(parse_retry_after("7", now), Some(Duration::from_secs(7)));
        assert_eq!(parse_retry_after(" 0 ", now), Some(Duration::ZERO));
        let later = httpdate::fmt_http_date(now + Duration::from_secs(30));
        assert_eq!(
            parse_retry_after(&later, now),
            Some(Duration::from_secs(30))
        );
        let earlier = httpdate::fmt_http_date(now - Duration::from_secs(30));
        assert_eq!(parse_retry_after(&earlier, now), Some(Duration::ZERO));
        assert_eq!(parse_retry_after("soon", now), None);
        assert_eq!(parse_retry_after("-1", now), None);
    }

    fn err(code: &str, status: u16) -> Error {
        Error::Aliyun {
            action: "X".into(),
            code: code.into(),
            message: String::new(),
            request_id: String::new(),
            http_status: status,
        }
    }

    fn client() -> AliyunClient {
        super::super::test_client(None).with_retry(RetryPolicy {
            max_attempts: 3,
            base_delay: Duration::from_secs(5),
            max_delay: Duration::from_millis(300),
            max_elapsed: Duration::from_secs(30),
            request_timeout: Duration::from_secs(5),
            deadline: None,
        })
    }

    #[tokio::test]
    async fn retry_after_sets_the_pause() {
        // Throttled twice with Retry-After 1 s (capped at max_delay 300 ms), then fine.
        let calls = AtomicU32::new(0);
        let started = Instant::now();
        let out = client()
            .with_retries("X", &[], || async {
                match calls.fetch_add(1, SeqCst) {
                    0 | 1 => Err(Failure {
                        error: err("Throttling", 429),
                        retry_after: Some(Duration::from_secs(1)),
                    }),
                    _ => Ok(42),
                }
            })
            .await;
        assert_eq!(out.unwrap(), 42);
        let took = started.elapsed();
        assert!(
            took >= Duration::from_millis(600) && took < Duration::from_millis(1500),
            "{took:?}"
        );
    }

    #[tokio::test]
    async fn caller_errors_are_not_retried_unless_listed() {
        let c = client();
        // A caller error: one attempt only.
        let calls = AtomicU32::new(0);
        let out: Result<()> = c
            .with_retries("X", &[], || async {
                calls.fetch_add(1, SeqCst);
                Err(err("InvalidParameter", 400).into())
            })
            .await;
        assert!(out.is_err());
        assert_eq!(calls.load(SeqCst), 1);
        // With an extra code it is retried to the attempt limit.
        let calls = AtomicU32::new(0);
        let out: Result<()> = c
            .with_retries("X", &["IncorrectStatus.Listener"], || async {
                calls.fetch_add(1, SeqCst);
                Err(Failure {
                    error: err("IncorrectStatus.Listener", 400),
                    retry_after: Some(Duration::ZERO),
                })
            })
            .await;
        assert!(out.is_err());
        assert_eq!(calls.load(SeqCst), 3);
    }

    #[test]
    fn backoff_is_bounded() {
        let p = RetryPolicy::default();
        for attempt in 0..40 {
            assert!(p.delay(attempt) <= p.max_delay);
        }
    }

    #[test]
    fn retries_stop_at_the_deadline() {
        let mut p = RetryPolicy::default();
        let started = Instant::now();
        assert!(p.may_retry(1, started, Duration::from_millis(10)));
        assert!(!p.may_retry(p.max_attempts, started, Duration::ZERO));
        p.deadline = Some(Instant::now() + Duration::from_millis(50));
        assert!(!p.may_retry(1, started, Duration::from_secs(1)));
        p.deadline = Some(Instant::now());
        assert_eq!(p.attempt_timeout(), None);
    }
}
