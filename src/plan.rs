//! When is a deployed certificate due? Pure decision logic (no I/O): the handler gathers the
//! facts (what a target serves, the CA's ARI window, the CRL status) and asks here.
//!
//! Order of the checks, first match wins:
//! 1. nothing deployed → `missing on target`
//! 2. it does not cover every configured domain → `domains changed`
//! 3. the issuer's CRL lists it → `revoked`
//! 4. expired → `expired N days ago`
//! 5. the CA offers ARI and answered: due once its suggested window has started → `ARI window
//!    started …`, so a timer renews inside the window (RFC 9773 §4.2 lets a client that wakes
//!    periodically renew early; alicert does not, so short lifetimes keep the full window).
//!    Only a window that closes before the next timer run (`ari_lookahead_hours`) is taken
//!    early → `ARI window ends …, before the next run`; a certificate that would expire before
//!    the next run is due whatever the window says.
//! 6. no ARI: due when at most `renew_before_days` are left — capped at half the lifetime, so
//!    that short-lived (e.g. 6-day) certificates are not renewed on every daily run →
//!    `expires in N days`.
use time::{Duration, OffsetDateTime};

use crate::acme::ari::Window;
use crate::cert::{rfc3339, CertInfo};

/// Why a target needs a new certificate; `Display` gives the documented wording of the result's
/// `reason` (SPEC: Result JSON).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DueReason {
    MissingOnTarget,
    DomainsChanged,
    Revoked,
    Expired {
        days_ago: i64,
    },
    ExpiresIn {
        days: i64,
    },
    AriWindowStarted(OffsetDateTime),
    /// The window opens and closes between this run and the next: renew now, before it.
    AriWindowEndsBeforeNextRun(OffsetDateTime),
    /// `force`, or a replacement before a revocation.
    Forced,
}

impl std::fmt::Display for DueReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            DueReason::MissingOnTarget => f.write_str("missing on target"),
            DueReason::DomainsChanged => f.write_str("domains changed"),
            DueReason::Revoked => f.write_str("revoked"),
            DueReason::Expired { days_ago } => write!(f, "expired {days_ago} days ago"),
            DueReason::ExpiresIn { days } => write!(f, "expires in {days} days"),
            DueReason::AriWindowStarted(t) => write!(f, "ARI window started {}", rfc3339(*t)),
            DueReason::AriWindowEndsBeforeNextRun(t) => {
                write!(f, "ARI window ends {}, before the next run", rfc3339(*t))
            }
            DueReason::Forced => f.write_str("forced"),
        }
    }
}

/// The configured thresholds.
#[derive(Debug, Clone, Copy)]
pub struct Policy {
    pub renew_before_days: u32,
    /// How far ahead the next timer run is (`[acme] ari_lookahead_hours`).
    pub lookahead: Duration,
}

/// What is known about one target.
#[derive(Debug, Clone, Copy)]
pub struct Facts<'a> {
    pub current: Option<&'a CertInfo>,
    pub domains: &'a [String],
    pub revoked: bool,
    /// The CA's window for `current`, when the CA offers ARI and answered.
    pub ari: Option<&'a Window>,
}

/// Why the target needs a new certificate, or None when it does not.
pub fn due(facts: &Facts<'_>, policy: &Policy, now: OffsetDateTime) -> Option<DueReason> {
    let Some(cert) = facts.current else {
        return Some(DueReason::MissingOnTarget);
    };
    if !cert.covers_all(facts.domains) {
        return Some(DueReason::DomainsChanged);
    }
    if facts.revoked {
        return Some(DueReason::Revoked);
    }
    let left = cert.not_after - now;
    if left <= Duration::ZERO {
        return Some(DueReason::Expired {
            days_ago: (-left).whole_days(),
        });
    }
    let expires = || DueReason::ExpiresIn {
        days: left.whole_days(),
    };
    match facts.ari {
        Some(w) => {
            if w.start <= now {
                Some(DueReason::AriWindowStarted(w.start))
            } else if w.end <= now + policy.lookahead {
                Some(DueReason::AriWindowEndsBeforeNextRun(w.end))
            } else if left <= policy.lookahead {
                Some(expires())
            } else {
                None
            }
        }
        None => {
            let lifetime = cert.not_after - cert.not_before;
            let threshold = Duration::days(policy.renew_before_days.into()).min(lifetime / 2);
            (left <= threshold.max(policy.lookahead)).then(expires)
        }
    }
}

/// The decision without ARI or revocation facts (kept for callers of the first version).
pub fn due_reason(
    current: Option<&CertInfo>,
    domains: &[String],
    renew_before_days: u32,
    now: OffsetDateTime,
) -> Option<DueReason> {
    due(
        &Facts {
            current,
            domains,
            revoked: false,
            ari: None,
        },
        &Policy {
            renew_before_days,
            lookahead: Duration::ZERO,
        },
        now,
    )
}

