//! The one credential check: known AccessKeyId, STS SecurityToken, timestamp window and nonce
//! reuse ([`credential`], [`skewed`], [`nonce_used`]), shared by RPC (HMAC-SHA1) and ROA V3
//! (ACS3-HMAC-SHA256) verification here and by OSS V4 (oss.rs), each of which words the refusal
//! the way its protocol does. The signatures themselves are computed in signature.rs.
use super::*;

/// An access key pair; with `security_token` it behaves like STS credentials (the token is required).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct AccessKey {
    pub id: String,
    pub secret: String,
    pub security_token: Option<String>,
    /// Unix seconds after which the key is refused (temporary STS keys, sts.rs).
    pub expires: Option<i64>,
    /// The account the key belongs to; unset: the default account (accounts.rs).
    pub account: Option<String>,
    /// The role an STS key is a session of (accounts.rs: its policy, if seeded, applies).
    pub role: Option<String>,
}

impl Seed {
    pub fn access_key(mut self, id: &str, secret: &str) -> Self {
        self.access_keys.push(AccessKey {
            id: id.into(),
            secret: secret.into(),
            security_token: None,
            ..AccessKey::default()
        });
        self
    }
    pub fn sts_key(mut self, id: &str, secret: &str, token: &str) -> Self {
        self.access_keys.push(AccessKey {
            id: id.into(),
            secret: secret.into(),
            security_token: Some(token.into()),
            ..AccessKey::default()
        });
        self
    }
}

/// Why a request's credentials were refused.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Refusal {
    /// No such AccessKeyId.
    UnknownKey,
    /// An STS key without its SecurityToken.
    TokenMissing,
    /// An STS key with another SecurityToken.
    TokenMismatch,
    /// A temporary key past its Expiration.
    Expired,
}

/// The access key `ak`, if it is known and, for STS credentials, `token` is its SecurityToken.
pub(crate) fn credential(
    inner: &Inner,
    ak: &str,
    token: Option<&str>,
) -> Result<AccessKey, Refusal> {
    let key = inner.keys.get(ak).cloned().ok_or(Refusal::UnknownKey)?;
    if key
        .expires
        .is_some_and(|e| OffsetDateTime::now_utc().unix_timestamp() >= e)
    {
        return Err(Refusal::Expired);
    }
    match (&key.security_token, token) {
        (None, _) => Ok(key),
        (Some(_), None) => Err(Refusal::TokenMissing),
        (Some(want), Some(got)) if want != got => Err(Refusal::TokenMismatch),
        _ => Ok(key),
    }
}

/// Whether `ts` (unix seconds) is further than [`MAX_SKEW_SECS`] from `now`.
pub(crate) fn skewed(ts: i64, now: i64) -> bool {
    (now - ts).abs() > MAX_SKEW_SECS
}

/// Records `(ak, nonce)`; true if it was seen within the window already (a replay).
pub(crate) fn nonce_used(inner: &mut Inner, ak: &str, nonce: &str, now: i64) -> bool {
    inner.nonces.retain(|_, t| now - *t <= 2 * MAX_SKEW_SECS);
    inner
        .nonces
        .insert((ak.to_string(), nonce.to_string()), now)
        .is_some()
}

/// RPC and ROA V3 share the unknown-key and replay answers.
fn unknown_key() -> ApiError {
    err(
        404,
        "InvalidAccessKeyId.NotFound",
        "Specified access key is not found.",
    )
}

/// Alibaba's answer to a temporary key used after its Expiration.
fn token_expired() -> ApiError {
    err(
        400,
        "InvalidSecurityToken.Expired",
        "Specified SecurityToken is expired.",
    )
}

fn nonce_replayed() -> ApiError {
    err(
        400,
        "SignatureNonceUsed",
        "Specified signature nonce was used already.",
    )
}

/// `2006-01-02T15:04:05Z`, the RPC `Timestamp` and V3 `x-acs-date` format.
pub(crate) fn acs_timestamp(s: &str) -> Option<i64> {
    let fmt = time::macros::format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]Z");
    time::PrimitiveDateTime::parse(s, &fmt)
        .ok()
        .map(|t| t.assume_utc().unix_timestamp())
}

