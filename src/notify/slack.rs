//! Slack incoming webhook (docs.slack.dev "Sending messages using incoming webhooks"): POST
//! `{"text": …}` as JSON to `https://hooks.slack.com/services/…`; Slack answers 200 with the
//! body `ok`, else 4xx with an error word (`invalid_payload`, `no_text`, `no_service`, …).
//! No signature: the URL is the credential (write it as a `kms:`/`env:` reference).
use serde::Deserialize;
use serde_json::json;

use super::{check_reference, post_json, truncate_bytes, url_of, Message};
use crate::aliyun::AliyunClient;
use crate::error::{Error, Result};
use crate::https::Https;

/// Slack truncates messages past 40,000 characters; stay well inside.
const MAX_TEXT: usize = 39_000;

/// `[notify.slack]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SlackConfig {
    pub webhook: String,
}

impl SlackConfig {
    pub fn validate(&self) -> std::result::Result<(), String> {
        check_reference("[notify.slack] webhook", &self.webhook)
    }
}

pub async fn send(
    http: &Https,
    client: &AliyunClient,
    c: &SlackConfig,
    message: &Message,
) -> Result<()> {
    let url = url_of(client, &c.webhook, "slack.webhook").await?;
    let body = json!({"text": truncate_bytes(&message.text, MAX_TEXT)});
    let rsp = post_json(http, &url, &body)
        .await
        .map_err(|e| Error::Other(format!("Slack: {e}")))?;
    let answer = String::from_utf8_lossy(&rsp.body);
    if rsp.status.is_success() && answer.trim() == "ok" {
        Ok(())
    } else {
        let word: String = answer.chars().take(100).collect();
        Err(Error::Other(format!(
            "Slack answered HTTP {}: {word}",
            rsp.status
        )))
    }
}
