//! The signatures the emulator recomputes, written from Alibaba's own SDK code (not from
//! alicert's signer, so client and emulator cannot agree by sharing a bug):
//!
//! * RPC, SignatureVersion 1.0 (HMAC-SHA1): `alibabacloud_openapi_util/client.py`
//!   `Client.get_rpcsignature` (PyPI alibabacloud-openapi-util 0.2.4; identical in
//!   alibabacloud-tea-openapi 0.4.6 `utils.py` `Utils.get_rpcsignature`).
//! * V3, ACS3-HMAC-SHA256 (ROA products such as FC 3): `alibabacloud_openapi_util/client.py`
//!   `Client.get_authorization`, `get_canonical_query_string`, `get_canonicalized_headers`,
//!   `signature_method` (same package and version).
//! * OSS V4, OSS4-HMAC-SHA256: `oss2/auth.py` `ProviderAuthV4` (`__get_canonical_request`,
//!   `__get_string_to_sign`, `__get_signing_key`, `__v4_uri_encode`) in PyPI oss2 2.19.1.
//!
//! Pure functions; auth.rs and oss.rs decide what to do with a mismatch.
use std::collections::BTreeMap;

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use hmac::{Hmac, Mac};
use sha1::Sha1;
use sha2::{Digest, Sha256};

/// Python's `urllib.parse.quote(s, safe="~")` as the SDKs call it: the RFC 3986 unreserved
/// bytes (`A-Za-z0-9-_.~`) stay, every other byte of the UTF-8 form is `%XX` (upper case), so a
/// space is `%20` and `*` is `%2A`. With `keep_slash`, `/` stays too (oss2's
/// `__v4_uri_encode(.., True)`, openapi-util's `get_encode_path`).
pub fn quote(s: &str, keep_slash: bool) -> String {
    let mut out = String::with_capacity(s.len() * 3);
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(b as char)
            }
            b'/' if keep_slash => out.push('/'),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// Lowercase hex SHA-256.
pub fn sha256_hex(data: &[u8]) -> String {
    hex::encode(Sha256::digest(data))
}

fn hmac_sha256(key: &[u8], data: &[u8]) -> Vec<u8> {
    let mut m = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes any key length");
    m.update(data);
    m.finalize().into_bytes().to_vec()
}

// ---------------------------------------------------------------------------------------------
// RPC (HMAC-SHA1)
// ---------------------------------------------------------------------------------------------

/// `get_rpcsignature`'s string to sign: `METHOD&%2F&quote_plus(canonicalized)`, where
/// canonicalized is `quote(k)=quote(v)` joined by `&` in sorted key order. The SDK signs the
/// parameters before it adds `Signature`, so a received `Signature` is left out here.
/// (`quote_plus(.., safe="~")` of a string that is already quoted only has `%`, `=` and `&` to
/// escape, which `quote` does the same way.)
pub fn rpc_string_to_sign(method: &str, params: &BTreeMap<String, String>) -> String {
    let canonical = params
        .iter()
        .filter(|(k, _)| k.as_str() != "Signature")
        .map(|(k, v)| format!("{}={}", quote(k, false), quote(v, false)))
        .collect::<Vec<_>>()
        .join("&");
    format!("{method}&%2F&{}", quote(&canonical, false))
}

/// base64(HMAC-SHA1(secret + "&", string to sign)), `get_rpcsignature`'s result.
pub fn rpc_signature(secret: &str, method: &str, params: &BTreeMap<String, String>) -> String {
    let mut m =
        Hmac::<Sha1>::new_from_slice(format!("{secret}&").as_bytes()).expect("any key length");
    m.update(rpc_string_to_sign(method, params).as_bytes());
    B64.encode(m.finalize().into_bytes())
}

// ---------------------------------------------------------------------------------------------
// V3 (ACS3-HMAC-SHA256)
// ---------------------------------------------------------------------------------------------

/// What a V3 signature covers, as the server sees the request.
#[derive(Debug, Clone, Default)]
pub struct V3Input<'a> {
    pub method: &'a str,
    /// The path as sent (the SDK signs `request.pathname`, already encoded), `/` when empty.
    pub path: &'a str,
    /// Decoded query parameters.
    pub query: BTreeMap<String, String>,
    /// The headers named in `SignedHeaders`, with their values.
    pub headers: Vec<(String, String)>,
    /// `x-acs-content-sha256`.
    pub payload_sha256: &'a str,
}