/// The RPC common parameters: all present, JSON, HMAC-SHA1, SignatureVersion 1.0.
fn check_rpc_common(p: &Params) -> Result<(), ApiError> {
    for name in [
        "Action",
        "Version",
        "Format",
        "AccessKeyId",
        "SignatureMethod",
        "SignatureVersion",
        "SignatureNonce",
        "Timestamp",
        "Signature",
    ] {
        if p.get(name).is_none() {
            return Err(err(
                400,
                "MissingParameter",
                format!("The input parameter \"{name}\" that is mandatory for processing this request is not supplied."),
            ));
        }
    }
    if !p.req("Format")?.eq_ignore_ascii_case("JSON") {
        return Err(err(
            400,
            "InvalidParameter.Format",
            "The emulator only answers Format=JSON.",
        ));
    }
    if p.req("SignatureMethod")? != "HMAC-SHA1" {
        return Err(err(
            400,
            "InvalidSignatureMethod",
            "Specified signature method is not supported.",
        ));
    }
    if p.req("SignatureVersion")? != "1.0" {
        return Err(err(
            400,
            "InvalidSignatureVersion",
            "Specified signature version is not supported.",
        ));
    }
    Ok(())
}

pub(crate) fn verify_rpc(
    shared: &Shared,
    method: &str,
    params: &BTreeMap<String, String>,
) -> Result<(), ApiError> {
    let p = Params(params);
    check_rpc_common(&p)?;
    let ts = acs_timestamp(p.req("Timestamp")?).ok_or_else(|| {
        err(
            400,
            "InvalidTimeStamp.Format",
            "Specified time stamp or date value is not well formatted.",
        )
    })?;
    let now = OffsetDateTime::now_utc().unix_timestamp();
    if skewed(ts, now) {
        return Err(err(
            400,
            "InvalidTimeStamp.Expired",
            "Specified time stamp or date value is expired.",
        ));
    }
    let ak = p.req("AccessKeyId")?;
    let nonce = p.req("SignatureNonce")?;
    let mut inner = shared.lock();
    let key = credential(&inner, ak, p.get("SecurityToken")).map_err(|r| match r {
        Refusal::UnknownKey => unknown_key(),
        Refusal::TokenMissing => err(
            400,
            "MissingSecurityToken",
            "SecurityToken is mandatory for this access key.",
        ),
        Refusal::TokenMismatch => err(
            400,
            "InvalidSecurityToken.Mismatch",
            "Specified SecurityToken mismatch with the AccessKey.",
        ),
        Refusal::Expired => token_expired(),
    })?;
    let expected = rpc_signature(&key.secret, method, params);
    if p.req("Signature")? != expected {
        return Err(err(
            400,
            "SignatureDoesNotMatch",
            format!(
                "Specified signature is not matched with our calculation. server string to sign is:{}",
                rpc_string_to_sign(method, params)
            ),
        ));
    }
    if nonce_used(&mut inner, ak, nonce, now) {
        return Err(nonce_replayed());
    }
    Ok(())
}

/// `ACS3-HMAC-SHA256 Credential=..,SignedHeaders=..,Signature=..` → (ak, signed names, signature).
fn parse_acs3(headers: &HeaderMap) -> Result<(String, Vec<String>, String), ApiError> {
    let auth = header_str(headers, "authorization").ok_or_else(|| {
        err(
            400,
            "MissingAuthorization",
            "Authorization header is required.",
        )
    })?;
    let rest = auth
        .strip_prefix("ACS3-HMAC-SHA256 ")
        .ok_or_else(|| err(400, "InvalidAuthorization", "Expected ACS3-HMAC-SHA256."))?;
    let mut fields = BTreeMap::new();
    for part in rest.split(',') {
        if let Some((k, v)) = part.trim().split_once('=') {
            fields.insert(k.to_string(), v.to_string());
        }
    }
    match (
        fields.get("Credential"),
        fields.get("SignedHeaders"),
        fields.get("Signature"),
    ) {
        (Some(a), Some(s), Some(g)) => Ok((
            a.clone(),
            s.split(';').map(str::to_string).collect(),
            g.clone(),
        )),
        _ => Err(err(400, "InvalidAuthorization", "Malformed Authorization.")),
    }
}

