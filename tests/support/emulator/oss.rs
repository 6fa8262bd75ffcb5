//! OSS: objects (path style, V4 signatures; V1 refused), versioning, and bucket CNAMEs:
//! PutCname (`POST /<bucket>/?cname&comp=add`) and ListCname (`GET /<bucket>/?cname`).
use super::*;

#[derive(Debug, Clone, Serialize)]
pub struct OssObject {
    pub bucket: String,
    pub key: String,
    #[serde(serialize_with = "ser_base64")]
    pub body: Vec<u8>,
    pub content_type: String,
    /// Stored headers (lower-case names): x-oss-meta-*, x-oss-server-side-encryption, cache-control…
    pub headers: BTreeMap<String, String>,
    /// `"<MD5 hex upper case>"`, quotes included, like OSS.
    pub etag: String,
    pub last_modified: String,
    pub put_by: String,
}

impl OssObject {
    pub fn text(&self) -> Option<&str> {
        std::str::from_utf8(&self.body).ok()
    }
}

pub(crate) fn ser_base64<S: serde::Serializer>(b: &[u8], s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&B64.encode(b))
}

#[derive(Debug, Clone, Serialize)]
pub struct OssCname {
    pub bucket: String,
    pub domain: String,
    pub certificate: Option<DeployedCert>,
}

impl Seed {
    pub fn bucket(mut self, name: &str) -> Self {
        self.buckets.push(name.into());
        self
    }
    /// A bucket in `region` (reachable only through that region's endpoint and V4 scope).
    pub fn bucket_in(mut self, name: &str, region: &str) -> Self {
        self.buckets.push(name.into());
        self.bucket_regions.insert(name.into(), region.into());
        self
    }
    /// `status`: `Enabled` or `Suspended`.
    pub fn bucket_versioning(mut self, name: &str, status: &str) -> Self {
        self.bucket_versioning.insert(name.into(), status.into());
        self
    }
    /// A CNAME bound to `bucket` (the bucket must be seeded too).
    pub fn oss_cname(mut self, bucket: &str, domain: &str) -> Self {
        self.services
            .oss_cnames
            .push((bucket.into(), domain.into()));
        self
    }
}

impl EmulatorState {
    pub fn object(&self, bucket: &str, key: &str) -> Option<&OssObject> {
        self.oss_objects.get(&format!("{bucket}/{key}"))
    }
    pub fn oss_cname_cert(&self, bucket: &str, domain: &str) -> Option<&DeployedCert> {
        self.services
            .oss_cnames
            .iter()
            .find(|c| c.bucket == bucket && c.domain == domain)?
            .certificate
            .as_ref()
    }
}

impl Emulator {
    /// Stores an object directly (bucket must be seeded).
    pub fn put_object(&self, bucket: &str, key: &str, body: &[u8]) {
        let mut inner = self.shared.lock();
        assert!(
            inner.buckets.contains_key(bucket),
            "bucket {bucket} is not seeded"
        );
        let obj = OssObject {
            bucket: bucket.into(),
            key: key.into(),
            body: body.to_vec(),
            content_type: "application/octet-stream".into(),
            headers: BTreeMap::new(),
            etag: format!("\"{}\"", hex::encode_upper(md5(body))),
            last_modified: httpdate::fmt_http_date(std::time::SystemTime::now()),
            put_by: String::new(),
        };
        inner
            .state
            .oss_objects
            .insert(format!("{bucket}/{key}"), obj);
    }
}

// ---------------------------------------------------------------------------------------------
// OSS (path style, V4 signatures; V1 refused)
// ---------------------------------------------------------------------------------------------

pub(crate) fn xml_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&apos;")
}

