//! Notifications after a run that renewed, issued or failed something, one file per channel:
//! a generic JSON webhook, DingTalk, Lark/Feishu, WeCom, Slack (each POSTed JSON over the one
//! HTTP stack) and e-mail through DirectMail. Messages link to the report (a V4-presigned URL
//! of `report.html`, at most 7 days) when one was written. Best effort: a failed channel is
//! logged, never fails the run; `{"action":"test-notify"}` sends a test message to every
//! channel and fails if any refused. Messages carry names, statuses, serials, dates and error
//! codes/RequestIds — never a key, a token or a webhook URL.
pub mod dingtalk;
pub mod lark;
pub mod mail;
pub mod slack;
pub mod webhook;
pub mod wecom;

use std::time::Duration;

use serde::Deserialize;
use serde_json::{json, Value};

use crate::aliyun::AliyunClient;
use crate::error::{Error, Result};
use crate::https::{Https, Limits};
use crate::result::{CertResult, CertStatus, Drift, DriftAction, RunResult, TargetResult};
use crate::secret::Secret;
use crate::secret_ref::SecretRef;

pub use crate::report::safe_message;
/// Kept for callers of the first version.
pub use dingtalk::sign as dingtalk_sign;

/// One notification's whole exchange.
const NOTIFY_TIMEOUT: Duration = Duration::from_secs(10);
/// Answers are read only for the channel's status; more is not kept.
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
    #[serde(default)]
    pub lark: Option<lark::LarkConfig>,
    #[serde(default)]
    pub wecom: Option<wecom::WecomConfig>,
    #[serde(default)]
    pub slack: Option<slack::SlackConfig>,
    #[serde(default)]
    pub mail: Option<mail::MailConfig>,
}

/// A URL setting: an http(s) URL, or a `kms:`/`env:`/… reference to one.
pub(crate) fn check_reference(key: &str, v: &str) -> std::result::Result<(), String> {
    if v.starts_with("https://") || v.starts_with("http://") {
        return Ok(());
    }
    SecretRef::parse(v)
        .map(|_| ())
        .map_err(|e| format!("{key}: an http(s) URL, or a reference that {e}"))
}

impl NotifyConfig {
    /// The configured webhook URLs and signing secrets with their keys (each a literal value
    /// or a `kms:`/`oss://`/`file:`/`env:` reference).
    pub fn secret_values(&self) -> Vec<(&'static str, &str)> {
        let values = [
            ("[notify] webhook", self.webhook.as_deref()),
            (
                "[notify] dingtalk_webhook",
                self.dingtalk_webhook.as_deref(),
            ),
            ("[notify] dingtalk_secret", self.dingtalk_secret.as_deref()),
            (
                "[notify.lark] webhook",
                self.lark.as_ref().map(|l| l.webhook.as_str()),
            ),
            (
                "[notify.lark] secret",
                self.lark.as_ref().and_then(|l| l.secret.as_deref()),
            ),
            (
                "[notify.wecom] webhook",
                self.wecom.as_ref().map(|w| w.webhook.as_str()),
            ),
            (
                "[notify.slack] webhook",
                self.slack.as_ref().map(|w| w.webhook.as_str()),
            ),
        ];
        values
            .into_iter()
            .filter_map(|(k, v)| v.map(|v| (k, v)))
            .collect()
    }

    /// `[notify]`: reading the webhook URLs and signing secrets stored by reference, and
    /// DirectMail with `[notify.mail]`.
    pub fn ram_statements(
        &self,
        scope: &crate::aliyun::ram::Scope,
    ) -> Vec<crate::aliyun::ram::Statement> {
        let refs = self.secret_values().into_iter().map(|(_, v)| v);
        let mut out = crate::secret_ref::read_statements(refs, scope);
        if self.mail.is_some() {
            out.extend(mail::ram_statements());
        }
        out
    }

    pub fn validate(&self) -> std::result::Result<(), String> {
        for (key, v) in [
            ("webhook", &self.webhook),
            ("dingtalk_webhook", &self.dingtalk_webhook),
        ] {
            if let Some(v) = v {
                check_reference(&format!("[notify] {key}"), v)?;
            }
        }
        if let Some(s) = &self.dingtalk_secret {
            SecretRef::parse(s).map_err(|e| format!("[notify] dingtalk_secret {e}"))?;
            if self.dingtalk_webhook.is_none() {
                return Err("[notify] dingtalk_secret is set but dingtalk_webhook is not".into());
            }
        }
        if let Some(c) = &self.lark {
            c.validate()?;
        }
        if let Some(c) = &self.wecom {
            c.validate()?;
        }
        if let Some(c) = &self.slack {
            c.validate()?;
        }
        if let Some(c) = &self.mail {
            c.validate()?;
        }
        Ok(())
    }

