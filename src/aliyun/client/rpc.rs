//! RPC-style actions (HMAC-SHA1, SignatureVersion 1.0): every parameter in the query string,
//! secrets optionally in a signed form body.
use std::collections::BTreeMap;

use bytes::Bytes;
use serde_json::Value;

use super::retry::Attempt;
use super::transport::{form_encode, nonce, or_raw, timestamp, Refusal};
use super::{signer, AliyunClient, Product};
use crate::error::{Error, Result};

impl AliyunClient {
    /// Call an RPC action with `params` in the query string. Returns the JSON body.
    pub async fn rpc(
        &self,
        product: Product,
        action: &str,
        params: &[(&str, &str)],
    ) -> Result<Value> {
        self.rpc_with_form_retrying(product, action, params, &[], &[])
            .await
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

    /// [`AliyunClient::rpc_with_form`], also retrying the product-specific codes in
    /// `extra_retryable` (see [`super::is_retryable_with`]), e.g. an in-configuration code.
    /// Every RPC call goes through here.
    pub async fn rpc_with_form_retrying(
        &self,
        product: Product,
        action: &str,
        params: &[(&str, &str)],
        form: &[(&str, &str)],
        extra_retryable: &[&str],
    ) -> Result<Value> {
        let mut url = url::Url::parse(&self.endpoint(product)).map_err(|e| {
            Error::Config(format!(
                "[aliyun.endpoints] {}: not a URL ({e})",
                product.code()
            ))
        })?;
        if !url.path().ends_with('/') {
            let path = format!("{}/", url.path());
            url.set_path(&path);
        }
        self.with_retries(action, extra_retryable, || async {
            // Every attempt, retries too, within the action's documented rate quota.
            self.quotas.admit(product, action).await;
            self.rpc_once(&url, product, action, params, form).await
        })
        .await
    }

    /// The signed query string: `params`, the common parameters (fresh nonce and time) and
    /// `Signature` over all of them plus the form fields.
    fn rpc_query(
        &self,
        product: Product,
        action: &str,
        params: &[(&str, &str)],
        form: &[(&str, &str)],
    ) -> String {
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
        form_encode(query.iter().map(|(k, v)| (k.as_str(), v.as_str())))
    }

    async fn rpc_once(
        &self,
        url: &url::Url,
        product: Product,
        action: &str,
        params: &[(&str, &str)],
        form: &[(&str, &str)],
    ) -> Attempt<Value> {
        let mut url = url.clone();
        url.set_query(Some(&self.rpc_query(product, action, params, form)));
        let (headers, body): (&[(&str, &str)], Bytes) = if form.is_empty() {
            (&[], Bytes::new())
        } else {
            let body = form_encode(form.iter().copied());
            (
                &[("content-type", "application/x-www-form-urlencoded")],
                Bytes::from(body),
            )
        };
        tracing::debug!(action, product = product.code(), "calling Alibaba Cloud");
        let rsp = self
            .send(action, http::Method::POST, url.as_str(), headers, body)
            .await?;
        let text = String::from_utf8_lossy(&rsp.body);
        let body: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
        if rsp.status.is_success() && body.is_object() {
            return Ok(body);
        }
        let field = |k: &str| {
            body.get(k)
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string()
        };
        let refusal = Refusal {
            code: field("Code"),
            message: super::ram_hint(or_raw(field("Message"), &text), &body),
            request_id: field("RequestId"),
        };
        Err(self.refused(action, &rsp, refusal))
    }
}
