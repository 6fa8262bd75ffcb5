//! Recognising the TXT records alicert creates, so that the ones a crashed run left behind can
//! be swept: each gets the remark `alicert_<certificate name>_<unix time>` right after it is
//! added. Only `_acme-challenge` TXT records with such a remark (or the `alicert:<name>:<unix>`
//! remark of older versions), older than the grace period, are ever swept; records without
//! one are never touched.
//!
//! The format obeys the strictest rule Alibaba documents for the Alidns remark family (Alidns
//! documents none for `UpdateDomainRecordRemark` itself): at most 50 characters of digits,
//! letters, Chinese and `.` `_` `-` — `UpdateDnsCacheDomainRemark` (SDK
//! `alibabacloud-alidns20150109` 4.6.1, models/_update_dns_cache_domain_remark_request.py:
//! "up to 50 characters … Chinese characters, letters, digits, periods (.), underscores (_),
//! and hyphens (-)"); `UpdateDomainRemark` and pvtz `UpdateRecordRemark` also allow `,`, `，`
//! and `。`, so a `,` would already break the stricter one. Certificate names are
//! `A-Z a-z 0-9 - _ .` (config validation) and [`crate::naming::fit`] keeps them so.
//!
//! Exactness: the time is digits only and follows the *last* `_`, so everything between the
//! prefix and that `_` is the (fitted) name, whatever `_` it contains: `www` and `www-api` or
//! `a_1` never read as each other.
use std::time::Duration;

use crate::naming::fit;

/// What every remark alicert sets now starts with.
pub const REMARK_PREFIX: &str = "alicert_";
/// What remarks set by older versions start with (`alicert:<name>:<unix>`, not valid under
/// the documented remark rule; still recognised when sweeping).
pub const LEGACY_REMARK_PREFIX: &str = "alicert:";
/// Alidns remark limit (characters), see the module comment.
pub const REMARK_MAX: usize = 50;
/// Room for the name: 50 - "alicert_" - "_" - 10 digits of a unix time (until year 2286).
pub const REMARK_NAME_MAX: usize = REMARK_MAX - REMARK_PREFIX.len() - 1 - TIME_DIGITS;
const TIME_DIGITS: usize = 10;

/// Which version wrote a marker.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MarkFormat {
    /// `alicert_<fit(name, 31)>_<unix>`.
    Current,
    /// `alicert:<first 32 characters of the name>:<unix>`.
    Legacy,
}

/// alicert's marker, read back from a record's remark.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mark {
    /// The certificate name as written (fitted, or for [`MarkFormat::Legacy`] cut at 32).
    pub owner: String,
    /// Unix time the record was marked.
    pub created: i64,
    pub format: MarkFormat,
}

/// The remark for a record created now for certificate `name`.
pub fn remark(name: &str, unix_now: i64) -> String {
    format!("{REMARK_PREFIX}{}_{unix_now}", fit(name, REMARK_NAME_MAX))
}

fn is_name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')
}

/// alicert's marker in `remark`, or None for any other remark (exact: a remark merely
/// starting with the prefix is not ours).
pub fn parse_remark(remark: &str) -> Option<Mark> {
    if let Some(rest) = remark.strip_prefix(REMARK_PREFIX) {
        let (owner, time) = rest.rsplit_once('_')?;
        let valid = !owner.is_empty()
            && owner.chars().count() <= REMARK_NAME_MAX
            && owner.chars().all(is_name_char)
            && time.len() == TIME_DIGITS
            && time.bytes().all(|b| b.is_ascii_digit());
        if !valid {
            return None;
        }
        return Some(Mark {
            owner: owner.to_string(),
            created: time.parse().ok()?,
            format: MarkFormat::Current,
        });
    }
    // Older versions: `alicert:` + the name's first 32 characters + `:` + the time.
    let rest = remark.strip_prefix(LEGACY_REMARK_PREFIX)?;
    let (owner, time) = rest.rsplit_once(':')?;
    let valid = !owner.is_empty() && !time.is_empty() && time.bytes().all(|b| b.is_ascii_digit());
    if !valid {
        return None;
    }
    Some(Mark {
        owner: owner.to_string(),
        created: time.parse().ok()?,
        format: MarkFormat::Legacy,
    })
}