    fn is_empty(&self) -> bool {
        self.webhook.is_none()
            && self.dingtalk_webhook.is_none()
            && self.lark.is_none()
            && self.wecom.is_none()
            && self.slack.is_none()
            && self.mail.is_none()
    }
}

/// Send the notifications `result` calls for (nothing if nothing was renewed, issued or
/// failed), with `link` to the report when one was written.
pub async fn send(
    config: &NotifyConfig,
    result: &RunResult,
    client: &AliyunClient,
    link: Option<String>,
) {
    if config.is_empty() {
        return;
    }
    let Some(message) = Message::of(result).map(|m| m.with_link(link)) else {
        return;
    };
    for (channel, outcome) in send_all(config, client, &message).await {
        match outcome {
            Ok(()) => tracing::info!(channel, "notify: sent"),
            Err(e) => tracing::warn!(channel, error = %e, "notify: failed"),
        }
    }
}

/// `{"action":"test-notify"}`: a test message (with a report link when `[report]` has a
/// bucket) to every configured channel; the first refusal is the error, after all were tried.
pub async fn send_test(
    config: &NotifyConfig,
    report: &crate::report::ReportConfig,
    client: &AliyunClient,
) -> Result<()> {
    if config.is_empty() {
        return Err(Error::Config(
            "[notify]: no channel is configured, so there is nothing to test".into(),
        ));
    }
    let text = "alicert: test message (test-notify); no certificate changed".to_string();
    let message = Message {
        event: "test",
        json: json!({"source": "alicert", "event": "test", "ok": true, "summary": text, "certificates": []}),
        text,
    }
    .with_link(crate::report::link(report, client));
    let mut first_error = None;
    for (channel, outcome) in send_all(config, client, &message).await {
        match outcome {
            Ok(()) => tracing::info!(channel, "test-notify: sent"),
            Err(e) => {
                tracing::warn!(channel, error = %e, "test-notify: failed");
                first_error.get_or_insert(Error::Other(format!("{channel}: {e}")));
            }
        }
    }
    first_error.map_or(Ok(()), Err)
}

/// Every configured channel, in a fixed order, each on its own.
async fn send_all(
    config: &NotifyConfig,
    client: &AliyunClient,
    message: &Message,
) -> Vec<(&'static str, Result<()>)> {
    let http = Https::new();
    let mut out = Vec::new();
    if let Some(url) = &config.webhook {
        out.push(("webhook", webhook::send(&http, client, url, message).await));
    }
    if let Some(url) = &config.dingtalk_webhook {
        let secret = config.dingtalk_secret.as_deref();
        out.push((
            "dingtalk",
            dingtalk::send(&http, client, url, secret, message).await,
        ));
    }
    if let Some(c) = &config.lark {
        out.push(("lark", lark::send(&http, client, c, message).await));
    }
    if let Some(c) = &config.wecom {
        out.push(("wecom", wecom::send(&http, client, c, message).await));
    }
    if let Some(c) = &config.slack {
        out.push(("slack", slack::send(&http, client, c, message).await));
    }
    if let Some(c) = &config.mail {
        out.push(("mail", mail::send(client, c, message).await));
    }
    out
}

/// What is worth telling about a run.
#[derive(Debug, Clone)]
pub struct Message {
    /// `failed` if anything failed, `renewed`, `drift` (only drifted targets to tell), or
    /// `test`.
    pub event: &'static str,
    pub text: String,
    pub json: Value,
}

impl Message {
    /// The message with a link to the report (text line and `report_url`).
    pub fn with_link(mut self, link: Option<String>) -> Message {
        if let Some(url) = link {
            self.text.push_str(&format!("\nReport: {url}"));
            self.json["summary"] = json!(self.text);
            self.json["report_url"] = json!(url);
        }
        self
    }

