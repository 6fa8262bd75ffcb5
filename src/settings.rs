//! What every settings section shares: bounds that keep a value from turning into a
//! near-permanent sleep, lock or flood. Each module owns and checks its own section
//! (`acme::settings`, `aliyun::settings`, `dns::settings`, …); `config` only assembles them.

/// Upper bound of the concurrency settings: beyond it the CA's and Alidns' rate limits, not
/// alicert, set the pace.
pub const MAX_CONCURRENCY: usize = 50;
/// A day: FC's longest invocation (asynchronous invocations, 86400 s), the bound of waits.
pub const DAY_SECS: u64 = 86_400;

/// `key = value` must lie in `min..=max`; the error names the key and the range.
pub fn in_range<T>(key: &str, value: T, min: T, max: T) -> Result<(), String>
where
    T: PartialOrd + std::fmt::Display + Copy,
{
    if value < min || value > max {
        return Err(format!("{key} = {value} must be between {min} and {max}"));
    }
    Ok(())
}

/// `key = value` must not exceed `max` (the message says "too large").
pub fn at_most(key: &str, value: u64, max: u64) -> Result<(), String> {
    if value > max {
        return Err(format!("{key} = {value} is too large (at most {max})"));
    }
    Ok(())
}

/// The concurrency setting `key` is 1..=[`MAX_CONCURRENCY`].
pub fn concurrency(key: &str, value: usize) -> Result<(), String> {
    in_range(key, value, 1, MAX_CONCURRENCY)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounds_name_the_key() {
        assert!(concurrency("[dns] max_concurrent_calls", 1).is_ok());
        assert!(concurrency("[dns] max_concurrent_calls", 50).is_ok());
        let e = concurrency("[dns] max_concurrent_calls", 0).unwrap_err();
        assert_eq!(e, "[dns] max_concurrent_calls = 0 must be between 1 and 50");
        assert!(concurrency("k", 51).is_err());
        assert_eq!(
            at_most("k", 2, 1).unwrap_err(),
            "k = 2 is too large (at most 1)"
        );
        assert!(at_most("k", 1, 1).is_ok());
    }
}