/// Whether `remark` marks a record of certificate `name` exactly (never of a name it merely
/// prefixes). A legacy marker holds only the first 32 characters, so two long names sharing
/// those cannot be told apart there.
pub fn is_remark_of(name: &str, remark: &str) -> bool {
    parse_remark(remark).is_some_and(|m| match m.format {
        MarkFormat::Current => m.owner == fit(name, REMARK_NAME_MAX),
        MarkFormat::Legacy => m.owner.chars().eq(name.chars().take(32)),
    })
}

/// The creation time in a remark alicert set (either format), or None for any other remark.
pub fn remark_time(remark: &str) -> Option<i64> {
    parse_remark(remark).map(|m| m.created)
}

/// Whether `remark` satisfies the documented Alidns remark rule (see the module comment).
pub fn is_valid_remark(remark: &str) -> bool {
    remark.chars().count() <= REMARK_MAX
        && remark.chars().all(|c| {
            c.is_ascii_alphanumeric()
                || matches!(c, '.' | '_' | '-')
                || ('\u{4e00}'..='\u{9fff}').contains(&c)
        })
}

/// Whether a record named `rr` (relative to its zone) is an ACME challenge record.
pub fn is_challenge_rr(rr: &str) -> bool {
    rr == "_acme-challenge" || rr.starts_with("_acme-challenge.")
}

/// Whether a record with this name and remark is alicert's and older than `grace`. Any
/// certificate's: a record older than the grace period (kept above the longest order) is no
/// longer needed by any run, and a certificate since removed from the configuration would
/// otherwise keep its leftovers forever.
pub fn is_stale(
    rr: &str,
    record_type: &str,
    remark: Option<&str>,
    now: i64,
    grace: Duration,
) -> bool {
    is_challenge_rr(rr) && is_stale_mark(record_type, remark, now, grace)
}