    /// An e-mail subject: the first line.
    pub fn subject(&self) -> &str {
        self.text.lines().next().unwrap_or("alicert")
    }
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
                ) || c.targets.iter().any(|t| t.drift.is_some())
            })
            .collect();
        if notable.is_empty() {
            return None;
        }
        let failed = notable.iter().any(|c| c.status == CertStatus::Failed);
        let renewed = notable
            .iter()
            .any(|c| matches!(c.status, CertStatus::Renewed | CertStatus::Issued));
        // A drift alone is worth telling too: someone changed an endpoint alicert manages.
        let (event, headline) = match (failed, renewed) {
            (true, _) => ("failed", "some certificates FAILED"),
            (false, true) => ("renewed", "certificates renewed"),
            (false, false) => (
                "drift",
                "endpoints serve certificates alicert did not deploy",
            ),
        };
        let mut lines = vec![format!(
            "alicert: {headline} (request {})",
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
            let targets: Vec<Value> = c
                .targets
                .iter()
                .map(|t| target_json(t, &mut lines))
                .collect();
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

/// A target of the message's JSON; its error and drift also as text lines.
fn target_json(t: &TargetResult, lines: &mut Vec<String>) -> Value {
    let status = serde_json::to_value(t.status).unwrap_or(Value::Null);
    let mut tj = json!({"kind": t.kind, "id": t.id, "status": status, "serial": t.serial});
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
    if let Some(d) = &t.drift {
        lines.push(drift_line(&t.kind, &t.id, d));
        tj["drift"] = serde_json::to_value(d).unwrap_or(Value::Null);
    }
    tj
}

/// `  - cdn www.example.com: DRIFT serial …, issuer …, until …: reason; what was done`.
fn drift_line(kind: &str, id: &str, d: &Drift) -> String {
    let done = match d.action {
        DriftAction::Skipped => "left in place until it is due (force replaces it)",
        DriftAction::WouldReplace => "due: replaced by the next renew run",
        DriftAction::Replaced => "replaced",
    };
    format!(
        "  - {kind} {id}: DRIFT, serves serial {} (issuer {}, valid until {}) not deployed by alicert: {}; {done}",
        d.serial,
        d.issuer,
        d.not_after,
        safe_message(&d.reason)
    )
}

fn error_json(code: &str, message: &str, request_id: Option<&str>) -> Value {
    json!({"code": code, "message": safe_message(message), "request_id": request_id})
}

/// `s` cut to at most `max` bytes at a character boundary (with `…` when cut).
pub(crate) fn truncate_bytes(s: &str, max: usize) -> String {
    if s.len() <= max {
        return s.to_string();
    }
    let mut end = max.saturating_sub('…'.len_utf8());
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &s[..end])
}

pub(crate) async fn url_of(client: &AliyunClient, v: &str, key: &str) -> Result<Secret> {
    if v.starts_with("https://") || v.starts_with("http://") {
        return Ok(Secret::new(v));
    }
    let r = SecretRef::parse(v).map_err(|e| Error::Config(format!("[notify] {key}: {e}")))?;
    r.resolve(client, &format!("[notify] {key}")).await
}

/// POST `body` as JSON to `url` within [`NOTIFY_TIMEOUT`]. No redirect is followed (the URL
/// carries a token; a 3xx is reported as the answer), and errors never name the URL.
pub(crate) async fn post_json(
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_is_checked() {
        let ok = NotifyConfig {
            webhook: Some("env:ALICERT_WEBHOOK".into()),
            dingtalk_webhook: Some("https://oapi.dingtalk.com/robot/send?access_token=x".into()),
            dingtalk_secret: Some("kms:alicert/dingtalk".into()),
            ..NotifyConfig::default()
        };
        ok.validate().unwrap();
        let bad = NotifyConfig {
            dingtalk_secret: Some("SECplain".into()),
            ..ok.clone()
        };
        assert!(bad.validate().unwrap_err().contains("dingtalk_secret"));
        assert_eq!(safe_message("x -----BEGIN PRIVATE KEY----- y"), "x …");
        let bad_lark = NotifyConfig {
            lark: Some(lark::LarkConfig {
                webhook: "https://open.feishu.cn/open-apis/bot/v2/hook/x".into(),
                secret: Some("inline-secret".into()),
            }),
            ..NotifyConfig::default()
        };
        assert!(bad_lark
            .validate()
            .unwrap_err()
            .contains("[notify.lark] secret"));
        let bad_mail = NotifyConfig {
            mail: Some(mail::MailConfig {
                account_name: "alerts@mail.example.com".into(),
                to: vec![],
                from_alias: Some("a name far longer than fifteen".into()),
                region: None,
            }),
            ..NotifyConfig::default()
        };
        assert!(bad_mail
            .validate()
            .unwrap_err()
            .contains("[notify.mail] to"));
        let far_mail = NotifyConfig {
            mail: Some(mail::MailConfig {
                account_name: "alerts@mail.example.com".into(),
                to: vec!["ops@example.com".into()],
                from_alias: None,
                region: Some("cn-shanghai".into()),
            }),
            ..NotifyConfig::default()
        };
        assert!(far_mail
            .validate()
            .unwrap_err()
            .contains("DirectMail is in"));
    }

    #[test]
    fn truncation_keeps_utf8_whole() {
        let s = "证书".repeat(1000);
        let t = truncate_bytes(&s, wecom::MAX_CONTENT);
        assert!(t.len() <= wecom::MAX_CONTENT && t.ends_with('…'));
        assert_eq!(truncate_bytes("short", 10), "short");
    }
}
