//! The invocation's time budget: FC kills the function at its timeout (`x-fc-function-timeout`,
//! or `alicert invoke --timeout` locally), so no step starts that could not end before it, and
//! every wait is cut short early enough to reply and clean up.
use std::future::Future;
use std::time::{Duration, Instant};

/// Kept back from the deadline for replying (and for cleanup inside an order).
pub const RESERVE: Duration = Duration::from_secs(2);

/// When the invocation ends, if it has a deadline at all. `Copy`: pass it by value.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Budget {
    deadline: Option<Instant>,
}

impl Budget {
    pub fn until(deadline: Option<Instant>) -> Budget {
        Budget { deadline }
    }

    /// No deadline: a local run without `--timeout`.
    pub fn unlimited() -> Budget {
        Budget::default()
    }

    pub fn deadline(&self) -> Option<Instant> {
        self.deadline
    }

    /// Time left before the deadline (None: no deadline).
    pub fn left(&self) -> Option<Duration> {
        self.deadline
            .map(|d| d.saturating_duration_since(Instant::now()))
    }

    /// Whether less than `need` plus [`RESERVE`] is left.
    pub fn short_of(&self, need: Duration) -> bool {
        self.left().is_some_and(|left| left < need + RESERVE)
    }

    /// Runs `work` to its end, or until `keep` before the deadline; then `on_deadline()` is the
    /// error. Without a deadline, just runs `work`.
    pub async fn within<T, E>(
        &self,
        keep: Duration,
        work: impl Future<Output = Result<T, E>>,
        on_deadline: impl FnOnce() -> E,
    ) -> Result<T, E> {
        match self.left() {
            None => work.await,
            Some(left) => tokio::time::timeout(left.saturating_sub(keep), work)
                .await
                .unwrap_or_else(|_| Err(on_deadline())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_of_counts_the_reserve() {
        assert!(!Budget::unlimited().short_of(Duration::from_secs(1_000_000)));
        let b = Budget::until(Some(Instant::now() + Duration::from_secs(10)));
        assert!(!b.short_of(Duration::from_secs(5)));
        assert!(
            b.short_of(Duration::from_secs(9)),
            "9 s + 2 s reserve > 10 s"
        );
        let past = Budget::until(Some(Instant::now() - Duration::from_secs(1)));
        assert_eq!(past.left(), Some(Duration::ZERO));
    }

    #[tokio::test]
    async fn within_cuts_work_short_and_lets_quick_work_finish() {
        let b = Budget::until(Some(Instant::now() + Duration::from_millis(300)));
        let slow = b
            .within(
                Duration::from_millis(100),
                async {
                    tokio::time::sleep(Duration::from_secs(30)).await;
                    Ok::<_, String>(1)
                },
                || "deadline".to_string(),
            )
            .await;
        assert_eq!(slow, Err("deadline".to_string()));
        let quick = b
            .within(Duration::ZERO, async { Ok::<_, String>(2) }, || "x".into())
            .await;
        assert_eq!(quick, Ok(2));
        let none = Budget::unlimited()
            .within(Duration::from_secs(1), async { Ok::<_, String>(3) }, || {
                "x".into()
            })
            .await;
        assert_eq!(none, Ok(3));
    }
}
