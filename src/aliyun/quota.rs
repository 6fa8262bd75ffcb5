//! The API rate quotas Alibaba Cloud documents, kept on our side: at most N calls of an action
//! in any one-second window (the strictest reading of "N/1(s)"), for all clones of a client
//! together. A call that would exceed it waits for the oldest call of the window to age out.
//! Concurrent orders can then run wide without being throttled; a throttled call (another
//! instance of the function, another tool on the account) is still retried by the client.
//!
//! A sliding window, not governor's GCRA: a token bucket that refills N/s and holds N tokens
//! admits up to 2N-1 calls in some one-second windows, so it would have to hold and refill
//! N/2, and 50 TXT records could no longer be added at once under AddDomainRecord's 60/s.
//!
//! Sources (the same tables the emulator enforces, crates/aliyun-emulator/src/quota.rs):
//! - Alidns 2015-01-09 "API rate quota" (help.aliyun.com/zh/dns/api-alidns-2015-01-09-quota):
//!   DescribeDomainRecords 100, DescribeSubDomainRecords 300, AddDomainRecord 60,
//!   DeleteDomainRecord 60, UpdateDomainRecord 60; UpdateDomainRecordRemark is not listed
//!   (60 assumed, as every listed single-record write).
//! - CDN SetCdnDomainSSLCertificate: "up to 30 times per second per account".
use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use std::time::Duration;

// tokio's clock: the same as std's, and tests can pause it.
use tokio::time::Instant;

use super::Product;

const QUOTAS: &[(Product, &str, usize)] = &[
    (Product::Alidns, "DescribeDomainRecords", 100),
    (Product::Alidns, "DescribeSubDomainRecords", 300),
    (Product::Alidns, "AddDomainRecord", 60),
    (Product::Alidns, "UpdateDomainRecord", 60),
    (Product::Alidns, "UpdateDomainRecordRemark", 60),
    (Product::Alidns, "DeleteDomainRecord", 60),
    (Product::Cdn, "SetCdnDomainSSLCertificate", 30),
];

/// A little over a second: a call leaves here a moment before the service counts it, and two
/// calls may arrive closer together than they left.
const WINDOW: Duration = Duration::from_millis(1100);

/// The quota of `action` and its key (the table's own `&'static str`), if it has one.
fn quota_of(product: Product, action: &str) -> Option<(usize, (Product, &'static str))> {
    QUOTAS
        .iter()
        .find(|(p, a, _)| *p == product && *a == action)
        .map(|(p, a, n)| (*n, (*p, *a)))
}

/// The last window's calls of each action with a quota.
#[derive(Default)]
pub(crate) struct Quotas {
    calls: Mutex<HashMap<(Product, &'static str), VecDeque<Instant>>>,
}

impl Quotas {
    /// Returns when a call of `action` is within its quota, counting it.
    pub(crate) async fn admit(&self, product: Product, action: &str) {
        let Some((limit, key)) = quota_of(product, action) else {
            return;
        };
        loop {
            let wait = {
                let mut calls = self.calls.lock().unwrap_or_else(|e| e.into_inner());
                let window = calls.entry(key).or_default();
                let now = Instant::now();
                while window
                    .front()
                    .is_some_and(|t| now.duration_since(*t) >= WINDOW)
                {
                    window.pop_front();
                }
                if window.len() < limit {
                    window.push_back(now);
                    return;
                }
                window
                    .front()
                    .map(|t| WINDOW.saturating_sub(now.duration_since(*t)))
            };
            let wait = wait.unwrap_or(WINDOW);
            tracing::debug!(
                action,
                limit,
                wait_ms = wait.as_millis() as u64,
                "waiting for the action's rate quota"
            );
            tokio::time::sleep(wait).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn a_burst_up_to_the_quota_goes_at_once_and_the_next_call_waits_a_window() {
        let q = Quotas::default();
        let start = tokio::time::Instant::now();
        for _ in 0..60 {
            q.admit(Product::Alidns, "AddDomainRecord").await;
        }
        assert!(start.elapsed() < Duration::from_millis(1));
        // Other actions and actions without a quota do not wait.
        q.admit(Product::Alidns, "DeleteDomainRecord").await;
        for _ in 0..500 {
            q.admit(Product::Alidns, "DescribeDomains").await;
        }
        assert!(start.elapsed() < Duration::from_millis(1));
        // The 61st add waits until the first one is a window old.
        q.admit(Product::Alidns, "AddDomainRecord").await;
        assert!(start.elapsed() >= WINDOW, "{:?}", start.elapsed());
        assert!(start.elapsed() < WINDOW * 2, "{:?}", start.elapsed());
        assert_eq!(
            quota_of(Product::Cdn, "SetCdnDomainSSLCertificate").map(|q| q.0),
            Some(30)
        );
    }
}
