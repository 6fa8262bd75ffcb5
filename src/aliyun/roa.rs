//! ROA-style calls (REST path, JSON or raw body) signed with V3 (ACS3-HMAC-SHA256): what FC 3's
//! API takes. Only what the fan-out needs: one POST with a body, bounded retries on throttling
//! and server errors.
use std::collections::BTreeMap;
use std::time::Instant;

use super::acs3::{self, SignedRequest};
use super::client::{is_retryable, AliyunClient};
use super::Product;
use crate::error::{Error, Result};

/// What an ROA call answered: status, the request id (`x-fc-request-id` / `x-acs-request-id`)
/// and the body.
#[derive(Debug)]
pub struct RoaResponse {
    pub status: u16,
    pub request_id: String,
    pub body: Vec<u8>,
}

impl AliyunClient {
    /// `POST <endpoint><path>?<query>` with `body` as `application/octet-stream` and the
    /// `extra` headers, all signed. `action`/`version` go into `x-acs-action`/`x-acs-version`.
    pub async fn roa_post(
        &self,
        product: Product,
        action: &str,
        path: &str,
        query: &BTreeMap<String, String>,
        extra: &[(&str, &str)],
        body: Vec<u8>,
    ) -> Result<RoaResponse> {
        let started = Instant::now();
        let mut attempt = 0;
        loop {
            let outcome = self
                .roa_once(product, action, path, query, extra, body.clone())
                .await;
            let retryable = match &outcome {
                Err(Error::Aliyun {
                    code, http_status, ..
                }) => is_retryable(code, *http_status),
                _ => false,
            };
            attempt += 1;
            let retry = self.retry_policy();
            if !retryable || attempt >= retry.max_attempts || started.elapsed() >= retry.max_elapsed
            {
                return outcome;
            }
            tokio::time::sleep(retry.delay(attempt)).await;
        }
    }

    async fn roa_once(
        &self,
        product: Product,
        action: &str,
        path: &str,
        query: &BTreeMap<String, String>,
        extra: &[(&str, &str)],
        body: Vec<u8>,
    ) -> Result<RoaResponse> {
        let base = self.endpoint(product);
        let url = reqwest::Url::parse(&format!("{base}{path}"))
            .map_err(|e| Error::Config(format!("[aliyun.endpoints] {}: {e}", product.code())))?;
        let host = match (url.host_str(), url.port()) {
            (Some(h), Some(p)) => format!("{h}:{p}"),
            (Some(h), None) => h.to_string(),
            (None, _) => return Err(Error::Config(format!("{base} has no host"))),
        };
        let credentials = self.credentials();
        let payload_sha256 = acs3::sha256_hex(&body);
        let mut headers: BTreeMap<String, String> = [
            ("host", host),
            ("x-acs-action", action.to_string()),
            ("x-acs-version", product.version().to_string()),
            ("x-acs-date", super::client::timestamp()),
            ("x-acs-signature-nonce", super::client::nonce()),
            ("x-acs-content-sha256", payload_sha256.clone()),
            ("content-type", "application/octet-stream".to_string()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect();
        if let Some(token) = &credentials.security_token {
            headers.insert(
                "x-acs-accesskey-id".into(),
                credentials.access_key_id.clone(),
            );
            headers.insert("x-acs-security-token".into(), token.expose().to_string());
        }
        for (k, v) in extra {
            headers.insert(k.to_ascii_lowercase(), v.to_string());
        }
        let authorization = acs3::authorization(
            &credentials.access_key_id,
            credentials.access_key_secret.expose(),
            &SignedRequest {
                method: "POST",
                path,
                query,
                headers: &headers,
                payload_sha256: &payload_sha256,
            },
        );
        let mut req = self.http().post(url).query(query);
        for (k, v) in &headers {
            if k != "host" {
                req = req.header(k.as_str(), v.as_str());
            }
        }
        let transport = |e: reqwest::Error| Error::Transport {
            action: action.to_string(),
            message: super::client::describe_reqwest(&e),
        };
        let rsp = req
            .header("authorization", authorization)
            .body(body)
            .send()
            .await
            .map_err(transport)?;
        let status = rsp.status().as_u16();
        let header = |k: &str| {
            rsp.headers()
                .get(k)
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default()
                .to_string()
        };
        let mut request_id = header("x-fc-request-id");
        if request_id.is_empty() {
            request_id = header("x-acs-request-id");
        }
        let body = rsp.bytes().await.map_err(transport)?.to_vec();
        if (200..300).contains(&status) {
            return Ok(RoaResponse {
                status,
                request_id,
                body,
            });
        }
        let json: serde_json::Value = serde_json::from_slice(&body).unwrap_or_default();
        let field = |k: &str| json[k].as_str().unwrap_or_default().to_string();
        Err(Error::Aliyun {
            action: action.to_string(),
            code: Some(field("Code"))
                .filter(|c| !c.is_empty())
                .unwrap_or_else(|| format!("HTTP{status}")),
            message: field("Message"),
            request_id: Some(field("RequestId"))
                .filter(|r| !r.is_empty())
                .unwrap_or(request_id),
            http_status: status,
        })
    }
}
