//! Notifications after a run that renewed, issued or failed something: a generic JSON webhook
//! and/or a DingTalk custom robot (signed: `timestamp` + `sign` = urlencode(base64(HMAC-SHA256(
//! secret, "<timestamp>\n<secret>")))). Best effort: a failed notification is logged, never
//! fails the run. Messages carry names, statuses, serials, dates and error codes/RequestIds —
//! never a key, a token or a webhook URL.
use std::time::Duration;

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use hmac::{Hmac, Mac};
use serde::Deserialize;
use serde_json::{json, Value};
use sha2::Sha256;

use crate::aliyun::signer::percent_encode;
use crate::aliyun::AliyunClient;
use crate::error::{Error, Result};
use crate::https::{Https, Limits};
use crate::result::{CertResult, CertStatus, RunResult};
use crate::secret::Secret;
use crate::secret_ref::SecretRef;

/// One notification's whole exchange.
const NOTIFY_TIMEOUT: Duration = Duration::from_secs(10);
/// Webhook answers are read only for DingTalk's `{"errcode":0,...}`; more is not kept.
const MAX_ANSWER: usize = 64 * 1024;

/// `[notify]`. URLs may be written as-is or as `kms:`/`env:` references (they carry tokens).
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct NotifyConfig {
    /// Generic webhook: POSTed a JSON document (see README).
    #[serde(default)]
    pub webhook: Option<String>,
    /// DingTalk robot URL `https://oapi.dingtalk.com/robot/send?access_token=…`.
    #[serde(default)]
    pub dingtalk_webhook: Option<String>,
    /// The robot's signing secret (`SEC…`) as kms:<secret> | env:<VAR>.
    #[serde(default)]
    pub dingtalk_secret: Option<String>,
}

impl NotifyConfig {
    pub fn validate(&self) -> std::result::Result<(), String> {
        for (key, v) in [
            ("webhook", &self.webhook),
            ("dingtalk_webhook", &self.dingtalk_webhook),
        ] {
            if let Some(v) = v {
                if !(v.starts_with("https://") || v.starts_with("http://")) {
                    SecretRef::parse(v).map_err(|e| {
                        format!("[notify] {key}: an http(s) URL, or a reference that {e}")
                    })?;
                }
            }
        }
        if let Some(s) = &self.dingtalk_secret {
            SecretRef::parse(s).map_err(|e| format!("[notify] dingtalk_secret {e}"))?;
            if self.dingtalk_webhook.is_none() {
                return Err("[notify] dingtalk_secret is set but dingtalk_webhook is not".into());
            }
        }
        Ok(())
    }

    fn is_empty(&self) -> bool {
        self.webhook.is_none() && self.dingtalk_webhook.is_none()
    }
}

/// Send the notifications `result` calls for (nothing if nothing was renewed, issued or failed).
pub async fn send(config: &NotifyConfig, result: &RunResult, client: &AliyunClient) {
    if config.is_empty() {
        return;
    }
    let Some(message) = Message::of(result) else {
        return;
    };
    let http = Https::new();
    if let Some(url) = &config.webhook {
        match post_webhook(&http, client, url, &message).await {
            Ok(()) => tracing::info!("notify: webhook sent"),
            Err(e) => tracing::warn!(error = %e, "notify: webhook failed"),
        }
    }
    if let Some(url) = &config.dingtalk_webhook {
        match post_dingtalk(
            &http,
            client,
            url,
            config.dingtalk_secret.as_deref(),
            &message,
        )
        .await
        {
            Ok(()) => tracing::info!("notify: DingTalk sent"),
            Err(e) => tracing::warn!(error = %e, "notify: DingTalk failed"),
        }
    }
}

/// What is worth telling about a run.
#[derive(Debug, Clone)]
pub struct Message {
    /// `failed` if anything failed, else `renewed`.
    pub event: &'static str,
    pub text: String,
    pub json: Value,
}