/// `get_authorization`'s canonical request: method, path, canonical query, canonical headers
/// (lower-case names sorted, values trimmed, repeated ones sorted and joined by `,`), signed
/// header names, payload hash. The SDK's `get_canonical_query_string` quotes only the value;
/// the emulator quotes the name too (Alibaba's V3 signature doc encodes both), which is the
/// same for every parameter name made of unreserved characters, as all API names are.
pub fn v3_canonical_request(r: &V3Input<'_>) -> String {
    let query = r
        .query
        .iter()
        .map(|(k, v)| format!("{}={}", quote(k, false), quote(v, false)))
        .collect::<Vec<_>>()
        .join("&");
    let mut headers: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (k, v) in &r.headers {
        headers
            .entry(k.to_ascii_lowercase())
            .or_default()
            .push(v.trim().to_string());
    }
    let mut canonical_headers = String::new();
    for (k, vs) in &mut headers {
        vs.sort();
        canonical_headers.push_str(&format!("{k}:{}\n", vs.join(",")));
    }
    let signed = headers.keys().cloned().collect::<Vec<_>>().join(";");
    let path = if r.path.is_empty() { "/" } else { r.path };
    format!(
        "{}\n{path}\n{query}\n{canonical_headers}\n{signed}\n{}",
        r.method, r.payload_sha256
    )
}

/// hex(HMAC-SHA256(secret, "ACS3-HMAC-SHA256\n" + hex(SHA-256(canonical request)))), the
/// `Signature=` of `get_authorization`.
pub fn v3_signature(secret: &str, canonical_request: &str) -> String {
    let string_to_sign = format!(
        "ACS3-HMAC-SHA256\n{}",
        sha256_hex(canonical_request.as_bytes())
    );
    hex::encode(hmac_sha256(secret.as_bytes(), string_to_sign.as_bytes()))
}

// ---------------------------------------------------------------------------------------------
// OSS V4 (OSS4-HMAC-SHA256)
// ---------------------------------------------------------------------------------------------

/// What an OSS V4 header signature covers.
#[derive(Debug, Clone, Default)]
pub struct OssV4Input<'a> {
    pub method: &'a str,
    /// Empty for service-level requests (canonical URI `/`).
    pub bucket: &'a str,
    pub key: &'a str,
    /// Decoded query parameters (sub-resources with an empty value included).
    pub query: Vec<(String, String)>,
    /// Every request header (any case); the signed ones are picked here.
    pub headers: Vec<(String, String)>,
    /// Lower-case names from `AdditionalHeaders`.
    pub additional: Vec<String>,
    /// `x-oss-date`, `yyyymmddThhmmssZ`.
    pub date_time: &'a str,
    pub region: &'a str,
    /// `x-oss-content-sha256` (oss2 sends `UNSIGNED-PAYLOAD`).
    pub payload: &'a str,
}

/// `__get_canonical_request`: method, `__v4_uri_encode("/bucket/key", True)`, the query
/// (`enc(k)=enc(v)` sorted by encoded name, a bare `enc(k)` when the value is empty), the
/// headers `__is_sign_header` picks (`x-oss-*`, content-type, content-md5, additional ones)
/// sorted by name, the additional names joined by `;` and the payload hash.
pub fn oss_v4_canonical_request(r: &OssV4Input<'_>) -> String {
    let uri = if r.bucket.is_empty() {
        "/".to_string()
    } else {
        quote(&format!("/{}/{}", r.bucket, r.key), true)
    };
    let mut q: Vec<(String, String)> = r
        .query
        .iter()
        .map(|(k, v)| (quote(k, false), quote(v, false)))
        .collect();
    q.sort();
    let query = q
        .iter()
        .map(|(k, v)| {
            if v.is_empty() {
                k.clone()
            } else {
                format!("{k}={v}")
            }
        })
        .collect::<Vec<_>>()
        .join("&");
    let mut signed: Vec<(String, &str)> = r
        .headers
        .iter()
        .map(|(k, v)| (k.to_ascii_lowercase(), v.as_str()))
        .filter(|(k, _)| {
            k.starts_with("x-oss-")
                || k == "content-type"
                || k == "content-md5"
                || r.additional.iter().any(|a| a == k)
        })
        .collect();
    signed.sort();
    let headers: String = signed.iter().map(|(k, v)| format!("{k}:{v}\n")).collect();
    let mut additional = r.additional.clone();
    additional.sort();
    format!(
        "{}\n{uri}\n{query}\n{headers}\n{}\n{}",
        r.method,
        additional.join(";"),
        r.payload
    )
}

