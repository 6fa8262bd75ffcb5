//! Identifiers that end up in URLs and request paths, validated once where the config (or an
//! event) is read, before any network call. A value of one of these types is known to be safe
//! to put in a host name or a path: nothing here can point a signed request, the STS token or a
//! private key at another host.
//!
//! Rules:
//! - OSS bucket names: OSS "Bucket naming conventions": 3–63 characters, lower-case letters,
//!   digits and hyphens, starting and ending with a letter or digit.
//! - Region IDs (`cn-hangzhou`, `ap-southeast-1`, `cn-shanghai-finance-1`): the form every
//!   region in the SDK endpoint maps has: lower-case letters and digits in hyphen-separated
//!   words, starting with a letter; at most 64 characters.
//! - OSS object keys: OSS allows 1–1023 bytes of UTF-8; alicert also refuses a leading `/`,
//!   `\`, any `..`, and control characters, so a key never walks out of its prefix.
//! - Resource ids (load balancers, listeners, API groups, ...): letters, digits, `-`, `_`, `.`
//!   (no `..`), 1–128 characters — every id format the products document fits.
use std::fmt;

/// Why a value was refused; the caller adds the config key and the file.
pub type Invalid = String;

macro_rules! ident_type {
    ($(#[$doc:meta])* $name:ident, $check:path) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(String);

        impl $name {
            pub fn parse(s: &str) -> Result<$name, Invalid> {
                $check(s)?;
                Ok($name(s.to_string()))
            }
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }

        impl std::str::FromStr for $name {
            type Err = Invalid;
            fn from_str(s: &str) -> Result<$name, Invalid> {
                $name::parse(s)
            }
        }

        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<$name, D::Error> {
                let s = String::deserialize(d)?;
                $name::parse(&s).map_err(serde::de::Error::custom)
            }
        }

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(&self.0)
            }
        }
    };
}

ident_type!(
    /// An OSS bucket name.
    BucketName,
    check_bucket
);
ident_type!(
    /// An Alibaba Cloud region ID.
    RegionId,
    check_region
);
ident_type!(
    /// An OSS object key (or key prefix) that stays inside its bucket and prefix.
    ObjectKey,
    check_object_key
);
ident_type!(
    /// The id of a load balancer, listener, API group, KMS instance, ...
    ResourceId,
    check_resource_id
);

fn check_bucket(s: &str) -> Result<(), Invalid> {
    let ok = (3..=63).contains(&s.len())
        && s.bytes()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'-')
        && !s.starts_with('-')
        && !s.ends_with('-');
    if ok {
        Ok(())
    } else {
        Err(format!(
            "`{}` is not an OSS bucket name (3-63 of a-z 0-9 -, not starting or ending with -)",
            shown(s)
        ))
    }
}

fn check_region(s: &str) -> Result<(), Invalid> {
    let ok = (2..=64).contains(&s.len())
        && s.starts_with(|c: char| c.is_ascii_lowercase())
        && s.split('-').all(|w| {
            !w.is_empty()
                && w.bytes()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
        });
    if ok {
        Ok(())
    } else {
        Err(format!(
            "`{}` is not a region ID (like cn-hangzhou or ap-southeast-1)",
            shown(s)
        ))
    }
}

fn check_object_key(s: &str) -> Result<(), Invalid> {
    let why = if s.is_empty() {
        Some("is empty")
    } else if s.len() > 1023 {
        Some("is longer than OSS's 1023 bytes")
    } else if s.starts_with('/') {
        Some("must not start with /")
    } else if s.contains("..") {
        Some("must not contain ..")
    } else if s.contains('\\') {
        Some("must not contain \\")
    } else if s.chars().any(char::is_control) {
        Some("must not contain control characters")
    } else {
        None
    };
    match why {
        None => Ok(()),
        Some(why) => Err(format!("object key `{}` {why}", shown(s))),
    }
}

fn check_resource_id(s: &str) -> Result<(), Invalid> {
    let ok = (1..=128).contains(&s.len())
        && s.bytes()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'-' | b'_' | b'.'))
        && !s.contains("..");
    if ok {
        Ok(())
    } else {
        Err(format!(
            "`{}` is not a resource id (1-128 of A-Z a-z 0-9 - _ .)",
            shown(s)
        ))
    }
}

/// A value quoted in an error: printable and short, whatever the input was.
fn shown(s: &str) -> String {
    let mut out: String = s.chars().take(80).flat_map(char::escape_default).collect();
    if s.chars().count() > 80 {
        out.push_str("...");
    }
    out
}