pub(crate) struct OssError {
    pub(crate) status: u16,
    pub(crate) code: String,
    pub(crate) message: String,
    pub(crate) extra: Vec<(&'static str, String)>,
}

pub(crate) fn oss_err(status: u16, code: &str, message: &str) -> OssError {
    OssError {
        status,
        code: code.into(),
        message: message.into(),
        extra: vec![],
    }
}

pub(crate) fn oss_error_response(
    e: &OssError,
    request_id: &str,
    bucket: &str,
    region: &str,
    head: bool,
) -> Response {
    let mut xml = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error>\n");
    xml.push_str(&format!("  <Code>{}</Code>\n", xml_escape(&e.code)));
    xml.push_str(&format!(
        "  <Message>{}</Message>\n",
        xml_escape(&e.message)
    ));
    xml.push_str(&format!("  <RequestId>{request_id}</RequestId>\n"));
    xml.push_str(&format!(
        "  <HostId>{}.oss-{region}.aliyuncs.com</HostId>\n",
        xml_escape(bucket)
    ));
    for (k, v) in &e.extra {
        xml.push_str(&format!("  <{k}>{}</{k}>\n", xml_escape(v)));
    }
    xml.push_str("</Error>\n");
    let mut resp = if head {
        Response::new(Body::empty())
    } else {
        Response::new(Body::from(xml))
    };
    *resp.status_mut() =
        StatusCode::from_u16(e.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/xml"),
    );
    oss_common_headers(h, request_id);
    resp
}

pub(crate) fn oss_common_headers(h: &mut HeaderMap, request_id: &str) {
    h.insert(header::SERVER, HeaderValue::from_static("AliyunOSS"));
    if let Ok(v) = HeaderValue::from_str(request_id) {
        h.insert("x-oss-request-id", v);
    }
    if let Ok(v) = HeaderValue::from_str(&httpdate::fmt_http_date(std::time::SystemTime::now())) {
        h.insert(header::DATE, v);
    }
}

pub(crate) fn percent_decode(s: &str) -> Option<String> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            let hexs = s.get(i + 1..i + 3)?;
            out.push(u8::from_str_radix(hexs, 16).ok()?);
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

pub(crate) fn header_str<'a>(h: &'a HeaderMap, name: &str) -> Option<&'a str> {
    h.get(name).and_then(|v| v.to_str().ok())
}

pub(crate) async fn handle_oss(
    shared: &Arc<Shared>,
    method: &Method,
    path: &str,
    query: Option<&str>,
    headers: &HeaderMap,
    body: &[u8],
    at: &Addressed,
) -> Response {
    let request_id = random_hex(24).to_ascii_uppercase();
    let head = *method == Method::HEAD;
    let trimmed = path.trim_start_matches('/');
    let (bucket, raw_key) = trimmed.split_once('/').unwrap_or((trimmed, ""));
    let bucket = bucket.to_string();
    let key = percent_decode(raw_key);
    let has = |name: &str| {
        query.is_some_and(|q| form_urlencoded::parse(q.as_bytes()).any(|(k, _)| k == name))
    };
    let cname = has("cname");
    let action = match *method {
        Method::POST if cname => "PutCname",
        Method::GET if cname => "ListCname",
        Method::GET if has("versioning") => "GetBucketVersioning",
        Method::PUT => "PutObject",
        Method::GET => "GetObject",
        Method::HEAD => "HeadObject",
        Method::DELETE => "DeleteObject",
        _ => "",
    };
    let mut call = Call {
        product: "oss".into(),
        action: action.into(),
        access_key_id: String::new(),
        security_token: headers.contains_key("x-oss-security-token"),
        method: method.to_string(),
        http_status: 0,
        code: None,
        request_id: request_id.clone(),
        params: BTreeMap::from([
            ("bucket".to_string(), bucket.clone()),
            ("key".to_string(), key.clone().unwrap_or_default()),
        ]),
    };
    let result = oss_inner(
        shared,
        method,
        &bucket,
        key.as_deref(),
        query,
        headers,
        body,
        action,
        &mut call,
        at,
    );
    let resp = match result {
        Ok(resp) => {
            call.http_status = resp.status().as_u16();
            let mut resp = resp;
            oss_common_headers(resp.headers_mut(), &request_id);
            resp
        }
        Err(e) => {
            call.http_status = e.status;
            call.code = Some(e.code.clone());
            oss_error_response(&e, &request_id, &bucket, &at.region, head)
        }
    };
    shared.lock().state.calls.push(call);
    resp
}

