//! Alibaba Cloud V3 request signing (ACS3-HMAC-SHA256), which ROA APIs such as FC 3's
//! InvokeFunction take. Pure functions, so the emulator verifies with the very same rules; the
//! vectors below come from the official SDK (`get_authorization` in alibabacloud-tea-openapi).
use std::collections::BTreeMap;

use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};

pub const ALGORITHM: &str = "ACS3-HMAC-SHA256";

/// What is signed: the method, the path as sent, the query parameters, the headers to sign
/// (lower-case names) and the hex SHA-256 of the body.
pub struct SignedRequest<'a> {
    pub method: &'a str,
    /// Already percent-encoded path, e.g. `/2023-03-30/functions/alicert/invocations`.
    pub path: &'a str,
    pub query: &'a BTreeMap<String, String>,
    pub headers: &'a BTreeMap<String, String>,
    pub payload_sha256: &'a str,
}

pub fn sha256_hex(data: &[u8]) -> String {
    hex::encode(Sha256::digest(data))
}

/// RFC 3986 encoding with only `A-Za-z0-9-_.~` kept (the SDK's `quote(v, safe='~')`).
fn encode(s: &str) -> String {
    super::signer::percent_encode(s)
}

/// `METHOD\npath\nquery\nheaders\nsigned-header-names\npayload-hash`.
pub fn canonical_request(req: &SignedRequest<'_>) -> (String, String) {
    let query = req
        .query
        .iter()
        .map(|(k, v)| format!("{k}={}", encode(v)))
        .collect::<Vec<_>>()
        .join("&");
    let headers: BTreeMap<String, String> = req
        .headers
        .iter()
        .map(|(k, v)| (k.to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    let canonical_headers: String = headers.iter().map(|(k, v)| format!("{k}:{v}\n")).collect();
    let signed_headers = headers.keys().cloned().collect::<Vec<_>>().join(";");
    let path = if req.path.is_empty() { "/" } else { req.path };
    (
        format!(
            "{}\n{path}\n{query}\n{canonical_headers}\n{signed_headers}\n{}",
            req.method, req.payload_sha256
        ),
        signed_headers,
    )
}

/// The `Authorization` header value.
pub fn authorization(
    access_key_id: &str,
    access_key_secret: &str,
    req: &SignedRequest<'_>,
) -> String {
    let (canonical, signed_headers) = canonical_request(req);
    let string_to_sign = format!("{ALGORITHM}\n{}", sha256_hex(canonical.as_bytes()));
    let mut mac = Hmac::<Sha256>::new_from_slice(access_key_secret.as_bytes())
        .expect("HMAC accepts keys of any length");
    mac.update(string_to_sign.as_bytes());
    let signature = hex::encode(mac.finalize().into_bytes());
    format!("{ALGORITHM} Credential={access_key_id},SignedHeaders={signed_headers},Signature={signature}")
}

#[cfg(test)]
mod tests {
    use super::*;

    // Generated once (Python 3.11.7, scratch venv outside the repo) with the official SDK:
    //   pip install alibabacloud-tea-openapi==0.4.6
    //   Utils.get_authorization(request, 'ACS3-HMAC-SHA256', sha256(body).hex(), ak, secret)
    // with the request below (method POST, pathname, query, headers as listed).
    const BODY: &[u8] = br#"{"action":"renew","certificates":["a","b"]}"#;

    fn headers(extra: &[(&str, &str)]) -> BTreeMap<String, String> {
        let mut h: BTreeMap<String, String> = [
            ("host", "fcv3.cn-hangzhou.aliyuncs.com"),
            ("x-acs-version", "2023-03-30"),
            ("x-acs-action", "InvokeFunction"),
            ("x-acs-date", "2026-01-02T03:04:05Z"),
            ("x-acs-signature-nonce", "3f2b5c6d7e8f90a1b2c3d4e5f6a7b8c9"),
            ("content-type", "application/octet-stream"),
            ("x-fc-invocation-type", "Async"),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        h.insert("x-acs-content-sha256".into(), sha256_hex(BODY));
        for (k, v) in extra {
            h.insert(k.to_string(), v.to_string());
        }
        h
    }

    #[test]
    fn matches_the_official_sdk() {
        let hash = sha256_hex(BODY);
        assert_eq!(
            hash,
            "cd727de19b049702681d432f4ff4badd3de3eb94d93fdbad22526d6e392b1b69"
        );
        let query = BTreeMap::from([("qualifier".to_string(), "LATEST".to_string())]);
        let h = headers(&[]);
        let req = SignedRequest {
            method: "POST",
            path: "/2023-03-30/functions/alicert/invocations",
            query: &query,
            headers: &h,
            payload_sha256: &hash,
        };
        assert_eq!(
            authorization("LTAI5tExampleKeyId", "ExampleSecret0123456789", &req),
            "ACS3-HMAC-SHA256 Credential=LTAI5tExampleKeyId,SignedHeaders=content-type;host;\
             x-acs-action;x-acs-content-sha256;x-acs-date;x-acs-signature-nonce;x-acs-version;\
             x-fc-invocation-type,Signature=6279b38a62959d62641dcaf136936f8daba5963fa7588c3f0c6e425f394b682b"
        );

        // STS credentials, and a query value that needs encoding (space, `*`).
        let query = BTreeMap::from([("qualifier".to_string(), "prod v1*".to_string())]);
        let h = headers(&[
            ("x-acs-accesskey-id", "STS.ExampleKey"),
            ("x-acs-security-token", "sts-token/with+chars="),
        ]);
        let req = SignedRequest {
            method: "POST",
            path: "/2023-03-30/functions/alicert/invocations",
            query: &query,
            headers: &h,
            payload_sha256: &hash,
        };
        assert_eq!(
            authorization("STS.ExampleKey", "ExampleSecret0123456789", &req),
            "ACS3-HMAC-SHA256 Credential=STS.ExampleKey,SignedHeaders=content-type;host;\
             x-acs-accesskey-id;x-acs-action;x-acs-content-sha256;x-acs-date;x-acs-security-token;\
             x-acs-signature-nonce;x-acs-version;x-fc-invocation-type,\
             Signature=fb6c84fa838e3ddcedbaf7728de7555541850fcfb4852f3a636d7c516905ac75"
        );
    }
}