/// A TXT record with alicert's remark older than `grace`, whatever its name: for the exact
/// name a delegated challenge writes at (`_acme-challenge…` CNAMEd to any name).
pub fn is_stale_mark(record_type: &str, remark: Option<&str>, now: i64, grace: Duration) -> bool {
    record_type.eq_ignore_ascii_case("TXT")
        && remark.and_then(remark_time).is_some_and(|t| {
            now.saturating_sub(t) > i64::try_from(grace.as_secs()).unwrap_or(i64::MAX)
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_800_000_000;

    #[test]
    fn remarks_obey_the_strictest_documented_rule() {
        for name in [
            "a",
            "www",
            "www_1",
            "a.b-c_d",
            &"n".repeat(30),
            &"n".repeat(31),
            &"n".repeat(80),
            "customer-portal-eu-central-production-x",
        ] {
            let r = remark(name, NOW);
            assert!(is_valid_remark(&r), "{r} ({} chars)", r.chars().count());
            assert!(r.chars().count() <= REMARK_MAX, "{r}");
            let m = parse_remark(&r).unwrap_or_else(|| panic!("{r} not parsed"));
            assert_eq!((m.created, m.format), (NOW, MarkFormat::Current), "{r}");
            assert!(is_remark_of(name, &r), "{name} does not own {r}");
        }
        assert_eq!(remark("www", NOW), "alicert_www_1800000000");
        // Exactly 50 for a name that needs shortening.
        assert_eq!(remark(&"n".repeat(80), NOW).chars().count(), REMARK_MAX);
        assert_eq!(remark(&"n".repeat(30), NOW).chars().count(), REMARK_MAX - 1);
        // The old format breaks the rule (`:`), and so would a comma.
        assert!(!is_valid_remark("alicert:www:1800000000"));
        assert!(!is_valid_remark("alicert,www,1800000000"));
        assert!(!is_valid_remark(&"a".repeat(51)));
        assert!(is_valid_remark("证书_www.example-1"));
    }

    #[test]
    fn ownership_is_exact() {
        let pairs = [
            ("www", "www-api"),
            ("www", "www_1"),
            ("a", "a_b"),
            ("www.example", "www.example-staging"),
        ];
        for (short, long) in pairs {
            let s = remark(short, NOW);
            let l = remark(long, NOW);
            assert!(!is_remark_of(short, &l), "{short} claims {l}");
            assert!(!is_remark_of(long, &s), "{long} claims {s}");
            assert_eq!(parse_remark(&l).unwrap().owner, long);
        }
        // Long names sharing a head are still told apart (fit hashes the whole name).
        let a = "customer-portal-eu-central-production-x";
        let b = "customer-portal-eu-central-production-y";
        assert!(!is_remark_of(a, &remark(b, NOW)));
        assert!(!is_remark_of(b, &remark(a, NOW)));
        // A name with `_<digits>` inside: the time is after the last `_`.
        let m = parse_remark(&remark("x_1234567890", NOW)).unwrap();
        assert_eq!((m.owner.as_str(), m.created), ("x_1234567890", NOW));
    }

    #[test]
    fn legacy_remarks_are_still_recognised() {
        let m = parse_remark("alicert:www:1700000000").unwrap();
        assert_eq!(
            m,
            Mark {
                owner: "www".into(),
                created: 1_700_000_000,
                format: MarkFormat::Legacy
            }
        );
        assert!(is_remark_of("www", "alicert:www:1700000000"));
        assert!(!is_remark_of("www-api", "alicert:www:1700000000"));
        assert!(!is_remark_of("www", "alicert:www-api:1700000000"));
        let long = "n".repeat(40);
        assert!(is_remark_of(
            &long,
            &format!("alicert:{}:17", "n".repeat(32))
        ));
        assert_eq!(remark_time("alicert:a:b:c:12"), Some(12));
    }

    #[test]
    fn foreign_remarks_are_not_ours() {
        for r in [
            "",
            "certbot",
            "alicert",
            "alicert_",
            "alicert_www",
            "alicert_www_",
            "alicert__1800000000",
            "alicert_www_180000000",   // 9 digits
            "alicert_www_18000000000", // 11 digits
            "alicert_www_1800000000x",
            "alicert_w w_1800000000",
            "alicert_www:1800000000",
            "alicert_backup_2024",
            "Alicert_www_1800000000",
            "alicert:x:notatime",
            "alicert:x:",
            "alicert::12",
        ] {
            assert_eq!(parse_remark(r), None, "{r}");
        }
        let too_long = format!("{REMARK_PREFIX}{}_{NOW}", "n".repeat(32));
        assert_eq!(parse_remark(&too_long), None);
    }

    #[test]
    fn only_old_marked_challenge_txt_records_are_stale() {
        let g = Duration::from_secs(3600);
        let old = remark("www", NOW - 4000);
        let legacy = format!("alicert:www:{}", NOW - 4000);
        for r in [&old, &legacy] {
            assert!(is_stale("_acme-challenge", "TXT", Some(r), NOW, g));
            assert!(is_stale("_acme-challenge.www", "txt", Some(r), NOW, g));
            assert!(!is_stale("www", "TXT", Some(r), NOW, g));
            assert!(!is_stale("_acme-challengex", "TXT", Some(r), NOW, g));
            assert!(!is_stale("_acme-challenge", "CNAME", Some(r), NOW, g));
            // dns-persist-01 records are kept across renewals: never swept.
            assert!(!is_stale("_validation-persist.www", "TXT", Some(r), NOW, g));
        }
        // Fresh, foreign and unmarked records are left alone.
        let fresh = remark("www", NOW - 10);
        assert!(!is_stale("_acme-challenge", "TXT", Some(&fresh), NOW, g));
        assert!(!is_stale("_acme-challenge", "TXT", Some("certbot"), NOW, g));
        assert!(!is_stale(
            "_acme-challenge",
            "TXT",
            Some("alicert:x:notatime"),
            NOW,
            g
        ));
        assert!(!is_stale("_acme-challenge", "TXT", None, NOW, g));
    }
}
