//! OSS V4 (OSS4-HMAC-SHA256) request verification: the header checks and the error each
//! violation gets; the signature itself is signature.rs's.
use super::*;

/// The OSS V4 (`OSS4-HMAC-SHA256`) header signature, recomputed here from the request as OSS
/// documents it ("Signature Version 4", OSS developer reference; the rules oss2's
/// ProviderAuthV4 implements) — deliberately not with alicert's signer. Returns the AccessKeyId.
/// Rules and their sources:
/// - V1 (`Authorization: OSS ak:sig`) → 403: OSS error 0002-00000080 ("OSS returns a 403
///   error when you call an API operation signed with a V1 signature"). Its Code is not
///   documented; `AccessDenied` is the strictest plausible.
/// - Authorization fields: exactly Credential, Signature and optional AdditionalHeaders
///   (0002-00000202 / 0002-00000204); Credential `<ak>/<yyyymmdd>/<region>/oss/aliyun_v4_request`
///   (0002-00000213), its date the date of x-oss-date (0002-00000212).
/// - The scope's region must be the region of the endpoint (0002-00000226) — and so the
///   bucket's (0002-00000228).
/// - `x-oss-date` required, within 15 minutes (RequestTimeTooSkewed); `x-oss-content-sha256`
///   required (the V4 doc lists it as required; the Code for its absence is not documented,
///   403 AccessDenied is the strictest plausible), `UNSIGNED-PAYLOAD` or the body's SHA-256.
#[allow(clippy::too_many_arguments)]
pub(crate) fn verify_oss_v4(
    inner: &Inner,
    method: &Method,
    bucket: &str,
    key: &str,
    query: Option<&str>,
    headers: &HeaderMap,
    body: &[u8],
    at: &Addressed,
) -> Result<String, OssError> {
    let fields = oss4_fields(headers)?;
    let (Some(credential), Some(signature)) = (fields.get("Credential"), fields.get("Signature"))
    else {
        return Err(oss_err(
            400,
            "InvalidArgument",
            "Authorization header is invalid: Credential and Signature are required.",
        ));
    };
    let scope: Vec<&str> = credential.split('/').collect();
    let [ak, scope_date, scope_region, "oss", "aliyun_v4_request"] = scope[..] else {
        return Err(denied(
            "0002-00000213",
            "Invalid credential in Authorization header.",
        ));
    };
    let date_time = header_str(headers, "x-oss-date").ok_or_else(|| {
        denied(
            "0002-00000209",
            "x-oss-date is required for the V4 signature.",
        )
    })?;
    let fmt = time::macros::format_description!("[year][month][day]T[hour][minute][second]Z");
    let when = time::PrimitiveDateTime::parse(date_time, &fmt)
        .map_err(|_| denied("0002-00000209", "x-oss-date is invalid."))?
        .assume_utc()
        .unix_timestamp();
    if skewed(when, OffsetDateTime::now_utc().unix_timestamp()) {
        return Err(oss_err(
            403,
            "RequestTimeTooSkewed",
            "The difference between the request time and the current time is too large.",
        ));
    }
    if scope_date != &date_time[..8] {
        return Err(denied(
            "0002-00000212",
            "Invalid signing date in Authorization header.",
        ));
    }
    if scope_region != at.region {
        return Err(denied(
            "0002-00000226",
            "Invalid signing region in Authorization header: it must be the region of the endpoint (and the bucket).",
        ));
    }
    let payload = header_str(headers, "x-oss-content-sha256").ok_or_else(|| {
        denied(
            "0002-00000210",
            "x-oss-content-sha256 is required for the V4 signature.",
        )
    })?;
    if payload != "UNSIGNED-PAYLOAD" && payload != sha256_hex(body) {
        return Err(oss_err(
            400,
            "InvalidArgument",
            "x-oss-content-sha256 does not match the body.",
        ));
    }
    let key_pair = oss_credential(inner, ak, headers)?;

    // The signature, recomputed as oss2's ProviderAuthV4 does (signature.rs).
    let input = OssV4Input {
        method: method.as_str(),
        bucket,
        key,
        query: decoded_query(query),
        headers: headers
            .iter()
            .map(|(k, v)| (k.as_str().to_string(), v.to_str().unwrap_or("").to_string()))
            .collect(),
        additional: fields
            .get("AdditionalHeaders")
            .map(|a| {
                a.split(';')
                    .map(|h| h.trim().to_ascii_lowercase())
                    .collect()
            })
            .unwrap_or_default(),
        date_time,
        region: scope_region,
        payload,
    };
    let canonical = oss_v4_canonical_request(&input);
    let string_to_sign = oss_v4_string_to_sign(&input, &canonical);
    let expected = oss_v4_signature(&key_pair.secret, &input, &string_to_sign);
    if *signature != expected {
        let mut e = oss_err(
            403,
            "SignatureDoesNotMatch",
            "The request signature we calculated does not match the signature you provided. Check your key and signing method.",
        );
        e.extra.push(("StringToSign", string_to_sign));
        e.extra.push(("CanonicalRequest", canonical));
        e.extra.push(("OSSAccessKeyId", ak.to_string()));
        return Err(e);
    }
    Ok(ak.to_string())
}

