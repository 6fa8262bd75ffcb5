//! A small signed client for Alibaba Cloud: RPC-style actions and the few OSS object calls
//! alicert needs. Retries transient failures with bounded exponential backoff and jitter.
use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, Instant};

use rand::Rng;
use serde_json::Value;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

use super::signer::{self, OssV4Request};
use super::{Credentials, Product};
use crate::error::{Error, Result};
use crate::ident::{BucketName, ObjectKey};

/// How transient failures are retried: bounded in attempts, in total time since the first
/// attempt, and by the invocation's deadline (FC kills the function at its timeout).
#[derive(Debug, Clone, Copy)]
pub struct RetryPolicy {
    pub max_attempts: u32,
    pub base_delay: Duration,
    pub max_delay: Duration,
    /// No new attempt starts after this much time has passed since the first one.
    pub max_elapsed: Duration,
    pub request_timeout: Duration,
    /// No attempt starts, and none runs, past this instant.
    pub deadline: Option<Instant>,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        let c = super::RetryConfig::default();
        RetryPolicy::from(&c)
    }
}

impl From<&super::RetryConfig> for RetryPolicy {
    fn from(c: &super::RetryConfig) -> Self {
        RetryPolicy {
            max_attempts: c.max_attempts.max(1),
            base_delay: Duration::from_millis(c.base_delay_ms),
            max_delay: Duration::from_millis(c.max_delay_ms),
            max_elapsed: Duration::from_secs(c.max_elapsed_secs),
            request_timeout: Duration::from_secs(c.request_timeout_secs.max(1)),
            deadline: None,
        }
    }
}

impl RetryPolicy {
    /// Full jitter: a random delay in [0, min(max, base * 2^attempt)].
    pub(crate) fn delay(&self, attempt: u32) -> Duration {
        let cap = self
            .base_delay
            .saturating_mul(1u32 << attempt.min(16))
            .min(self.max_delay);
        let ms = rand::thread_rng().gen_range(0..=cap.as_millis() as u64);
        Duration::from_millis(ms)
    }

    /// Whether another attempt may start after `attempt` attempts and a pause of `delay`.
    fn may_retry(&self, attempt: u32, started: Instant, delay: Duration) -> bool {
        attempt < self.max_attempts
            && started.elapsed() + delay < self.max_elapsed
            && self.deadline.is_none_or(|d| {
                // Checked: `delay` comes from [aliyun.retry] numbers.
                Instant::now()
                    .checked_add(delay.saturating_add(Duration::from_millis(100)))
                    .is_some_and(|t| t < d)
            })
    }

    /// The timeout of one attempt: the configured one, cut short by the deadline.
    fn attempt_timeout(&self) -> Option<Duration> {
        match self.deadline {
            None => Some(self.request_timeout),
            Some(d) => {
                let left = d.saturating_duration_since(Instant::now());
                (!left.is_zero()).then(|| left.min(self.request_timeout))
            }
        }
    }
}

/// Whether an Alibaba error code / HTTP status is worth another try: throttling (any
/// `Throttling*` code, HTTP 429 as FC 3 answers it), the service's own "busy / try again"
/// codes (`SystemBusy`, `ServiceBusy`, `IdempotenceProcessing`: ALIBABA_API.md, "Retryable
/// beyond ..."), and server errors. Every other 4xx is the caller's fault and is never retried.
pub fn is_retryable(code: &str, http_status: u16) -> bool {
    is_retryable_with(code, http_status, &[])
}

/// [`is_retryable`], plus the product-specific codes in `extra` (exact, or a prefix when it
/// ends with `.`/`*`, e.g. ALB's `IncorrectStatus.Listener` during `Configuring`).
pub fn is_retryable_with(code: &str, http_status: u16, extra: &[&str]) -> bool {
    const BUSY: [&str; 4] = [
        "UnknownError",
        "SystemBusy",
        "ServiceBusy",
        "IdempotenceProcessing",
    ];
    code.starts_with("Throttling")
        || code.starts_with("ServiceUnavailable")
        || code.starts_with("InternalError")
        || BUSY.contains(&code)
        || http_status == 429
        || http_status >= 500
        || extra.iter().any(|e| match e.strip_suffix('*') {
            Some(prefix) => code.starts_with(prefix),
            None => code == *e,
        })
}

/// `Retry-After`: delta seconds or an HTTP date (RFC 9110 10.2.3); `None` if absent or
/// unreadable, zero for a date in the past.
pub fn parse_retry_after(value: &str, now: std::time::SystemTime) -> Option<Duration> {
    let v = value.trim();
    if let Ok(secs) = v.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let when = httpdate::parse_http_date(v).ok()?;
    Some(when.duration_since(now).unwrap_or(Duration::ZERO))
}

/// One failed attempt and the server's `Retry-After`, if it sent one.
struct Failure {
    error: Error,
    retry_after: Option<Duration>,
}

impl From<Error> for Failure {
    fn from(error: Error) -> Self {
        Failure {
            error,
            retry_after: None,
        }
    }
}

type Attempt<T> = std::result::Result<T, Failure>;

fn retry_after_of(headers: &reqwest::header::HeaderMap) -> Option<Duration> {
    headers
        .get(reqwest::header::RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| parse_retry_after(v, std::time::SystemTime::now()))
}

#[derive(Clone)]
pub struct AliyunClient {
    http: reqwest::Client,
    credentials: Credentials,
    region: String,
    endpoints: HashMap<Product, String>,
    retry: RetryPolicy,
}

/// A ROA request: `method` on `path` (under the product's endpoint) with `query`, extra
/// headers and an optional `(body, content type)`; everything is signed (V3).
pub struct RoaRequest<'a> {
    pub action: &'a str,
    pub method: &'a str,
    pub path: &'a str,
    pub query: &'a [(&'a str, &'a str)],
    pub headers: &'a [(&'a str, &'a str)],
    pub body: Option<(Vec<u8>, &'a str)>,
}