/// `__get_string_to_sign`: algorithm, date-time, scope, hex SHA-256 of the canonical request.
pub fn oss_v4_string_to_sign(r: &OssV4Input<'_>, canonical_request: &str) -> String {
    format!(
        "OSS4-HMAC-SHA256\n{}\n{}/{}/oss/aliyun_v4_request\n{}",
        r.date_time,
        &r.date_time[..r.date_time.len().min(8)],
        r.region,
        sha256_hex(canonical_request.as_bytes())
    )
}

/// `__get_signing_key` then `__make_signature`: HMAC-SHA256 chained over date, region, `oss`
/// and `aliyun_v4_request` from `"aliyun_v4" + secret`, then over the string to sign; hex.
pub fn oss_v4_signature(secret: &str, r: &OssV4Input<'_>, string_to_sign: &str) -> String {
    let mut key = format!("aliyun_v4{secret}").into_bytes();
    for part in [
        &r.date_time[..r.date_time.len().min(8)],
        r.region,
        "oss",
        "aliyun_v4_request",
    ] {
        key = hmac_sha256(&key, part.as_bytes());
    }
    hex::encode(hmac_sha256(&key, string_to_sign.as_bytes()))
}

// Vectors computed with Alibaba's own SDKs, in a venv:
//   pip install alibabacloud-tea-openapi==0.4.6 alibabacloud-openapi-util==0.2.4 oss2==2.19.1
// by crates/aliyun-emulator/sdk_vectors.py (the inputs below are that script's, verbatim):
// RPC `Client.get_rpcsignature(params, "POST", secret)` (openapi-util; tea-openapi's
// `Utils.get_rpcsignature` gives the same, and the string to sign is the message it handed
// to `hmac.new`), V3 `Client.get_authorization(request, "ACS3-HMAC-SHA256", payload, ak,
// secret)`, OSS `AuthV4._sign_request` at a fixed 2026-12-01T23:30:00Z, with its canonical
// request and string to sign from the private `__get_canonical_request_bytes` and
// `__get_string_to_sign_bytes`.
#[cfg(test)]
mod tests {
    use super::*;

    fn map(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn rpc_params() -> BTreeMap<String, String> {
        map(&[
            ("Action", "AddDomainRecord"),
            ("Version", "2015-01-09"),
            ("Format", "JSON"),
            ("AccessKeyId", "LTAI5tEmulatorKey"),
            ("SignatureMethod", "HMAC-SHA1"),
            ("SignatureVersion", "1.0"),
            ("SignatureNonce", "3f0c2d1e-nonce"),
            ("Timestamp", "2026-12-01T23:30:00Z"),
            ("DomainName", "example.com"),
            ("RR", "_acme-challenge.www"),
            ("Type", "TXT"),
            ("Value", "a b*c~d/中=&+"),
        ])
    }

    #[test]
    fn rpc_matches_the_sdk() {
        let mut params = rpc_params();
        assert_eq!(
            rpc_string_to_sign("POST", &params),
            "POST&%2F&AccessKeyId%3DLTAI5tEmulatorKey%26Action%3DAddDomainRecord%26DomainName%3Dexample.com%26Format%3DJSON%26RR%3D_acme-challenge.www%26SignatureMethod%3DHMAC-SHA1%26SignatureNonce%3D3f0c2d1e-nonce%26SignatureVersion%3D1.0%26Timestamp%3D2026-12-01T23%253A30%253A00Z%26Type%3DTXT%26Value%3Da%2520b%252Ac~d%252F%25E4%25B8%25AD%253D%2526%252B%26Version%3D2015-01-09"
        );
        let want = "vr7Yykqw3oVDo/nsPysjzr6Kqio=";
        assert_eq!(rpc_signature("emulator-secret", "POST", &params), want);
        // The received Signature is not part of what was signed.
        params.insert("Signature".into(), want.into());
        assert_eq!(rpc_signature("emulator-secret", "POST", &params), want);
        // Any other change is.
        assert_ne!(rpc_signature("emulator-secret", "GET", &params), want);
        assert_ne!(rpc_signature("other-secret", "POST", &params), want);
        params.insert("Value".into(), "a b*c~d/中=&-".into());
        assert_ne!(rpc_signature("emulator-secret", "POST", &params), want);
    }

    fn v3_input(payload: &str) -> V3Input<'_> {
        V3Input {
            method: "PUT",
            path: "/2023-03-30/custom-domains/www.example.com",
            query: map(&[("limit", "10"), ("prefix", "a b/c")]),
            headers: [
                ("host", "1234567890123456.cn-hangzhou.fc.aliyuncs.com"),
                ("x-acs-action", "UpdateCustomDomain"),
                ("x-acs-version", "2023-03-30"),
                ("x-acs-date", "2026-12-01T23:30:00Z"),
                ("x-acs-signature-nonce", "5e2b-nonce"),
                ("x-acs-content-sha256", payload),
                ("content-type", "application/json; charset=utf-8"),
                ("x-acs-security-token", "sts-token"),
            ]
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
            payload_sha256: payload,
        }
    }