impl Message {
    pub fn of(result: &RunResult) -> Option<Message> {
        let notable: Vec<&CertResult> = result
            .certificates
            .iter()
            .filter(|c| {
                matches!(
                    c.status,
                    CertStatus::Renewed | CertStatus::Issued | CertStatus::Failed
                )
            })
            .collect();
        if notable.is_empty() {
            return None;
        }
        let failed = notable.iter().any(|c| c.status == CertStatus::Failed);
        let event = if failed { "failed" } else { "renewed" };
        let mut lines = vec![format!(
            "alicert: {} (request {})",
            if failed {
                "some certificates FAILED"
            } else {
                "certificates renewed"
            },
            result.request_id
        )];
        let mut certs = Vec::new();
        for c in &notable {
            let status = serde_json::to_value(c.status).unwrap_or(Value::Null);
            let mut line = format!("- {}: {}", c.name, status.as_str().unwrap_or_default());
            if let Some(s) = &c.serial {
                line.push_str(&format!(", serial {s}"));
            }
            if let Some(t) = &c.not_after {
                line.push_str(&format!(", valid until {t}"));
            }
            lines.push(line);
            let mut targets = Vec::new();
            for t in &c.targets {
                let status = serde_json::to_value(t.status).unwrap_or(Value::Null);
                let mut tj =
                    json!({"kind": t.kind, "id": t.id, "status": status, "serial": t.serial});
                if let Some(e) = &t.error {
                    lines.push(format!(
                        "  - {} {}: {} (RequestId {})",
                        t.kind,
                        t.id,
                        e.code,
                        e.request_id.as_deref().unwrap_or("-")
                    ));
                    tj["error"] = error_json(&e.code, &e.message, e.request_id.as_deref());
                }
                targets.push(tj);
            }
            let mut cj = json!({
                "name": c.name, "status": status, "domains": c.domains, "serial": c.serial,
                "not_after": c.not_after, "reason": c.reason, "targets": targets,
            });
            if let Some(e) = &c.error {
                lines.push(format!("  error {}: {}", e.code, safe_message(&e.message)));
                cj["error"] = error_json(&e.code, &e.message, e.request_id.as_deref());
            }
            certs.push(cj);
        }
        let text = lines.join("\n");
        Some(Message {
            event,
            json: json!({
                "source": "alicert",
                "event": event,
                "ok": result.ok,
                "request_id": result.request_id,
                "summary": text,
                "certificates": certs,
            }),
            text,
        })
    }
}

fn error_json(code: &str, message: &str, request_id: Option<&str>) -> Value {
    json!({"code": code, "message": safe_message(message), "request_id": request_id})
}

/// Error messages come from services; keep them short and cut anything that looks like PEM.
fn safe_message(m: &str) -> String {
    let cut = m.find("-----BEGIN").unwrap_or(m.len());
    let mut s: String = m[..cut].chars().take(300).collect();
    if s.len() < m.len() {
        s.push('…');
    }
    s
}

async fn url_of(client: &AliyunClient, v: &str, key: &str) -> Result<Secret> {
    if v.starts_with("https://") || v.starts_with("http://") {
        return Ok(Secret::new(v));
    }
    let r = SecretRef::parse(v).map_err(|e| Error::Config(format!("[notify] {key}: {e}")))?;
    r.resolve(client, &format!("[notify] {key}")).await
}

async fn post_webhook(
    http: &Https,
    client: &AliyunClient,
    url: &str,
    message: &Message,
) -> Result<()> {
    let url = url_of(client, url, "webhook").await?;
    let rsp = post_json(http, &url, &message.json)
        .await
        .map_err(|e| Error::Other(format!("webhook: {e}")))?;
    if !rsp.status.is_success() {
        return Err(Error::Other(format!(
            "webhook answered HTTP {}",
            rsp.status
        )));
    }
    Ok(())
}