/// The V3 headers: the required ones present and signed, every x-acs-* signed, the API version,
/// and x-acs-content-sha256 the body's hash (returned).
fn check_v3_headers(
    headers: &HeaderMap,
    signed: &[String],
    body: &[u8],
    version: &str,
) -> Result<String, ApiError> {
    let h = |k: &str| header_str(headers, k);
    let is_signed = |n: &str| signed.iter().any(|s| s == n);
    for required in [
        "host",
        "x-acs-action",
        "x-acs-version",
        "x-acs-date",
        "x-acs-signature-nonce",
        "x-acs-content-sha256",
    ] {
        if !is_signed(required) || h(required).is_none() {
            return Err(err(
                400,
                "MissingSignedHeader",
                format!("Header {required} must be present and signed."),
            ));
        }
    }
    for (name, _) in headers.iter() {
        let n = name.as_str();
        if n.starts_with("x-acs-") && !is_signed(n) {
            return Err(err(
                400,
                "UnsignedHeader",
                format!("Header {n} must be signed."),
            ));
        }
    }
    if h("x-acs-version") != Some(version) {
        return Err(err(
            400,
            "InvalidVersion",
            format!("x-acs-version must be {version}."),
        ));
    }
    let payload = sha256_hex(body);
    if h("x-acs-content-sha256") != Some(payload.as_str()) {
        return Err(err(
            400,
            "ContentSha256Mismatch",
            "x-acs-content-sha256 does not match the body.",
        ));
    }
    Ok(payload)
}

/// Verify a V3 request to FC 3 (x-acs-version 2023-03-30); returns the AccessKeyId.
pub(crate) fn verify_v3(
    shared: &Shared,
    method: &Method,
    path: &str,
    query: Option<&str>,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<String, ApiError> {
    // FC 2.0's routes (fc2.rs) are under its API version; every other FC route is FC 3's.
    let version = if path.contains("/2021-04-06/") {
        "2021-04-06"
    } else {
        "2023-03-30"
    };
    verify_v3_version(shared, version, method, path, query, headers, body)
}

/// Verify a V3 request to the product whose API version is `version`; returns the AccessKeyId.
pub(crate) fn verify_v3_version(
    shared: &Shared,
    version: &str,
    method: &Method,
    path: &str,
    query: Option<&str>,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<String, ApiError> {
    let h = |k: &str| header_str(headers, k);
    let (ak, signed, signature) = parse_acs3(headers)?;
    let payload = check_v3_headers(headers, &signed, body, version)?;
    let date = h("x-acs-date").unwrap_or_default();
    let when = acs_timestamp(date).ok_or_else(|| {
        err(
            400,
            "InvalidTimeStamp.Format",
            "x-acs-date is not well formatted.",
        )
    })?;
    let now = OffsetDateTime::now_utc().unix_timestamp();
    if skewed(when, now) {
        return Err(err(
            400,
            "InvalidTimeStamp.Expired",
            "x-acs-date is expired.",
        ));
    }
    let mut inner = shared.lock();
    let key = credential(&inner, &ak, h("x-acs-security-token")).map_err(|r| match r {
        Refusal::UnknownKey => unknown_key(),
        Refusal::TokenMissing | Refusal::TokenMismatch => err(
            400,
            "InvalidSecurityToken.Mismatch",
            "x-acs-security-token is missing or does not match the AccessKey.",
        ),
        Refusal::Expired => token_expired(),
    })?;
    let req = V3Input {
        method: method.as_str(),
        path,
        query: query
            .map(|q| {
                form_urlencoded::parse(q.as_bytes())
                    .map(|(k, v)| (k.into_owned(), v.into_owned()))
                    .collect()
            })
            .unwrap_or_default(),
        headers: signed
            .iter()
            .map(|n| (n.to_string(), h(n).unwrap_or_default().to_string()))
            .collect(),
        payload_sha256: &payload,
    };
    let canonical = v3_canonical_request(&req);
    if signature != v3_signature(&key.secret, &canonical) {
        return Err(err(
            400,
            "SignatureDoesNotMatch",
            format!(
                "The request signature does not conform to Aliyun standards. server canonical request: {}",
                canonical
            ),
        ));
    }
    let nonce = h("x-acs-signature-nonce").unwrap_or_default().to_string();
    if nonce_used(&mut inner, &ak, &nonce, now) {
        return Err(nonce_replayed());
    }
    Ok(ak)
}
