//! A small signed client for Alibaba Cloud: RPC-style actions and the few OSS object calls
//! alicert needs. Retries transient failures with bounded exponential backoff and jitter.
use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, Instant};

use rand::Rng;
use serde_json::Value;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

use super::signer::{self, OssRequestParts};
use super::{Credentials, Product};
use crate::error::{Error, Result};

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
        let c = crate::config::RetryConfig::default();
        RetryPolicy::from(&c)
    }
}

impl From<&crate::config::RetryConfig> for RetryPolicy {
    fn from(c: &crate::config::RetryConfig) -> Self {
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

/// Whether an Alibaba error code / HTTP status is worth another try.
pub fn is_retryable(code: &str, http_status: u16) -> bool {
    code.starts_with("Throttling")
        || code.starts_with("ServiceUnavailable")
        || code.starts_with("InternalError")
        || code == "UnknownError"
        || http_status >= 500
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

    /// Base URL of `product`: the override if configured, else the regional default.
    pub fn endpoint(&self, product: Product) -> String {
        self.endpoints
            .get(&product)
            .cloned()
            .unwrap_or_else(|| product.default_endpoint(&self.region))
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
        let url = format!("{}/", self.endpoint(product));
        self.with_retries(action, || {
            self.rpc_once(&url, product, action, params, form)
        })
        .await
    }

    /// Run `call` until it succeeds, fails for good, or the retry policy (attempts, total
    /// time, the invocation's deadline) says stop. Transient: see [`is_retryable`], and
    /// transport errors (timeouts, dropped connections). Every product's calls go through here.
    async fn with_retries<T, F, Fut>(&self, action: &str, mut call: F) -> Result<T>
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = Result<T>>,
    {
        let started = Instant::now();
        let mut attempt = 0;
        loop {
            let outcome = call().await;
            let retryable = match &outcome {
                Err(Error::Aliyun {
                    code, http_status, ..
                }) => is_retryable(code, *http_status),
                Err(Error::Transport { .. }) => true,
                _ => false,
            };
            attempt += 1;
            let delay = self.retry.delay(attempt);
            if !retryable || !self.retry.may_retry(attempt, started, delay) {
                return outcome;
            }
            tracing::warn!(
                action,
                attempt,
                delay_ms = delay.as_millis() as u64,
                error = %outcome.as_ref().err().map(|e| e.to_string()).unwrap_or_default(),
                "retrying Alibaba Cloud call"
            );
            tokio::time::sleep(delay).await;
        }
    }

    async fn rpc_once(
        &self,
        url: &str,
        product: Product,
        action: &str,
        params: &[(&str, &str)],
        form: &[(&str, &str)],
    ) -> Result<Value> {
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
        let mut req = self.http.post(format!("{url}?{qs}")).timeout(timeout);
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
        Err(Error::Aliyun {
            action: action.to_string(),
            code,
            message,
            request_id: field("RequestId"),
            http_status: status,
        })
    }

    /// URL of an OSS object (or of the bucket, `key` empty) with its sub-resources: path style
    /// under an override, virtual-hosted otherwise.
    fn oss_url(&self, bucket: &str, key: &str, sub_resources: &[(&str, &str)]) -> String {
        let key_enc = key
            .split('/')
            .map(signer::percent_encode)
            .collect::<Vec<_>>()
            .join("/");
        let mut url = match self.endpoints.get(&Product::Oss) {
            Some(base) => format!("{base}/{bucket}/{key_enc}"),
            None => format!(
                "https://{bucket}.oss-{}.aliyuncs.com/{key_enc}",
                self.region
            ),
        };
        for (i, (k, v)) in sub_resources.iter().enumerate() {
            url.push(if i == 0 { '?' } else { '&' });
            url.push_str(&signer::percent_encode(k));
            if !v.is_empty() {
                url.push('=');
                url.push_str(&signer::percent_encode(v));
            }
        }
        url
    }

    /// GET an object; `None` when it does not exist.
    pub async fn oss_get(&self, bucket: &str, key: &str) -> Result<Option<Vec<u8>>> {
        match self
            .oss_request(&OssRequest::new("GetObject", "GET", bucket, key))
            .await
        {
            Ok(body) => Ok(Some(body)),
            Err(Error::Aliyun { code, .. }) if code == "NoSuchKey" => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// PUT an object, encrypted at rest (SSE AES256). With `forbid_overwrite`, an existing
    /// object is left alone and `AlreadyExists` is returned: the race-safe create.
    pub async fn oss_put(
        &self,
        bucket: &str,
        key: &str,
        body: Vec<u8>,
        forbid_overwrite: bool,
    ) -> Result<PutOutcome> {
        let mut headers = vec![("x-oss-server-side-encryption", "AES256")];
        if forbid_overwrite {
            headers.push(("x-oss-forbid-overwrite", "true"));
        }
        let req = OssRequest {
            headers: &headers,
            body: Some(body),
            content_type: "application/octet-stream",
            ..OssRequest::new("PutObject", "PUT", bucket, key)
        };
        match self.oss_request(&req).await {
            Ok(_) => Ok(PutOutcome::Created),
            Err(Error::Aliyun { code, .. }) if code == "FileAlreadyExists" => {
                Ok(PutOutcome::AlreadyExists)
            }
            Err(e) => Err(e),
        }
    }

    pub async fn oss_delete(&self, bucket: &str, key: &str) -> Result<()> {
        self.oss_request(&OssRequest::new("DeleteObject", "DELETE", bucket, key))
            .await
            .map(|_| ())
    }

    /// Any signed OSS request (object or bucket, with sub-resources such as `?cname&comp=add`),
    /// retried like the RPC calls. Returns the response body.
    pub async fn oss_request(&self, req: &OssRequest<'_>) -> Result<Vec<u8>> {
        self.with_retries(req.action, || self.oss_once(req)).await
    }

    async fn oss_once(&self, r: &OssRequest<'_>) -> Result<Vec<u8>> {
        let date = httpdate::fmt_http_date(std::time::SystemTime::now());
        let content_type = if r.body.is_some() { r.content_type } else { "" };
        let mut oss_headers: Vec<(String, String)> = r
            .headers
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        if let Some(token) = &self.credentials.security_token {
            oss_headers.push(("x-oss-security-token".into(), token.expose().to_string()));
        }
        let resource = signer::oss_resource(r.bucket, r.key, r.sub_resources);
        let signature = signer::oss_v1_signature(
            self.credentials.access_key_secret.expose(),
            &OssRequestParts {
                verb: r.verb,
                content_md5: "",
                content_type,
                date: &date,
                oss_headers: oss_headers.clone(),
                resource: &resource,
            },
        );
        let method = reqwest::Method::from_bytes(r.verb.as_bytes()).expect("valid verb");
        let timeout = self.attempt_timeout(r.action)?;
        let mut req = self
            .http
            .request(method, self.oss_url(r.bucket, r.key, r.sub_resources))
            .timeout(timeout)
            .header("date", &date)
            .header(
                "authorization",
                format!("OSS {}:{signature}", self.credentials.access_key_id),
            );
        for (k, v) in &oss_headers {
            req = req.header(k.as_str(), v.as_str());
        }
        if let Some(body) = &r.body {
            req = req.header("content-type", content_type).body(body.clone());
        }
        let what = format!("OSS {} oss://{}/{}", r.action, r.bucket, r.key);
        let rsp = req.send().await.map_err(|e| Error::Transport {
            action: what.clone(),
            message: describe_reqwest(&e),
        })?;
        let status = rsp.status().as_u16();
        let bytes = rsp.bytes().await.map_err(|e| Error::Transport {
            action: what.clone(),
            message: describe_reqwest(&e),
        })?;
        if (200..300).contains(&status) {
            return Ok(bytes.to_vec());
        }
        let text = String::from_utf8_lossy(&bytes);
        let code = xml_field(&text, "Code").unwrap_or_else(|| format!("HTTP{status}"));
        Err(Error::Aliyun {
            action: what,
            message: self.scrub(scrub_message(
                &xml_field(&text, "Message").unwrap_or_default(),
            )),
            request_id: xml_field(&text, "RequestId").unwrap_or_default(),
            code,
            http_status: status,
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
        self.with_retries(req.action, || self.roa_once(product, req))
            .await
    }

    async fn roa_once(&self, product: Product, r: &RoaRequest<'_>) -> Result<RoaResponse> {
        let action = r.action;
        let url = format!("{}{}", self.endpoint(product), r.path);
        let mut parsed = reqwest::Url::parse(&url)
            .map_err(|e| Error::Config(format!("endpoint of {}: {e}", product.code())))?;
        if !r.query.is_empty() {
            parsed
                .query_pairs_mut()
                .extend_pairs(r.query.iter().copied());
        }
        let host = match (parsed.host_str(), parsed.port()) {
            (Some(h), Some(p)) => format!("{h}:{p}"),
            (Some(h), None) => h.to_string(),
            (None, _) => return Err(Error::Config(format!("endpoint {url} has no host"))),
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
        Err(Error::Aliyun {
            action: action.to_string(),
            code,
            message,
            request_id,
            http_status: status,
        })
    }
}

/// One signed OSS request; build with [`OssRequest::new`] and struct update syntax.
#[derive(Debug, Clone)]
pub struct OssRequest<'a> {
    /// The API name (PutObject, PutCname, ...) for errors and logs.
    pub action: &'a str,
    pub verb: &'a str,
    pub bucket: &'a str,
    /// Empty for bucket operations.
    pub key: &'a str,
    /// Signed sub-resources, e.g. `[("cname", ""), ("comp", "add")]`.
    pub sub_resources: &'a [(&'a str, &'a str)],
    /// Extra headers (`x-oss-*` are signed).
    pub headers: &'a [(&'a str, &'a str)],
    pub content_type: &'a str,
    pub body: Option<Vec<u8>>,
}

impl<'a> OssRequest<'a> {
    pub fn new(action: &'a str, verb: &'a str, bucket: &'a str, key: &'a str) -> Self {
        OssRequest {
            action,
            verb,
            bucket,
            key,
            sub_resources: &[],
            headers: &[],
            content_type: "application/octet-stream",
            body: None,
        }
    }
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

/// The text of `<tag>…</tag>` in an OSS XML error body.
fn xml_field(xml: &str, tag: &str) -> Option<String> {
    let start = xml.find(&format!("<{tag}>"))? + tag.len() + 2;
    let end = start + xml[start..].find(&format!("</{tag}>"))?;
    Some(xml[start..end].to_string())
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
        let xml = "<?xml version=\"1.0\"?><Error><Code>NoSuchKey</Code><Message>gone</Message><RequestId>R1</RequestId></Error>";
        assert_eq!(xml_field(xml, "Code").as_deref(), Some("NoSuchKey"));
        assert_eq!(xml_field(xml, "RequestId").as_deref(), Some("R1"));
        assert_eq!(xml_field(xml, "Nope"), None);
    }
}
