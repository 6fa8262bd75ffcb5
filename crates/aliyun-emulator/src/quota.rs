//! The API rate quotas Alibaba Cloud documents, enforced as the strictest reading of "N/1(s)":
//! at most N calls of one action by one account in any one-second window (a sliding window;
//! a fixed per-second counter admits everything this admits). A call over it gets
//! `Throttling.User`, HTTP 400, "Request was denied due to user flow control." (the throttling
//! answer of the RPC products, as faults.rs injects it).
//!
//! Sources:
//! - Alidns 2015-01-09, "API rate quota" (help.aliyun.com/zh/dns/api-alidns-2015-01-09-quota;
//!   dimension regionId, API, ParentUid): DescribeDomainRecords 100, DescribeSubDomainRecords
//!   300, DescribeDomainRecordInfo 200, AddDomainRecord 60, UpdateDomainRecord 60,
//!   DeleteDomainRecord 60, DeleteSubDomainRecords 20, AddDomain 10, DeleteDomain 10.
//!   UpdateDomainRecordRemark is not in that table: the docs are silent, so it gets the quota
//!   of every listed single-record write, 60 (our choice).
//! - CDN 2018-05-10 SetCdnDomainSSLCertificate: "You can call this operation up to 30 times
//!   per second per account" (alibabacloud.com/help/en/cdn/developer-reference/
//!   api-cdn-2018-05-10-setcdndomainsslcertificate).
use std::collections::{HashMap, VecDeque};
use std::time::{Duration, Instant};

/// (product as the emulator names it, action) → calls per second and account.
const QUOTAS: &[(&str, &str, usize)] = &[
    ("alidns", "DescribeDomainRecords", 100),
    ("alidns", "DescribeSubDomainRecords", 300),
    ("alidns", "DescribeDomainRecordInfo", 200),
    ("alidns", "AddDomainRecord", 60),
    ("alidns", "UpdateDomainRecord", 60),
    ("alidns", "UpdateDomainRecordRemark", 60),
    ("alidns", "DeleteDomainRecord", 60),
    ("alidns", "DeleteSubDomainRecords", 20),
    ("alidns", "AddDomain", 10),
    ("alidns", "DeleteDomain", 10),
    ("cdn", "SetCdnDomainSSLCertificate", 30),
];

const WINDOW: Duration = Duration::from_secs(1);

/// The documented quota of `action`, if there is one.
pub fn per_second(product: &str, action: &str) -> Option<usize> {
    QUOTAS
        .iter()
        .find(|(p, a, _)| *p == product && *a == action)
        .map(|(_, _, n)| *n)
}

/// The calls of the last second, per (account, region, product, action) with a quota.
#[derive(Default)]
pub(crate) struct Windows {
    calls: HashMap<(String, String, &'static str, String), VecDeque<Instant>>,
}

impl Windows {
    /// Counts a call now; `false` when it is over the quota (then it is not counted).
    pub(crate) fn admit(
        &mut self,
        account: &str,
        region: &str,
        product: &'static str,
        action: &str,
    ) -> bool {
        let Some(limit) = per_second(product, action) else {
            return true;
        };
        let now = Instant::now();
        let key = (
            account.to_string(),
            region.to_string(),
            product,
            action.to_string(),
        );
        let window = self.calls.entry(key).or_default();
        while window
            .front()
            .is_some_and(|t| now.duration_since(*t) >= WINDOW)
        {
            window.pop_front();
        }
        if window.len() >= limit {
            return false;
        }
        window.push_back(now);
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_call_after_the_quota_within_a_second_is_refused_and_another_account_is_not() {
        let mut w = Windows::default();
        for _ in 0..60 {
            assert!(w.admit("1", "cn-hangzhou", "alidns", "AddDomainRecord"));
        }
        assert!(!w.admit("1", "cn-hangzhou", "alidns", "AddDomainRecord"));
        assert!(w.admit("2", "cn-hangzhou", "alidns", "AddDomainRecord"));
        assert!(w.admit("1", "cn-hangzhou", "alidns", "DeleteDomainRecord"));
        // No documented quota: never refused.
        for _ in 0..1000 {
            assert!(w.admit("1", "cn-hangzhou", "alidns", "DescribeDomains"));
        }
    }
}
