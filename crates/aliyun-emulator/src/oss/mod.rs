//! OSS: objects (path style, V4 signatures; V1 refused), versioning, and bucket CNAMEs:
//! PutCname (`POST /<bucket>/?cname&comp=add`) and ListCname (`GET /<bucket>/?cname`).
//! This file: objects and the request plumbing; v4.rs: request verification; cname.rs: CNAMEs.
use super::*;

mod cname;
mod service;
mod v4;
pub(crate) use cname::*;
pub(crate) use v4::*;

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
        Method::GET if bucket.is_empty() => "ListBuckets",
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
        started_us: 0,
        ended_us: 0,
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
    shared.lock().record_call(call);
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
    if action == "ListBuckets" {
        let mut inner = shared.lock();
        let ak = verify_oss_v4(&inner, method, "", "", query, headers, body, at)?;
        call.access_key_id = ak.clone();
        if let Some((code, status)) = inner.take_failure(action) {
            return Err(oss_err(
                status,
                &code,
                "Injected failure (emulator fail_next).",
            ));
        }
        let xml = service::list_buckets(&inner, query, &ak)?;
        let mut resp = Response::new(Body::from(xml));
        resp.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/xml"),
        );
        return Ok(resp);
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

    // RAM (ram.rs): HeadObject is authorised as oss:GetObject (OSS API reference,
    // HeadObject: "oss:GetObject"); a put that sets an ACL also needs oss:PutObjectAcl (OSS
    // "Object ACLs"); PutCname attaching a certificate also needs the three CAS actions (OSS API
    // reference, PutCname, "Permissions").
    let resource = if bucket_op {
        format!("acs:oss:*:{ACCOUNT_ID}:{bucket}")
    } else {
        format!("acs:oss:*:{ACCOUNT_ID}:{bucket}/{key}")
    };
    let mut checks = vec![(
        if action == "HeadObject" {
            "GetObject"
        } else {
            action
        },
        resource.clone(),
    )];
    if action == "PutObject" && headers.contains_key("x-oss-object-acl") {
        checks.push(("PutObjectAcl", resource.clone()));
    }
    if let Some(d) = inner.ram_check("oss", &checks) {
        return Err(super::ram::oss_denied(&d));
    }
    if action == "PutCname" && String::from_utf8_lossy(body).contains("<CertId>") {
        let cas = [
            "DescribeSSLCertificatePrivateKey",
            "DescribeSSLCertificatePublicKeyDetail",
            "CreateSSLCertificate",
        ]
        .map(|a| (a, "*".to_string()));
        if let Some(d) = inner.ram_check("cas", &cas) {
            return Err(super::ram::oss_denied(&d));
        }
    }
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