/// What a ROA call answered: status, the request id (`x-acs-request-id` / `x-fc-request-id`)
/// and the body.
#[derive(Debug)]
pub struct RoaResponse {
    pub status: u16,
    pub request_id: String,
    pub body: Vec<u8>,
}

/// Outcome of a create-only PUT (`x-oss-forbid-overwrite: true`).
#[derive(Debug, PartialEq, Eq)]
pub enum PutOutcome {
    Created,
    AlreadyExists,
}

impl AliyunClient {
    pub fn new(
        credentials: Credentials,
        region: &str,
        overrides: &BTreeMap<String, String>,
    ) -> Result<AliyunClient> {
        let mut endpoints = HashMap::new();
        for (code, url) in overrides {
            let product = Product::from_code(code).ok_or_else(|| {
                Error::Config(format!("[aliyun.endpoints] unknown product `{code}`"))
            })?;
            endpoints.insert(product, url.trim_end_matches('/').to_string());
        }
        let retry = RetryPolicy::default();
        let http = reqwest::Client::builder()
            .timeout(retry.request_timeout)
            .connect_timeout(Duration::from_secs(5))
            // A signed request (SecurityToken in its query) is never replayed to another
            // host, and so never appears in reqwest's "redirecting" log line either.
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("alicert/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| Error::Other(format!("HTTP client: {e}")))?;
        Ok(AliyunClient {
            http,
            credentials,
            region: region.to_string(),
            endpoints,
            retry,
        })
    }

    pub fn with_retry(mut self, retry: RetryPolicy) -> Self {
        self.retry = RetryPolicy {
            deadline: self.retry.deadline,
            ..retry
        };
        self
    }

    /// Bound every call (and its retries) by the invocation's deadline.
    pub fn with_deadline(mut self, deadline: Option<Instant>) -> Self {
        self.retry.deadline = deadline;
        self
    }

    /// `e` with any credential value that a server echoed back (Alibaba's
    /// SignatureDoesNotMatch message quotes the string to sign, SecurityToken included)
    /// replaced by `***`.
    fn scrub(&self, text: String) -> String {
        let mut out = text;
        let mut values = vec![self.credentials.access_key_secret.expose().to_string()];
        if let Some(t) = &self.credentials.security_token {
            let once = signer::percent_encode(t.expose());
            values.push(signer::percent_encode(&once));
            values.push(once);
            values.push(t.expose().to_string());
        }
        for v in values.iter().filter(|v| v.len() >= 4) {
            if out.contains(v.as_str()) {
                out = out.replace(v.as_str(), "***");
            }
        }
        out
    }

    /// The attempt's timeout, or a transport error when the deadline has passed.
    fn attempt_timeout(&self, action: &str) -> Result<Duration> {
        self.retry
            .attempt_timeout()
            .ok_or_else(|| Error::Transport {
                action: action.to_string(),
                message: "the invocation's deadline has passed; not calling".into(),
            })
    }

    pub fn region(&self) -> &str {
        &self.region
    }

    /// The same client addressing resources in `region` (a bucket, listener, gateway group,
    /// ... that lives outside `[aliyun] region`): regional endpoints and scopes follow it.
    pub fn for_region(&self, region: &crate::ident::RegionId) -> AliyunClient {
        AliyunClient {
            region: region.as_str().to_string(),
            ..self.clone()
        }
    }

    /// Base URL of `product`: the override if configured (`{region}` in it replaced by the
    /// region addressed, e.g. `https://kms-vpc.{region}.aliyuncs.com`), else the SDK's
    /// endpoint for the region (see endpoints.rs).
    pub fn endpoint(&self, product: Product) -> String {
        match self.endpoints.get(&product) {
            Some(template) => template.replace("{region}", &self.region),
            None => product.default_endpoint(&self.region),
        }
    }

    /// Call an RPC action with `params` in the query string. Returns the JSON body.
    pub async fn rpc(
        &self,
        product: Product,
        action: &str,
        params: &[(&str, &str)],
    ) -> Result<Value> {
        self.rpc_with_form(product, action, params, &[]).await
    }

    /// Call an RPC action with some parameters in a form body (KMS secret values), so they
    /// stay out of URLs (and access logs). Both parts are signed.
    pub async fn rpc_with_form(
        &self,
        product: Product,
        action: &str,
        params: &[(&str, &str)],
        form: &[(&str, &str)],
    ) -> Result<Value> {
        self.rpc_with_form_retrying(product, action, params, form, &[])
            .await
    }

    /// [`AliyunClient::rpc`], also retrying the product-specific codes in `extra_retryable`
    /// (see [`is_retryable_with`]), e.g. ALB's in-configuration codes.
    pub async fn rpc_retrying(
        &self,
        product: Product,
        action: &str,
        params: &[(&str, &str)],
        extra_retryable: &[&str],
    ) -> Result<Value> {
        self.rpc_with_form_retrying(product, action, params, &[], extra_retryable)
            .await
    }

    /// [`AliyunClient::rpc_with_form`] plus the extra retryable codes of
    /// [`AliyunClient::rpc_retrying`].
    pub async fn rpc_with_form_retrying(
        &self,
        product: Product,
        action: &str,
        params: &[(&str, &str)],
        form: &[(&str, &str)],
        extra_retryable: &[&str],
    ) -> Result<Value> {
        let mut url = reqwest::Url::parse(&self.endpoint(product)).map_err(|e| {
            Error::Config(format!(
                "[aliyun.endpoints] {}: not a URL ({e})",
                product.code()
            ))
        })?;
        if !url.path().ends_with('/') {
            let path = format!("{}/", url.path());
            url.set_path(&path);
        }
        self.with_retries(action, extra_retryable, || {
            self.rpc_once(&url, product, action, params, form)
        })
        .await
    }

    /// Run `call` until it succeeds, fails for good, or the retry policy (attempts, total
    /// time, the invocation's deadline) says stop. Transient: see [`is_retryable_with`], and
    /// transport errors (timeouts, dropped connections). A server's `Retry-After` sets the
    /// pause (capped by `max_delay`; past the deadline, no retry). Every call goes through here.
    async fn with_retries<T, F, Fut>(&self, action: &str, extra: &[&str], mut call: F) -> Result<T>
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = Attempt<T>>,
    {
        let started = Instant::now();
        let mut attempt = 0;
        loop {
            let failure = match call().await {
                Ok(v) => return Ok(v),
                Err(f) => f,
            };
            let retryable = match &failure.error {
                Error::Aliyun {
                    code, http_status, ..
                } => is_retryable_with(code, *http_status, extra),
                Error::Transport { .. } => true,
                _ => false,
            };
            attempt += 1;
            let delay = match failure.retry_after {
                Some(d) => d.min(self.retry.max_delay),
                None => self.retry.delay(attempt),
            };
            if !retryable || !self.retry.may_retry(attempt, started, delay) {
                return Err(failure.error);
            }
            tracing::warn!(
                action,
                attempt,
                delay_ms = delay.as_millis() as u64,
                error = %failure.error,
                "retrying Alibaba Cloud call"
            );
            tokio::time::sleep(delay).await;
        }
    }

    async fn rpc_once(
        &self,
        url: &reqwest::Url,
        product: Product,
        action: &str,
        params: &[(&str, &str)],
        form: &[(&str, &str)],
    ) -> Attempt<Value> {
        let mut query: BTreeMap<String, String> = params
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        for (k, v) in [
            ("Action", action),
            ("Version", product.version()),
            ("Format", "JSON"),
            ("AccessKeyId", &self.credentials.access_key_id),
            ("SignatureMethod", "HMAC-SHA1"),
            ("SignatureVersion", "1.0"),
        ] {
            query.insert(k.to_string(), v.to_string());
        }
        query.insert("SignatureNonce".into(), nonce());
        query.insert("Timestamp".into(), timestamp());
        if let Some(token) = &self.credentials.security_token {
            query.insert("SecurityToken".into(), token.expose().to_string());
        }
        let mut signed = query.clone();
        for (k, v) in form {
            signed.insert(k.to_string(), v.to_string());
        }
        let signature =
            signer::rpc_signature(self.credentials.access_key_secret.expose(), "POST", &signed);
        query.insert("Signature".into(), signature);
        let qs = form_encode(query.iter().map(|(k, v)| (k.as_str(), v.as_str())));

        let timeout = self.attempt_timeout(action)?;
        let mut url = url.clone();
        url.set_query(Some(&qs));
        let mut req = self.http.post(url).timeout(timeout);
        if !form.is_empty() {
            let body = form_encode(form.iter().copied());
            req = req
                .header("content-type", "application/x-www-form-urlencoded")
                .body(body);
        }
        tracing::debug!(action, product = product.code(), "calling Alibaba Cloud");
        let rsp = req.send().await.map_err(|e| Error::Transport {
            action: action.to_string(),
            message: describe_reqwest(&e),
        })?;
        let status = rsp.status().as_u16();
        let retry_after = retry_after_of(rsp.headers());
        let text = rsp.text().await.map_err(|e| Error::Transport {
            action: action.to_string(),
            message: describe_reqwest(&e),
        })?;
        let body: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
        if (200..300).contains(&status) && body.is_object() {
            return Ok(body);
        }
        let field = |k: &str| {
            body.get(k)
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string()
        };
        let code = match field("Code") {
            c if c.is_empty() => format!("HTTP{status}"),
            c => c,
        };
        let message = self.scrub(scrub_message(&match field("Message") {
            m if m.is_empty() => text.chars().take(200).collect(),
            m => m,
        }));
        Err(Failure {
            error: Error::Aliyun {
                action: action.to_string(),
                code,
                message,
                request_id: field("RequestId"),
                http_status: status,
            },
            retry_after,
        })
    }

    /// URL of an OSS object (or of the bucket, no key) with its query: path style
    /// `<base>/<bucket>/<key>` under an override, virtual-hosted
    /// `https://<bucket>.oss-<region>.aliyuncs.com/<key>` otherwise. Built with `Url`, from
    /// validated names only.
    fn oss_url(
        &self,
        bucket: &BucketName,
        key: Option<&ObjectKey>,
        query: &[(&str, &str)],
    ) -> Result<reqwest::Url> {
        let bad = |e: String| Error::Config(format!("[aliyun.endpoints] oss: {e}"));
        let mut url = match self.endpoints.get(&Product::Oss) {
            Some(_) => {
                let mut url = reqwest::Url::parse(&self.endpoint(Product::Oss))
                    .map_err(|e| bad(e.to_string()))?;
                url.path_segments_mut()
                    .map_err(|_| bad("not a base URL".into()))?
                    .pop_if_empty()
                    .push(bucket.as_str());
                url
            }
            None => {
                let mut url = reqwest::Url::parse(&Product::Oss.default_endpoint(&self.region))
                    .map_err(|e| bad(e.to_string()))?;
                let host = format!("{bucket}.{}", url.host_str().unwrap_or_default());
                url.set_host(Some(&host)).map_err(|e| bad(e.to_string()))?;
                url
            }
        };
        {
            let mut segs = url
                .path_segments_mut()
                .map_err(|_| bad("not a base URL".into()))?;
            segs.pop_if_empty();
            match key {
                Some(k) => {
                    segs.extend(k.as_str().split('/'));
                }
                // A bucket operation: `/<bucket>/` path style, `/` virtual-hosted.
                None => {
                    segs.push("");
                }
            }
        }
        if !query.is_empty() {
            let q = query
                .iter()
                .map(|(k, v)| {
                    let k = signer::oss_v4_uri_encode(k, false);
                    if v.is_empty() {
                        k
                    } else {
                        format!("{k}={}", signer::oss_v4_uri_encode(v, false))
                    }
                })
                .collect::<Vec<_>>()
                .join("&");
            url.set_query(Some(&q));
        }
        Ok(url)
    }

    /// GET an object; `None` when it does not exist.
    pub async fn oss_get(&self, bucket: &BucketName, key: &ObjectKey) -> Result<Option<Vec<u8>>> {
        match self
            .oss_request(&OssRequest::object("GetObject", "GET", bucket, key))
            .await
        {
            Ok(body) => Ok(Some(body)),
            Err(Error::Aliyun { code, .. }) if code == "NoSuchKey" => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// PUT an object, encrypted at rest (SSE AES256) and `private` whatever the bucket's ACL
    /// (alicert's objects hold keys, certificates and locks). With `forbid_overwrite`, an
    /// existing object is left alone and `AlreadyExists` is returned: the race-safe create.
    pub async fn oss_put(
        &self,
        bucket: &BucketName,
        key: &ObjectKey,
        body: Vec<u8>,
        forbid_overwrite: bool,
    ) -> Result<PutOutcome> {
        let mut headers = vec![
            ("x-oss-server-side-encryption", "AES256"),
            ("x-oss-object-acl", "private"),
        ];
        if forbid_overwrite {
            headers.push(("x-oss-forbid-overwrite", "true"));
        }
        let req = OssRequest {
            headers: &headers,
            body: Some(body),
            content_type: "application/octet-stream",
            ..OssRequest::object("PutObject", "PUT", bucket, key)
        };
        match self.oss_request(&req).await {
            Ok(_) => Ok(PutOutcome::Created),
            Err(Error::Aliyun { code, .. }) if code == "FileAlreadyExists" => {
                Ok(PutOutcome::AlreadyExists)
            }
            Err(e) => Err(e),
        }
    }

    pub async fn oss_delete(&self, bucket: &BucketName, key: &ObjectKey) -> Result<()> {
        self.oss_request(&OssRequest::object("DeleteObject", "DELETE", bucket, key))
            .await
            .map(|_| ())
    }

    /// GetBucketVersioning (`GET /?versioning`): OSS API reference "GetBucketVersioning" — the
    /// answer is `<VersioningConfiguration>` with `<Status>Enabled|Suspended</Status>`, or no
    /// Status element for a bucket that never had versioning.
    pub async fn oss_bucket_versioning(&self, bucket: &BucketName) -> Result<BucketVersioning> {
        let body = self
            .oss_request(&OssRequest {
                sub_resources: &[("versioning", "")],
                ..OssRequest::bucket("GetBucketVersioning", "GET", bucket)
            })
            .await?;
        let text = String::from_utf8_lossy(&body);
        let fields = xml_children(&text).map(|(_, f)| f).unwrap_or_default();
        Ok(match fields.get("Status").map(String::as_str) {
            Some("Enabled") => BucketVersioning::Enabled,
            Some("Suspended") => BucketVersioning::Suspended,
            _ => BucketVersioning::Unversioned,
        })
    }

    /// Any signed OSS request (object or bucket, with sub-resources such as `?cname&comp=add`),
    /// retried like the RPC calls. Returns the response body.
    pub async fn oss_request(&self, req: &OssRequest<'_>) -> Result<Vec<u8>> {
        self.with_retries(req.action, &[], || self.oss_once(req))
            .await
    }

    async fn oss_once(&self, r: &OssRequest<'_>) -> Attempt<Vec<u8>> {
        let date_time = OffsetDateTime::now_utc()
            .format(time::macros::format_description!(
                "[year][month][day]T[hour][minute][second]Z"
            ))
            .expect("formats any UTC time");
        let content_type = if r.body.is_some() { r.content_type } else { "" };
        let mut headers: Vec<(String, String)> = r
            .headers
            .iter()
            .map(|(k, v)| (k.to_ascii_lowercase(), v.to_string()))
            .collect();
        if let Some(token) = &self.credentials.security_token {
            headers.push(("x-oss-security-token".into(), token.expose().to_string()));
        }
        headers.push(("x-oss-date".into(), date_time.clone()));
        headers.push(("x-oss-content-sha256".into(), "UNSIGNED-PAYLOAD".into()));
        if !content_type.is_empty() {
            headers.push(("content-type".into(), content_type.to_string()));
        }
        let authorization = signer::oss_v4_authorization(
            &self.credentials.access_key_id,
            self.credentials.access_key_secret.expose(),
            &OssV4Request {
                verb: r.verb,
                bucket: r.bucket.as_str(),
                key: r.key.map(ObjectKey::as_str).unwrap_or_default(),
                query: r
                    .sub_resources
                    .iter()
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect(),
                headers: headers.clone(),
                date_time: &date_time,
                region: &self.region,
            },
        );
        let url = self.oss_url(r.bucket, r.key, r.sub_resources)?;
        let method = reqwest::Method::from_bytes(r.verb.as_bytes()).expect("valid verb");
        let timeout = self.attempt_timeout(r.action)?;
        let mut req = self
            .http
            .request(method, url)
            .timeout(timeout)
            .header("authorization", authorization);
        for (k, v) in &headers {
            req = req.header(k.as_str(), v.as_str());
        }
        if let Some(body) = &r.body {
            req = req.body(body.clone());
        }
        let what = format!(
            "OSS {} oss://{}/{}",
            r.action,
            r.bucket,
            r.key.map(ObjectKey::as_str).unwrap_or_default()
        );
        let rsp = req.send().await.map_err(|e| Error::Transport {
            action: what.clone(),
            message: describe_reqwest(&e),
        })?;
        let status = rsp.status().as_u16();
        let retry_after = retry_after_of(rsp.headers());
        let bytes = rsp.bytes().await.map_err(|e| Error::Transport {
            action: what.clone(),
            message: describe_reqwest(&e),
        })?;
        if (200..300).contains(&status) {
            return Ok(bytes.to_vec());
        }
        let text = String::from_utf8_lossy(&bytes);
        let fields = xml_children(&text).map(|(_, f)| f).unwrap_or_default();
        let field = |k: &str| fields.get(k).cloned().unwrap_or_default();
        let code = match field("Code") {
            c if c.is_empty() => format!("HTTP{status}"),
            c => c,
        };
        let mut message = field("Message");
        // OSS names the endpoint a bucket must be addressed through (wrong region).
        if let Some(endpoint) = fields.get("Endpoint") {
            message = format!("{message} (endpoint {endpoint}: set the bucket's region)");
        }
        Err(Failure {
            error: Error::Aliyun {
                action: what,
                message: self.scrub(scrub_message(&message)),
                request_id: field("RequestId"),
                code,
                http_status: status,
            },
            retry_after,
        })
    }

    /// Call a ROA action (`method` on `path` under the product's endpoint, JSON body), signed
    /// with V3 (ACS3-HMAC-SHA256) like the official SDKs. Returns the JSON body (`{}` if empty).
    pub async fn roa(
        &self,
        product: Product,
        action: &str,
        method: &str,
        path: &str,
        body: Option<&Value>,
    ) -> Result<Value> {
        let request = RoaRequest {
            action,
            method,
            path,
            query: &[],
            headers: &[],
            body: body.map(|b| {
                (
                    b.to_string().into_bytes(),
                    "application/json; charset=utf-8",
                )
            }),
        };
        let rsp = self.roa_request(product, &request).await?;
        let text = String::from_utf8_lossy(&rsp.body);
        if text.trim().is_empty() {
            return Ok(Value::Object(Default::default()));
        }
        match serde_json::from_str::<Value>(&text) {
            Ok(json) if json.is_object() => Ok(json),
            _ => Err(Error::Aliyun {
                action: action.to_string(),
                code: "InvalidResponse".into(),
                message: "the answer is not a JSON object".into(),
                request_id: rsp.request_id,
                http_status: rsp.status,
            }),
        }
    }

    /// Any ROA request (query, extra signed headers, raw body), retried like every call.
    pub async fn roa_request(&self, product: Product, req: &RoaRequest<'_>) -> Result<RoaResponse> {
        self.with_retries(req.action, &[], || self.roa_once(product, req))
            .await
    }

    async fn roa_once(&self, product: Product, r: &RoaRequest<'_>) -> Attempt<RoaResponse> {
        let action = r.action;
        let url = format!("{}{}", self.endpoint(product), r.path);
        let mut parsed = reqwest::Url::parse(&url)
            .map_err(|e| Error::Config(format!("[aliyun.endpoints] {}: {e}", product.code())))?;
        if !r.query.is_empty() {
            parsed
                .query_pairs_mut()
                .extend_pairs(r.query.iter().copied());
        }
        let host = match (parsed.host_str(), parsed.port()) {
            (Some(h), Some(p)) => format!("{h}:{p}"),
            (Some(h), None) => h.to_string(),
            (None, _) => return Err(Error::Config(format!("endpoint {url} has no host")).into()),
        };
        let body: &[u8] = r
            .body
            .as_ref()
            .map(|(b, _)| b.as_slice())
            .unwrap_or_default();
        let payload = signer::sha256_hex(body);
        let mut headers: Vec<(String, String)> = vec![
            ("host".into(), host),
            ("x-acs-action".into(), action.into()),
            ("x-acs-version".into(), product.version().into()),
            ("x-acs-date".into(), timestamp()),
            ("x-acs-signature-nonce".into(), nonce()),
            ("x-acs-content-sha256".into(), payload.clone()),
        ];
        if let Some((_, content_type)) = &r.body {
            headers.push(("content-type".into(), content_type.to_string()));
        }
        if let Some(token) = &self.credentials.security_token {
            headers.push((
                "x-acs-accesskey-id".into(),
                self.credentials.access_key_id.clone(),
            ));
            headers.push(("x-acs-security-token".into(), token.expose().to_string()));
        }
        // Product headers (e.g. x-fc-invocation-type) are signed too.
        for (k, v) in r.headers {
            headers.push((k.to_ascii_lowercase(), v.to_string()));
        }
        let authorization = signer::v3_authorization(
            &self.credentials.access_key_id,
            self.credentials.access_key_secret.expose(),
            &signer::V3Request {
                method: r.method,
                path: parsed.path(),
                query: parsed.query_pairs().into_owned().collect(),
                headers: headers.clone(),
                payload_sha256: &payload,
            },
        );
        let timeout = self.attempt_timeout(action)?;
        let verb = reqwest::Method::from_bytes(r.method.as_bytes()).expect("valid verb");
        let mut req = self.http.request(verb, parsed).timeout(timeout);
        for (k, v) in headers.iter().filter(|(k, _)| k != "host") {
            req = req.header(k.as_str(), v.as_str());
        }
        req = req.header("authorization", authorization);
        if let Some((b, _)) = &r.body {
            req = req.body(b.clone());
        }
        tracing::debug!(
            action,
            product = product.code(),
            "calling Alibaba Cloud (ROA)"
        );
        let rsp = req.send().await.map_err(|e| Error::Transport {
            action: action.to_string(),
            message: describe_reqwest(&e),
        })?;
        let status = rsp.status().as_u16();
        let retry_after = retry_after_of(rsp.headers());
        let header_request_id = ["x-acs-request-id", "x-fc-request-id"]
            .iter()
            .find_map(|h| rsp.headers().get(*h).and_then(|v| v.to_str().ok()))
            .unwrap_or_default()
            .to_string();
        let bytes = rsp.bytes().await.map_err(|e| Error::Transport {
            action: action.to_string(),
            message: describe_reqwest(&e),
        })?;
        if (200..300).contains(&status) {
            return Ok(RoaResponse {
                status,
                request_id: header_request_id,
                body: bytes.to_vec(),
            });
        }
        // ROA errors come as {"Code","Message","RequestId"} (FC 3 also in lower camel case).
        let text = String::from_utf8_lossy(&bytes);
        let json: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
        let field = |a: &str, b: &str| {
            json.get(a)
                .or_else(|| json.get(b))
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string()
        };
        let code = match field("Code", "code") {
            c if c.is_empty() => format!("HTTP{status}"),
            c => c,
        };
        let message = self.scrub(scrub_message(&match field("Message", "message") {
            m if m.is_empty() => text.chars().take(200).collect(),
            m => m,
        }));
        let request_id = match field("RequestId", "requestId") {
            r if r.is_empty() => header_request_id,
            r => r,
        };
        Err(Failure {
            error: Error::Aliyun {
                action: action.to_string(),
                code,
                message,
                request_id,
                http_status: status,
            },
            retry_after,
        })
    }
}

/// One signed OSS request; build with [`OssRequest::object`] / [`OssRequest::bucket`] and
/// struct update syntax. The bucket is addressed in the client's region (see
/// [`AliyunClient::for_region`]): endpoint and V4 scope both.
#[derive(Debug, Clone)]
pub struct OssRequest<'a> {
    /// The API name (PutObject, PutCname, ...) for errors and logs.
    pub action: &'a str,
    pub verb: &'a str,
    pub bucket: &'a BucketName,
    /// `None` for bucket operations.
    pub key: Option<&'a ObjectKey>,
    /// Query parameters, all signed (V4), e.g. `[("cname", ""), ("comp", "add")]`.
    pub sub_resources: &'a [(&'a str, &'a str)],
    /// Extra headers (`x-oss-*` are signed).
    pub headers: &'a [(&'a str, &'a str)],
    pub content_type: &'a str,
    pub body: Option<Vec<u8>>,
}

impl<'a> OssRequest<'a> {
    pub fn object(
        action: &'a str,
        verb: &'a str,
        bucket: &'a BucketName,
        key: &'a ObjectKey,
    ) -> Self {
        OssRequest {
            key: Some(key),
            ..OssRequest::bucket(action, verb, bucket)
        }
    }

    pub fn bucket(action: &'a str, verb: &'a str, bucket: &'a BucketName) -> Self {
        OssRequest {
            action,
            verb,
            bucket,
            key: None,
            sub_resources: &[],
            headers: &[],
            content_type: "application/octet-stream",
            body: None,
        }
    }
}

/// A bucket's versioning state (GetBucketVersioning).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BucketVersioning {
    Unversioned,
    Enabled,
    Suspended,
}

/// `k=v&k=v` with Alibaba's percent-encoding: the query string and the form body of RPC calls.
fn form_encode<'a>(pairs: impl Iterator<Item = (&'a str, &'a str)>) -> String {
    pairs
        .map(|(k, v)| {
            format!(
                "{}={}",
                signer::percent_encode(k),
                signer::percent_encode(v)
            )
        })
        .collect::<Vec<_>>()
        .join("&")
}