/// POST `body` as JSON to `url` within [`NOTIFY_TIMEOUT`]. No redirect is followed (the URL
/// carries a token; a 3xx is reported as the answer), and errors never name the URL.
async fn post_json(
    http: &Https,
    url: &Secret,
    body: &Value,
) -> std::result::Result<crate::https::Response, crate::https::HttpError> {
    let limits = Limits {
        timeout: NOTIFY_TIMEOUT,
        max_body: MAX_ANSWER,
    };
    let headers = [("content-type", "application/json")];
    let body = bytes::Bytes::from(body.to_string());
    http.send(http::Method::POST, url.expose(), &headers, body, limits)
        .await
}

/// DingTalk's robot signature for `timestamp_ms` (base64, before URL encoding).
pub fn dingtalk_sign(secret: &str, timestamp_ms: i64) -> String {
    let mut mac =
        Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC accepts any key length");
    mac.update(format!("{timestamp_ms}\n{secret}").as_bytes());
    B64.encode(mac.finalize().into_bytes())
}

async fn post_dingtalk(
    http: &Https,
    client: &AliyunClient,
    url: &str,
    secret: Option<&str>,
    message: &Message,
) -> Result<()> {
    let url = url_of(client, url, "dingtalk_webhook").await?;
    let mut full = url.expose().to_string();
    if let Some(reference) = secret {
        let r = SecretRef::parse(reference)
            .map_err(|e| Error::Config(format!("[notify] dingtalk_secret {e}")))?;
        let secret = r.resolve(client, "[notify] dingtalk_secret").await?;
        let ts = (time::OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000) as i64;
        let sign = dingtalk_sign(secret.expose(), ts);
        full.push(if full.contains('?') { '&' } else { '?' });
        full.push_str(&format!("timestamp={ts}&sign={}", percent_encode(&sign)));
    }
    let full = Secret::new(full);
    let body = json!({"msgtype": "text", "text": {"content": message.text}});
    let rsp = post_json(http, &full, &body)
        .await
        .map_err(|e| Error::Other(format!("DingTalk: {e}")))?;
    let status = rsp.status;
    let answer: Value = serde_json::from_slice(&rsp.body).unwrap_or(Value::Null);
    // The robot answers 200 with {"errcode":0,"errmsg":"ok"}; anything else is a refusal.
    match answer["errcode"].as_i64() {
        Some(0) if status.is_success() => Ok(()),
        _ => Err(Error::Other(format!(
            "DingTalk answered HTTP {status}: errcode {} {}",
            answer["errcode"],
            answer["errmsg"].as_str().unwrap_or_default()
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // DingTalk's documented Python recipe, run once (Python 3.11):
    //   base64.b64encode(hmac.new(secret.encode(), f"{ts}\n{secret}".encode(), hashlib.sha256).digest())
    //   with ts = "1767322800000", secret = "SEC0123456789abcdef+/=", then urllib.parse.quote_plus.
    #[test]
    fn dingtalk_signature_matches_reference() {
        let sign = dingtalk_sign("SEC0123456789abcdef+/=", 1_767_322_800_000);
        assert_eq!(sign, "BJzMLxp2/OKoUAd2n/GjjjUg7Gmgfu2060hvPrlaorg=");
        assert_eq!(
            percent_encode(&sign),
            "BJzMLxp2%2FOKoUAd2n%2FGjjjUg7Gmgfu2060hvPrlaorg%3D"
        );
    }

    #[test]
    fn config_is_checked() {
        let ok = NotifyConfig {
            webhook: Some("env:ALICERT_WEBHOOK".into()),
            dingtalk_webhook: Some("https://oapi.dingtalk.com/robot/send?access_token=x".into()),
            dingtalk_secret: Some("kms:alicert/dingtalk".into()),
        };
        ok.validate().unwrap();
        let bad = NotifyConfig {
            dingtalk_secret: Some("SECplain".into()),
            ..ok.clone()
        };
        assert!(bad.validate().unwrap_err().contains("dingtalk_secret"));
        assert_eq!(safe_message("x -----BEGIN PRIVATE KEY----- y"), "x …");
    }
}
