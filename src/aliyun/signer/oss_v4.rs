//! OSS V4 header signatures (OSS4-HMAC-SHA256), as oss2 computes them.
use super::{hmac_sha256, sha256_hex};

/// The OSS V4 signature algorithm name.
pub const OSS_V4_ALGORITHM: &str = "OSS4-HMAC-SHA256";

/// Inputs of an OSS V4 header signature (`OSS4-HMAC-SHA256`), as oss2's `ProviderAuthV4`
/// (oss2 >= 2.18.4, oss2/auth.py) computes it.
#[derive(Debug, Clone, Default)]
pub struct OssV4Request<'a> {
    pub verb: &'a str,
    /// Empty for service-level requests.
    pub bucket: &'a str,
    /// Empty for bucket operations (canonical URI `/<bucket>/`).
    pub key: &'a str,
    /// Every query parameter (sub-resources such as `versioning` or `cname`, `comp=add`);
    /// V4 signs them all.
    pub query: Vec<(String, String)>,
    /// Every header sent, any case; `x-oss-*`, `content-type` and `content-md5` are signed
    /// (oss2 signs no additional headers by default).
    pub headers: Vec<(String, String)>,
    /// `x-oss-date`: `YYYYMMDDThhmmssZ`.
    pub date_time: &'a str,
    /// The bucket's region: the scope is `<yyyymmdd>/<region>/oss/aliyun_v4_request`.
    pub region: &'a str,
}