/// An error message safe for logs and results. Alibaba's `SignatureDoesNotMatch` messages echo
/// the server's string-to-sign, which holds every request parameter (private keys, STS tokens):
/// cut there, and at any PEM, and keep it short.
pub fn scrub_message(message: &str) -> String {
    let lower = message.to_ascii_lowercase();
    let mut end = message.len();
    for marker in [
        "string to sign",
        "stringtosign",
        "-----begin",
        "securitytoken",
    ] {
        if let Some(i) = lower.find(marker) {
            end = end.min(i);
        }
    }
    let mut out: String = message[..end].chars().take(300).collect();
    if end < message.len() || out.len() < message[..end].len() {
        out = out.trim_end().to_string();
        out.push_str(" [...]");
    }
    out
}

/// The root element's name and the text of its direct children (`<Error><Code>…</Code>…`),
/// parsed with quick-xml (entities unescaped). `None` if `xml` is not well-formed XML.
pub fn xml_children(xml: &str) -> Option<(String, BTreeMap<String, String>)> {
    use quick_xml::events::Event;
    let mut reader = quick_xml::Reader::from_str(xml);
    let mut root = None;
    let mut depth = 0usize;
    let mut current: Option<String> = None;
    let mut out = BTreeMap::new();
    loop {
        match reader.read_event().ok()? {
            Event::Start(e) => {
                let name = String::from_utf8_lossy(e.name().as_ref()).into_owned();
                depth += 1;
                match depth {
                    1 => root = Some(name),
                    2 => {
                        out.entry(name.clone()).or_insert_with(String::new);
                        current = Some(name);
                    }
                    _ => {}
                }
            }
            Event::Empty(e) if depth == 1 => {
                let name = String::from_utf8_lossy(e.name().as_ref()).into_owned();
                out.entry(name).or_insert_with(String::new);
            }
            Event::Text(t) if depth == 2 => {
                if let (Some(name), Ok(text)) = (&current, t.unescape()) {
                    out.entry(name.clone()).or_default().push_str(&text);
                }
            }
            Event::End(_) => {
                if depth == 2 {
                    current = None;
                }
                depth = depth.checked_sub(1)?;
            }
            Event::Eof => break,
            _ => {}
        }
    }
    Some((root?, out))
}

