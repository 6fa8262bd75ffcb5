//! Temporary credentials kept for the process (so for the invocation and the warm instance
//! after it) and fetched again before they expire: like the official SDKs' refreshable
//! providers (alibabacloud-credentials 1.0.12 provider/ram_role_arn.py, oidc.py, uri.py,
//! ecs_ram_role.py: `stale_time = expiration - 15 * 60`), a value within 15 minutes of its
//! Expiration is stale and refreshed before use.
use std::collections::HashMap;
use std::future::Future;
use std::sync::Mutex;

use time::OffsetDateTime;

use super::Credentials;
use crate::error::Result;

/// How long before its Expiration a temporary key is replaced (the SDKs' 15 minutes).
pub const REFRESH_BEFORE_SECS: i64 = 15 * 60;

/// Temporary credentials and when they stop working.
#[derive(Debug, Clone)]
pub struct Temporary {
    pub credentials: Credentials,
    /// Unix seconds.
    pub expiration: i64,
}

impl Temporary {
    pub(crate) fn fresh(&self, now: i64) -> bool {
        now < self.expiration - REFRESH_BEFORE_SECS
    }
}

static CACHE: Mutex<Option<HashMap<String, Temporary>>> = Mutex::new(None);

/// The cached value under `key` (a source and its non-secret settings) while fresh, else
/// `fetch()`'s, kept for next time.
pub async fn get_or_fetch<F, Fut>(key: &str, fetch: F) -> Result<Credentials>
where
    F: FnOnce() -> Fut,
    Fut: Future<Output = Result<Temporary>>,
{
    let now = OffsetDateTime::now_utc().unix_timestamp();
    if let Some(t) = lock().as_ref().and_then(|m| m.get(key)) {
        if t.fresh(now) {
            return Ok(t.credentials.clone());
        }
    }
    let t = fetch().await?;
    let credentials = t.credentials.clone();
    lock()
        .get_or_insert_with(HashMap::new)
        .insert(key.to_string(), t);
    Ok(credentials)
}

fn lock() -> std::sync::MutexGuard<'static, Option<HashMap<String, Temporary>>> {
    CACHE.lock().unwrap_or_else(|e| e.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::secret::Secret;

    fn temp(id: &str, expiration: i64) -> Temporary {
        Temporary {
            credentials: Credentials {
                access_key_id: id.into(),
                access_key_secret: Secret::new("s"),
                security_token: Some(Secret::new("t")),
            },
            expiration,
        }
    }

    #[tokio::test]
    async fn fresh_values_are_reused_and_stale_ones_fetched_again() {
        let now = OffsetDateTime::now_utc().unix_timestamp();
        let a = get_or_fetch("t1", || async { Ok(temp("A", now + 3600)) }).await;
        let b = get_or_fetch("t1", || async { Ok(temp("B", now + 3600)) }).await;
        assert_eq!(a.unwrap().access_key_id, "A");
        assert_eq!(b.unwrap().access_key_id, "A", "an hour left: cached");

        // 10 minutes left is inside the 15-minute window: every use fetches anew.
        let c = get_or_fetch("t2", || async { Ok(temp("C", now + 600)) }).await;
        let d = get_or_fetch("t2", || async { Ok(temp("D", now + 600)) }).await;
        assert_eq!(c.unwrap().access_key_id, "C");
        assert_eq!(d.unwrap().access_key_id, "D", "stale: refreshed");
    }
}