/// V4 URI encoding (`__v4_uri_encode`): RFC 3986 unreserved bytes stay, `/` too when
/// `keep_slash`, every other byte is `%XX` upper case.
pub fn oss_v4_uri_encode(s: &str, keep_slash: bool) -> String {
    let mut out = String::with_capacity(s.len() * 3);
    for b in s.bytes() {
        if b.is_ascii_alphanumeric()
            || matches!(b, b'-' | b'_' | b'.' | b'~')
            || (keep_slash && b == b'/')
        {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// `<yyyymmdd>/<region>/oss/aliyun_v4_request`.
pub fn oss_v4_scope(date_time: &str, region: &str) -> String {
    format!(
        "{}/{region}/oss/aliyun_v4_request",
        &date_time[..date_time.len().min(8)]
    )
}

/// The canonical request: verb, URI `/<bucket>/<key>` (slashes kept), sorted encoded query
/// (`k` alone when the value is empty), signed headers (`k:v\n`, sorted, lower-case), an
/// empty line, the (empty) additional header list, and the payload hash from
/// `x-oss-content-sha256` (else `UNSIGNED-PAYLOAD`).
pub fn oss_v4_canonical_request(r: &OssV4Request<'_>) -> String {
    let uri = if r.bucket.is_empty() {
        "/".to_string()
    } else {
        oss_v4_uri_encode(&format!("/{}/{}", r.bucket, r.key), true)
    };
    let mut query: Vec<(String, String)> = r
        .query
        .iter()
        .map(|(k, v)| (oss_v4_uri_encode(k, false), oss_v4_uri_encode(v, false)))
        .collect();
    query.sort();
    let query = query
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
    let mut headers: Vec<(String, &str)> = r
        .headers
        .iter()
        .map(|(k, v)| (k.to_ascii_lowercase(), v.as_str()))
        .filter(|(k, _)| k.starts_with("x-oss-") || k == "content-type" || k == "content-md5")
        .collect();
    headers.sort_by(|a, b| a.0.cmp(&b.0));
    let headers: String = headers.iter().map(|(k, v)| format!("{k}:{v}\n")).collect();
    let payload = headers_get(&r.headers, "x-oss-content-sha256").unwrap_or("UNSIGNED-PAYLOAD");
    format!("{}\n{uri}\n{query}\n{headers}\n\n{payload}", r.verb)
}

fn headers_get<'h>(headers: &'h [(String, String)], name: &str) -> Option<&'h str> {
    headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

/// `OSS4-HMAC-SHA256\n<date time>\n<scope>\n<hex sha256(canonical request)>`.
pub fn oss_v4_string_to_sign(r: &OssV4Request<'_>) -> String {
    format!(
        "{OSS_V4_ALGORITHM}\n{}\n{}\n{}",
        r.date_time,
        oss_v4_scope(r.date_time, r.region),
        sha256_hex(oss_v4_canonical_request(r).as_bytes())
    )
}

/// The hex signature: HMAC-SHA256 chain from `"aliyun_v4" + secret` over date, region,
/// `oss`, `aliyun_v4_request`, then over the string to sign.
pub fn oss_v4_signature(access_key_secret: &str, r: &OssV4Request<'_>) -> String {
    let mut key = format!("aliyun_v4{access_key_secret}").into_bytes();
    for part in [
        &r.date_time[..r.date_time.len().min(8)],
        r.region,
        "oss",
        "aliyun_v4_request",
    ] {
        key = hmac_sha256(&key, part.as_bytes());
    }
    hex::encode(hmac_sha256(&key, oss_v4_string_to_sign(r).as_bytes()))
}

/// The `Authorization` header value, in oss2's exact form.
pub fn oss_v4_authorization(
    access_key_id: &str,
    access_key_secret: &str,
    r: &OssV4Request<'_>,
) -> String {
    format!(
        "{OSS_V4_ALGORITHM} Credential={access_key_id}/{}, Signature={}",
        oss_v4_scope(r.date_time, r.region),
        oss_v4_signature(access_key_secret, r)
    )
}

/// The longest a V4 presigned URL may live: `x-oss-expires` is 1..=604800 seconds (OSS error
/// 0002-00000232, https://help.aliyun.com/en/oss/user-guide/0002-00000232).
pub const OSS_V4_MAX_EXPIRES: u64 = 604_800;

/// The query of a V4 presigned URL for `r` (its `query` and `headers` as they will be sent,
/// usually none for a GET), in oss2's order: `r.query`, then `x-oss-security-token` (STS),
/// `x-oss-date`, `x-oss-expires`, `x-oss-signature-version`, `x-oss-credential`, and last
/// `x-oss-signature` over all of them (oss2 2.19.1 `ProviderAuthV4._sign_url`, no additional
/// headers). `expires` is clamped to 1..=[`OSS_V4_MAX_EXPIRES`].
pub fn oss_v4_presign_query(
    access_key_id: &str,
    access_key_secret: &str,
    security_token: Option<&str>,
    expires: u64,
    r: &OssV4Request<'_>,
) -> Vec<(String, String)> {
    let mut query = r.query.clone();
    if let Some(token) = security_token {
        query.push(("x-oss-security-token".into(), token.into()));
    }
    let expires = expires.clamp(1, OSS_V4_MAX_EXPIRES);
    query.extend([
        ("x-oss-date".to_string(), r.date_time.to_string()),
        ("x-oss-expires".to_string(), expires.to_string()),
        (
            "x-oss-signature-version".to_string(),
            OSS_V4_ALGORITHM.to_string(),
        ),
        (
            "x-oss-credential".to_string(),
            format!("{access_key_id}/{}", oss_v4_scope(r.date_time, r.region)),
        ),
    ]);
    let signed = OssV4Request {
        query: query.clone(),
        ..r.clone()
    };
    query.push((
        "x-oss-signature".into(),
        oss_v4_signature(access_key_secret, &signed),
    ));
    query
}

#[cfg(test)]
mod tests {
    use super::*;

    // Presigned GET, 7 days, long-term key and STS. Source: oss2 2.19.1 (PyPI) in a venv,
    // `oss2.Bucket(oss2.ProviderAuthV4(StaticCredentialsProvider("LTAI5tExample",
    // "Sec-ret_Key/0123+abc=", token)), "https://oss-cn-shanghai.aliyuncs.com", "alicert-state",
    // region="cn-shanghai").sign_url("GET", "reports/report.html", 604800, slash_safe=True)` with
    // `oss2.auth.datetime.utcnow` fixed to 2025-03-01T12:34:56Z; the canonical request from
    // oss2's debug log, the URL as oss2 returned it.
    #[test]
    fn oss_v4_presigned_get_matches_oss2() {
        let r = v4(
            "GET",
            "alicert-state",
            "reports/report.html",
            &[],
            &[],
            "cn-shanghai",
        );
        let q = oss_v4_presign_query("LTAI5tExample", "Sec-ret_Key/0123+abc=", None, 604_800, &r);
        let signed = OssV4Request {
            query: q[..q.len() - 1].to_vec(),
            ..r.clone()
        };
        assert_eq!(
            oss_v4_canonical_request(&signed),
            "GET\n/alicert-state/reports/report.html\nx-oss-credential=LTAI5tExample%2F20250301%2F\
             cn-shanghai%2Foss%2Faliyun_v4_request&x-oss-date=20250301T123456Z&x-oss-expires=604800\
             &x-oss-signature-version=OSS4-HMAC-SHA256\n\n\nUNSIGNED-PAYLOAD"
        );
        assert_eq!(
            q.last().unwrap(),
            &(
                "x-oss-signature".to_string(),
                "1cff6d669c0e71111f625cf140afc2ea7196372568e8b9d7c71d6f6d0de3453a".to_string()
            )
        );
        let sts = oss_v4_presign_query(
            "LTAI5tExample",
            "Sec-ret_Key/0123+abc=",
            Some("tok/en+="),
            604_800,
            &r,
        );
        assert_eq!(sts[0], ("x-oss-security-token".into(), "tok/en+=".into()));
        assert_eq!(
            sts.last().unwrap().1,
            "fba7a9a23e3ba8d6e46e2b8507175fe1c5518a6eda410e2420c80d5db9ab4f04"
        );
        // Past the V4 limit the link lives 7 days, not longer.
        let long = oss_v4_presign_query("LTAI5tExample", "s", None, 10_000_000, &r);
        assert!(long.contains(&("x-oss-expires".into(), "604800".into())));
    }

    // OSS V4 vectors. Source: oss2 2.19.1 (PyPI), `oss2.ProviderAuthV4(StaticCredentialsProvider(
    //   ak, sk, token))._sign_request(req, bucket, key)` on `oss2.http.Request(method, url,
    //   params=..., headers=..., region=..., product="oss")`, with `oss2.auth.datetime.utcnow`
    //   fixed to 2025-03-01T12:34:56Z; canonical request and string to sign from oss2's own debug
    //   log ("Make signature: ..."), Authorization as oss2 set it. The script patched `oss2.auth.datetime`
    //   with a subclass whose `utcnow()` returns that instant and captured the `oss2.auth` logger.
    fn v4(
        verb: &'static str,
        bucket: &'static str,
        key: &'static str,
        query: &[(&str, &str)],
        headers: &[(&str, &str)],
        region: &'static str,
    ) -> OssV4Request<'static> {
        OssV4Request {
            verb,
            bucket,
            key,
            query: crate::aliyun::owned_pairs(query),
            headers: crate::aliyun::owned_pairs(headers),
            date_time: "20250301T123456Z",
            region,
        }
    }

    // PutObject, STS, create-only, private ACL, SSE; bucket in cn-shanghai.
    #[test]
    fn oss_v4_vector_put_forbid_overwrite_sts_matches_oss2() {
        let r = v4(
            "PUT",
            "alicert-state",
            "alicert/account.pem",
            &[],
            &[
                ("Content-Type", "application/octet-stream"),
                ("x-oss-server-side-encryption", "AES256"),
                ("x-oss-forbid-overwrite", "true"),
                ("x-oss-object-acl", "private"),
                ("x-oss-security-token", "tok/en+="),
                ("x-oss-date", "20250301T123456Z"),
                ("x-oss-content-sha256", "UNSIGNED-PAYLOAD"),
                ("User-Agent", "not signed"),
            ],
            "cn-shanghai",
        );
        assert_eq!(
            oss_v4_canonical_request(&r),
            "PUT\n/alicert-state/alicert/account.pem\n\ncontent-type:application/octet-stream\n\
             x-oss-content-sha256:UNSIGNED-PAYLOAD\nx-oss-date:20250301T123456Z\n\
             x-oss-forbid-overwrite:true\nx-oss-object-acl:private\nx-oss-security-token:tok/en+=\n\
             x-oss-server-side-encryption:AES256\n\n\nUNSIGNED-PAYLOAD"
        );
        assert_eq!(
            oss_v4_string_to_sign(&r),
            "OSS4-HMAC-SHA256\n20250301T123456Z\n20250301/cn-shanghai/oss/aliyun_v4_request\n\
             866d04a082c6f562fee92635d0f1fb78e257fa256adfdf7b3df82e9d601a6ea4"
        );
        assert_eq!(
            oss_v4_authorization("STS.NUmyAK", "Sec-ret_Key/0123+abc=", &r),
            "OSS4-HMAC-SHA256 Credential=STS.NUmyAK/20250301/cn-shanghai/oss/aliyun_v4_request, \
             Signature=70b9f64a9223b48ff5be3ddafad50a9bfca7a4790a4cd0170d3d69868dba9e85"
        );
    }

    // GetObject, long-term key, a key with a space, `+` and UTF-8 (URI encoding keeps `/`).
    #[test]
    fn oss_v4_vector_get_encoded_key_matches_oss2() {
        let r = v4(
            "GET",
            "bucket-1",
            "certs/www/cert pem+é.txt",
            &[],
            &[
                ("x-oss-date", "20250301T123456Z"),
                ("x-oss-content-sha256", "UNSIGNED-PAYLOAD"),
            ],
            "cn-hangzhou",
        );
        assert!(oss_v4_canonical_request(&r)
            .starts_with("GET\n/bucket-1/certs/www/cert%20pem%2B%C3%A9.txt\n\n"));
        assert_eq!(
            oss_v4_signature("testsecret", &r),
            "4cf43a7c738ccdba1f97f8c256eca32266cc0e0d79c9a5c360740eeb916c4564"
        );
    }

    // GetBucketVersioning (`GET /?versioning`), bucket in ap-southeast-1.
    #[test]
    fn oss_v4_vector_bucket_versioning_matches_oss2() {
        let r = v4(
            "GET",
            "locks-b",
            "",
            &[("versioning", "")],
            &[
                ("x-oss-date", "20250301T123456Z"),
                ("x-oss-content-sha256", "UNSIGNED-PAYLOAD"),
            ],
            "ap-southeast-1",
        );
        assert_eq!(
            oss_v4_canonical_request(&r),
            "GET\n/locks-b/\nversioning\nx-oss-content-sha256:UNSIGNED-PAYLOAD\n\
             x-oss-date:20250301T123456Z\n\n\nUNSIGNED-PAYLOAD"
        );
        assert_eq!(
            oss_v4_authorization("testid", "testsecret", &r),
            "OSS4-HMAC-SHA256 Credential=testid/20250301/ap-southeast-1/oss/aliyun_v4_request, \
             Signature=f77471992df7f9cafc49b7fbc5e280dc05e836221d604dedb099e46abbdb0efe"
        );
    }

    // PutCname (`POST /?cname&comp=add`), STS.
    #[test]
    fn oss_v4_vector_cname_add_sts_matches_oss2() {
        let r = v4(
            "POST",
            "web-b",
            "",
            &[("comp", "add"), ("cname", "")],
            &[
                ("Content-Type", "application/xml"),
                ("x-oss-security-token", "tok/en+="),
                ("x-oss-date", "20250301T123456Z"),
                ("x-oss-content-sha256", "UNSIGNED-PAYLOAD"),
            ],
            "cn-hangzhou",
        );
        assert!(oss_v4_canonical_request(&r)
            .starts_with("POST\n/web-b/\ncname&comp=add\ncontent-type:application/xml\n"));
        assert_eq!(
            oss_v4_signature("Sec-ret_Key/0123+abc=", &r),
            "65a002d2cd2f430e2a3339efab643ad140541f59938ad66ab3f69fcc1fb31492"
        );
    }
}