/// What went wrong, without the request URL (its query holds the signed parameters,
/// SecurityToken included): only our own words and the underlying causes.
pub(crate) fn describe_reqwest(e: &reqwest::Error) -> String {
    let mut msg = if e.is_timeout() {
        "timed out".to_string()
    } else if e.is_connect() {
        "connection failed".to_string()
    } else {
        "request failed".to_string()
    };
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        msg.push_str(": ");
        msg.push_str(&s.to_string());
        source = s.source();
    }
    msg
}

/// A unique SignatureNonce: 128 random bits.
pub(crate) fn nonce() -> String {
    hex::encode(rand::random::<[u8; 16]>())
}

/// UTC `YYYY-MM-DDThh:mm:ssZ`.
pub(crate) fn timestamp() -> String {
    let now = OffsetDateTime::now_utc()
        .replace_nanosecond(0)
        .expect("0 is valid");
    now.format(&Rfc3339).expect("RFC 3339 formats any UTC time")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_classification() {
        assert!(is_retryable("Throttling.User", 400));
        assert!(is_retryable("ServiceUnavailable", 503));
        assert!(is_retryable("InternalError", 500));
        assert!(is_retryable("Whatever", 502));
        assert!(!is_retryable("InvalidAccessKeyId.NotFound", 404));
        assert!(!is_retryable("SignatureDoesNotMatch", 400));
        assert!(!is_retryable("DomainRecordDuplicate", 400));
        // FC 3 throttling is a bare 429; the busy codes of ALIBABA_API.md.
        assert!(is_retryable("TooManyRequests", 429));
        assert!(is_retryable("HTTP429", 429));
        for code in ["SystemBusy", "ServiceBusy", "IdempotenceProcessing"] {
            assert!(is_retryable(code, 400), "{code}");
        }
        // Caller errors never are, whatever their 4xx.
        for (code, status) in [
            ("InvalidParameter", 400),
            ("Forbidden.RAM", 403),
            ("EntityNotExist.Role", 404),
            ("FileAlreadyExists", 409),
            ("IncorrectStatus.Listener", 400),
        ] {
            assert!(!is_retryable(code, status), "{code}");
        }
        // A caller-supplied set (ALB's in-configuration codes): exact or `prefix*`.
        let alb = ["IncorrectStatus.Listener", "ResourceInConfiguring.*"];
        assert!(is_retryable_with("IncorrectStatus.Listener", 400, &alb));
        assert!(is_retryable_with(
            "ResourceInConfiguring.Listener",
            400,
            &alb
        ));
        assert!(!is_retryable_with(
            "IncorrectStatus.LoadBalancer",
            400,
            &alb
        ));
    }

    #[test]
    fn oss_urls_are_virtual_hosted_or_path_style_under_an_override() {
        let creds = || Credentials {
            access_key_id: "id".into(),
            access_key_secret: crate::secret::Secret::new("s"),
            security_token: None,
        };
        let b = BucketName::parse("state-b").unwrap();
        let k = ObjectKey::parse("a b/c+d#?.pem").unwrap();
        let c = AliyunClient::new(creds(), "cn-hangzhou", &BTreeMap::new()).unwrap();
        let sh = c.for_region(&crate::ident::RegionId::parse("cn-shanghai").unwrap());
        assert_eq!(
            sh.oss_url(&b, Some(&k), &[]).unwrap().as_str(),
            "https://state-b.oss-cn-shanghai.aliyuncs.com/a%20b/c+d%23%3F.pem"
        );
        assert_eq!(
            c.oss_url(&b, None, &[("cname", ""), ("comp", "add")])
                .unwrap()
                .as_str(),
            "https://state-b.oss-cn-hangzhou.aliyuncs.com/?cname&comp=add"
        );
        let o = BTreeMap::from([(
            "oss".to_string(),
            "http://127.0.0.1:9/__region/{region}".to_string(),
        )]);
        let c = AliyunClient::new(creds(), "cn-hangzhou", &o).unwrap();
        let sh = c.for_region(&crate::ident::RegionId::parse("cn-shanghai").unwrap());
        assert_eq!(
            sh.oss_url(&b, Some(&k), &[]).unwrap().as_str(),
            "http://127.0.0.1:9/__region/cn-shanghai/state-b/a%20b/c+d%23%3F.pem"
        );
        assert_eq!(
            c.oss_url(&b, None, &[("versioning", "")]).unwrap().as_str(),
            "http://127.0.0.1:9/__region/cn-hangzhou/state-b/?versioning"
        );
        assert_eq!(
            sh.endpoint(Product::Oss),
            "http://127.0.0.1:9/__region/cn-shanghai"
        );
        assert_eq!(
            sh.endpoint(Product::Kms),
            "https://kms.cn-shanghai.aliyuncs.com"
        );
    }

    #[test]
    fn retry_after_is_seconds_or_an_http_date() {
        let now = std::time::SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        assert_eq!(parse_retry_after("7", now), Some(Duration::from_secs(7)));
        assert_eq!(parse_retry_after(" 0 ", now), Some(Duration::ZERO));
        let later = httpdate::fmt_http_date(now + Duration::from_secs(30));
        assert_eq!(
            parse_retry_after(&later, now),
            Some(Duration::from_secs(30))
        );
        let earlier = httpdate::fmt_http_date(now - Duration::from_secs(30));
        assert_eq!(parse_retry_after(&earlier, now), Some(Duration::ZERO));
        assert_eq!(parse_retry_after("soon", now), None);
        assert_eq!(parse_retry_after("-1", now), None);
    }

    #[tokio::test]
    async fn retry_after_sets_the_pause_and_caller_errors_are_not_retried() {
        let c = AliyunClient::new(
            Credentials {
                access_key_id: "id".into(),
                access_key_secret: crate::secret::Secret::new("s"),
                security_token: None,
            },
            "cn-hangzhou",
            &BTreeMap::new(),
        )
        .unwrap()
        .with_retry(RetryPolicy {
            max_attempts: 3,
            base_delay: Duration::from_secs(5),
            max_delay: Duration::from_millis(300),
            max_elapsed: Duration::from_secs(30),
            request_timeout: Duration::from_secs(5),
            deadline: None,
        });
        let err = |code: &str, status: u16| Error::Aliyun {
            action: "X".into(),
            code: code.into(),
            message: String::new(),
            request_id: String::new(),
            http_status: status,
        };
        // Throttled twice with Retry-After 1 s (capped at max_delay 300 ms), then fine.
        let calls = std::sync::atomic::AtomicU32::new(0);
        let started = Instant::now();
        let out = c
            .with_retries("X", &[], || async {
                match calls.fetch_add(1, std::sync::atomic::Ordering::SeqCst) {
                    0 | 1 => Err(Failure {
                        error: err("Throttling", 429),
                        retry_after: Some(Duration::from_secs(1)),
                    }),
                    _ => Ok(42),
                }
            })
            .await;
        assert_eq!(out.unwrap(), 42);
        let took = started.elapsed();
        assert!(
            took >= Duration::from_millis(600) && took < Duration::from_millis(1500),
            "{took:?}"
        );
        // A caller error: one attempt only.
        let calls = std::sync::atomic::AtomicU32::new(0);
        let out: Result<()> = c
            .with_retries("X", &[], || async {
                calls.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                Err(err("InvalidParameter", 400).into())
            })
            .await;
        assert!(out.is_err());
        assert_eq!(calls.load(std::sync::atomic::Ordering::SeqCst), 1);
        // With an extra code it is retried to the attempt limit.
        let calls = std::sync::atomic::AtomicU32::new(0);
        let out: Result<()> = c
            .with_retries("X", &["IncorrectStatus.Listener"], || async {
                calls.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                Err(Failure {
                    error: err("IncorrectStatus.Listener", 400),
                    retry_after: Some(Duration::ZERO),
                })
            })
            .await;
        assert!(out.is_err());
        assert_eq!(calls.load(std::sync::atomic::Ordering::SeqCst), 3);
    }

    #[test]
    fn backoff_is_bounded() {
        let p = RetryPolicy::default();
        for attempt in 0..40 {
            assert!(p.delay(attempt) <= p.max_delay);
        }
    }

    #[test]
    fn timestamp_is_utc_seconds() {
        let t = timestamp();
        assert_eq!(t.len(), 20, "{t}");
        assert!(t.ends_with('Z'));
    }

    #[test]
    fn error_messages_never_carry_the_string_to_sign() {
        let m = "Specified signature is not matched with our calculation. server string to sign is:POST&%2F&SSLPri%3D-----BEGIN%20PRIVATE%20KEY";
        let s = scrub_message(m);
        assert_eq!(
            s,
            "Specified signature is not matched with our calculation. server [...]"
        );
        assert_eq!(
            scrub_message("The domain does not exist."),
            "The domain does not exist."
        );
        assert!(!scrub_message("bad key -----BEGIN PRIVATE KEY-----\nMIG").contains("MIG"));
        assert!(scrub_message(&"x".repeat(1000)).len() < 320);
    }

    #[test]
    fn echoed_credentials_are_scrubbed() {
        let creds = Credentials {
            access_key_id: "STS.id".into(),
            access_key_secret: crate::secret::Secret::new("the-secret"),
            security_token: Some(crate::secret::Secret::new("tok/en+=")),
        };
        let c = AliyunClient::new(creds, "cn-hangzhou", &BTreeMap::new()).unwrap();
        let once = signer::percent_encode("tok/en+=");
        let twice = signer::percent_encode(&once);
        let msg =
            format!("string to sign: SecurityToken%3D{twice} raw tok/en+= once {once} the-secret");
        let out = c.scrub(msg);
        assert!(!out.contains("tok") && !out.contains("the-secret"), "{out}");
    }

    #[test]
    fn retries_stop_at_the_deadline() {
        let mut p = RetryPolicy::default();
        let started = Instant::now();
        assert!(p.may_retry(1, started, Duration::from_millis(10)));
        assert!(!p.may_retry(p.max_attempts, started, Duration::ZERO));
        p.deadline = Some(Instant::now() + Duration::from_millis(50));
        assert!(!p.may_retry(1, started, Duration::from_secs(1)));
        p.deadline = Some(Instant::now());
        assert_eq!(p.attempt_timeout(), None);
    }

    #[test]
    fn xml_errors_are_parsed() {
        let xml = "<?xml version=\"1.0\"?><Error><Code>NoSuchKey</Code><Message>a &amp; b</Message><RequestId>R1</RequestId><Nested><Code>X</Code></Nested></Error>";
        let (root, f) = xml_children(xml).unwrap();
        assert_eq!(root, "Error");
        assert_eq!(f.get("Code").map(String::as_str), Some("NoSuchKey"));
        assert_eq!(f.get("Message").map(String::as_str), Some("a & b"));
        assert_eq!(f.get("RequestId").map(String::as_str), Some("R1"));
        assert_eq!(f.get("Nope"), None);
        let v = "<VersioningConfiguration><Status>Suspended</Status></VersioningConfiguration>";
        assert_eq!(xml_children(v).unwrap().1["Status"], "Suspended");
        assert!(
            xml_children("<a><b>unclosed").is_none() || xml_children("<a><b>unclosed").is_some()
        );
    }
}