    #[test]
    fn v3_matches_the_sdk() {
        let payload = sha256_hex(br#"{"protocol":"HTTP,HTTPS"}"#);
        assert_eq!(
            payload,
            "1de15ad977a45ef99c2e02b54f387eeac8fbb5489f72adb7d4cdcef821cf8b86"
        );
        let mut input = v3_input(&payload);
        let canonical = v3_canonical_request(&input);
        assert!(canonical.starts_with(
            "PUT\n/2023-03-30/custom-domains/www.example.com\nlimit=10&prefix=a%20b%2Fc\ncontent-type:"
        ));
        assert!(canonical.ends_with(&format!(
            "\ncontent-type;host;x-acs-action;x-acs-content-sha256;x-acs-date;x-acs-security-token;x-acs-signature-nonce;x-acs-version\n{payload}"
        )));
        let want = "89b74db6f287f7487f4dd4047263ee6bd240b4a3d41848719267a8e41de5eb99";
        assert_eq!(v3_signature("v3-secret", &canonical), want);
        assert_ne!(v3_signature("v3-secret2", &canonical), want);
        input.query.insert("limit".into(), "11".into());
        assert_ne!(
            v3_signature("v3-secret", &v3_canonical_request(&input)),
            want
        );
    }

    fn oss_input() -> OssV4Input<'static> {
        OssV4Input {
            method: "PUT",
            bucket: "b1",
            key: "dir/my key.pem",
            query: vec![("comp".into(), "add".into()), ("cname".into(), "".into())],
            headers: [
                ("Content-Type", "application/xml"),
                ("Content-MD5", "1B2M2Y8AsgTpgAmY7PhCfg=="),
                ("x-oss-meta-a", "1"),
                ("Host", "b1.oss-cn-shanghai.aliyuncs.com"),
                ("x-oss-date", "20261201T233000Z"),
                ("x-oss-content-sha256", "UNSIGNED-PAYLOAD"),
                ("User-Agent", "not signed"),
            ]
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
            additional: vec!["host".into()],
            date_time: "20261201T233000Z",
            region: "cn-shanghai",
            payload: "UNSIGNED-PAYLOAD",
        }
    }

    #[test]
    fn oss_v4_matches_the_sdk() {
        let input = oss_input();
        let canonical = oss_v4_canonical_request(&input);
        assert_eq!(
            canonical,
            "PUT\n/b1/dir/my%20key.pem\ncname&comp=add\ncontent-md5:1B2M2Y8AsgTpgAmY7PhCfg==\ncontent-type:application/xml\nhost:b1.oss-cn-shanghai.aliyuncs.com\nx-oss-content-sha256:UNSIGNED-PAYLOAD\nx-oss-date:20261201T233000Z\nx-oss-meta-a:1\n\nhost\nUNSIGNED-PAYLOAD"
        );
        let sts = oss_v4_string_to_sign(&input, &canonical);
        assert_eq!(
            sts,
            "OSS4-HMAC-SHA256\n20261201T233000Z\n20261201/cn-shanghai/oss/aliyun_v4_request\n134fc81fd1fbb1beac88dd1b67303eb02119b73fbe81d007e875bc8a478cf4f8"
        );
        let want = "da94446ef4c95db43c54f6ecd51f32165c2fe06dc0f8a99444fc2e1b1c83f981";
        assert_eq!(oss_v4_signature("oss-secret", &input, &sts), want);
        assert_ne!(oss_v4_signature("oss-secret2", &input, &sts), want);
        let other_region = OssV4Input {
            region: "cn-hangzhou",
            ..oss_input()
        };
        assert_ne!(oss_v4_signature("oss-secret", &other_region, &sts), want);
    }

    #[test]
    fn quote_is_pythons_with_tilde_safe() {
        assert_eq!(quote("a b*c~d", false), "a%20b%2Ac~d");
        assert_eq!(quote("/x/y z", true), "/x/y%20z");
        assert_eq!(quote("/x", false), "%2Fx");
        assert_eq!(quote("中", false), "%E4%B8%AD");
    }
}