/// A 403 AccessDenied with OSS's error code (`EC`) for the V4 rule broken.
fn denied(ec: &'static str, message: &str) -> OssError {
    let mut e = oss_err(403, "AccessDenied", message);
    e.extra.push(("EC", ec.to_string()));
    e
}

/// The fields of `Authorization: OSS4-HMAC-SHA256 Credential=..,Signature=..[,AdditionalHeaders=..]`
/// (V1 and other schemes refused).
fn oss4_fields(headers: &HeaderMap) -> Result<BTreeMap<&str, &str>, OssError> {
    let auth = header_str(headers, "authorization").ok_or_else(|| {
        oss_err(
            403,
            "AccessDenied",
            "AccessDenied: anonymous access is not allowed.",
        )
    })?;
    if auth.starts_with("OSS ") {
        return Err(denied(
            "0002-00000080",
            "The V1 signature is no longer supported for this account and bucket; use the V4 signature (OSS4-HMAC-SHA256).",
        ));
    }
    let rest = auth.strip_prefix("OSS4-HMAC-SHA256 ").ok_or_else(|| {
        let mut e = oss_err(400, "InvalidArgument", "Authorization header is invalid.");
        e.extra.push(("EC", "0002-00000202".into()));
        e
    })?;
    let mut fields: BTreeMap<&str, &str> = BTreeMap::new();
    for part in rest.split(',') {
        let (k, v) = part
            .trim()
            .split_once('=')
            .ok_or_else(|| oss_err(400, "InvalidArgument", "Authorization header is invalid."))?;
        if !matches!(k, "Credential" | "Signature" | "AdditionalHeaders") {
            let mut e = oss_err(400, "InvalidArgument", "Authorization header is invalid.");
            e.extra.push(("EC", "0002-00000204".into()));
            return Err(e);
        }
        fields.insert(k, v);
    }
    Ok(fields)
}

/// The access key of a V4 request, its refusals worded as OSS words them.
fn oss_credential(inner: &Inner, ak: &str, headers: &HeaderMap) -> Result<AccessKey, OssError> {
    auth::credential(inner, ak, header_str(headers, "x-oss-security-token")).map_err(|r| match r {
        Refusal::UnknownKey => oss_err(
            403,
            "InvalidAccessKeyId",
            "The OSS Access Key Id you provided does not exist in our records.",
        ),
        Refusal::TokenMissing => oss_err(
            403,
            "InvalidAccessKeyId",
            "The security token you provided is missing (x-oss-security-token).",
        ),
        Refusal::TokenMismatch => oss_err(
            403,
            "InvalidSecurityToken",
            "The security token you provided is invalid.",
        ),
        Refusal::Expired => oss_err(
            403,
            "InvalidSecurityToken",
            "The security token you provided has expired.",
        ),
    })
}

/// Decoded query parameters (sub-resources such as `cname` with an empty value).
fn decoded_query(query: Option<&str>) -> Vec<(String, String)> {
    query
        .map(|q| {
            form_urlencoded::parse(q.as_bytes())
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect()
        })
        .unwrap_or_default()
}
