//! The names alicert gives what it creates for a certificate (CAS uploads, SLB server
//! certificates, Alidns remarks), and how it recognises its own: by exact name, never by
//! prefix, so that certificates named `www` and `www-api` can never take each other's objects.
//!
//! Limits (Alibaba API reference): CAS `UploadUserCertificate` `Name` at most 63 characters,
//! unique per account; SLB `UploadServerCertificate` `ServerCertificateName` 1–80 characters,
//! starting with a letter, of letters, digits, `.`, `_`, `-`; Alidns remarks at most 50
//! characters of digits, letters, Chinese and `_ - , . ，。`. Certificate names are
//! `A-Z a-z 0-9 - _ .` (config validation), so they fit every one of these charsets as they are;
//! only their length needs care.
use std::borrow::Cow;

use sha2::{Digest, Sha256};

/// `UploadUserCertificate` `Name`: at most 63 characters.
pub const CAS_NAME_MAX: usize = 63;
/// Every upload name starts with this.
pub const UPLOAD_PREFIX: &str = "alicert-";
/// Hex digits of the serial in an upload name.
const SERIAL_DIGITS: usize = 16;
/// Room for the certificate name in an upload name: 63 - "alicert-" - "-" - 16 hex.
const UPLOAD_NAME_ROOM: usize = CAS_NAME_MAX - UPLOAD_PREFIX.len() - 1 - SERIAL_DIGITS;

/// `name` fitted into at most `max` characters, deterministically and without collisions
/// between fitted forms: a name shorter than `max` stays as it is; a longer one becomes its
/// first `max - 9` characters, `.`, and 8 hex digits of its SHA-256 — always exactly `max`
/// characters, so a shortened name can never equal a kept one.
pub fn fit(name: &str, max: usize) -> Cow<'_, str> {
    assert!(max > 9, "fit: max {max} leaves no room for the hash");
    if name.chars().count() < max {
        return Cow::Borrowed(name);
    }
    let head: String = name.chars().take(max - 9).collect();
    let hash = hex::encode(&Sha256::digest(name.as_bytes())[..4]);
    Cow::Owned(format!("{head}.{hash}"))
}

/// The first 16 hex digits of `serial` (lower-case hex), left-padded with zeros when shorter.
fn serial_tag(serial: &str) -> String {
    let digits: String = serial
        .chars()
        .filter(char::is_ascii_hexdigit)
        .map(|c| c.to_ascii_lowercase())
        .take(SERIAL_DIGITS)
        .collect();
    format!("{digits:0>width$}", width = SERIAL_DIGITS)
}

/// The name of certificate `cert_name`'s upload with serial `serial`:
/// `alicert-<fitted name>-<16 hex of the serial>`, at most 63 characters (CAS), also a valid
/// SLB server certificate name (starts with a letter, ≤ 80).
pub fn upload_name(cert_name: &str, serial: &str) -> String {
    format!(
        "{UPLOAD_PREFIX}{}-{}",
        fit(cert_name, UPLOAD_NAME_ROOM),
        serial_tag(serial)
    )
}

/// Whether `candidate` is an upload of certificate `cert_name` (any serial): the exact
/// inverse of [`upload_name`], so `www` never claims `www-api`'s uploads.
pub fn is_upload_of(cert_name: &str, candidate: &str) -> bool {
    upload_owner(candidate).is_some_and(|owner| owner == fit(cert_name, UPLOAD_NAME_ROOM))
}

/// The fitted certificate name inside an upload name, if `candidate` is one of alicert's.
pub fn upload_owner(candidate: &str) -> Option<&str> {
    let rest = candidate.strip_prefix(UPLOAD_PREFIX)?;
    if rest.len() < SERIAL_DIGITS + 2 || !rest.is_char_boundary(rest.len() - SERIAL_DIGITS - 1) {
        return None;
    }
    let (owner, tag) = rest.split_at(rest.len() - SERIAL_DIGITS - 1);
    let tag = tag.strip_prefix('-')?;
    let is_tag = tag
        .bytes()
        .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
    (is_tag && !owner.is_empty()).then_some(owner)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SERIAL: &str = "4f2a9c01d3e5b7a9f0e1d2c3b4a59687";

    #[test]
    fn upload_names_fit_cas_and_slb() {
        for name in [
            "www",
            "a",
            &"n".repeat(37),
            &"n".repeat(38),
            &"long-name.".repeat(12),
        ] {
            let u = upload_name(name, SERIAL);
            assert!(u.len() <= CAS_NAME_MAX, "{u} ({} chars)", u.len());
            assert!(u.starts_with(|c: char| c.is_ascii_alphabetic()), "{u}");
            assert!(
                u.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.')),
                "{u}"
            );
            assert!(is_upload_of(name, &u), "{name} does not own {u}");
        }
        assert_eq!(upload_name("www", SERIAL), "alicert-www-4f2a9c01d3e5b7a9");
        assert_eq!(upload_name("www", "1f"), "alicert-www-000000000000001f");
    }

    #[test]
    fn a_forty_character_name_is_shortened_deterministically() {
        let name = "customer-portal-eu-central-production-x";
        assert_eq!(name.len(), 39);
        let a = upload_name(name, SERIAL);
        assert_eq!(a, upload_name(name, SERIAL));
        assert_eq!(a.len(), CAS_NAME_MAX);
        assert!(is_upload_of(name, &a));
        // Same first characters, different name: a different owner.
        let other = "customer-portal-eu-central-production-y";
        assert!(!is_upload_of(other, &a));
        assert!(!is_upload_of(name, &upload_name(other, SERIAL)));
    }

    #[test]
    fn names_that_prefix_each_other_never_match() {
        let pairs = [
            ("www", "www-api"),
            ("www", "www-1"),
            ("a", "a-b-c"),
            ("www.example", "www.example-staging"),
        ];
        for (short, long) in pairs {
            let s = upload_name(short, SERIAL);
            let l = upload_name(long, SERIAL);
            assert!(is_upload_of(short, &s) && is_upload_of(long, &l));
            assert!(!is_upload_of(short, &l), "{short} claims {l}");
            assert!(!is_upload_of(long, &s), "{long} claims {s}");
        }
    }

    #[test]
    fn foreign_names_are_not_ours() {
        for n in [
            "",
            "alicert-",
            "alicert-www",
            "alicert-www-",
            "alicert-www-XYZ",
            "alicert--4f2a9c01d3e5b7a9",
            "alicert-www-4F2A9C01D3E5B7A9",
            "my-cert",
            "alicert-www-4f2a9c01d3e5b7a9-copy",
        ] {
            assert!(!is_upload_of("www", n), "{n}");
        }
    }

    #[test]
    fn fitted_forms_never_collide_with_kept_ones() {
        let long = "x".repeat(60);
        let fitted = fit(&long, 38);
        assert_eq!(fitted.chars().count(), 38);
        // Every kept name is shorter than the limit, so it cannot equal a fitted one.
        assert!(fit(&"x".repeat(37), 38).len() == 37);
        assert_eq!(fit("www", 38), "www");
    }
}
