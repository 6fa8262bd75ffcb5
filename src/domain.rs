//! Domain names as ACME and Alidns want them.

/// A DNS name acceptable in an ACME order: lower-case ASCII labels, a wildcard only as the
/// whole first label, at least two labels, no IP address.
pub fn validate(name: &str) -> Result<(), String> {
    if name.parse::<std::net::IpAddr>().is_ok() {
        return Err(format!(
            "`{name}` is an IP address; DNS-01 needs a DNS name"
        ));
    }
    if !name.is_ascii() {
        return Err(format!(
            "`{name}` is not ASCII; write internationalized names in punycode (xn--...)"
        ));
    }
    if name != name.to_ascii_lowercase() {
        return Err(format!("`{name}` must be lower case"));
    }
    let bare = name.strip_prefix("*.").unwrap_or(name);
    let labels: Vec<&str> = bare.split('.').collect();
    if labels.len() < 2 || name.len() > 253 {
        return Err(format!("`{name}` is not a fully qualified domain name"));
    }
    for label in labels {
        let ok = !label.is_empty()
            && label.len() <= 63
            && !label.starts_with('-')
            && !label.ends_with('-')
            && label
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        if !ok {
            return Err(format!(
                "`{name}` has an invalid label `{label}` (a wildcard is allowed only as `*.` at the start)"
            ));
        }
    }
    Ok(())
}

/// The name whose `_acme-challenge` TXT record proves control of `domain` (`*.a.com` → `a.com`).
pub fn challenge_name(domain: &str) -> String {
    format!(
        "_acme-challenge.{}",
        domain.strip_prefix("*.").unwrap_or(domain)
    )
}

/// Whether certificate name `pattern` (maybe a wildcard) covers host `name`.
pub fn covers(pattern: &str, name: &str) -> bool {
    if pattern.eq_ignore_ascii_case(name) {
        return true;
    }
    match (pattern.strip_prefix("*."), name.strip_prefix("*.")) {
        (Some(p), None) => name
            .split_once('.')
            .is_some_and(|(_, rest)| rest.eq_ignore_ascii_case(p)),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validates_names() {
        assert!(validate("example.com").is_ok());
        assert!(validate("*.example.com.cn").is_ok());
        assert!(validate("a.*.example.com").is_err());
        assert!(validate("*example.com").is_err());
        assert!(validate("localhost").is_err());
        assert!(validate("10.0.0.1").is_err());
        assert!(validate("Example.com").is_err());
        assert!(validate("bücher.de").is_err());
        assert!(validate("-a.example.com").is_err());
    }

    #[test]
    fn wildcard_coverage_is_one_label_deep() {
        assert!(covers("*.example.com", "www.example.com"));
        assert!(!covers("*.example.com", "a.b.example.com"));
        assert!(!covers("*.example.com", "example.com"));
        assert!(covers("example.com", "example.com"));
        assert!(covers("*.example.com", "*.example.com"));
        assert_eq!(
            challenge_name("*.example.com"),
            "_acme-challenge.example.com"
        );
    }
}