/// When the certificate `cert` is next expected to be renewed, and why (the report's "next
/// renewal"): the start of the CA's ARI window when it gave one, else the date the
/// `renew_before_days` rule (capped at half the lifetime) makes it due.
pub fn next_renewal(cert: &CertInfo, ari: Option<&Window>, policy: &Policy) -> NextRenewal {
    match ari {
        Some(w) => NextRenewal {
            at: w.start,
            why: format!("ARI window {} to {}", rfc3339(w.start), rfc3339(w.end)),
        },
        None => {
            let lifetime = cert.not_after - cert.not_before;
            let threshold = Duration::days(policy.renew_before_days.into()).min(lifetime / 2);
            let why = if threshold < Duration::days(policy.renew_before_days.into()) {
                "half the certificate's lifetime (no ARI window)".to_string()
            } else {
                format!(
                    "renew_before_days = {} (no ARI window)",
                    policy.renew_before_days
                )
            };
            NextRenewal {
                at: cert.not_after - threshold.max(policy.lookahead),
                why,
            }
        }
    }
}

/// See [`next_renewal`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NextRenewal {
    pub at: OffsetDateTime,
    pub why: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn info(names: &[&str], lifetime_days: i64, days_left: i64, now: OffsetDateTime) -> CertInfo {
        let not_after = now + Duration::days(days_left);
        CertInfo {
            serial: "1".into(),
            not_before: not_after - Duration::days(lifetime_days),
            not_after,
            names: names.iter().map(|s| s.to_string()).collect(),
            issuer: String::new(),
            fingerprint_sha256: String::new(),
            der: Vec::new(),
            chain: Vec::new(),
            deployed_as: None,
        }
    }

    fn why(f: &Facts<'_>, now: OffsetDateTime) -> Option<String> {
        due(f, &POLICY, now).map(|r| r.to_string())
    }

    fn window(start: OffsetDateTime, end: OffsetDateTime) -> Window {
        Window {
            start,
            end,
            retry_after: std::time::Duration::from_secs(3600),
            explanation_url: None,
        }
    }

    const POLICY: Policy = Policy {
        renew_before_days: 30,
        lookahead: Duration::hours(24),
    };

    fn facts<'a>(cert: Option<&'a CertInfo>, domains: &'a [String]) -> Facts<'a> {
        Facts {
            current: cert,
            domains,
            revoked: false,
            ari: None,
        }
    }

    #[test]
    fn missing_changed_revoked_expired() {
        let now = OffsetDateTime::now_utc();
        let domains = vec!["example.com".to_string(), "*.example.com".to_string()];
        assert_eq!(
            why(&facts(None, &domains), now).as_deref(),
            Some("missing on target")
        );
        let partial = info(&["example.com"], 90, 60, now);
        assert_eq!(
            why(&facts(Some(&partial), &domains), now).as_deref(),
            Some("domains changed")
        );
        let ok = info(&["example.com", "*.example.com"], 90, 60, now);
        assert_eq!(due(&facts(Some(&ok), &domains), &POLICY, now), None);
        let mut f = facts(Some(&ok), &domains);
        f.revoked = true;
        assert_eq!(why(&f, now).as_deref(), Some("revoked"));
        let expired = info(&["example.com", "*.example.com"], 90, -3, now);
        assert_eq!(
            why(&facts(Some(&expired), &domains), now).as_deref(),
            Some("expired 3 days ago")
        );
    }

    #[test]
    fn days_fallback_and_short_lived_certificates() {
        let now = OffsetDateTime::now_utc();
        let d = vec!["example.com".to_string()];
        let soon = info(&["example.com"], 90, 20, now);
        assert_eq!(
            why(&facts(Some(&soon), &d), now).as_deref(),
            Some("expires in 20 days")
        );
        assert_eq!(
            due(
                &facts(Some(&info(&["example.com"], 90, 31, now)), &d),
                &POLICY,
                now
            ),
            None
        );
        // A 6-day certificate: renew_before_days (30) is capped at half its lifetime (3 days),
        // so a daily timer renews it once, around day 3, not on every run.
        let mut renewals = 0;
        let mut cert = info(&["example.com"], 6, 6, now);
        for day in 0..30 {
            let t = now + Duration::days(day);
            if due(&facts(Some(&cert), &d), &POLICY, t).is_some() {
                renewals += 1;
                cert = info(&["example.com"], 6, 6, t);
            }
            assert!(cert.not_after - t > Duration::days(2), "day {day}");
        }
        assert!(
            (9..=11).contains(&renewals),
            "{renewals} renewals in 30 days"
        );
        // renew_before_days = 0 still renews before a daily timer would miss the expiry.
        let p0 = Policy {
            renew_before_days: 0,
            ..POLICY
        };
        let hours = info(&["example.com"], 90, 0, now + Duration::hours(20));
        assert!(due(&facts(Some(&hours), &d), &p0, now).is_some());
        assert_eq!(
            due_reason(Some(&soon), &d, 30, now)
                .map(|r| r.to_string())
                .as_deref(),
            Some("expires in 20 days")
        );
    }

    #[test]
    fn ari_window_decides_when_offered() {
        let now = OffsetDateTime::now_utc();
        let d = vec!["example.com".to_string()];
        // 60 days left: by days not due; the CA says the window has started.
        let cert = info(&["example.com"], 90, 60, now);
        let mut f = facts(Some(&cert), &d);
        let w = window(now - Duration::hours(1), now + Duration::days(1));
        f.ari = Some(&w);
        assert!(why(&f, now).unwrap().starts_with("ARI window started"));
        // Opens before the next daily run and stays open past it: renewed then, inside it.
        let w = window(now + Duration::hours(20), now + Duration::days(2));
        f.ari = Some(&w);
        assert_eq!(due(&f, &POLICY, now), None);
        // Opens and closes before the next run: now, or never.
        let w = window(now + Duration::hours(2), now + Duration::hours(10));
        f.ari = Some(&w);
        let r = why(&f, now).unwrap();
        assert!(
            r.starts_with("ARI window ends") && r.ends_with("before the next run"),
            "{r}"
        );
        // Starts after the next run: not due, even with 20 days left (ARI wins over days).
        let close = info(&["example.com"], 90, 20, now);
        let mut f = facts(Some(&close), &d);
        let w = window(now + Duration::days(3), now + Duration::days(5));
        f.ari = Some(&w);
        assert_eq!(due(&f, &POLICY, now), None);
        // …unless the certificate would expire before the next run.
        let hours = info(&["example.com"], 90, 0, now + Duration::hours(12));
        let mut f = facts(Some(&hours), &d);
        let w = window(now + Duration::days(3), now + Duration::days(5));
        f.ari = Some(&w);
        assert!(why(&f, now).unwrap().starts_with("expires in 0 days"));
        // Revocation beats a far window.
        let mut f = facts(Some(&cert), &d);
        f.revoked = true;
        let w = window(now + Duration::days(30), now + Duration::days(32));
        f.ari = Some(&w);
        assert_eq!(why(&f, now).as_deref(), Some("revoked"));
    }

    /// Issue 15's short-lifetime case: 6-day certificates, a timer every 12 hours
    /// (`ari_lookahead_hours = 12`), 30 days. The CA's window is modelled as opening halfway
    /// through the lifetime and lasting `width` (at least one timer period; Let's Encrypt's
    /// exact numbers are its own), with the timer's phase shifted against issuance. Every
    /// renewal must land inside the window of the certificate it replaces, and the served
    /// certificate must never lapse.
    #[test]
    fn six_day_certificates_on_a_twice_daily_timer_renew_inside_every_window() {
        let policy = Policy {
            renew_before_days: 30,
            lookahead: Duration::hours(12),
        };
        let d = vec!["example.com".to_string()];
        let start = OffsetDateTime::now_utc();
        for width_hours in [12, 18, 24, 36] {
            for phase_hours in [0, 3, 7, 11] {
                let mut cert = info(&["example.com"], 6, 6, start);
                let mut renewals = 0;
                for tick in 0..60 {
                    let t = start + Duration::hours(12 * tick + phase_hours);
                    let opens = cert.not_before + Duration::days(3);
                    let w = window(opens, opens + Duration::hours(width_hours));
                    let mut f = facts(Some(&cert), &d);
                    f.ari = Some(&w);
                    assert!(cert.not_after > t, "lapsed at tick {tick}");
                    if due(&f, &policy, t).is_some() {
                        assert!(
                            w.start <= t && t <= w.end,
                            "renewed outside the window at tick {tick} (width {width_hours} h, phase {phase_hours} h)"
                        );
                        renewals += 1;
                        cert = info(&["example.com"], 6, 6, t);
                    }
                }
                // One renewal every 3 to 3.5 days over 30 days.
                assert!((8..=10).contains(&renewals), "{renewals} renewals");
            }
        }
    }

    #[test]
    fn next_renewal_is_the_ari_start_or_the_threshold() {
        let now = OffsetDateTime::from_unix_timestamp(1_800_000_000).unwrap();
        let c = info(&["a.example"], 90, 60, now);
        let w = window(now + Duration::days(20), now + Duration::days(22));
        let n = next_renewal(&c, Some(&w), &POLICY);
        assert_eq!(n.at, w.start);
        assert!(n.why.starts_with("ARI window "), "{}", n.why);
        let n = next_renewal(&c, None, &POLICY);
        assert_eq!(n.at, c.not_after - Duration::days(30));
        assert!(n.why.contains("renew_before_days = 30"), "{}", n.why);
        let short = info(&["a.example"], 6, 5, now);
        let n = next_renewal(&short, None, &POLICY);
        assert_eq!(n.at, short.not_after - Duration::days(3));
        assert!(n.why.contains("half"), "{}", n.why);
    }
}