#[allow(clippy::too_many_arguments)]
pub(crate) fn oss_inner(
    shared: &Arc<Shared>,
    method: &Method,
    bucket: &str,
    key: Option<&str>,
    query: Option<&str>,
    headers: &HeaderMap,
    body: &[u8],
    action: &str,
    call: &mut Call,
    at: &Addressed,
) -> Result<Response, OssError> {
    if action.is_empty() {
        return Err(oss_err(
            405,
            "MethodNotAllowed",
            "The specified method is not allowed against this resource.",
        ));
    }
    let key =
        key.ok_or_else(|| oss_err(400, "InvalidObjectName", "The object name is not valid."))?;
    let bucket_op = matches!(action, "PutCname" | "ListCname" | "GetBucketVersioning");
    if key.is_empty() && !bucket_op {
        return Err(oss_err(
            501,
            "NotImplemented",
            "The emulator implements object operations only (path style /<bucket>/<key>).",
        ));
    }
    let mut inner = shared.lock();
    let state = inner
        .buckets
        .get(bucket)
        .cloned()
        .ok_or_else(|| oss_err(404, "NoSuchBucket", "The specified bucket does not exist."))?;
    // OSS "HTTP 403 errors": a bucket reached through another region's endpoint is refused,
    // naming the endpoint to use.
    if state.region != at.region {
        let mut e = oss_err(
            403,
            "AccessDenied",
            "The bucket you are attempting to access must be addressed using the specified endpoint. Please send all future requests to this endpoint.",
        );
        e.extra.push(("Bucket", bucket.to_string()));
        e.extra
            .push(("Endpoint", format!("oss-{}.aliyuncs.com", state.region)));
        return Err(e);
    }
    let ak = verify_oss_v4(&inner, method, bucket, key, query, headers, body, at)?;
    call.access_key_id = ak.clone();

    if let Some((code, status)) = inner.take_failure(action) {
        return Err(oss_err(
            status,
            &code,
            "Injected failure (emulator fail_next).",
        ));
    }

    if action == "GetBucketVersioning" {
        // OSS API reference "GetBucketVersioning": <VersioningConfiguration> with
        // <Status>Enabled|Suspended</Status>; no Status for a bucket that never had versioning.
        let status = state
            .versioning
            .map(|v| format!("<Status>{}</Status>", xml_escape(&v)))
            .unwrap_or_default();
        let xml = format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<VersioningConfiguration>{status}</VersioningConfiguration>"
        );
        let mut resp = Response::new(Body::from(xml));
        resp.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/xml"),
        );
        return Ok(resp);
    }
    if bucket_op {
        return match oss_cname(&mut inner, action, bucket, body, &ak) {
            Ok((_, xml)) => {
                let mut resp = Response::new(Body::from(xml));
                resp.headers_mut().insert(
                    header::CONTENT_TYPE,
                    HeaderValue::from_static("application/xml"),
                );
                Ok(resp)
            }
            Err((status, code, message)) => Err(oss_err(status, code, &message)),
        };
    }
    let full = format!("{bucket}/{key}");
    match action {
        "PutObject" => {
            if let Some(md5_b64) = header_str(headers, "content-md5") {
                if B64.encode(md5(body)) != md5_b64 {
                    return Err(oss_err(
                        400,
                        "InvalidDigest",
                        "The Content-MD5 you specified is not valid.",
                    ));
                }
            }
            let forbid = header_str(headers, "x-oss-forbid-overwrite")
                .is_some_and(|v| v.eq_ignore_ascii_case("true"));
            // OSS PutObject reference: x-oss-object-acl is private | public-read |
            // public-read-write | default (the bucket's); anything else is InvalidArgument.
            if let Some(acl) = header_str(headers, "x-oss-object-acl") {
                if !matches!(
                    acl,
                    "private" | "public-read" | "public-read-write" | "default"
                ) {
                    return Err(oss_err(
                        400,
                        "InvalidArgument",
                        "no such object access control exists",
                    ));
                }
            }
            // OSS PutObject reference: "x-oss-forbid-overwrite ... does not take effect" when
            // versioning is enabled or suspended for the bucket: the PUT overwrites.
            let forbid = forbid && state.versioning.is_none();
            if forbid && inner.state.oss_objects.contains_key(&full) {
                return Err(oss_err(
                    409,
                    "FileAlreadyExists",
                    "The object you specified already exists and can not be overwritten.",
                ));
            }
            if let Some(sse) = header_str(headers, "x-oss-server-side-encryption") {
                if !matches!(sse, "AES256" | "KMS" | "SM4") {
                    return Err(oss_err(
                        400,
                        "InvalidEncryptionAlgorithmError",
                        "The encryption method specified is not supported.",
                    ));
                }
            }
            let mut stored = BTreeMap::new();
            for (k, v) in headers.iter() {
                let k = k.as_str();
                let keep = (k.starts_with("x-oss-")
                    && !matches!(
                        k,
                        "x-oss-security-token"
                            | "x-oss-forbid-overwrite"
                            | "x-oss-date"
                            | "x-oss-content-sha256"
                    ))
                    || matches!(
                        k,
                        "cache-control" | "content-disposition" | "content-encoding" | "expires"
                    );
                if keep {
                    stored.insert(k.to_string(), v.to_str().unwrap_or("").to_string());
                }
            }
            let etag = format!("\"{}\"", hex::encode_upper(md5(body)));
            let obj = OssObject {
                bucket: bucket.to_string(),
                key: key.to_string(),
                body: body.to_vec(),
                content_type: header_str(headers, "content-type")
                    .unwrap_or("application/octet-stream")
                    .to_string(),
                headers: stored,
                etag: etag.clone(),
                last_modified: httpdate::fmt_http_date(std::time::SystemTime::now()),
                put_by: ak.clone(),
            };
            let sse = obj.headers.get("x-oss-server-side-encryption").cloned();
            inner.state.oss_objects.insert(full, obj);
            let mut resp = Response::new(Body::empty());
            let h = resp.headers_mut();
            h.insert(header::ETAG, HeaderValue::from_str(&etag).expect("etag"));
            h.insert(
                "content-md5",
                HeaderValue::from_str(&B64.encode(md5(body))).expect("md5"),
            );
            if let Some(sse) = sse.and_then(|s| HeaderValue::from_str(&s).ok()) {
                h.insert("x-oss-server-side-encryption", sse);
            }
            Ok(resp)
        }
        "GetObject" | "HeadObject" => {
            let obj = inner.state.oss_objects.get(&full).ok_or_else(|| {
                let mut e = oss_err(404, "NoSuchKey", "The specified key does not exist.");
                e.extra.push(("Key", key.to_string()));
                e
            })?;
            let mut resp = if action == "GetObject" {
                Response::new(Body::from(obj.body.clone()))
            } else {
                Response::new(Body::empty())
            };
            let h = resp.headers_mut();
            let mut set = |k: &str, v: &str| {
                if let (Ok(name), Ok(val)) = (
                    axum::http::HeaderName::from_bytes(k.as_bytes()),
                    HeaderValue::from_str(v),
                ) {
                    h.insert(name, val);
                }
            };
            set("content-type", &obj.content_type);
            set("content-length", &obj.body.len().to_string());
            set("etag", &obj.etag);
            set("last-modified", &obj.last_modified);
            set("accept-ranges", "bytes");
            set("x-oss-object-type", "Normal");
            set("x-oss-storage-class", "Standard");
            for (k, v) in &obj.headers {
                set(k, v);
            }
            Ok(resp)
        }
        "DeleteObject" => {
            inner.state.oss_objects.remove(&full);
            let mut resp = Response::new(Body::empty());
            *resp.status_mut() = StatusCode::NO_CONTENT;
            Ok(resp)
        }
        _ => unreachable!("action checked above"),
    }
}

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
    let denied = |ec: &'static str, message: &str| {
        let mut e = oss_err(403, "AccessDenied", message);
        e.extra.push(("EC", ec.to_string()));
        e
    };
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
    if payload != "UNSIGNED-PAYLOAD" && payload != hex::encode(Sha256::digest(body)) {
        return Err(oss_err(
            400,
            "InvalidArgument",
            "x-oss-content-sha256 does not match the body.",
        ));
    }
    let key_pair = auth::credential(inner, ak, header_str(headers, "x-oss-security-token"))
        .map_err(|r| match r {
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
        })?;

    // Canonical request.
    fn enc(s: &str, keep_slash: bool) -> String {
        s.bytes()
            .map(|b| match b {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                    (b as char).to_string()
                }
                b'/' if keep_slash => "/".to_string(),
                _ => format!("%{b:02X}"),
            })
            .collect()
    }
    let uri = enc(&format!("/{bucket}/{key}"), true);
    let mut q: Vec<(String, String)> = query
        .map(|q| {
            form_urlencoded::parse(q.as_bytes())
                .map(|(k, v)| (enc(&k, false), enc(&v, false)))
                .collect()
        })
        .unwrap_or_default();
    q.sort();
    let canonical_query = q
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
    let additional: Vec<String> = fields
        .get("AdditionalHeaders")
        .map(|a| {
            a.split(';')
                .map(|h| h.trim().to_ascii_lowercase())
                .collect()
        })
        .unwrap_or_default();
    let mut signed: Vec<(String, String)> = headers
        .iter()
        .filter(|(k, _)| {
            let k = k.as_str();
            k.starts_with("x-oss-")
                || k == "content-type"
                || k == "content-md5"
                || additional.iter().any(|a| a == k)
        })
        .map(|(k, v)| (k.as_str().to_string(), v.to_str().unwrap_or("").to_string()))
        .collect();
    signed.sort();
    let canonical_headers: String = signed.iter().map(|(k, v)| format!("{k}:{v}\n")).collect();
    let canonical = format!(
        "{}\n{uri}\n{canonical_query}\n{canonical_headers}\n{}\n{payload}",
        method.as_str(),
        additional.join(";")
    );
    let string_to_sign = format!(
        "OSS4-HMAC-SHA256\n{date_time}\n{scope_date}/{scope_region}/oss/aliyun_v4_request\n{}",
        hex::encode(Sha256::digest(canonical.as_bytes()))
    );
    let hmac = |k: &[u8], d: &str| {
        let mut m = Hmac::<Sha256>::new_from_slice(k).expect("any key length");
        m.update(d.as_bytes());
        m.finalize().into_bytes().to_vec()
    };
    let mut signing_key = format!("aliyun_v4{}", key_pair.secret).into_bytes();
    for part in [scope_date, scope_region, "oss", "aliyun_v4_request"] {
        signing_key = hmac(&signing_key, part);
    }
    let expected = hex::encode(hmac(&signing_key, &string_to_sign));
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

