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

/// How transient failures are retried.
#[derive(Debug, Clone, Copy)]
pub struct RetryPolicy {
    pub max_attempts: u32,
    pub base_delay: Duration,
    pub max_delay: Duration,
    /// No new attempt starts after this much time has passed since the first one.
    pub max_elapsed: Duration,
    pub request_timeout: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 6,
            base_delay: Duration::from_millis(200),
            max_delay: Duration::from_secs(5),
            max_elapsed: Duration::from_secs(30),
            request_timeout: Duration::from_secs(15),
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
        self.retry = retry;
        self
    }

    pub fn region(&self) -> &str {
        &self.region
    }

    // For the V3-signed ROA calls in roa.rs.
    pub(crate) fn http(&self) -> &reqwest::Client {
        &self.http
    }
    pub(crate) fn credentials(&self) -> &Credentials {
        &self.credentials
    }
    pub(crate) fn retry_policy(&self) -> RetryPolicy {
        self.retry
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
        let started = Instant::now();
        let mut attempt = 0;
        loop {
            let outcome = self.rpc_once(&url, product, action, params, form).await;
            let retryable = match &outcome {
                Ok(_) => false,
                Err(Error::Aliyun {
                    code, http_status, ..
                }) => is_retryable(code, *http_status),
                Err(Error::Transport { .. }) => true,
                Err(_) => false,
            };
            attempt += 1;
            if !retryable
                || attempt >= self.retry.max_attempts
                || started.elapsed() >= self.retry.max_elapsed
            {
                return outcome;
            }
            let delay = self.retry.delay(attempt);
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
        let qs = query
            .iter()
            .map(|(k, v)| {
                format!(
                    "{}={}",
                    signer::percent_encode(k),
                    signer::percent_encode(v)
                )
            })
            .collect::<Vec<_>>()
            .join("&");

        let mut req = self.http.post(format!("{url}?{qs}"));
        if !form.is_empty() {
            let body = form
                .iter()
                .map(|(k, v)| {
                    format!(
                        "{}={}",
                        signer::percent_encode(k),
                        signer::percent_encode(v)
                    )
                })
                .collect::<Vec<_>>()
                .join("&");
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
        let message = match field("Message") {
            m if m.is_empty() => text.chars().take(200).collect(),
            m => m,
        };
        Err(Error::Aliyun {
            action: action.to_string(),
            code,
            message,
            request_id: field("RequestId"),
            http_status: status,
        })
    }

    /// URL of an OSS object: path style under an override, virtual-hosted otherwise.
    fn oss_url(&self, bucket: &str, key: &str) -> String {
        let key_enc = key
            .split('/')
            .map(signer::percent_encode)
            .collect::<Vec<_>>()
            .join("/");
        match self.endpoints.get(&Product::Oss) {
            Some(base) => format!("{base}/{bucket}/{key_enc}"),
            None => format!(
                "https://{bucket}.oss-{}.aliyuncs.com/{key_enc}",
                self.region
            ),
        }
    }

    /// GET an object; `None` when it does not exist.
    pub async fn oss_get(&self, bucket: &str, key: &str) -> Result<Option<Vec<u8>>> {
        match self
            .oss_call("GetObject", "GET", bucket, key, None, &[])
            .await
        {
            Ok(body) => Ok(Some(body)),
            Err(Error::Aliyun { code, .. }) if code == "NoSuchKey" => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// PUT an object. With `forbid_overwrite`, an existing object is left alone and
    /// `AlreadyExists` is returned: the race-safe create.
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
        match self
            .oss_call("PutObject", "PUT", bucket, key, Some(body), &headers)
            .await
        {
            Ok(_) => Ok(PutOutcome::Created),
            Err(Error::Aliyun { code, .. }) if code == "FileAlreadyExists" => {
                Ok(PutOutcome::AlreadyExists)
            }
            Err(e) => Err(e),
        }
    }

    pub async fn oss_delete(&self, bucket: &str, key: &str) -> Result<()> {
        self.oss_call("DeleteObject", "DELETE", bucket, key, None, &[])
            .await
            .map(|_| ())
    }

    async fn oss_call(
        &self,
        action: &str,
        verb: &str,
        bucket: &str,
        key: &str,
        body: Option<Vec<u8>>,
        extra: &[(&str, &str)],
    ) -> Result<Vec<u8>> {
        let started = Instant::now();
        let mut attempt = 0;
        loop {
            let outcome = self
                .oss_once(action, verb, bucket, key, body.clone(), extra)
                .await;
            let retryable = match &outcome {
                Err(Error::Aliyun {
                    code, http_status, ..
                }) => is_retryable(code, *http_status),
                Err(Error::Transport { .. }) => true,
                _ => false,
            };
            attempt += 1;
            if !retryable
                || attempt >= self.retry.max_attempts
                || started.elapsed() >= self.retry.max_elapsed
            {
                return outcome;
            }
            tokio::time::sleep(self.retry.delay(attempt)).await;
        }
    }

    async fn oss_once(
        &self,
        action: &str,
        verb: &str,
        bucket: &str,
        key: &str,
        body: Option<Vec<u8>>,
        extra: &[(&str, &str)],
    ) -> Result<Vec<u8>> {
        let date = httpdate::fmt_http_date(std::time::SystemTime::now());
        let content_type = if body.is_some() {
            "application/octet-stream"
        } else {
            ""
        };
        let mut oss_headers: Vec<(String, String)> = extra
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        if let Some(token) = &self.credentials.security_token {
            oss_headers.push(("x-oss-security-token".into(), token.expose().to_string()));
        }
        let resource = format!("/{bucket}/{key}");
        let signature = signer::oss_v1_signature(
            self.credentials.access_key_secret.expose(),
            &OssRequestParts {
                verb,
                content_md5: "",
                content_type,
                date: &date,
                oss_headers: oss_headers.clone(),
                resource: &resource,
            },
        );
        let method = reqwest::Method::from_bytes(verb.as_bytes()).expect("valid verb");
        let mut req = self
            .http
            .request(method, self.oss_url(bucket, key))
            .header("date", &date)
            .header(
                "authorization",
                format!("OSS {}:{signature}", self.credentials.access_key_id),
            );
        for (k, v) in &oss_headers {
            req = req.header(k.as_str(), v.as_str());
        }
        if let Some(body) = body {
            req = req.header("content-type", content_type).body(body);
        }
        let rsp = req.send().await.map_err(|e| Error::Transport {
            action: action.to_string(),
            message: describe_reqwest(&e),
        })?;
        let status = rsp.status().as_u16();
        let bytes = rsp.bytes().await.map_err(|e| Error::Transport {
            action: action.to_string(),
            message: describe_reqwest(&e),
        })?;
        if (200..300).contains(&status) {
            return Ok(bytes.to_vec());
        }
        let text = String::from_utf8_lossy(&bytes);
        let code = xml_field(&text, "Code").unwrap_or_else(|| format!("HTTP{status}"));
        Err(Error::Aliyun {
            action: format!("OSS {action} oss://{bucket}/{key}"),
            message: xml_field(&text, "Message").unwrap_or_default(),
            request_id: xml_field(&text, "RequestId").unwrap_or_default(),
            code,
            http_status: status,
        })
    }
}

/// The text of `<tag>…</tag>` in an OSS XML error body.
fn xml_field(xml: &str, tag: &str) -> Option<String> {
    let start = xml.find(&format!("<{tag}>"))? + tag.len() + 2;
    let end = start + xml[start..].find(&format!("</{tag}>"))?;
    Some(xml[start..end].to_string())
}

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
    fn xml_errors_are_parsed() {
        let xml = "<?xml version=\"1.0\"?><Error><Code>NoSuchKey</Code><Message>gone</Message><RequestId>R1</RequestId></Error>";
        assert_eq!(xml_field(xml, "Code").as_deref(), Some("NoSuchKey"));
        assert_eq!(xml_field(xml, "RequestId").as_deref(), Some("R1"));
        assert_eq!(xml_field(xml, "Nope"), None);
    }
}
