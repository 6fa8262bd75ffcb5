//! `ALIBABA_CLOUD_CREDENTIALS_URI`: a GET answering `{Code: "Success", AccessKeyId,
//! AccessKeySecret, SecurityToken, Expiration}` (alibabacloud-credentials 1.0.12
//! provider/uri.py; 5 s connect and 10 s read timeouts there, 10 s in all here).
use std::time::Duration;

use super::cache::Temporary;
use crate::error::{Error, Result};
use crate::https::{Https, Limits};

pub async fn fetch(uri: &str) -> Result<Temporary> {
    let parsed = url::Url::parse(uri)
        .ok()
        .filter(|u| matches!(u.scheme(), "http" | "https"));
    if parsed.is_none() {
        return Err(Error::Config(
            "ALIBABA_CLOUD_CREDENTIALS_URI: not an http(s) URL".into(),
        ));
    }
    let limits = Limits {
        timeout: Duration::from_secs(10),
        max_body: 16 * 1024,
    };
    // The URL itself is never part of an error: it may carry a token in its query.
    let r = Https::new()
        .send(http::Method::GET, uri, &[], bytes::Bytes::new(), limits)
        .await
        .map_err(|e| Error::Config(format!("ALIBABA_CLOUD_CREDENTIALS_URI: {e}")))?;
    if !r.status.is_success() {
        return Err(Error::Config(format!(
            "ALIBABA_CLOUD_CREDENTIALS_URI: answered HTTP {}",
            r.status.as_u16()
        )));
    }
    super::ecs::parse_success(&r.body, "ALIBABA_CLOUD_CREDENTIALS_URI")
}