/// `oss://<bucket>/<key>[?region=<region>]`: an object somewhere in OSS. The optional region
/// says where the bucket lives when it is not `[aliyun] region` (the V4 signature's scope and
/// the endpoint both need it); the query form follows the `s3://bucket?region=` convention.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OssLocation {
    pub bucket: BucketName,
    pub key: ObjectKey,
    pub region: Option<RegionId>,
}

impl OssLocation {
    pub fn parse(s: &str) -> Result<OssLocation, Invalid> {
        let rest = s
            .strip_prefix("oss://")
            .ok_or_else(|| format!("`{}`: expected oss://<bucket>/<key>", shown(s)))?;
        let (path, query) = match rest.split_once('?') {
            Some((p, q)) => (p, Some(q)),
            None => (rest, None),
        };
        let (bucket, key) = path
            .split_once('/')
            .ok_or_else(|| format!("`{}`: expected oss://<bucket>/<key>", shown(s)))?;
        let bucket = BucketName::parse(bucket).map_err(|e| format!("`{}`: {e}", shown(s)))?;
        let key = ObjectKey::parse(key).map_err(|e| format!("`{}`: {e}", shown(s)))?;
        let region = match query {
            None => None,
            Some(q) => match q.strip_prefix("region=") {
                Some(r) if !r.contains('&') => {
                    Some(RegionId::parse(r).map_err(|e| format!("`{}`: {e}", shown(s)))?)
                }
                _ => {
                    return Err(format!(
                        "`{}`: the only option after `?` is region=<region id>",
                        shown(s)
                    ))
                }
            },
        };
        Ok(OssLocation {
            bucket,
            key,
            region,
        })
    }
}

impl fmt::Display for OssLocation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "oss://{}/{}", self.bucket, self.key)?;
        if let Some(r) = &self.region {
            write!(f, "?region={r}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_follow_the_oss_naming_rules() {
        for ok in ["abc", "alicert-state", "a1-2b", &"a".repeat(63)] {
            assert!(BucketName::parse(ok).is_ok(), "{ok}");
        }
        for bad in [
            "ab",
            &"a".repeat(64),
            "-abc",
            "abc-",
            "Abc",
            "a_b",
            "a.b",
            "attacker.example/#",
            "b@evil",
            "",
        ] {
            assert!(BucketName::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn regions_are_plain_ids() {
        for ok in [
            "cn-hangzhou",
            "ap-southeast-1",
            "cn-shanghai-finance-1",
            "me-central-1",
        ] {
            assert!(RegionId::parse(ok).is_ok(), "{ok}");
        }
        for bad in [
            "",
            "cn-",
            "-cn",
            "cn--x",
            "CN-HANGZHOU",
            "cn-hangzhou.evil.com",
            "1cn",
            "cn/x",
            "cn hangzhou",
        ] {
            assert!(RegionId::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn object_keys_stay_inside_their_prefix() {
        for ok in [
            "a",
            "alicert/account.pem",
            "certs/www/fullchain.pem",
            "a b/é",
        ] {
            assert!(ObjectKey::parse(ok).is_ok(), "{ok}");
        }
        for bad in [
            "",
            "/abs",
            "a/../b",
            "..",
            "a\\b",
            "a\nb",
            &"k".repeat(1024),
        ] {
            assert!(ObjectKey::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn resource_ids() {
        for ok in ["lb-bp1o94dp5i6earr9g6d14", "lsn-abc_1.2", "a"] {
            assert!(ResourceId::parse(ok).is_ok(), "{ok}");
        }
        for bad in [
            "",
            "lb/x",
            "a..b",
            "lsn?x=1",
            "x#y",
            "a b",
            &"x".repeat(129),
        ] {
            assert!(ResourceId::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn oss_locations() {
        let l = OssLocation::parse("oss://alicert-state/alicert/account.pem").unwrap();
        assert_eq!(l.bucket.as_str(), "alicert-state");
        assert_eq!(l.key.as_str(), "alicert/account.pem");
        assert_eq!(l.region, None);
        let l = OssLocation::parse("oss://b-1/k.pem?region=cn-shanghai").unwrap();
        assert_eq!(l.region.as_ref().map(|r| r.as_str()), Some("cn-shanghai"));
        assert_eq!(l.to_string(), "oss://b-1/k.pem?region=cn-shanghai");
        for bad in [
            "oss://attacker.example/#/k",
            "oss://bucket",
            "oss://bucket/",
            "oss://bucket//abs",
            "oss://bucket/a/../b",
            "oss://bucket/k?region=evil.com",
            "oss://bucket/k?other=1",
            "s3://bucket/k",
        ] {
            assert!(OssLocation::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn errors_quote_hostile_values_safely() {
        let e = BucketName::parse("a\u{1b}[31m\nb").unwrap_err();
        assert!(!e.contains('\u{1b}') && !e.contains('\n'), "{e}");
    }
}
