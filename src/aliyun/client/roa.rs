//! ROA actions (a method on a path, JSON bodies), signed with V3 (ACS3-HMAC-SHA256) like the
//! official SDKs: FC 3.
use bytes::Bytes;
use serde_json::Value;

use super::retry::Attempt;
use super::transport::{nonce, or_raw, timestamp, Refusal};
use super::{signer, AliyunClient, Product};
use crate::error::{Error, Result};
use crate::https::Response;

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

impl AliyunClient {
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

    /// The URL of `r` and its signed headers, `authorization` last.
    fn roa_signed(
        &self,
        product: Product,
        r: &RoaRequest<'_>,
    ) -> Result<(url::Url, Vec<(String, String)>)> {
        let url = format!("{}{}", self.endpoint(product), r.path);
        let mut parsed = url::Url::parse(&url)
            .map_err(|e| Error::Config(format!("[aliyun.endpoints] {}: {e}", product.code())))?;
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
        let body = r.body.as_ref().map(|(b, _)| b.as_slice());
        let payload = signer::sha256_hex(body.unwrap_or_default());
        let mut headers: Vec<(String, String)> = vec![
            ("host".into(), host),
            ("x-acs-action".into(), r.action.into()),
            ("x-acs-version".into(), product.version().into()),
            ("x-acs-date".into(), timestamp()),
            ("x-acs-signature-nonce".into(), nonce()),
            ("x-acs-content-sha256".into(), payload.clone()),
        ];
        if let Some((_, content_type)) = &r.body {
            headers.push(("content-type".into(), content_type.to_string()));
        }
        if let Some(token) = &self.credentials.security_token {
            let id = self.credentials.access_key_id.clone();
            headers.push(("x-acs-accesskey-id".into(), id));
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
        headers.push(("authorization".into(), authorization));
        Ok((parsed, headers))
    }

    async fn roa_once(&self, product: Product, r: &RoaRequest<'_>) -> Attempt<RoaResponse> {
        let (url, headers) = self.roa_signed(product, r)?;
        // The client sets Host from the URL (the value signed above).
        let headers: Vec<(&str, &str)> = headers
            .iter()
            .filter(|(k, _)| k != "host")
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        let verb = http::Method::from_bytes(r.method.as_bytes())
            .map_err(|_| Error::Other(format!("{}: bad HTTP method {}", r.action, r.method)))?;
        let body = r.body.as_ref().map(|(b, _)| Bytes::from(b.clone()));
        tracing::debug!(
            action = r.action,
            product = product.code(),
            "calling Alibaba Cloud (ROA)"
        );
        let rsp = self
            .send(
                r.action,
                verb,
                url.as_str(),
                &headers,
                body.unwrap_or_default(),
            )
            .await?;
        let header_request_id = ["x-acs-request-id", "x-fc-request-id"]
            .iter()
            .find_map(|h| rsp.header(h))
            .unwrap_or_default()
            .to_string();
        if rsp.status.is_success() {
            return Ok(RoaResponse {
                status: rsp.status.as_u16(),
                request_id: header_request_id,
                body: rsp.body.to_vec(),
            });
        }
        Err(self.refused(r.action, &rsp, roa_refusal(&rsp, header_request_id)))
    }
}

/// ROA errors come as {"Code","Message","RequestId"} (FC 3 also in lower camel case); the
/// request id falls back to the response header's.
fn roa_refusal(rsp: &Response, header_request_id: String) -> Refusal {
    let text = String::from_utf8_lossy(&rsp.body);
    let json: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
    let field = |a: &str, b: &str| {
        json.get(a)
            .or_else(|| json.get(b))
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string()
    };
    Refusal {
        code: field("Code", "code"),
        message: super::ram_hint(or_raw(field("Message", "message"), &text), &json),
        request_id: match field("RequestId", "requestId") {
            r if r.is_empty() => header_request_id,
            r => r,
        },
    }
}
