//! Domain names as ACME and Alidns want them.

/// Most names one certificate may hold (Let's Encrypt's limit).
pub const MAX_NAMES: usize = 100;

/// `name` as ACME wants it: IDNA (Unicode) labels to punycode (`bücher.de` →
/// `xn--bcher-kva.de`), lower case, no trailing dot; then [`validate`]d.
pub fn normalize(name: &str) -> Result<String, String> {
    let trimmed = name.trim();
    let bare = trimmed.strip_suffix('.').unwrap_or(trimmed);
    if bare.is_empty() {
        return Err("an empty domain name".into());
    }
    if is_ip(bare) {
        return Err(format!(
            "`{name}` is an IP address; DNS-01 proves control of DNS names only"
        ));
    }
    let (wildcard, rest) = match bare.strip_prefix("*.") {
        Some(rest) => ("*.", rest),
        None => ("", bare),
    };
    if rest.contains('*') {
        return Err(format!(
            "`{name}`: a wildcard is allowed only as the whole first label (`*.example.com`)"
        ));
    }
    let ascii = if rest.is_ascii() {
        rest.to_ascii_lowercase()
    } else {
        idna::domain_to_ascii(rest)
            .map_err(|_| format!("`{name}` is not a valid internationalized domain name (IDNA)"))?
    };
    let out = format!("{wildcard}{ascii}");
    validate(&out)?;
    Ok(out)
}

/// A certificate's list of names: each valid, no duplicates, at most [`MAX_NAMES`].
pub fn validate_list(names: &[String]) -> Result<(), String> {
    if names.is_empty() {
        return Err("no domain names".into());
    }
    if names.len() > MAX_NAMES {
        return Err(format!(
            "{} names; one certificate holds at most {MAX_NAMES}",
            names.len()
        ));
    }
    let mut seen = std::collections::HashSet::new();
    for n in names {
        validate(n)?;
        if !seen.insert(n.as_str()) {
            return Err(format!("`{n}` is listed twice"));
        }
    }
    Ok(())
}

fn is_ip(s: &str) -> bool {
    let unbracketed = s
        .strip_prefix('[')
        .and_then(|x| x.strip_suffix(']'))
        .unwrap_or(s);
    unbracketed.parse::<std::net::IpAddr>().is_ok()
        // A dotted quad written with a wildcard or trailing label is still an address.
        || (s.split('.').count() == 4 && s.split('.').all(|l| l.parse::<u8>().is_ok()))
}

/// A DNS name acceptable in an ACME order: lower-case ASCII labels, a wildcard only as the
/// whole first label, at least two labels, no IP address.
pub fn validate(name: &str) -> Result<(), String> {
    if is_ip(name) || name.strip_prefix("*.").is_some_and(is_ip) {
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
    fn normalizes_idna_case_and_trailing_dot() {
        assert_eq!(normalize("bücher.de").unwrap(), "xn--bcher-kva.de");
        assert_eq!(normalize("*.Bücher.DE.").unwrap(), "*.xn--bcher-kva.de");
        assert_eq!(normalize("WWW.Example.COM").unwrap(), "www.example.com");
        assert_eq!(normalize("例子.中国").unwrap(), "xn--fsqu00a.xn--fiqs8s");
        assert_eq!(normalize("xn--bcher-kva.de").unwrap(), "xn--bcher-kva.de");
        for (bad, needle) in [
            ("", "empty"),
            ("10.0.0.1", "IP address"),
            ("::1", "IP address"),
            ("[2001:db8::1]", "IP address"),
            ("*.10.0.0.1", "IP address"),
            ("a.*.example.com", "first label"),
            ("*example.com", "first label"),
            ("**.example.com", "first label"),
            ("localhost", "fully qualified"),
            ("a..example.com", "invalid label"),
            ("exa mple.com", "invalid label"),
            ("-a.example.com", "invalid label"),
        ] {
            let e = normalize(bad).unwrap_err();
            assert!(e.contains(needle), "{bad}: {e}");
        }
        let long = format!("{}.example.com", "a".repeat(64));
        assert!(normalize(&long).is_err());
    }

    #[test]
    fn lists_reject_duplicates_and_excess() {
        let l = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert!(validate_list(&l(&["example.com", "*.example.com"])).is_ok());
        assert!(validate_list(&l(&["example.com", "example.com"]))
            .unwrap_err()
            .contains("twice"));
        assert!(validate_list(&[]).is_err());
        let many: Vec<String> = (0..101).map(|i| format!("h{i}.example.com")).collect();
        assert!(validate_list(&many).unwrap_err().contains("at most"));
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
