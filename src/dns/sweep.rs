//! Recognising the TXT records alicert creates, so that the ones a crashed run left behind can
//! be swept: each gets the remark `alicert:<certificate name>:<unix time>` right after it is
//! added. Only `_acme-challenge` TXT records with such a remark, older than the grace period,
//! are ever swept; records without the remark are never touched.
use std::time::Duration;

/// What every remark alicert sets starts with.
pub const REMARK_PREFIX: &str = "alicert:";

/// The remark for a record created now for certificate `name` (kept short: Alidns limits
/// remarks, and only the prefix and the time matter for sweeping).
pub fn remark(name: &str, unix_now: i64) -> String {
    let short: String = name.chars().take(32).collect();
    format!("{REMARK_PREFIX}{short}:{unix_now}")
}

/// The creation time in a remark alicert set, or None for any other remark.
pub fn remark_time(remark: &str) -> Option<i64> {
    let rest = remark.strip_prefix(REMARK_PREFIX)?;
    let (_, time) = rest.rsplit_once(':')?;
    time.parse().ok()
}

/// Whether a record named `rr` (relative to its zone) is an ACME challenge record.
pub fn is_challenge_rr(rr: &str) -> bool {
    rr == "_acme-challenge" || rr.starts_with("_acme-challenge.")
}

/// Whether a record with this name and remark is alicert's and older than `grace`.
pub fn is_stale(
    rr: &str,
    record_type: &str,
    remark: Option<&str>,
    now: i64,
    grace: Duration,
) -> bool {
    record_type.eq_ignore_ascii_case("TXT")
        && is_challenge_rr(rr)
        && remark.and_then(remark_time).is_some_and(|t| {
            now.saturating_sub(t) > i64::try_from(grace.as_secs()).unwrap_or(i64::MAX)
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_old_marked_challenge_txt_records_are_stale() {
        let g = Duration::from_secs(3600);
        let now = 1_800_000_000;
        let old = remark("www", now - 4000);
        assert_eq!(old, format!("alicert:www:{}", now - 4000));
        assert!(is_stale("_acme-challenge", "TXT", Some(&old), now, g));
        assert!(is_stale("_acme-challenge.www", "txt", Some(&old), now, g));
        // Fresh, foreign, unmarked, other names and types are left alone.
        assert!(!is_stale(
            "_acme-challenge",
            "TXT",
            Some(&remark("www", now - 10)),
            now,
            g
        ));
        assert!(!is_stale("_acme-challenge", "TXT", Some("certbot"), now, g));
        assert!(!is_stale(
            "_acme-challenge",
            "TXT",
            Some("alicert:x:notatime"),
            now,
            g
        ));
        assert!(!is_stale("_acme-challenge", "TXT", None, now, g));
        assert!(!is_stale("www", "TXT", Some(&old), now, g));
        assert!(!is_stale("_acme-challengex", "TXT", Some(&old), now, g));
        assert!(!is_stale("_acme-challenge", "CNAME", Some(&old), now, g));
        let long = remark(&"n".repeat(80), now);
        assert!(long.len() < 60 && remark_time(&long) == Some(now));
        assert_eq!(remark_time("alicert:a:b:c:12"), Some(12));
    }
}