// ---------------------------------------------------------------------------------------------
// OSS PutCname / ListCname
// ---------------------------------------------------------------------------------------------

pub(crate) fn xml_tag(xml: &str, tag: &str) -> Option<String> {
    let open = format!("<{tag}>");
    let start = xml.find(&open)? + open.len();
    let end = start + xml[start..].find(&format!("</{tag}>"))?;
    Some(
        xml[start..end]
            .replace("&lt;", "<")
            .replace("&gt;", ">")
            .replace("&amp;", "&"),
    )
}

/// Returns (status, XML body) or an OSS error (status, code, message).
pub(crate) fn oss_cname(
    inner: &mut Inner,
    action: &str,
    bucket: &str,
    body: &[u8],
    ak: &str,
) -> Result<(u16, String), (u16, &'static str, String)> {
    match action {
        "ListCname" => {
            let mut xml = format!(
                "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<ListCnameResult><Bucket>{bucket}</Bucket><Owner>{ACCOUNT_ID}</Owner>"
            );
            for c in inner
                .state
                .services
                .oss_cnames
                .iter()
                .filter(|c| c.bucket == bucket)
            {
                xml.push_str(&format!(
                    "<Cname><Domain>{}</Domain><LastModified>{}</LastModified><Status>Enabled</Status>",
                    c.domain,
                    rfc3339(now_ms())
                ));
                if let Some(d) = &c.certificate {
                    xml.push_str(&format!(
                        "<Certificate><Type>{}</Type><CertId>{}</CertId><Status>Enabled</Status>\
                         <CreationDate>{}</CreationDate><Fingerprint>{}</Fingerprint>\
                         <ValidStartDate>{}</ValidStartDate><ValidEndDate>{}</ValidEndDate></Certificate>",
                        if d.cert_type == "cas" { "CAS" } else { "BYOC" },
                        d.cert_id,
                        rfc3339(d.updated_ms),
                        d.info.fingerprint,
                        rfc3339(d.info.not_before_ms),
                        rfc3339(d.info.not_after_ms),
                    ));
                }
                xml.push_str("</Cname>");
            }
            xml.push_str("</ListCnameResult>");
            Ok((200, xml))
        }
        "PutCname" => {
            let text = String::from_utf8_lossy(body).to_string();
            let domain = xml_tag(&text, "Domain").ok_or((
                400,
                "MalformedXML",
                "Domain is missing".to_string(),
            ))?;
            let cc = xml_tag(&text, "CertificateConfiguration");
            let idx = inner
                .state
                .services
                .oss_cnames
                .iter()
                .position(|c| c.bucket == bucket && c.domain == domain)
                .ok_or((
                    400,
                    "NeedVerifyDomainOwnership",
                    format!("{domain} is not bound to {bucket} (the emulator needs it seeded)"),
                ))?;
            if let Some(cc) = cc {
                let force = xml_tag(&cc, "Force").is_some_and(|f| f.eq_ignore_ascii_case("true"));
                if inner.state.services.oss_cnames[idx].certificate.is_some() && !force {
                    return Err((
                        409,
                        "CertificateAlreadyExist",
                        "set Force to replace".into(),
                    ));
                }
                let deployed = if let Some(cas_id) = xml_tag(&cc, "CertId") {
                    let c = find_cas(inner, &cas_id)
                        .map_err(|e| (404, "NoSuchCertificate", e.message))?;
                    cas_deployed(c, &cas_id, ak)
                } else {
                    let cert = xml_tag(&cc, "Certificate").unwrap_or_default();
                    let key = xml_tag(&cc, "PrivateKey").unwrap_or_default();
                    let info = check_pair(&cert, &key)
                        .map_err(|e| (400, "InvalidCertificate", e.message))?;
                    DeployedCert {
                        cert_name: String::new(),
                        cert_id: format!("{}-{REGION}", inner.next_cert_id()),
                        cert_type: "upload".into(),
                        cert_region: REGION.into(),
                        cert,
                        key,
                        info,
                        updated_ms: now_ms(),
                        updated_by: ak.to_string(),
                    }
                };
                if !super::cert_covers(&deployed.info, &domain) {
                    return Err((
                        400,
                        "InvalidCertificate",
                        format!("the certificate does not cover {domain}"),
                    ));
                }
                inner.state.services.oss_cnames[idx].certificate = Some(deployed);
            }
            Ok((200, String::new()))
        }
        _ => Err((
            405,
            "MethodNotAllowed",
            "unsupported bucket operation".into(),
        )),
    }
}

/// The seeded `oss_cnames`.
pub(crate) fn seed_oss_cnames(seed: &ServicesSeed) -> Vec<OssCname> {
    seed.oss_cnames
        .iter()
        .map(|(b, d)| OssCname {
            bucket: b.clone(),
            domain: d.clone(),
            certificate: None,
        })
        .collect()
}
